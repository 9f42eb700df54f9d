"""`OnnxGenerator`: an exported generator run by onnxruntime, without TensorFlow.

One `InferenceSession` per generator, opened once by `zoo.sessions.onnx_session`
and shared: onnxruntime's `run` is safe to call from several threads at once.
Each call uses one intra-op thread by default, without spinning: small
generators gain little from splitting one call over cores, and a server gets
more from running one call per core side by side (see `zoo.serving.batching`).
Latents (truncation included), label checks, chunking, walks and pixel
conversion are `zoo.sampling.Sampler`'s, so a seed (and `truncation`) gives the
same images as Keras' `GAN.generate` and the artifact's test vectors.
"""

import warnings

from zoo.sampling import OnnxBackend, Sampler
from zoo.serving.metadata import GeneratorMetadata
from zoo.serving.resolve import resolve_onnx


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
        providers: onnxruntime execution providers, a list or a
            comma-separated string (see `zoo.sessions.check_providers`).
            Defaults to the best available, the CPU last.

    Attributes:
        sampler: the `zoo.sampling.Sampler` that runs it (float32 images).
        metadata: its `GeneratorMetadata` (name, record, ONNX properties).
        session: the onnxruntime `InferenceSession`.
        providers: the execution providers the session runs on, in order.

    Example:

    >>> g = OnnxGenerator("export/cgan-fashion-mnist")
    >>> g.generate(16, labels=[3] * 16, seed=7).shape
    (16, 28, 28, 1)
    >>> g.generate(16, labels=3, seed=7, truncation=0.7).dtype  # z scaled by 0.7
    dtype('uint8')
    >>> g.metadata.latent_dim
    64
    """

    def __init__(self, model, name=None, threads=1, max_batch=64, providers=None):
        from zoo.sessions import onnx_session

        self.path, default_name = resolve_onnx(model)
        name = str(name or default_name)
        self.session = onnx_session(
            self.path, threads=threads, providers=providers, spinning=False, name=str(self.path)
        )
        self.providers = tuple(self.session.get_providers())
        self.metadata = GeneratorMetadata.from_session(self.session, name)
        self.sampler = Sampler(OnnxBackend(self.session), self.metadata.record, name=name, max_batch=max_batch)

    # ------------------------------------------------------------ facts
    name = property(lambda self: self.sampler.name)
    max_batch = property(lambda self: self.sampler.max_batch)
    latent_dim = property(lambda self: self.sampler.latent_dim)
    num_classes = property(lambda self: self.sampler.num_classes)
    image_shape = property(lambda self: self.sampler.image_shape)

    def __repr__(self):
        kind = f"{self.num_classes} classes" if self.num_classes else "unconditional"
        return (
            f"OnnxGenerator(name={self.name!r}, latent_dim={self.latent_dim}, "
            f"image_shape={self.image_shape}, {kind})"
        )

    # ------------------------------------------------------------ inputs
    def latents(self, n, seed=None, truncation=None):
        """The `[n, latent_dim]` latents `generate(n, seed=seed, truncation=truncation)` uses."""
        return self.sampler.latents(n, seed, truncation)

    def check_labels(self, labels, n):
        """Labels as int64 `[n]` (or `None` for an unconditional model); `ZooError` if bad."""
        return self.sampler.check_labels(labels, n)

    def walk(self, seed_a, seed_b, steps=8, method="slerp", truncation=None):
        """The float32 `[steps, latent_dim]` latents of `interpolate` (see `Sampler.walk`)."""
        return self.sampler.walk(seed_a, seed_b, steps, method, truncation)

    # ------------------------------------------------------------ running
    def run(self, z, labels=None):
        """Runs the graph on prepared inputs, `max_batch` rows per call.

        Args:
            z: float32 `[n, latent_dim]`.
            labels: int64 `[n]` for a conditional model, else `None`.

        Returns:
            float32 `[n, H, W, C]` in `metadata.output_range`.
        """
        return self.sampler.run(z, labels)

    def to_uint8(self, images):
        """Maps float outputs to uint8 pixels, as `zoo.images.to_uint8` does."""
        return self.sampler.to_uint8(images)

    def generate(self, n, labels=None, seed=None, truncation=None):
        """Generates `n` images as uint8 `[n, H, W, C]`.

        Args:
            n: number of images, a positive integer.
            labels: conditional models: one int for all images or `n` ints in
                `0..num_classes - 1`; unconditional models: leave out.
            seed: integer seed of the latent draw; `None` draws fresh noise.
            truncation: `psi` in (0, 1]: `z` is `psi` times the seed's draw
                (the truncation trick, see `zoo.latent`). `None`: no truncation.

        Example:

        >>> g.generate(4, labels=[0, 1, 2, 3], seed=0).dtype
        dtype('uint8')
        """
        return self.to_uint8(self.sampler.generate(n, labels=labels, seed=seed, truncation=truncation))

    def interpolate(self, seed_a, seed_b, steps=8, labels=None, method="slerp", truncation=None):
        """A latent walk from the image of `seed_a` to the image of `seed_b`.

        The first and last frames are `generate(1, labels, seed=seed_a,
        truncation=truncation)` and the same for `seed_b`.

        Args:
            seed_a: integer seed of the start latent.
            seed_b: integer seed of the end latent.
            steps: number of frames, at least 2. Defaults to `8`.
            labels: as in `generate`, for the `steps` frames.
            method: `"slerp"` (along the great circle, which keeps the norm a
                Gaussian latent expects) or `"linear"`. Defaults to `"slerp"`.
            truncation: `psi` of both ends' latents, as in `generate`.

        Returns:
            uint8 `[steps, H, W, C]`.
        """
        images = self.sampler.interpolate(seed_a, seed_b, steps, labels=labels, method=method, truncation=truncation)
        return self.to_uint8(images)


_warned = set()


def session_options(threads=1):
    """Deprecated: use `zoo.sessions.session_options(threads, spinning=False)`.

    onnxruntime `SessionOptions` for serving a small generator on a CPU: one
    intra-op thread by default, no spinning.
    """
    from zoo import sessions

    if "session_options" not in _warned:
        _warned.add("session_options")
        warnings.warn(
            "zoo.serving.session_options is deprecated; use zoo.sessions.session_options(threads, spinning=False).",
            DeprecationWarning,
            stacklevel=2,
        )
    return sessions.session_options(sessions.check_threads(threads), spinning=False)
