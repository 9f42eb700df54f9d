"""Loading saved zoo models with one-line errors for the usual mistakes.

`load_gan` loads a `zoo.GAN`; `load_sampler` also takes a generator-only `.keras`
file or a pretrained name, for anything that only draws samples (`zoo sample`),
and returns a `zoo.sampling.Sampler` for them.

Example:

>>> sampler = load_sampler("cgan-fashion-mnist")
>>> images = sampler.generate(16, labels=3, seed=0)
"""

import os
import warnings
import zipfile

from zoo.errors import ZooError
from zoo.sampling import DEFAULT_MAX_BATCH, KerasBackend, Sampler


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
        An object with `generate(n, labels=None, seed=None, truncation=None)`, `num_classes`
        and `latent_dim`: the `zoo.GAN` itself, or a `zoo.sampling.Sampler`
        of the generator (for a pretrained name, with its catalogue record).

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
        return Sampler.from_keras(hub.pretrained(text), name=text, record=entry.record)
    model = _load_keras_file(text, keras)
    if isinstance(model, GAN):
        return model
    if isinstance(model, keras.Model):
        try:
            return Sampler.from_keras(model, name=text)
        except ZooError:
            pass
    raise ZooError(
        f"{text} holds a {type(model).__name__} named '{getattr(model, 'name', '?')}', not a zoo GAN "
        "or generator. Pass a model.keras written by `zoo train`, a generator.keras written by "
        "`zoo export`, or a pretrained name (see `zoo list --pretrained`)."
    )


class GeneratorSampler(Sampler):
    """Deprecated: use `zoo.sampling.Sampler.from_keras(generator, record=...)`.

    A `Sampler` of a generator-only Keras model, from its latent size and
    class count.

    Args:
        generator: a `keras.Model` with input `z` (and `label`) and output `image`.
        latent_dim: size of `z`.
        num_classes: classes of a conditional generator, or `None`.
        name: what the generator is called in messages.
    """

    _warned = False

    def __init__(self, generator, latent_dim, num_classes=None, name=None):
        from zoo.record import GeneratorRecord

        if not GeneratorSampler._warned:
            GeneratorSampler._warned = True
            warnings.warn(
                "zoo.loading.GeneratorSampler is deprecated; use zoo.sampling.Sampler.from_keras instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        backend = KerasBackend(generator)
        record = GeneratorRecord(latent_dim=latent_dim, image_shape=backend.image_shape, num_classes=num_classes)
        super().__init__(backend, record, name=name or generator.name)

    @property
    def generator(self):
        return self.backend.generator

    def generate(self, n, labels=None, seed=None, batch_size=DEFAULT_MAX_BATCH, truncation=None):
        """Generates `n` images, float32 `[n, H, W, C]` in [-1, 1]; see `Sampler.generate`."""
        sampler = Sampler(self.backend, self.record, self.name, batch_size)
        return sampler.generate(n, labels=labels, seed=seed, truncation=truncation)
