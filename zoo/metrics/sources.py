"""Where the scored images come from: generators in any zoo format, or arrays.

Every source is an `ImageSource` that yields `(images, labels)` batches, images
float32 `[b, H, W, C]` in [-1, 1] and `labels` the class each image was asked
to be (or `None`):

- `KerasSource`: a `zoo.GAN` or a generator-only `keras.Model` (inputs `z`
  (and `label`), output `image`), e.g. loaded from a `model.keras`;
- `OnnxSource`: an ONNX generator run by onnxruntime, its
  `zoo.record.GeneratorRecord` read from the file's metadata;
- `ExportSource`: an export folder, its record read from `manifest.json` and
  its `generator.onnx` checked against the manifest's sha256;
- `ArraySource`: fixed images (a real split), with their labels;
- `NoiseSource`: uniform noise, the "worst" reference figure.

Generators are run through `zoo.sampling.Sampler`, which draws `z` for a seed
the way `GAN.generate(n, seed=seed)` does, so a `.keras` file and its ONNX
export are scored on the same latent codes. Conditional generators get the
balanced labels `i % num_classes`.

`open_source(model)` turns a path (`.keras`, `.onnx`, an export folder, a run
folder) or an object into a source.

Example:

>>> source = open_source("export/cgan-fashion-mnist")
>>> images, labels = next(source.batches(100, seed=0))
>>> labels[:3].tolist()
[0, 1, 2]
"""

import os

import numpy as np

from zoo.errors import ZooError
from zoo.files import sha256_file
from zoo.latent import LATENT_ALGORITHM, check_count
from zoo.lazy import lazy_exports


class ImageSource:
    """Base class: a named supplier of image batches.

    Attributes:
        kind: `"keras"`, `"onnx"`, `"export"`, `"arrays"` or `"noise"`.
        name: what to call it in reports (a path or a description).
        num_classes: classes a conditional source is asked for, else `None`.
        image_shape: `(H, W, C)` of one image.
    """

    kind = "source"
    name = ""
    num_classes = None
    image_shape = None

    @property
    def conditional(self):
        return self.num_classes is not None

    def batches(self, n, seed=0, batch_size=500):
        """Yields `(images, labels)` batches, `n` images in all."""
        raise NotImplementedError

    def describe(self):
        """What the report says about the source (JSON-ready)."""
        return {"kind": self.kind, "name": self.name, "num_classes": self.num_classes}

    def protocol(self):
        """How the source picks its images, for the evaluation protocol."""
        return {"draw": None, "labels": None}


class GeneratorSource(ImageSource):
    """A generator run through a `zoo.sampling.Sampler`, on seeded latents and balanced labels.

    Args:
        sampler: the generator's `Sampler`.
        name: what to call it in reports. Defaults to the sampler's name.
        path: the file it was read from, if any (its sha256 goes in the report).

    Its `truncation` (`None`, or `psi` in (0, 1], set by
    `zoo.metrics.evaluate(..., truncation=psi)`) scales the latents the way
    `Sampler.generate(..., truncation=psi)` does.
    """

    truncation = None

    def __init__(self, sampler, name=None, path=None):
        self.sampler = sampler
        self.name = name or sampler.name
        self.path = None if path is None else os.fspath(path)

    def truncated(self, truncation):
        """A copy of this source with its latents scaled by `truncation` (`None`: not truncated)."""
        import copy

        from zoo.latent import check_truncation

        source = copy.copy(self)
        source.truncation = check_truncation(truncation)
        return source

    @property
    def record(self):
        """The generator's `zoo.record.GeneratorRecord`."""
        return self.sampler.record

    @property
    def latent_dim(self):
        return self.record.latent_dim

    @property
    def num_classes(self):
        return self.record.num_classes

    @property
    def image_shape(self):
        return self.record.image_shape

    def batches(self, n, seed=0, batch_size=500):
        n = check_count(n)
        z = self.sampler.latents(n, seed, self.truncation)
        labels = balanced_labels(n, self.num_classes) if self.conditional else None
        for start in range(0, n, batch_size):
            stop = start + batch_size
            batch_labels = None if labels is None else labels[start:stop]
            yield self.sampler.run(z[start:stop], batch_labels), batch_labels

    def describe(self):
        sha256 = sha256_file(self.path) if self.path else None
        session = getattr(self.sampler.backend, "session", None)  # onnxruntime: the providers it runs on
        providers = list(session.get_providers()) if hasattr(session, "get_providers") else None
        return {
            **super().describe(), "latent_dim": self.latent_dim, "path": self.path, "sha256": sha256,
            "providers": providers,
        }

    def protocol(self):
        return {
            "draw": f"zoo.latent.sample_latent(n, latent_dim, seed): standard normal, {LATENT_ALGORITHM}",
            "truncation": self.truncation,
            "labels": "i % num_classes (balanced)" if self.conditional else None,
        }


def balanced_labels(n, num_classes):
    """The labels a conditional generator is scored on: `i % num_classes`, int64."""
    return np.arange(n, dtype=np.int64) % num_classes


class KerasSource(GeneratorSource):
    """A `zoo.GAN` (its EMA generator if kept, as `GAN.generate` and `zoo export` use) or a generator.

    Args:
        model: the `zoo.GAN` or generator-only `keras.Model`.
        name: what to call it in reports. Defaults to the model's name.
        num_classes: for a generator-only conditional model, its number of
            classes (a `zoo.GAN` knows its own; without it they are read from
            the generator's label `Embedding`).
        path: the `.keras` file it was loaded from, if any.
    """

    kind = "keras"

    def __init__(self, model, name=None, num_classes=None, path=None):
        super().__init__(_keras_sampler(model, num_classes), name=name or getattr(model, "name", None), path=path)


def _keras_sampler(model, num_classes):
    """`Sampler.from_keras(model)`, with the given class count for a bare generator."""
    from zoo.gan import GAN
    from zoo.record import GeneratorRecord
    from zoo.sampling import KerasBackend, Sampler

    if num_classes is None or isinstance(model, GAN):
        return Sampler.from_keras(model)
    backend = KerasBackend(model)
    record = GeneratorRecord(
        latent_dim=backend.latent_dim,
        image_shape=backend.image_shape,
        num_classes=num_classes if backend.conditional else None,
    )
    return Sampler(backend, record, name=model.name)


class OnnxSource(GeneratorSource):
    """An ONNX generator run with onnxruntime (`Sampler.from_onnx`).

    Args:
        path: the `.onnx` file.
        threads: onnxruntime intra-op threads. Defaults to one per physical
            core (`zoo.sessions`).
        num_classes: classes of a conditional file whose metadata does not
            record them (the data set's).
        providers: onnxruntime execution providers (see
            `zoo.sessions.check_providers`). Defaults to the best available.
    """

    kind = "onnx"

    def __init__(self, path, threads=None, num_classes=None, providers=None):
        from zoo.sampling import Sampler

        path = os.fspath(path)
        sampler = Sampler.from_onnx(path, name=path, threads=threads, providers=providers, num_classes=num_classes)
        super().__init__(sampler, path=path)


class ExportSource(GeneratorSource):
    """An export folder (`manifest.json` + `generator.onnx`), its hashes checked.

    The generator's record is the manifest's `"model"` table.

    Args:
        folder: the folder written by `zoo export`.
        threads: onnxruntime intra-op threads (see `OnnxSource`).
        num_classes: classes of a conditional generator whose manifest does
            not record them.
        providers: onnxruntime execution providers (see `OnnxSource`).
    """

    kind = "export"

    def __init__(self, folder, threads=None, num_classes=None, providers=None):
        from zoo.export.manifest import read_manifest
        from zoo.record import LABEL_NAME, GeneratorRecord
        from zoo.sampling import OnnxBackend, Sampler
        from zoo.sessions import onnx_ports, onnx_session

        folder = os.fspath(folder)
        manifest = read_manifest(folder)
        path = _checked_onnx_file(folder, manifest)
        record = GeneratorRecord.from_dict(manifest.get("model"), source=os.path.join(folder, "manifest.json"))
        session = onnx_session(path, threads=threads, providers=providers, name=path)
        inputs, _ = onnx_ports(session)
        if not record.conditional and num_classes is not None and LABEL_NAME in inputs:
            record = record.replace(num_classes=num_classes)
        if sorted(inputs) != sorted(record.input_names):
            raise ZooError(
                f"{path} does not take the inputs its manifest.json describes. Received: inputs={sorted(inputs)}, "
                f"manifest inputs={sorted(record.input_names)}. Re-export the folder with `zoo export`."
            )
        super().__init__(Sampler(OnnxBackend(session), record, name=folder), path=path)
        self.folder = folder

    def describe(self):
        return {**super().describe(), "folder": self.folder, "variant": self.record.variant}


def _checked_onnx_file(folder, manifest):
    """The path of the export's ONNX file, after checking it against the manifest's sha256."""
    formats = manifest.get("formats") if isinstance(manifest.get("formats"), dict) else {}
    relative = formats.get("onnx") if isinstance(formats.get("onnx"), str) else "generator.onnx"
    path = os.path.join(folder, relative)
    if not os.path.isfile(path):
        raise ZooError(f"{folder} has no {relative}. Pass a folder written by `zoo export`.")
    entry = manifest["files"].get(relative)
    if isinstance(entry, dict) and entry.get("sha256") and entry["sha256"] != sha256_file(path):
        raise ZooError(
            f"{path} does not match the sha256 in manifest.json; the export was modified. "
            "Re-export it or run `zoo verify` on the folder."
        )
    return path


class ArraySource(ImageSource):
    """Fixed images (uint8 in [0, 255] or float in [-1, 1]) with optional labels.

    With `n` below the number of images, a seeded random subset is scored.

    Args:
        images: `[N, H, W, C]` array.
        labels: `[N]` ints or `None`. With labels the source counts as
            conditional, so its "conditional accuracy" is the classifier's
            accuracy on these images.
        name: what to call it in reports.
        num_classes: number of classes of `labels`. Defaults to `max + 1`.
    """

    kind = "arrays"

    def __init__(self, images, labels=None, name="arrays", num_classes=None):
        self.images = images
        self.labels = None if labels is None else np.asarray(labels, np.int64)
        self.name = name
        self.image_shape = tuple(images.shape[1:])
        if self.labels is not None:
            self.num_classes = int(num_classes or self.labels.max() + 1)

    def batches(self, n, seed=0, batch_size=500):
        n = check_count(n)
        if n > len(self.images):
            raise ZooError(f"{self.name} holds {len(self.images)} images. Received: n={n}.")
        order = np.arange(n) if n == len(self.images) else np.sort(np.random.default_rng(seed).choice(len(self.images), n, replace=False))
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            images = self.images[index]
            if images.dtype == np.uint8:
                images = images.astype(np.float32) / 127.5 - 1.0
            yield np.asarray(images, np.float32), (None if self.labels is None else self.labels[index])

    def describe(self):
        return {**super().describe(), "images": len(self.images)}

    def protocol(self):
        return {
            "draw": "first n images if n equals their number, else a random subset drawn with default_rng(seed)",
            "labels": "the images' own labels" if self.labels is not None else None,
        }


class NoiseSource(ImageSource):
    """Uniform noise in [-1, 1] of a given image shape."""

    kind = "noise"

    def __init__(self, image_shape, name="uniform noise"):
        self.image_shape = tuple(image_shape)
        self.name = name

    def batches(self, n, seed=0, batch_size=500):
        n = check_count(n)
        rng = np.random.default_rng(seed)
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            yield rng.uniform(-1.0, 1.0, (size, *self.image_shape)).astype(np.float32), None

    def protocol(self):
        return {"draw": "uniform noise in [-1, 1] from numpy default_rng(seed)", "labels": None}


def open_source(model, num_classes=None, providers=None):
    """Returns an `ImageSource` for `model`.

    Args:
        model: an `ImageSource`; a `zoo.GAN` or generator `keras.Model`; a
            path to a `.keras` file, an `.onnx` file, an export folder
            (`manifest.json` + `generator.onnx`) or a run folder (`model.keras`);
            or a pretrained name (its verified export folder, `zoo.loading.resolve_model`).
        num_classes: classes of a conditional model that does not record them
            (e.g. a bare ONNX file); the data set's. Defaults to `None`.
        providers: onnxruntime execution providers of an ONNX model (see
            `zoo.sessions.check_providers`); checked, unused for Keras models.
            Defaults to the best available, the CPU last.

    Example:

    >>> source = open_source("export/my-cgan")
    >>> source.kind, source.num_classes
    ('export', 10)
    """
    if isinstance(model, ImageSource):
        return model
    if not isinstance(model, (str, os.PathLike)):
        import keras

        if isinstance(model, keras.Model):
            return KerasSource(model, num_classes=num_classes)
        raise ZooError(
            f"Cannot score a {type(model).__name__}. Pass a zoo.GAN, a generator, or a path to a "
            ".keras file, an .onnx file or an export folder."
        )
    from zoo.loading import resolve_model

    if providers is not None:
        from zoo.sessions import check_providers

        providers = check_providers(providers)  # a typo is an error, whatever the model's format
    path = resolve_model(model, "all", "a .keras file, an .onnx file or an export folder")
    source = _path_source(path, num_classes, providers)
    if path != os.fspath(model):  # a pretrained name: reported by its name, its cached path kept in "path"
        source.name = os.fspath(model)
    return source


def _path_source(path, num_classes, providers=None):
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "manifest.json")):
            return ExportSource(path, num_classes=num_classes, providers=providers)
        if os.path.isfile(os.path.join(path, "model.keras")):
            path = os.path.join(path, "model.keras")
        elif os.path.isfile(os.path.join(path, "generator.onnx")):
            return OnnxSource(os.path.join(path, "generator.onnx"), num_classes=num_classes, providers=providers)
        else:
            raise ZooError(
                f"{path} is a folder without manifest.json, model.keras or generator.onnx. "
                "Pass a .keras file, an .onnx file or an export folder."
            )
    if path.lower().endswith(".onnx"):
        return OnnxSource(path, num_classes=num_classes, providers=providers)
    return _keras_file_source(path, num_classes)


def _keras_file_source(path, num_classes):
    import keras

    import zoo.gan  # noqa: F401  (registers `zoo>GAN` so a saved GAN deserializes)
    from zoo.loading import _load_keras_file

    loaded = _load_keras_file(path, keras)
    if not isinstance(loaded, keras.Model):
        raise ZooError(f"{path} holds a {type(loaded).__name__}, not a zoo GAN or generator.")
    return KerasSource(loaded, name=path, num_classes=num_classes, path=path)


# `Source` was this module's base class before `zoo.hub.sources.Source` (a download source) took the name.
__getattr__, __dir__ = lazy_exports(__name__, {}, deprecated={"Source": (__name__, "ImageSource")})
