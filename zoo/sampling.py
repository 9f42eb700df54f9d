"""`Sampler`: the one way to run a generator, whatever format it is in.

A `Sampler` joins a backend that runs one batch (`KerasBackend`, `OnnxBackend`,
`LiteRTBackend`) with the generator's `zoo.record.GeneratorRecord`, and owns what
every caller needs the same way: seeded latent draws (`zoo.latent`, so one seed
and truncation `psi` give one image in Keras, onnxruntime, LiteRT and the web
page), label checks, chunking into batches (the images do not depend on the
chunking), latent walks, and the conversion of float outputs to uint8 pixels. `GAN.generate`, `zoo
sample`, `zoo.metrics` and `zoo serve` all draw through it.

Importing this module imports NumPy only; a backend imports its runtime when it
is made (`zoo.sessions` opens onnxruntime and LiteRT sessions).

Example:

>>> sampler = Sampler.from_onnx("export/cgan-fashion-mnist/generator.onnx")
>>> images = sampler.generate(16, labels=3, seed=0)      # float32 [16, 28, 28, 1]
>>> typical = sampler.generate(16, labels=3, seed=0, truncation=0.7)  # z scaled by 0.7
>>> pixels = sampler.to_uint8(images)                     # uint8, same shape
"""

import math

import numpy as np

from zoo.errors import ZooError
from zoo.images import to_uint8
from zoo.latent import check_count, check_labels, sample_latent
from zoo.record import IMAGE_NAME, LABEL_NAME, LATENT_NAME, GeneratorRecord

INTERPOLATIONS = ("slerp", "linear")
DEFAULT_MAX_BATCH = 256


class KerasBackend:
    """Runs a Keras generator eagerly, in inference mode.

    Args:
        generator: a `keras.Model` with input `z` (and `label`) and output
            `image`. Inputs with other names are taken by position: the
            first (or only) one is `z`, the other one the labels.
    """

    kind = "keras"

    def __init__(self, generator):
        self.generator = generator
        inputs = list(generator.inputs)
        names = [tensor.name.split(":")[0] for tensor in inputs]
        if LATENT_NAME in names:
            self._z_position = names.index(LATENT_NAME)
        elif len(inputs) in (1, 2):
            self._z_position = 0
        else:
            raise ZooError(
                f"{generator.name}: a generator needs inputs named 'z' (and 'label'). Received: inputs {sorted(names)}."
            )
        self.conditional = len(inputs) == 2
        label = inputs[1 - self._z_position] if self.conditional else None
        self._label_dtype = None if label is None else str(getattr(label.dtype, "name", label.dtype))
        z = inputs[self._z_position]
        output_shape = generator.output_shape
        if len(z.shape) != 2 or z.shape[-1] is None or not isinstance(output_shape, tuple) or len(output_shape) != 4:
            raise ZooError(
                f"{generator.name} is not a generator: expected z [batch, latent_dim] -> image [batch, H, W, C]. "
                f"Received: input shape {tuple(z.shape)}, output shape {output_shape}."
            )
        self.latent_dim = int(z.shape[-1])
        self.image_shape = tuple(int(dim) for dim in output_shape[1:])

    def run(self, z, labels=None):
        """float32 images for `z` `[b, latent_dim]` and int labels `[b]` (or `None`)."""
        import keras

        if self.conditional:
            feeds = [None, None]
            feeds[self._z_position] = z
            feeds[1 - self._z_position] = np.asarray(labels).astype(self._label_dtype)
        else:
            feeds = z
        images = self.generator(feeds, training=False)
        return np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)


def port_feeds(z, labels=None):
    """The feeds of an exported generator, by port name: `z` float32 and, if given, `label` int64."""
    feeds = {LATENT_NAME: np.ascontiguousarray(z, dtype=np.float32)}
    if labels is not None:
        feeds[LABEL_NAME] = np.ascontiguousarray(labels, dtype=np.int64)
    return feeds


class OnnxBackend:
    """Runs an onnxruntime `InferenceSession`, fed by port name.

    Args:
        session: a session from `zoo.sessions.onnx_session`.
    """

    kind = "onnx"

    def __init__(self, session):
        self.session = session
        outputs = [port.name for port in session.get_outputs()]
        self._outputs = [IMAGE_NAME if IMAGE_NAME in outputs else outputs[0]]

    def run(self, z, labels=None):
        return np.asarray(self.session.run(self._outputs, port_feeds(z, labels))[0], dtype=np.float32)


class LiteRTBackend:
    """Runs a LiteRT interpreter (`zoo.export.litert`), any batch size.

    Args:
        interpreter: an interpreter from `zoo.sessions.litert_interpreter`.
    """

    kind = "litert"

    def __init__(self, interpreter):
        self.interpreter = interpreter

    def run(self, z, labels=None):
        from zoo.export import litert

        return np.asarray(litert.run(self.interpreter, port_feeds(z, labels)), dtype=np.float32)


class Sampler:
    """A generator in some format, with its record: seeds and labels in, images out.

    Args:
        backend: runs one batch (`KerasBackend`, `OnnxBackend`,
            `LiteRTBackend`, or anything with `run(z, labels)`).
        record: the generator's `GeneratorRecord`.
        name: what to call it in messages. Defaults to the variant.
        max_batch: largest batch of one backend call; bigger requests run in
            chunks. Defaults to `256`.

    Example:

    >>> sampler = Sampler.from_keras(gan)
    >>> sampler.generate(4, seed=0).shape
    (4, 28, 28, 1)
    """

    def __init__(self, backend, record, name=None, max_batch=DEFAULT_MAX_BATCH):
        self.backend = backend
        self.record = record
        self.name = str(name or record.variant or "generator")
        self.max_batch = check_count(max_batch)

    # ------------------------------------------------------------ builders

    @classmethod
    def from_keras(cls, model, name=None, record=None, max_batch=DEFAULT_MAX_BATCH):
        """A sampler of a `zoo.GAN` (its EMA generator if kept) or a generator `keras.Model`.

        Args:
            model: the `zoo.GAN` or generator.
            name: what to call it. Defaults to the model's name.
            record: the generator's record, if known; a `zoo.GAN` knows its
                own, a bare conditional generator needs one for its class count
                unless it has a label `Embedding`.
        """
        from zoo.gan import GAN

        generator = model.inference_generator if isinstance(model, GAN) else model
        backend = KerasBackend(generator)
        if record is None:
            record = model.record if isinstance(model, GAN) else _keras_record(backend, generator)
        return cls(backend, record, name=name or model.name, max_batch=max_batch)

    @classmethod
    def from_onnx(
        cls, source, name=None, threads=None, providers=None, spinning=True, max_batch=DEFAULT_MAX_BATCH, num_classes=None
    ):
        """A sampler of an ONNX file (path or bytes), its record read from the file's metadata.

        Args:
            source: the `.onnx` path or bytes.
            name: what to call it. Defaults to the path.
            threads, providers, spinning: see `zoo.sessions.onnx_session`.
            num_classes: classes of a conditional file whose metadata does
                not record them (see `GeneratorRecord.from_onnx_metadata`).
        """
        from zoo.sessions import onnx_ports, onnx_session

        shown = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "generator.onnx")
        session = onnx_session(source, threads=threads, providers=providers, spinning=spinning, name=shown)
        inputs, image = onnx_ports(session)
        properties = dict(session.get_modelmeta().custom_metadata_map)
        record = GeneratorRecord.from_onnx_metadata(properties, inputs, image, source=shown, num_classes=num_classes)
        return cls(OnnxBackend(session), record, name=shown, max_batch=max_batch)

    @classmethod
    def from_litert(cls, path, name=None, threads=None, max_batch=DEFAULT_MAX_BATCH):
        """A sampler of a `.tflite` file, its record read from the `"zoo"` metadata."""
        from zoo.export import litert
        from zoo.sessions import litert_interpreter

        shown = name or str(path)
        record = GeneratorRecord.from_litert_metadata(litert.read_metadata(path), source=shown)
        return cls(LiteRTBackend(litert_interpreter(path, threads)), record, name=shown, max_batch=max_batch)

    # ------------------------------------------------------------ facts

    @property
    def latent_dim(self):
        return self.record.latent_dim

    @property
    def num_classes(self):
        return self.record.num_classes

    @property
    def image_shape(self):
        return self.record.image_shape

    @property
    def conditional(self):
        return self.record.conditional

    def __repr__(self):
        kind = f"{self.num_classes} classes" if self.conditional else "unconditional"
        return (
            f"{type(self).__name__}(name={self.name!r}, backend={getattr(self.backend, 'kind', '?')}, "
            f"latent_dim={self.latent_dim}, image_shape={self.image_shape}, {kind})"
        )

    # ------------------------------------------------------------ inputs

    def latents(self, n, seed=None, truncation=None):
        """The float32 `[n, latent_dim]` latents `generate(n, seed=seed, truncation=truncation)` uses."""
        return sample_latent(n, self.latent_dim, seed, truncation=truncation)

    def check_labels(self, labels, n):
        """Labels as int64 `[n]` (`None` for an unconditional model); `ZooError` if bad."""
        return check_labels(labels, n, self.num_classes)

    # ------------------------------------------------------------ running

    def run(self, z, labels=None):
        """Runs the generator on prepared inputs, `max_batch` rows per call.

        Args:
            z: float32 `[n, latent_dim]`.
            labels: int `[n]` for a conditional model, else `None`.

        Returns:
            float32 `[n, H, W, C]` in `record.output_range`.
        """
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or not len(z):
            raise ZooError(f"Expected z of shape [n, {self.latent_dim}], n >= 1. Received: z.shape={z.shape}.")
        if labels is None and self.conditional:
            raise ZooError(f"'{self.name}' is conditional: pass labels. Received: labels=None.")
        if labels is not None and not self.conditional:
            raise ZooError(f"'{self.name}' is unconditional and takes no labels. Received: labels.")
        outputs = []
        for start in range(0, len(z), self.max_batch):
            stop = start + self.max_batch
            outputs.append(self.backend.run(z[start:stop], None if labels is None else labels[start:stop]))
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def generate(self, n, labels=None, seed=None, truncation=None):
        """Generates `n` images, float32 `[n, H, W, C]` in `record.output_range`.

        Args:
            n: number of images, a positive integer.
            labels: conditional models: one int for all images or `n` ints in
                `0..num_classes - 1`; unconditional models: leave out.
            seed: integer seed of the latent draw; `None` draws fresh noise.
            truncation: `psi` in (0, 1], the truncation trick: `z` is `psi`
                times the standard-normal draw (see `zoo.latent`), for more
                typical but less varied images. `None` (or `1`): no truncation.
        """
        z = self.latents(n, seed, truncation)
        return self.run(z, self.check_labels(labels, len(z)))

    def walk(self, seed_a, seed_b, steps=8, method="slerp", truncation=None):
        """The float32 `[steps, latent_dim]` latents from seed `a`'s to seed `b`'s.

        Args:
            seed_a, seed_b: integer seeds of the two ends.
            steps: number of latents, at least 2. Defaults to `8`.
            method: `"slerp"` (along the great circle, which keeps the norm a
                Gaussian latent expects) or `"linear"`. Defaults to `"slerp"`.
            truncation: `psi` of both ends' latents, as in `generate`.
        """
        steps = check_count(steps)
        if steps < 2:
            raise ZooError(f"A walk needs at least 2 steps. Received: steps={steps}.")
        if method not in INTERPOLATIONS:
            raise ZooError(f"Unknown interpolation. Received: method={method!r}. Available: {', '.join(INTERPOLATIONS)}.")
        a = self.latents(1, seed_a, truncation)[0].astype(np.float64)
        b = self.latents(1, seed_b, truncation)[0].astype(np.float64)
        t = np.linspace(0.0, 1.0, steps)[:, None]
        walk = slerp(a, b, t) if method == "slerp" else (1.0 - t) * a + t * b
        walk = walk.astype(np.float32)
        walk[0], walk[-1] = a, b  # the ends are exactly the seeds' latents, whatever the rounding
        return walk

    def interpolate(self, seed_a, seed_b, steps=8, labels=None, method="slerp", truncation=None):
        """float32 images along `walk(seed_a, seed_b, steps, method, truncation)`."""
        z = self.walk(seed_a, seed_b, steps, method, truncation)
        return self.run(z, self.check_labels(labels, len(z)))

    def to_uint8(self, images):
        """Maps float outputs in `record.output_range` to uint8 pixels (outside values are clipped)."""
        low, high = self.record.output_range
        if (low, high) == (-1.0, 1.0):
            return to_uint8(images)
        images = np.asarray(images, dtype=np.float32)
        return np.clip(np.rint((images - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)


def slerp(a, b, t):
    """Spherical interpolation between vectors `a` and `b` at fractions `t` `[k, 1]`."""
    cosine = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    omega = math.acos(float(np.clip(cosine, -1.0, 1.0)))
    if omega < 1e-6:
        return (1.0 - t) * a + t * b
    return (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)


def _keras_record(backend, generator):
    """The record of a bare Keras generator: classes from its label `Embedding`."""
    num_classes = None
    if backend.conditional:
        import keras

        sizes = [int(layer.input_dim) for layer in generator.layers if isinstance(layer, keras.layers.Embedding)]
        if not sizes:
            raise ZooError(
                f"Cannot tell how many classes generator '{generator.name}' has (no Embedding layer found); "
                "load it through its zoo.GAN, or pass record=GeneratorRecord(..., num_classes=N)."
            )
        num_classes = sizes[0]
    return GeneratorRecord(
        latent_dim=backend.latent_dim,
        image_shape=backend.image_shape,
        num_classes=num_classes,
        parameters=int(generator.count_params()),
    )
