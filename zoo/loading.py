"""Loading saved zoo models with one-line errors for the usual mistakes.

`load_gan` loads a `zoo.GAN`; `load_sampler` also takes a generator-only `.keras`
file or a pretrained name, for anything that only draws samples (`zoo sample`).
"""

import os
import zipfile

from zoo.errors import ZooError


def load_gan(path):
    """Loads a `zoo.GAN` saved as `.keras`.

    Args:
        path: path of a `.keras` file written by `GAN.save` or `zoo train`.

    Returns:
        The `zoo.GAN`, compiled if it was saved compiled.

    Example:

    >>> gan = load_gan("runs/dcgan/model.keras")
    """
    import keras

    from zoo.gan import GAN

    model = _load_keras_file(path, keras)
    if not isinstance(model, GAN):
        raise ZooError(
            f"{path} holds a {type(model).__name__} named '{model.name}', not a zoo GAN. "
            "Pass a model.keras written by `zoo train` or `GAN.save`."
        )
    return model


def _load_keras_file(path, keras):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ZooError(f"No such model file: {path}. Pass the path of a .keras file (e.g. runs/dcgan/model.keras).")
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.keras")
        if os.path.isfile(candidate):
            path = candidate
        else:
            raise ZooError(f"{path} is a folder without model.keras. Pass the path of a .keras file.")
    if not zipfile.is_zipfile(path):
        raise ZooError(f"{path} is not a .keras file (not a zip archive). Pass a model saved with .save('*.keras').")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for a foreign file.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ZooError(f"Could not load {path} as a Keras model ({first_line[:200]}).") from error


def load_sampler(path_or_name):
    """Loads anything `zoo sample` can draw from: a GAN, a generator or a pretrained name.

    Args:
        path_or_name: a GAN `.keras` file (or run folder), a generator-only
            `.keras` file (inputs `z`(/`label`), output `image`, e.g. an
            export's `generator.keras`), or a pretrained name such as
            `"dcgan-fashion-mnist"` (see `zoo.list_pretrained()`).

    Returns:
        An object with `generate(n, labels=None, seed=None)`, `num_classes`
        and `latent_dim`: the `zoo.GAN` itself, or a `GeneratorSampler`.

    Example:

    >>> sampler = load_sampler("dcgan-fashion-mnist")
    >>> images = sampler.generate(16, seed=0)
    """
    import keras

    from zoo.gan import GAN
    from zoo.hub.catalogue import NAME_PATTERN

    text = os.fspath(path_or_name)
    if not os.path.exists(text) and NAME_PATTERN.match(text):
        from zoo import hub

        entry = hub.load_catalogue().get(text, hint=", or a path to a .keras file")
        return GeneratorSampler(hub.pretrained(text), entry.latent_dim, entry.num_classes, name=text)
    model = _load_keras_file(text, keras)
    if isinstance(model, GAN):
        return model
    from zoo.export.signature import resolve_generator

    try:
        info = resolve_generator(model) if isinstance(model, keras.Model) else None
    except ZooError:
        info = None
    if info is None:
        raise ZooError(
            f"{text} holds a {type(model).__name__} named '{getattr(model, 'name', '?')}', not a zoo GAN "
            "or generator. Pass a model.keras written by `zoo train`, a generator.keras written by "
            "`zoo export`, or a pretrained name (see `zoo list --pretrained`)."
        )
    return GeneratorSampler(info.generator, info.latent_dim, info.num_classes, name=text)


class GeneratorSampler:
    """Draws images from a generator-only Keras model the way `GAN.generate` does.

    Args:
        generator: a `keras.Model` with input `z` (and `label`) and output `image`.
        latent_dim: size of `z`.
        num_classes: classes of a conditional generator, or `None`.
        name: what the generator is called in messages.
    """

    def __init__(self, generator, latent_dim, num_classes=None, name=None):
        self.generator = generator
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.name = name or generator.name

    @property
    def conditional(self):
        return self.num_classes is not None

    @property
    def image_shape(self):
        return tuple(int(d) for d in self.generator.output.shape[1:])

    def generate(self, n, labels=None, seed=None, batch_size=256):
        """Generates `n` images, float32 `[n, H, W, C]` in [-1, 1]; see `zoo.GAN.generate`."""
        import keras
        import numpy as np

        from zoo.latent import check_labels, sample_latent

        z = sample_latent(n, self.latent_dim, seed)
        labels = check_labels(labels, len(z), self.num_classes)
        names = [tensor.name for tensor in self.generator.inputs]
        outputs = []
        for start in range(0, len(z), batch_size):
            stop = start + batch_size
            if labels is None:
                inputs = z[start:stop]
            else:
                by_name = {"z": z[start:stop], "label": labels[start:stop].astype("int32")}
                inputs = [by_name[name] for name in names]
            outputs.append(keras.ops.convert_to_numpy(self.generator(inputs, training=False)))
        return np.concatenate(outputs).astype("float32")
