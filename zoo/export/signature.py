"""What is exported: a checked generator and its `GeneratorRecord`.

Every exported generator, whatever its variant, has the same interface in every
format: input `z` float32 `[batch, latent_dim]`, for conditional models input
`label` int64 `[batch]`, and output `image` float32 `[batch, H, W, C]` in
[-1, 1] (the port names and ranges are `zoo.record`'s). `resolve_generator`
finds the generator in what the user passed (a `zoo.GAN` or a generator-only
`keras.Model`), checks it has that interface, and pairs it with its record,
from which every file of the export takes its facts.

Example:

>>> info = resolve_generator(zoo.create("cgan"), class_names=names)
>>> info.record.input_names
('z', 'label')
"""

import dataclasses

from zoo.errors import ZooError
from zoo.record import BATCH_DIM, OUTPUT_RANGE  # noqa: F401 (their old home; zoo.record holds them)
from zoo.record import IMAGE_NAME, LABEL_NAME, LATENT_NAME, GeneratorRecord


@dataclasses.dataclass(frozen=True)
class GeneratorInfo:
    """A generator to export and its record.

    Attributes:
        generator: the functional `keras.Model` (inputs `z`(/`label`), output
            `image`).
        record: its `zoo.record.GeneratorRecord` (latent size, classes, image
            shape, variant, data set, training steps, parameters), the facts
            every file of the export stores.
    """

    generator: object
    record: GeneratorRecord


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
    >>> info.record.input_names
    ('z', 'label')
    """
    import keras

    from zoo.gan import GAN

    if isinstance(model, GAN):
        generator = model.inference_generator
        _check_generator(generator, "the GAN's generator")
        record = model.record  # training_steps: the generator optimizer's updates, if any
    elif isinstance(model, keras.Model):
        _check_not_discriminator(model)
        _check_generator(model, f"model '{model.name}'")
        generator = model
        record = GeneratorRecord(
            latent_dim=int(generator.inputs[_input_index(generator, LATENT_NAME)].shape[-1]),
            image_shape=tuple(int(d) for d in generator.output.shape[1:]),
            num_classes=_infer_num_classes(generator),
            parameters=int(generator.count_params()),
        )
    else:
        raise ZooError(
            "export needs a zoo.GAN or a generator keras.Model. "
            f"Received: model of type {type(model).__name__}."
        )
    given = {"class_names": class_names, "dataset": dataset, "training_steps": training_steps}
    changes = {key: value for key, value in given.items() if value is not None}
    return GeneratorInfo(generator=generator, record=record.replace(**changes))


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
