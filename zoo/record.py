"""`GeneratorRecord`: the one record of what a generator is.

Every exported zoo generator has the same interface in every format: input `z`
float32 `[batch, latent_dim]`, for a conditional model input `label` int64
`[batch]`, and output `image` float32 `[batch, H, W, C]` (NHWC) in
`output_range`. A `GeneratorRecord` holds the facts about one generator
(latent size, classes and their names, image shape, output range, variant, data
set, ...) and is the only code that spells them as keys: it converts itself to
and from

- a dict (`to_dict` / `from_dict`): the `"model"` table of `manifest.json`;
- ONNX `metadata_props` (`to_onnx_metadata` / `from_onnx_metadata`): string
  keys and values, filled in from the graph's ports where a key is missing;
- LiteRT metadata (`to_litert_metadata` / `from_litert_metadata`): the same
  table as JSON in the flatbuffer's `"zoo"` metadata entry;
- the SavedModel signature (`saved_model_signature` / `from_saved_model_ports`).

The exporter writes it once; the hub, publish, metrics and serving read it. The
module imports nothing heavy (no TensorFlow, Keras, ONNX or onnxruntime).

Example:

>>> record = GeneratorRecord(latent_dim=64, image_shape=(28, 28, 1), num_classes=10)
>>> record.input_names
('z', 'label')
>>> GeneratorRecord.from_onnx_metadata(record.to_onnx_metadata()) == record
True
"""

import dataclasses
import json
import numbers

from zoo.checks import check_int
from zoo.errors import ZooError
from zoo.latent import LATENT_ALGORITHM

LATENT_NAME = "z"
LABEL_NAME = "label"
IMAGE_NAME = "image"
BATCH_DIM = "batch"
IMAGE_LAYOUT = "NHWC"
OUTPUT_RANGE = (-1.0, 1.0)
LATENT_DISTRIBUTION = "standard_normal"
# Metadata values that mean "not set" (how `num_classes` of an unconditional model is stored).
NONE_STRINGS = ("", "none", "null")
# `to_dict` keys that older manifests and catalogues spelt otherwise.
_LEGACY_KEYS = {"value_range": "output_range"}


@dataclasses.dataclass(frozen=True)
class GeneratorRecord:
    """The facts about one generator, checked when the record is made.

    Attributes:
        latent_dim: size of `z`.
        image_shape: `(H, W, C)` of one output image.
        num_classes: number of classes of a conditional model, `None` for an
            unconditional one.
        class_names: one name per class, or `None`.
        variant: the registered variant that built it (`"dcgan"`, ...), or
            `None`.
        dataset: the training data set, or `None`.
        training_steps: generator updates done in training, or `None`.
        parameters: parameter count of the generator, or `None`.
        output_range: `(low, high)` of the float output pixels.
        latent_distribution: how each entry of `z` is distributed.
        latent_algorithm: how `zoo.latent` draws `z` for a seed.

    Example:

    >>> GeneratorRecord(latent_dim=64, image_shape=(28, 28, 1)).conditional
    False
    """

    latent_dim: int
    image_shape: tuple
    num_classes: object = None
    class_names: object = None
    variant: object = None
    dataset: object = None
    training_steps: object = None
    parameters: object = None
    output_range: tuple = OUTPUT_RANGE
    latent_distribution: str = LATENT_DISTRIBUTION
    latent_algorithm: str = LATENT_ALGORITHM

    def __post_init__(self):
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        fix("latent_dim", check_int("latent_dim", self.latent_dim, 1))
        shape = self.image_shape
        if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 3:
            raise ZooError(f"image_shape must be [H, W, C]. Received: image_shape={shape!r}.")
        fix("image_shape", tuple(check_int("image_shape", dim, 1) for dim in shape))
        if self.num_classes is not None:
            fix("num_classes", check_int("num_classes", self.num_classes, 1))
        if self.class_names is not None:
            names = tuple(str(name) for name in self.class_names)
            if self.num_classes is None or len(names) != self.num_classes:
                raise ZooError(
                    f"class_names must hold one name per class ({self.num_classes or 0}). "
                    f"Received: {len(names)} class names."
                )
            fix("class_names", names)
        for name in ("training_steps", "parameters"):
            value = getattr(self, name)
            if value is not None:
                fix(name, check_int(name, value, 0))
        low_high = tuple(self.output_range)
        if len(low_high) != 2 or not all(isinstance(v, numbers.Real) for v in low_high) or not low_high[0] < low_high[1]:
            raise ZooError(f"output_range must be [low, high] with low < high. Received: output_range={list(low_high)}.")
        fix("output_range", tuple(float(value) for value in low_high))

    # ------------------------------------------------------------------ facts

    @property
    def conditional(self):
        """Whether the generator takes class labels."""
        return self.num_classes is not None

    @property
    def input_names(self):
        """The input ports in their documented order: `("z",)` or `("z", "label")`."""
        return (LATENT_NAME, LABEL_NAME) if self.conditional else (LATENT_NAME,)

    @property
    def classes(self):
        """Class names (`class_names`, else `"0"`, `"1"`, ...); `None` if unconditional."""
        if self.num_classes is None:
            return None
        return self.class_names or tuple(str(k) for k in range(self.num_classes))

    def replace(self, **changes):
        """A copy with some facts changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def io_ports(self):
        """The interface as `{"inputs": [...], "outputs": [...]}` (the manifest's `io`).

        Each port is `{"name", "dtype", "shape"}` with `"batch"` for the
        dynamic batch dimension.
        """
        inputs = [{"name": LATENT_NAME, "dtype": "float32", "shape": [BATCH_DIM, self.latent_dim]}]
        if self.conditional:
            inputs.append({"name": LABEL_NAME, "dtype": "int64", "shape": [BATCH_DIM]})
        image = {
            "name": IMAGE_NAME,
            "dtype": "float32",
            "shape": [BATCH_DIM, *self.image_shape],
            "range": list(self.output_range),
            "layout": IMAGE_LAYOUT,
        }
        return {"inputs": inputs, "outputs": [image]}

    def describe(self):
        """One sentence saying what the generator takes and gives (file doc strings)."""
        kind = f"conditional ({self.num_classes} classes)" if self.conditional else "unconditional"
        low, high = self.output_range
        return (
            f"{self.variant or 'GAN'} generator, {kind}: z float32 [batch, {self.latent_dim}]"
            + (" and label int64 [batch]" if self.conditional else "")
            + f" -> image float32 [batch, {', '.join(map(str, self.image_shape))}] in [{low:g}, {high:g}]."
        )

    # ------------------------------------------------------------ dict (manifest)

    def to_dict(self):
        """A JSON-ready dict: the `"model"` table of `manifest.json`.

        Example:

        >>> GeneratorRecord(latent_dim=8, image_shape=(4, 4, 1)).to_dict()["image_shape"]
        [4, 4, 1]
        """
        return {
            "variant": self.variant,
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "latent_algorithm": self.latent_algorithm,
            "num_classes": self.num_classes,
            "class_names": None if self.class_names is None else list(self.class_names),
            "image_shape": list(self.image_shape),
            "image_layout": IMAGE_LAYOUT,
            "output_range": list(self.output_range),
            "dataset": self.dataset,
            "training_steps": self.training_steps,
            "parameters": self.parameters,
        }

    @classmethod
    def from_dict(cls, table, source="the record"):
        """Reads a dict written by `to_dict` (or by an earlier zoo version).

        Args:
            table: the dict, e.g. `manifest["model"]` or a catalogue entry.
            source: what to call it in error messages.

        Unknown keys are ignored; `value_range` (the catalogue's earlier name
        for `output_range`) is accepted.
        """
        if not isinstance(table, dict):
            raise ZooError(f"{source}: the generator facts must be a JSON object. Received: {type(table).__name__}.")
        table = dict(table)
        for old, new in _LEGACY_KEYS.items():
            if old in table:
                table.setdefault(new, table.pop(old))
        for key in ("latent_dim", "image_shape"):
            if table.get(key) is None:
                raise ZooError(f"{source} has no {key}. Re-export the generator with `zoo export`.")
        layout = table.get("image_layout", IMAGE_LAYOUT)
        if layout != IMAGE_LAYOUT:
            raise ZooError(f"{source}: image_layout must be {IMAGE_LAYOUT}. Received: image_layout={layout!r}.")
        known = {field.name for field in dataclasses.fields(cls)}
        facts = {key: value for key, value in table.items() if key in known and value is not None}
        return _checked(cls, facts, source)

    # ------------------------------------------------------------ ONNX metadata

    def to_onnx_metadata(self, extra=None):
        """The ONNX `metadata_props` as a `{str: str}` dict.

        Scalars are plain strings (`"64"`, `"dcgan"`), lists are JSON
        (`"[28, 28, 1]"`), `num_classes` is `"none"` for an unconditional
        model; unknown facts (e.g. `dataset`) are left out.

        Args:
            extra: more `{key: value}` entries (e.g. the export target).
        """
        from zoo import __version__

        props = {
            "zoo_version": __version__,
            "variant": self.variant,
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "latent_algorithm": self.latent_algorithm,
            "num_classes": "none" if self.num_classes is None else self.num_classes,
            "conditional": "true" if self.conditional else "false",
            "image_shape": json.dumps(list(self.image_shape)),
            "image_layout": IMAGE_LAYOUT,
            "output_range": json.dumps(list(self.output_range)),
            "inputs": ",".join(self.input_names),
            "outputs": IMAGE_NAME,
            "precision": "fp32",
            "class_names": None if self.class_names is None else json.dumps(list(self.class_names)),
            "dataset": self.dataset,
            "training_steps": self.training_steps,
        }
        props.update(extra or {})
        return {key: str(value) for key, value in props.items() if value is not None}

    @classmethod
    def from_onnx_metadata(cls, properties, input_shapes=None, output_shape=None, source="the generator", num_classes=None):
        """Reads ONNX `metadata_props`, filling missing facts from the graph's ports.

        Args:
            properties: the `{str: str}` metadata (`onnx` `metadata_props` or
                onnxruntime's `custom_metadata_map`).
            input_shapes: `{input name: shape}` of the graph (dims are ints,
                or strings/`None` for dynamic ones); `None` to trust the
                metadata alone.
            output_shape: the shape of the `image` output.
            source: what to call the file in error messages.
            num_classes: classes of a graph with a `label` input whose
                metadata does not record them (e.g. the data set's, when
                scoring a bare ONNX file). Defaults to `None`.

        Raises:
            ZooError: if a fact is neither stored nor fixed by the graph, a
                stored value is malformed, or the metadata contradict the graph.
        """
        properties = dict(properties)
        where = f"Bad metadata in the ONNX generator '{source}'"
        latent_dim = _int_text(properties, "latent_dim", where)
        fallback_classes, num_classes = num_classes, _int_text(properties, "num_classes", where)
        image_shape = _json_list(properties, "image_shape", where)
        if input_shapes is not None:
            if LATENT_NAME not in input_shapes:
                raise ZooError(
                    f"The ONNX generator '{source}' has no input named '{LATENT_NAME}'. "
                    f"Received: inputs={sorted(input_shapes)}. Export it with `zoo export`."
                )
            has_label = LABEL_NAME in input_shapes
            if has_label and num_classes is None:
                num_classes = fallback_classes
            if has_label and num_classes is None:
                raise ZooError(
                    f"The ONNX generator '{source}' takes labels but its metadata has no num_classes, so "
                    f"labels cannot be checked. Received: num_classes={properties.get('num_classes')!r}. "
                    "Re-export it with `zoo export`."
                )
            if num_classes is not None and not has_label:
                raise ZooError(
                    f"The ONNX generator '{source}' says num_classes={num_classes} but has no "
                    f"'{LABEL_NAME}' input. Received: inputs={sorted(input_shapes)}."
                )
            if latent_dim is None:
                latent_dim = _static_dims(list(input_shapes[LATENT_NAME])[1:], source, "latent_dim")[0]
        if image_shape is None and output_shape is not None:
            image_shape = _static_dims(list(output_shape)[1:], source, "image_shape")
        if latent_dim is None or image_shape is None:
            missing = "latent_dim" if latent_dim is None else "image_shape"
            raise ZooError(f"The ONNX generator '{source}' stores no {missing}. Re-export it with `zoo export`.")
        if len(image_shape) != 3:
            raise ZooError(f"Expected image_shape [H, W, C] for '{source}'. Received: image_shape={list(image_shape)}.")
        facts = {
            "latent_dim": latent_dim,
            "image_shape": image_shape,
            "num_classes": num_classes,
            "class_names": _json_list(properties, "class_names", where),
            "variant": properties.get("variant") or None,
            "dataset": properties.get("dataset") or None,
            "training_steps": _int_text(properties, "training_steps", where, minimum=0),
            "output_range": _json_list(properties, "output_range", where) or OUTPUT_RANGE,
        }
        for key in ("latent_distribution", "latent_algorithm"):
            if properties.get(key):
                facts[key] = properties[key]
        return _checked(cls, {k: v for k, v in facts.items() if v is not None}, f"'{source}'")

    # ------------------------------------------------------------ LiteRT metadata

    def to_litert_metadata(self, extra=None):
        """The bytes of the `.tflite` file's `"zoo"` metadata entry (JSON of `to_onnx_metadata`)."""
        return json.dumps(self.to_onnx_metadata(extra), sort_keys=True).encode("utf-8")

    @classmethod
    def from_litert_metadata(cls, data, source="the LiteRT generator"):
        """Reads the bytes (or the decoded dict) of a `"zoo"` metadata entry."""
        if isinstance(data, (bytes, bytearray)):
            try:
                data = json.loads(bytes(data).decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                raise ZooError(f"The 'zoo' metadata of {source} is not a JSON object ({error}).") from None
        if not isinstance(data, dict):
            raise ZooError(f"The 'zoo' metadata of {source} is not a JSON object.")
        return cls.from_onnx_metadata({str(k): str(v) for k, v in data.items()}, source=source)

    # ------------------------------------------------------------ SavedModel signature

    def saved_model_signature(self):
        """The `serving_default` inputs as `[(name, dtype, shape)]`, batch dimension `None`.

        `zoo.export.tracing` turns them into `tf.TensorSpec`s; the output is
        `image` float32 `[None, H, W, C]`.
        """
        ports = [(LATENT_NAME, "float32", (None, self.latent_dim))]
        if self.conditional:
            ports.append((LABEL_NAME, "int64", (None,)))
        return ports

    @classmethod
    def from_saved_model_ports(cls, input_shapes, output_shape, num_classes=None, source="the SavedModel", **facts):
        """A record for a SavedModel from its signature's shapes (a SavedModel stores no metadata).

        Args:
            input_shapes: `{input name: shape}` of `serving_default`.
            output_shape: the shape of its `image` output.
            num_classes: classes of a conditional model (from its manifest).
            **facts: other facts known from the manifest.
        """
        if LATENT_NAME not in input_shapes:
            raise ZooError(f"{source} has no input '{LATENT_NAME}'. Received: inputs={sorted(input_shapes)}.")
        if (LABEL_NAME in input_shapes) != (num_classes is not None):
            raise ZooError(
                f"{source}: a '{LABEL_NAME}' input needs num_classes and num_classes needs one. "
                f"Received: inputs={sorted(input_shapes)}, num_classes={num_classes!r}."
            )
        latent_dim = _static_dims(list(input_shapes[LATENT_NAME])[1:], source, "latent_dim")[0]
        image_shape = _static_dims(list(output_shape)[1:], source, "image_shape")
        return _checked(
            cls, {"latent_dim": latent_dim, "image_shape": image_shape, "num_classes": num_classes, **facts}, source
        )


def _checked(cls, facts, source):
    """Builds the record, naming `source` in the message of a bad fact."""
    try:
        return cls(**facts)
    except ZooError as error:
        raise ZooError(f"{source}: {error}") from None


def _unset(text):
    return text is None or str(text).strip().lower() in NONE_STRINGS


def _int_text(properties, key, where, minimum=1):
    text = properties.get(key)
    if _unset(text):
        return None
    try:
        value = int(text)
    except ValueError:
        raise ZooError(f"{where}: {key} must be an integer. Received: {key}={text!r}.") from None
    if value < minimum:
        what = "positive" if minimum == 1 else f">= {minimum}"
        raise ZooError(f"{where}: {key} must be {what}. Received: {key}={text!r}.")
    return value


def _json_list(properties, key, where):
    text = properties.get(key)
    if _unset(text):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise ZooError(f"{where}: {key} must be a JSON list. Received: {key}={str(text)[:80]!r}.")
    return value


def _static_dims(dims, source, key):
    if not dims or not all(isinstance(dim, int) and not isinstance(dim, bool) and dim > 0 for dim in dims):
        raise ZooError(
            f"The generator {source} stores no {key} and its graph does not fix it. "
            f"Received: dims={list(dims)}. Re-export it with `zoo export`."
        )
    return list(dims)
