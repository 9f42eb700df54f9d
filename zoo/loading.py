"""Loading saved zoo models with one-line errors for the usual mistakes.

`resolve_model` is the one place that turns what a user passes as a model (a
path, or a pretrained name) into a local path: a name is fetched through
`zoo.hub` (cached, sha256-checked, usable offline once cached). Every command
and Python entry point that takes a model path calls it (`zoo evaluate`,
`zoo export`, `zoo verify`, `zoo serve`, `zoo sample`, `zoo.metrics.evaluate`,
`zoo.export.loading.load_exportable`, `zoo.serving.OnnxGenerator`).

`load_gan` loads a `zoo.GAN`; `load_sampler` also takes a generator-only `.keras`
file, an ONNX file or export folder, or a pretrained name, for anything that
only draws samples (`zoo sample`), and returns a `zoo.sampling.Sampler` for them.

Only NumPy and the standard library are imported here at first; Keras only when
a `.keras` file is loaded.

Example:

>>> sampler = load_sampler("cgan-fashion-mnist")
>>> images = sampler.generate(16, labels=3, seed=0)
>>> resolve_model("dcgan-fashion-mnist", format="onnx")
'~/.cache/keras-gan-zoo/dcgan-fashion-mnist/.../generator.onnx'
"""

import os
import warnings
import zipfile

from zoo.errors import ZooError
from zoo.lazy import importable
from zoo.sampling import DEFAULT_MAX_BATCH, KerasBackend, Sampler

LIST_HINT = "`zoo list --pretrained` lists the pretrained names"


def is_pretrained_name(model):
    """Whether `model` is spelled like a pretrained name and is not an existing path."""
    if not isinstance(model, (str, os.PathLike)):
        return False
    from zoo.hub.catalogue import MAX_NAME_LENGTH, NAME_PATTERN

    text = os.fspath(model)
    return not os.path.exists(text) and len(text) <= MAX_NAME_LENGTH and bool(NAME_PATTERN.match(text))


def resolve_model(model, format="all", what="a model file or folder", missing="No such model file or folder"):
    """Returns the local path of a model given as a path or a pretrained name.

    An existing path is returned as it is. A pretrained name (see `zoo list
    --pretrained`) is downloaded once into the cache and sha256-checked
    (`zoo.hub.download`); with `ZOO_OFFLINE=1` it comes from the cache or a
    local source.

    Args:
        model: a path, or a pretrained name such as `"dcgan-fashion-mnist"`.
        format: which published file a name stands for, as in
            `zoo.hub.download`: `"all"` (the export folder), `"onnx"`
            (`generator.onnx`), `"keras"` (`generator.keras`) ...
            Defaults to `"all"`.
        what: what the caller accepts, for the error message.
        missing: how the error for a missing path starts.

    Returns:
        The local path, a `str`.

    Raises:
        ZooError: one line, for a missing path or an unknown name (naming
            `zoo list --pretrained`), or a failed download.

    Example:

    >>> resolve_model("export/my-dcgan")
    'export/my-dcgan'
    >>> resolve_model("dcgan-fashion-mnist", format="onnx")  # the verified cached file
    """
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"A model must be a path or a pretrained name. Received: model of type {type(model).__name__}.")
    text = os.fspath(model)
    if os.path.exists(text):
        return text
    if not is_pretrained_name(text):
        raise ZooError(f"{missing}: {text[:200]}. Pass {what}, or a pretrained name ({LIST_HINT}).")
    from zoo import hub

    hub.load_catalogue().get(text, hint=f" ({LIST_HINT}; or pass {what})")
    return os.fspath(hub.download(text, format=format))


def load_gan(path):
    """Loads a `zoo.GAN` saved as `.keras`.

    Args:
        path: path of a `.keras` file written by `GAN.save` or `zoo train`, or
            a pretrained name whose whole GAN is published (`gan.keras`).

    Returns:
        The `zoo.GAN`, compiled if it was saved compiled.

    Example:

    >>> gan = load_gan("runs/dcgan/model.keras")
    """
    import keras

    from zoo.gan import GAN

    path = resolve_model(path, "gan", "a .keras file", missing="No such model file")
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


def load_sampler(path_or_name, providers=None):
    """Loads anything `zoo sample` can draw from: a GAN, a generator, an ONNX file or a pretrained name.

    Args:
        path_or_name: a GAN `.keras` file (or run folder), a generator-only
            `.keras` file (inputs `z`(/`label`), output `image`, e.g. an
            export's `generator.keras`), an `.onnx` generator, an export
            folder (`generator.onnx`, run with onnxruntime, no TensorFlow), or
            a pretrained name such as `"dcgan-fashion-mnist"` (see
            `zoo.list_pretrained()`): its generator.keras, or where Keras and
            TensorFlow are not installed, its generator.onnx.
        providers: onnxruntime execution providers for an ONNX model (see
            `zoo.sessions.check_providers`). Defaults to the best available.

    Returns:
        An object with `generate(n, labels=None, seed=None, truncation=None)`, `num_classes`
        and `latent_dim`: the `zoo.GAN` itself, or a `zoo.sampling.Sampler`
        of the generator (for a pretrained name, with its catalogue record).

    Example:

    >>> sampler = load_sampler("dcgan-fashion-mnist")
    >>> images = sampler.generate(16, seed=0)
    >>> sampler = load_sampler("export/my-dcgan/generator.onnx")
    """
    what = "a .keras file, an .onnx file or an export folder"
    text = os.fspath(path_or_name)
    if is_pretrained_name(text):
        from zoo import hub

        if not _keras_installed():  # e.g. a wheel with the `serve` extra only: the ONNX file, on onnxruntime
            return Sampler.from_onnx(resolve_model(text, "onnx", what), name=text, providers=providers)
        path = resolve_model(text, "keras", what)
        model = _load_keras_file(path, _keras())
        return Sampler.from_keras(model, name=text, record=hub.get_entry(text).record)
    path = resolve_model(text, what=what, missing="No such model file")
    onnx_path = _onnx_file(path)
    if onnx_path is not None:
        return Sampler.from_onnx(onnx_path, name=text, providers=providers)
    keras = _keras()
    from zoo.gan import GAN

    model = _load_keras_file(path, keras)
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
        f"`zoo export`, an .onnx file, or a pretrained name ({LIST_HINT})."
    )


def _keras():
    import keras

    return keras


def _keras_installed():
    """Whether Keras and TensorFlow can be imported here (without importing them)."""
    return importable("keras") and importable("tensorflow")


def _onnx_file(path):
    """The ONNX file `path` stands for (an `.onnx` file, a folder without `model.keras`), or `None`."""
    if os.path.isfile(path):
        return path if path.lower().endswith(".onnx") else None
    candidate = os.path.join(path, "generator.onnx")
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "model.keras")) and os.path.isfile(candidate):
        return candidate
    return None


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
