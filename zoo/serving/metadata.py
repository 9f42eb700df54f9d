"""What a served generator is, read from its ONNX file alone.

The exporter stores the facts an app needs as ONNX `metadata_props` (string keys
and values). `GeneratorMetadata.from_session` reads them through onnxruntime
(`get_modelmeta().custom_metadata_map`, no `onnx` import) and fills what is
missing from the graph's own ports: `latent_dim` from the shape of `z`,
`image_shape` from the shape of `image`, conditionality from a `label` input.
"""

import dataclasses
import json

from zoo.errors import ZooError

LATENT_NAME = "z"
LABEL_NAME = "label"
IMAGE_NAME = "image"
DEFAULT_OUTPUT_RANGE = (-1.0, 1.0)
_NONE_STRINGS = ("", "none", "null")


@dataclasses.dataclass(frozen=True)
class GeneratorMetadata:
    """The facts of one exported generator.

    Attributes:
        name: the name it is served under.
        latent_dim: size of the latent vector `z`.
        num_classes: classes of a conditional model, `None` if unconditional.
        image_shape: `(H, W, C)` of one image.
        class_names: one name per class, or `None`.
        variant: the zoo variant (`"cgan"`, ...), or `None`.
        output_range: `(low, high)` of the float output.
        properties: every `metadata_props` entry, as stored.
    """

    name: str
    latent_dim: int
    num_classes: object
    image_shape: tuple
    class_names: object = None
    variant: object = None
    output_range: tuple = DEFAULT_OUTPUT_RANGE
    properties: dict = dataclasses.field(default_factory=dict)

    @property
    def conditional(self):
        return self.num_classes is not None

    @property
    def classes(self):
        """Class names (`class_names`, else `"0"`, `"1"`, ...); `None` if unconditional."""
        if self.num_classes is None:
            return None
        return self.class_names or tuple(str(k) for k in range(self.num_classes))

    def to_dict(self):
        """A JSON-ready dict (what `GET /v1/models` returns per model)."""
        return {
            "name": self.name,
            "variant": self.variant,
            "latent_dim": self.latent_dim,
            "conditional": self.conditional,
            "num_classes": self.num_classes,
            "class_names": None if self.class_names is None else list(self.class_names),
            "image_shape": list(self.image_shape),
            "output_range": list(self.output_range),
            "properties": dict(self.properties),
        }

    @classmethod
    def from_session(cls, session, name):
        """Reads the metadata of an onnxruntime `InferenceSession`.

        Raises:
            ZooError: if a fact is neither stored nor visible in the graph, or
                the stored facts contradict the graph.
        """
        properties = dict(session.get_modelmeta().custom_metadata_map)
        inputs = {port.name: port for port in session.get_inputs()}
        outputs = session.get_outputs()
        if LATENT_NAME not in inputs:
            raise ZooError(
                f"The ONNX generator '{name}' has no input named '{LATENT_NAME}'. "
                f"Received: inputs={sorted(inputs)}. Export it with `zoo export`."
            )
        image_port = next((port for port in outputs if port.name == IMAGE_NAME), outputs[0])

        latent_dim = _int_property(properties, "latent_dim", name)
        if latent_dim is None:
            latent_dim = _static_dims(inputs[LATENT_NAME].shape[1:], name, "latent_dim")[0]

        num_classes = _int_property(properties, "num_classes", name)
        has_label = LABEL_NAME in inputs
        if has_label and num_classes is None:
            raise ZooError(
                f"The ONNX generator '{name}' takes labels but its metadata has no "
                "num_classes, so labels cannot be checked. Received: num_classes="
                f"{properties.get('num_classes')!r}. Re-export it with `zoo export`."
            )
        if num_classes is not None and not has_label:
            raise ZooError(
                f"The ONNX generator '{name}' says num_classes={num_classes} but has no "
                f"'{LABEL_NAME}' input. Received: inputs={sorted(inputs)}."
            )

        image_shape = _json_property(properties, "image_shape", name)
        if image_shape is None:
            image_shape = _static_dims(image_port.shape[1:], name, "image_shape")
        image_shape = tuple(int(dim) for dim in image_shape)
        if len(image_shape) != 3:
            raise ZooError(
                f"Expected image_shape [H, W, C] for '{name}'. Received: "
                f"image_shape={list(image_shape)}."
            )

        class_names = _json_property(properties, "class_names", name)
        if class_names is not None:
            class_names = tuple(str(item) for item in class_names)
            if len(class_names) != num_classes:
                raise ZooError(
                    f"The ONNX generator '{name}' lists {len(class_names)} class_names "
                    f"for num_classes={num_classes}."
                )

        output_range = _json_property(properties, "output_range", name) or DEFAULT_OUTPUT_RANGE
        output_range = tuple(float(value) for value in output_range)
        if len(output_range) != 2 or not output_range[0] < output_range[1]:
            raise ZooError(
                f"Expected output_range [low, high] for '{name}'. Received: "
                f"output_range={list(output_range)}."
            )
        variant = properties.get("variant") or None
        return cls(
            name=name,
            latent_dim=latent_dim,
            num_classes=num_classes,
            image_shape=image_shape,
            class_names=class_names,
            variant=variant,
            output_range=output_range,
            properties=properties,
        )


def _int_property(properties, key, name):
    text = properties.get(key)
    if text is None or text.strip().lower() in _NONE_STRINGS:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ZooError(
            f"Bad metadata in the ONNX generator '{name}': {key} must be an integer. "
            f"Received: {key}={text!r}."
        ) from None
    if value < 1:
        raise ZooError(
            f"Bad metadata in the ONNX generator '{name}': {key} must be positive. "
            f"Received: {key}={text!r}."
        )
    return value


def _json_property(properties, key, name):
    text = properties.get(key)
    if text is None or text.strip().lower() in _NONE_STRINGS:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ZooError(
            f"Bad metadata in the ONNX generator '{name}': {key} must be a JSON list. "
            f"Received: {key}={text[:80]!r}."
        ) from None
    if not isinstance(value, list):
        raise ZooError(
            f"Bad metadata in the ONNX generator '{name}': {key} must be a JSON list. "
            f"Received: {key}={text[:80]!r}."
        )
    return value


def _static_dims(dims, name, key):
    if not dims or not all(isinstance(dim, int) and dim > 0 for dim in dims):
        raise ZooError(
            f"The ONNX generator '{name}' stores no {key} and its graph does not fix it. "
            f"Received: dims={list(dims)}. Re-export it with `zoo export`."
        )
    return list(dims)
