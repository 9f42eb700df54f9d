"""`OnnxGenerator`: an exported generator run by onnxruntime, without TensorFlow.

One `InferenceSession` per generator, opened once and shared: onnxruntime's
`run` is safe to call from several threads at once. Each call uses one
intra-op thread by default: small generators gain little from splitting one call
over cores, and a server gets more from running one call per core side by side
(see `zoo.serving.batching`). Latents come from `zoo.latent.sample_latent`, so a
seed gives the same images as Keras' `GAN.generate` and the artifact's test
vectors.
"""

import math

import numpy as np
import onnxruntime

from zoo.errors import ZooError
from zoo.images import to_uint8
from zoo.latent import check_count, check_labels, sample_latent
from zoo.serving.metadata import IMAGE_NAME, LABEL_NAME, LATENT_NAME, GeneratorMetadata
from zoo.serving.resolve import resolve_onnx

INTERPOLATIONS = ("slerp", "linear")


def session_options(threads=1):
    """onnxruntime `SessionOptions` for serving a small generator on a CPU.

    Args:
        threads: intra-op threads of one call. Defaults to `1`; concurrency comes
            from calling the shared session from several threads.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ZooError(f"threads must be a positive integer. Received: threads={threads!r}.")
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if threads > 1:
        # Spinning workers would burn the cores other requests need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxGenerator:
    """An exported GAN generator run with onnxruntime (NumPy in, uint8 out).

    Args:
        model: an artifact folder (holding `generator.onnx`), an `.onnx` file, or
            a pretrained name.
        name: the name to serve it under. Defaults to the folder name (or the
            file stem, or the pretrained name).
        threads: intra-op threads per call. Defaults to `1`.
        max_batch: largest batch of one onnxruntime call; bigger requests are
            run in chunks (the images do not depend on the chunking). Defaults
            to `64`.

    Example:

    >>> g = OnnxGenerator("export/cgan-fashion-mnist")
    >>> g.generate(16, labels=[3] * 16, seed=7).shape
    (16, 28, 28, 1)
    >>> g.metadata.latent_dim
    64
    """

    def __init__(self, model, name=None, threads=1, max_batch=64):
        self.path, default_name = resolve_onnx(model)
        self.name = str(name or default_name)
        self.max_batch = check_count(max_batch)
        try:
            self.session = onnxruntime.InferenceSession(
                str(self.path), session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph types.
            message = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise ZooError(
                f"onnxruntime cannot open the generator. Received: model={str(self.path)!r} "
                f"({type(error).__name__}: {message})."
            ) from error
        self.metadata = GeneratorMetadata.from_session(self.session, self.name)
        outputs = [port.name for port in self.session.get_outputs()]
        self._outputs = [IMAGE_NAME if IMAGE_NAME in outputs else outputs[0]]
        low, high = self.metadata.output_range
        self._to_uint8 = to_uint8 if (low, high) == (-1.0, 1.0) else _range_to_uint8(low, high)

    # ------------------------------------------------------------ facts
    @property
    def latent_dim(self):
        return self.metadata.latent_dim

    @property
    def num_classes(self):
        return self.metadata.num_classes

    @property
    def image_shape(self):
        return self.metadata.image_shape

    def __repr__(self):
        kind = f"{self.num_classes} classes" if self.num_classes else "unconditional"
        return (
            f"OnnxGenerator(name={self.name!r}, latent_dim={self.latent_dim}, "
            f"image_shape={self.image_shape}, {kind})"
        )

    # ------------------------------------------------------------ inputs
    def latents(self, n, seed=None):
        """The `[n, latent_dim]` latents `generate(n, seed=seed)` uses."""
        return sample_latent(n, self.latent_dim, seed)

    def check_labels(self, labels, n):
        """Labels as int64 `[n]` (or `None` for an unconditional model); `ZooError` if bad."""
        return check_labels(labels, n, self.num_classes)

    # ------------------------------------------------------------ running
    def run(self, z, labels=None):
        """Runs the graph on prepared inputs and returns float32 images.

        Args:
            z: float32 `[n, latent_dim]`.
            labels: int64 `[n]` for a conditional model, else `None`.

        Returns:
            float32 `[n, H, W, C]` in `metadata.output_range`.
        """
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ZooError(
                f"Expected z of shape [n, {self.latent_dim}]. Received: z.shape={z.shape}."
            )
        if labels is None and self.metadata.conditional:
            raise ZooError(f"'{self.name}' is conditional: pass labels. Received: labels=None.")
        if labels is not None and not self.metadata.conditional:
            raise ZooError(f"'{self.name}' is unconditional and takes no labels. Received: labels.")
        outputs = []
        for start in range(0, len(z), self.max_batch):
            stop = start + self.max_batch
            feeds = {LATENT_NAME: z[start:stop]}
            if labels is not None:
                feeds[LABEL_NAME] = np.ascontiguousarray(labels[start:stop], dtype=np.int64)
            outputs.append(self.session.run(self._outputs, feeds)[0])
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def to_uint8(self, images):
        """Maps float outputs to uint8 pixels, as `zoo.images.to_uint8` does."""
        return self._to_uint8(images)

    def generate(self, n, labels=None, seed=None):
        """Generates `n` images as uint8 `[n, H, W, C]`.

        Args:
            n: number of images, a positive integer.
            labels: conditional models: one int for all images or `n` ints in
                `0..num_classes - 1`; unconditional models: leave out.
            seed: integer seed of the latent draw; `None` draws fresh noise.

        Example:

        >>> g.generate(4, labels=[0, 1, 2, 3], seed=0).dtype
        dtype('uint8')
        """
        z = self.latents(n, seed)
        labels = self.check_labels(labels, len(z))
        return self.to_uint8(self.run(z, labels))

    def interpolate(self, seed_a, seed_b, steps=8, labels=None, method="slerp"):
        """A latent walk from the image of `seed_a` to the image of `seed_b`.

        The first and last frames are `generate(1, labels, seed=seed_a)` and
        `generate(1, labels, seed=seed_b)`.

        Args:
            seed_a: integer seed of the start latent.
            seed_b: integer seed of the end latent.
            steps: number of frames, at least 2. Defaults to `8`.
            labels: as in `generate`, for the `steps` frames.
            method: `"slerp"` (along the great circle, which keeps the norm a
                Gaussian latent expects) or `"linear"`. Defaults to `"slerp"`.

        Returns:
            uint8 `[steps, H, W, C]`.
        """
        z = self.walk(seed_a, seed_b, steps, method)
        labels = self.check_labels(labels, len(z))
        return self.to_uint8(self.run(z, labels))

    def walk(self, seed_a, seed_b, steps=8, method="slerp"):
        """The float32 `[steps, latent_dim]` latents of `interpolate`."""
        steps = check_count(steps)
        if steps < 2:
            raise ZooError(f"A walk needs at least 2 steps. Received: steps={steps}.")
        if method not in INTERPOLATIONS:
            raise ZooError(
                f"Unknown interpolation. Received: method={method!r}. "
                f"Available: {', '.join(INTERPOLATIONS)}."
            )
        a = self.latents(1, seed_a)[0].astype(np.float64)
        b = self.latents(1, seed_b)[0].astype(np.float64)
        t = np.linspace(0.0, 1.0, steps)[:, None]
        if method == "slerp":
            walk = slerp(a, b, t)
        else:
            walk = (1.0 - t) * a + t * b
        walk = walk.astype(np.float32)
        # The ends are exactly the seeds' latents, whatever the rounding.
        walk[0], walk[-1] = a, b
        return walk


def slerp(a, b, t):
    """Spherical interpolation between vectors `a` and `b` at fractions `t` `[k, 1]`."""
    cosine = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    omega = math.acos(float(np.clip(cosine, -1.0, 1.0)))
    if omega < 1e-6:
        return (1.0 - t) * a + t * b
    return (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / math.sin(omega)


def _range_to_uint8(low, high):
    scale = 255.0 / (high - low)

    def convert(images):
        images = np.asarray(images, dtype=np.float32)
        return np.clip(np.rint((images - low) * scale), 0, 255).astype(np.uint8)

    return convert
