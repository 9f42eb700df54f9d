"""What an exported generator looks like from outside: its ports and facts.

Every exported generator, whatever its variant, has the same interface in every
format: input `z` float32 `[batch, latent_dim]`, for conditional models input
`label` int64 `[batch]`, and output `image` float32 `[batch, H, W, C]` in
[-1, 1]. This module finds the generator in what the user passed (a `zoo.GAN` or
a generator-only `keras.Model`), checks it has that interface, and describes it.
"""

import dataclasses

from zoo.errors import ZooError

LATENT_NAME = "z"
LABEL_NAME = "label"
IMAGE_NAME = "image"
BATCH_DIM = "batch"
OUTPUT_RANGE = (-1.0, 1.0)


@dataclasses.dataclass
class GeneratorInfo:
    """A generator to export and the facts that go into its manifest.

    Attributes:
        generator: the functional `keras.Model` (inputs `z`(/`label`), output
            `image`).
        latent_dim: size of `z`.
        num_classes: number of classes, or `None` for an unconditional model.
        image_shape: `(H, W, C)` of the output.
        variant: registered variant name, or `None` if unknown.
        class_names: list of `num_classes` names, or `None`.
        dataset: name of the training data set, or `None`.
        training_steps: generator updates done in training, or `None`.
    """

    generator: object
    latent_dim: int
    num_classes: object = None
    image_shape: tuple = ()
    variant: object = None
    class_names: object = None
    dataset: object = None
    training_steps: object = None

    @property
    def conditional(self):
        return self.num_classes is not None

    @property
    def input_names(self):
        return [LATENT_NAME, LABEL_NAME] if self.conditional else [LATENT_NAME]

    def io_ports(self):
        """Returns the stable interface as `{"inputs": [...], "outputs": [...]}`.

        Each port is `{"name", "dtype", "shape"}` with `"batch"` for the
        dynamic batch dimension.
        """
        inputs = [
            {"name": LATENT_NAME, "dtype": "float32", "shape": [BATCH_DIM, self.latent_dim]}
        ]
        if self.conditional:
            inputs.append({"name": LABEL_NAME, "dtype": "int64", "shape": [BATCH_DIM]})
        outputs = [
            {
                "name": IMAGE_NAME,
                "dtype": "float32",
                "shape": [BATCH_DIM, *self.image_shape],
                "range": list(OUTPUT_RANGE),
                "layout": "NHWC",
            }
        ]
        return {"inputs": inputs, "outputs": outputs}


def resolve_generator(model, *, class_names=None, dataset=None, training_steps=None):
    """Finds and checks the generator in `model` (a `zoo.GAN` or a generator).

    Args:
        model: a `zoo.GAN`, or a functional `keras.Model` whose inputs are named
            `z` (and `label`) and whose output is named `image`.
        class_names: optional names of the classes of a conditional model.
        dataset: optional name of the training data set.
        training_steps: optional number of training steps; taken from the GAN's
            generator optimizer when left out.

    Returns:
        A `GeneratorInfo`.

    Example:

    >>> info = resolve_generator(zoo.create("cgan"))
    >>> info.input_names
    ['z', 'label']
    """
    import keras

    from zoo.gan import GAN

    variant = None
    if isinstance(model, GAN):
        generator = model.inference_generator
        variant = model.variant
        num_classes = model.num_classes
        latent_dim = model.latent_dim
        dataset = dataset if dataset is not None else getattr(model, "dataset", None)
        if class_names is None:
            class_names = getattr(model, "class_names", None)
        if training_steps is None and model.g_optimizer is not None:
            steps = int(model.g_optimizer.iterations.numpy())
            training_steps = steps if steps > 0 else None
        _check_generator(generator, "the GAN's generator")
    elif isinstance(model, keras.Model):
        _check_not_discriminator(model)
        _check_generator(model, f"model '{model.name}'")
        generator = model
        latent_dim = int(generator.inputs[_input_index(generator, LATENT_NAME)].shape[-1])
        num_classes = _infer_num_classes(generator)
    else:
        raise ZooError(
            "export needs a zoo.GAN or a generator keras.Model. "
            f"Received: model of type {type(model).__name__}."
        )
    image_shape = tuple(int(d) for d in generator.output.shape[1:])
    if class_names is not None:
        class_names = [str(name) for name in class_names]
        if num_classes is None or len(class_names) != num_classes:
            raise ZooError(
                f"class_names must hold one name per class ({num_classes or 0}). "
                f"Received: {len(class_names)} class names."
            )
    if training_steps is not None:
        training_steps = int(training_steps)
    return GeneratorInfo(
        generator=generator,
        latent_dim=int(latent_dim),
        num_classes=num_classes,
        image_shape=image_shape,
        variant=variant,
        class_names=class_names,
        dataset=dataset,
        training_steps=training_steps,
    )


def _input_index(model, name):
    names = [tensor.name for tensor in model.inputs]
    return names.index(name) if name in names else None


def _output_names(model):
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    return [tensor.name for tensor in model.outputs]


def _check_not_discriminator(model):
    inputs = getattr(model, "inputs", None) or []
    outputs = getattr(model, "outputs", None) or []
    takes_images = any(len(tensor.shape) == 4 for tensor in inputs)
    one_logit = len(outputs) == 1 and tuple(outputs[0].shape[1:]) == (1,)
    if takes_images and one_logit:
        raise ZooError(
            f"Model '{model.name}' is a discriminator (it takes images and returns "
            "one logit [batch, 1]); export needs the generator. Pass the GAN's "
            "model.keras or a generator whose inputs are z(/label) and output image."
        )


def _check_generator(model, what):
    import keras

    if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
        raise ZooError(
            f"{what} is not a functional Keras model with named inputs; export "
            "needs inputs named z(/label) and an output named image."
        )
    input_names = sorted(tensor.name for tensor in model.inputs)
    output_names = _output_names(model)
    if input_names not in ([LATENT_NAME], sorted([LATENT_NAME, LABEL_NAME])):
        raise ZooError(
            f"{what} has inputs {input_names}; a zoo generator has inputs named "
            "'z' (float32 [batch, latent_dim]) and, if conditional, 'label'."
        )
    if output_names != [IMAGE_NAME]:
        raise ZooError(
            f"{what} has outputs {output_names}; a zoo generator has one output "
            "named 'image' (float32 [batch, H, W, C] in [-1, 1])."
        )
    z = model.inputs[_input_index(model, LATENT_NAME)]
    if len(z.shape) != 2 or z.shape[-1] is None:
        raise ZooError(
            f"{what}: input 'z' must be [batch, latent_dim]. Received: shape {tuple(z.shape)}."
        )
    label_index = _input_index(model, LABEL_NAME)
    if label_index is not None:
        label = model.inputs[label_index]
        if len(label.shape) != 1 or "int" not in str(label.dtype):
            raise ZooError(
                f"{what}: input 'label' must be integer [batch]. Received: shape "
                f"{tuple(label.shape)}, dtype {label.dtype}."
            )
    shape = tuple(model.output.shape[1:])
    if len(shape) != 3 or any(d is None for d in shape):
        raise ZooError(
            f"{what}: output 'image' must be [batch, H, W, C] with static H, W, C. "
            f"Received: shape {tuple(model.output.shape)}."
        )


def _infer_num_classes(generator):
    """Number of classes of a generator-only model: its label Embedding's size."""
    import keras

    if _input_index(generator, LABEL_NAME) is None:
        return None
    for layer in generator.layers:
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    raise ZooError(
        f"Cannot tell how many classes generator '{generator.name}' has (no "
        "Embedding layer found); export it from its zoo.GAN instead."
    )
