"""Where the scored images come from: generators in any zoo format, or arrays.

Every source yields `(images, labels)` batches, images float32 `[b, H, W, C]`
in [-1, 1] and `labels` the class each image was asked to be (or `None`):

- `KerasSource`: a `zoo.GAN` or a generator-only `keras.Model` (inputs `z`
  (and `label`), output `image`), e.g. loaded from a `model.keras`;
- `OnnxSource`: an ONNX generator run by onnxruntime, fed by name (`z` float32
  `[batch, latent_dim]`, `label` int64 `[batch]`) and read from `image`; the
  `latent_dim` and `num_classes` come from its `metadata_props` (or the
  export's `manifest.json`, or the input's shape);
- `ArraySource`: fixed images (a real split), with their labels;
- `NoiseSource`: uniform noise, the "worst" reference figure.

Generators draw `z` with `zoo.latent.sample_latent(n, latent_dim, seed)` -- the
draw `GAN.generate(n, seed=seed)` uses -- so a `.keras` file and its ONNX export
are scored on the same latent codes. Conditional generators get the balanced
labels `i % num_classes`.

`open_source(model)` turns a path (`.keras`, `.onnx`, an export folder, a run
folder) or an object into a source.
"""

import json
import os

import numpy as np

from zoo.errors import ZooError
from zoo.files import sha256_file
from zoo.latent import LATENT_ALGORITHM, check_count, sample_latent

_NONE_STRINGS = frozenset({"", "none", "null"})


class Source:
    """Base class: a named supplier of image batches.

    Attributes:
        kind: `"keras"`, `"onnx"`, `"export"`, `"arrays"` or `"noise"`.
        name: what to call it in reports (a path or a description).
        num_classes: classes a conditional source is asked for, else `None`.
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


class GeneratorSource(Source):
    """A generator fed by `z` (and labels); subclasses implement `generate_batch`."""

    latent_dim = None

    def generate_batch(self, z, labels):
        """Returns float32 images for `z` `[b, latent_dim]` and int64 labels (or `None`)."""
        raise NotImplementedError

    def batches(self, n, seed=0, batch_size=500):
        n = check_count(n)
        z = sample_latent(n, self.latent_dim, seed)
        labels = balanced_labels(n, self.num_classes) if self.conditional else None
        for start in range(0, n, batch_size):
            stop = start + batch_size
            batch_labels = None if labels is None else labels[start:stop]
            yield np.asarray(self.generate_batch(z[start:stop], batch_labels), np.float32), batch_labels

    def describe(self):
        return {**super().describe(), "latent_dim": self.latent_dim}

    def protocol(self):
        return {
            "draw": f"zoo.latent.sample_latent(n, latent_dim, seed): standard normal, {LATENT_ALGORITHM}",
            "labels": "i % num_classes (balanced)" if self.conditional else None,
        }


def balanced_labels(n, num_classes):
    """The labels a conditional generator is scored on: `i % num_classes`, int64."""
    return np.arange(n, dtype=np.int64) % num_classes


class KerasSource(GeneratorSource):
    """A `zoo.GAN` or a generator-only `keras.Model` (inputs `z`/`label`).

    Args:
        model: the `zoo.GAN` or generator.
        name: what to call it in reports. Defaults to the model's name.
        num_classes: for a generator-only conditional model, its number of
            classes (a `zoo.GAN` knows its own).
    """

    kind = "keras"

    def __init__(self, model, name=None, num_classes=None, path=None):
        import tensorflow as tf

        from zoo.gan import GAN

        if isinstance(model, GAN):
            # What `GAN.generate` draws and `zoo export` ships: the EMA generator if kept.
            generator, num_classes = model.inference_generator, model.num_classes
        else:
            generator = model
        self.name = name or getattr(model, "name", "keras model")
        self.path = path
        inputs = {tensor.name.split(":")[0]: tensor for tensor in generator.inputs}
        if "z" in inputs:
            z_input = inputs["z"]
        elif len(generator.inputs) == 1:
            z_input = generator.inputs[0]
        else:
            raise ZooError(
                f"{self.name}: a generator needs inputs named 'z' (and 'label'). "
                f"Received: inputs {sorted(inputs)}."
            )
        label_input = inputs.get("label")
        if label_input is None and len(generator.inputs) == 2:
            label_input = next(tensor for tensor in generator.inputs if tensor is not z_input)
        output_shape = generator.output_shape
        if len(z_input.shape) != 2 or not isinstance(output_shape, tuple) or len(output_shape) != 4:
            raise ZooError(
                f"{self.name} is not a generator: expected z [batch, latent_dim] -> image "
                f"[batch, H, W, C]. Received: input shape {tuple(z_input.shape)}, output shape {output_shape}."
            )
        self.latent_dim = int(z_input.shape[-1])
        self.image_shape = tuple(output_shape[1:])
        self.num_classes = _conditional_classes(label_input is not None, num_classes, self.name)
        order = [z_input, label_input] if label_input is not None else [z_input]
        label_dtype = tf.as_dtype(label_input.dtype) if label_input is not None else None
        z_spec = tf.TensorSpec((None, self.latent_dim), tf.float32)

        if label_input is None:

            @tf.function(input_signature=[z_spec], autograph=False)
            def run(z):
                return tf.cast(generator(z, training=False), tf.float32)

        else:
            # Identity, not `==` (which KerasTensors overload).
            positions = [next(i for i, known in enumerate(generator.inputs) if known is tensor) for tensor in order]

            @tf.function(input_signature=[z_spec, tf.TensorSpec((None,), tf.int64)], autograph=False)
            def run(z, labels):
                feeds = [z, tf.cast(labels, label_dtype)]
                ordered = [None] * 2
                for feed, position in zip(feeds, positions):
                    ordered[position] = feed
                return tf.cast(generator(ordered, training=False), tf.float32)

        self._run = run

    def generate_batch(self, z, labels):
        if labels is None:
            return self._run(z).numpy()
        return self._run(z, np.asarray(labels, np.int64)).numpy()

    def describe(self):
        return {**super().describe(), "path": self.path, "sha256": sha256_file(self.path) if self.path else None}


class OnnxSource(GeneratorSource):
    """An ONNX generator run with onnxruntime on the CPU.

    Args:
        path: the `.onnx` file.
        facts: `{"latent_dim", "num_classes"}` known from elsewhere (an
            export's manifest); the file's `metadata_props` take precedence.
        threads: onnxruntime intra-op threads. Defaults to all usable cores.
    """

    kind = "onnx"

    def __init__(self, path, facts=None, threads=None, num_classes=None):
        import onnxruntime as ort

        self.path = self.name = os.fspath(path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = int(threads or _usable_cores())
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types.
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ZooError(f"Could not open {self.path} with onnxruntime ({first[:200]}).") from error
        meta = dict(self._session.get_modelmeta().custom_metadata_map)
        facts = {**(facts or {}), **{key: meta[key] for key in ("latent_dim", "num_classes") if key in meta}}
        inputs = {port.name: port for port in self._session.get_inputs()}
        if "z" in inputs:
            self._z = inputs["z"]
        elif len(inputs) == 1:
            self._z = next(iter(inputs.values()))
        else:
            raise ZooError(
                f"{self.path}: an ONNX generator needs inputs named 'z' (and 'label'). "
                f"Received: inputs {sorted(inputs)}."
            )
        others = [port for name, port in inputs.items() if name != self._z.name]
        self._label = inputs.get("label") or (others[0] if len(others) == 1 else None)
        if len(others) > 1:
            raise ZooError(f"{self.path}: expected inputs 'z' and 'label'. Received: inputs {sorted(inputs)}.")
        outputs = [port.name for port in self._session.get_outputs()]
        self._output = "image" if "image" in outputs else outputs[0]
        self.latent_dim = _positive_int(facts.get("latent_dim"), "latent_dim", self.path)
        if self.latent_dim is None and isinstance(self._z.shape[-1], int) and self._z.shape[-1] > 0:
            self.latent_dim = self._z.shape[-1]
        if self.latent_dim is None:
            raise ZooError(
                f"{self.path} has no 'latent_dim' in its metadata_props and a dynamic z shape "
                f"{self._z.shape}; export it with `zoo export`."
            )
        declared = facts.get("num_classes")
        declared = None if str(declared).strip().lower() in _NONE_STRINGS else _positive_int(declared, "num_classes", self.path)
        if declared is not None and self._label is None:
            raise ZooError(
                f"{self.path}: metadata says num_classes={declared} but the model has no 'label' input."
            )
        self.num_classes = _conditional_classes(self._label is not None, declared or num_classes, self.path)
        self._z_dtype = _numpy_dtype(self._z.type)
        self._label_dtype = _numpy_dtype(self._label.type) if self._label is not None else None
        shape = self._session.get_outputs()[0].shape
        self.image_shape = tuple(shape[1:]) if all(isinstance(d, int) for d in shape[1:]) else None

    def generate_batch(self, z, labels):
        feeds = {self._z.name: np.asarray(z, self._z_dtype)}
        if self._label is not None:
            feeds[self._label.name] = np.asarray(labels, self._label_dtype)
        return self._session.run([self._output], feeds)[0]

    def describe(self):
        return {**super().describe(), "path": self.path, "sha256": sha256_file(self.path)}


class ExportSource(OnnxSource):
    """An export folder (`manifest.json` + `generator.onnx`), its hashes checked."""

    kind = "export"

    def __init__(self, folder, threads=None, num_classes=None):
        folder = os.fspath(folder)
        manifest = _read_manifest(folder)
        formats = manifest.get("formats") if isinstance(manifest.get("formats"), dict) else {}
        relative = formats.get("onnx") if isinstance(formats.get("onnx"), str) else "generator.onnx"
        path = os.path.join(folder, relative)
        if not os.path.isfile(path):
            raise ZooError(f"{folder} has no {relative}. Pass a folder written by `zoo export`.")
        entry = (manifest.get("files") or {}).get(relative)
        if isinstance(entry, dict) and entry.get("sha256") and entry["sha256"] != sha256_file(path):
            raise ZooError(
                f"{path} does not match the sha256 in manifest.json; the export was modified. "
                "Re-export it or run `zoo verify` on the folder."
            )
        model_facts = manifest.get("model") if isinstance(manifest.get("model"), dict) else {}
        super().__init__(path, facts=model_facts, threads=threads, num_classes=num_classes)
        self.folder = self.name = folder
        self.manifest_model = model_facts

    def describe(self):
        return {**super().describe(), "folder": self.folder, "variant": self.manifest_model.get("variant")}


class ArraySource(Source):
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


class NoiseSource(Source):
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


def open_source(model, num_classes=None):
    """Returns a `Source` for `model`.

    Args:
        model: a `Source`; a `zoo.GAN` or generator `keras.Model`; or a path to
            a `.keras` file, an `.onnx` file, an export folder
            (`manifest.json` + `generator.onnx`) or a run folder (`model.keras`).
        num_classes: classes of a conditional model that does not record them
            (e.g. a bare ONNX file); the data set's. Defaults to `None`.

    Example:

    >>> source = open_source("export/my-cgan")
    >>> source.kind, source.num_classes
    ('export', 10)
    """
    if isinstance(model, Source):
        return model
    if not isinstance(model, (str, os.PathLike)):
        import keras

        if isinstance(model, keras.Model):
            return KerasSource(model, num_classes=num_classes)
        raise ZooError(
            f"Cannot score a {type(model).__name__}. Pass a zoo.GAN, a generator, or a path to a "
            ".keras file, an .onnx file or an export folder."
        )
    path = os.fspath(model)
    if not os.path.exists(path):
        raise ZooError(
            f"No such model file or folder: {path}. Pass a .keras file, an .onnx file or an export folder."
        )
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "manifest.json")):
            return ExportSource(path, num_classes=num_classes)
        if os.path.isfile(os.path.join(path, "model.keras")):
            path = os.path.join(path, "model.keras")
        elif os.path.isfile(os.path.join(path, "generator.onnx")):
            return OnnxSource(os.path.join(path, "generator.onnx"), num_classes=num_classes)
        else:
            raise ZooError(
                f"{path} is a folder without manifest.json, model.keras or generator.onnx. "
                "Pass a .keras file, an .onnx file or an export folder."
            )
    if path.lower().endswith(".onnx"):
        return OnnxSource(path, num_classes=num_classes)
    import keras

    import zoo.gan  # noqa: F401  (registers `zoo>GAN` so a saved GAN deserializes)
    from zoo.loading import _load_keras_file

    loaded = _load_keras_file(path, keras)
    if not isinstance(loaded, keras.Model):
        raise ZooError(f"{path} holds a {type(loaded).__name__}, not a zoo GAN or generator.")
    return KerasSource(loaded, name=path, num_classes=num_classes, path=path)


def _conditional_classes(has_label_input, num_classes, name):
    if not has_label_input:
        return None
    if num_classes is None:
        raise ZooError(
            f"{name} takes labels but does not say how many classes it has. "
            "Pass num_classes (the data set's is used by `zoo evaluate`)."
        )
    return int(num_classes)


def _positive_int(value, key, path):
    """Parses a metadata value (`"64"`, `64`); `None` stays `None`."""
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ZooError(f"{path}: {key} must be an integer. Received: {key}={value!r}.") from None
    if isinstance(value, bool) or number <= 0:
        raise ZooError(f"{path}: {key} must be positive. Received: {key}={value!r}.")
    return number


def _numpy_dtype(onnx_type):
    return {
        "tensor(float)": np.float32,
        "tensor(float16)": np.float16,
        "tensor(double)": np.float64,
        "tensor(int64)": np.int64,
        "tensor(int32)": np.int32,
    }.get(onnx_type, np.float32)


def _read_manifest(folder):
    path = os.path.join(folder, "manifest.json")
    try:
        with open(path, encoding="utf-8") as file:
            manifest = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ZooError(f"{path} is not valid JSON ({error}).") from error
    if not isinstance(manifest, dict):
        raise ZooError(f"{path} is not a zoo export manifest (not a JSON object).")
    return manifest


def _usable_cores():
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
