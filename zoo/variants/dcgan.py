"""`dcgan`: deep convolutional GAN (Radford et al. 2016).

Strided convolutions and LeakyReLU in D, BatchNorm + ReLU in G, no pooling. G
doubles resolution with nearest upsampling + 3x3 convolution by default (Odena et
al. 2016), free of checkerboard artefacts; `upsampling="transpose"` gives the
paper's 4x4 stride-2 transposed convolutions (fewer multiply-adds, faster to
train on CPU). Both export to the same fast ONNX graph of 2x2 phase
convolutions (`zoo.export.onnx_optimize`).
The default widths (G: 96-48-24 channels at 28x28, D: 32-64) were chosen with
`bench/train_throughput.py`: D's width dominates the CPU cost of a step, and
these train more than 2x faster than the TensorFlow DCGAN tutorial's networks.
The networks are `blocks.conv_generator` and `blocks.conv_discriminator`, which the
other DCGAN-style variants share.
"""

from zoo.errors import ZooError
from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.lazy import lazy_exports
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "dcgan"

# The networks moved to `blocks`, which every DCGAN-style variant shares.
__getattr__, __dir__ = lazy_exports(__name__, {}, deprecated={
    "build_generator": ("zoo.variants.blocks", "conv_generator"),
    "build_discriminator": ("zoo.variants.blocks", "conv_discriminator"),
})


@register_variant(
    NAME,
    conditional=False,
    self_conditioning=True,
    summary="deep convolutional GAN (Radford et al. 2016).",
    references=("Radford, Metz & Chintala 2016, DCGAN, arXiv:1511.06434",),
)
def dcgan(
    image_shape=(28, 28, 1),
    latent_dim=64,
    g_width=24,
    d_width=32,
    upsampling="nearest",
    spectral_norm=False,
    minibatch_std=False,
    output_kernel_size=3,
    clusters=None,
    cluster_frequencies=None,
    **gan_options,
):
    """Builds a DCGAN for `image_shape` (square, side b*2^k, e.g. 28, 32, 64).

    `spectral_norm=True` wraps D's layers in spectral normalization (Miyato et
    al. 2018); `minibatch_std=True` gives D a minibatch standard deviation
    channel (Karras et al. 2018) against mode collapse; `output_kernel_size=1`
    makes G's output layer pointwise (see `blocks.conv_generator_body`);
    `clusters=k` makes it self-conditioned (Liu et al. 2020): D also sees
    each image's cluster id (k-means clusters found by `zoo.training.train`,
    see `zoo.clusters`; `cluster_frequencies` are their shares) and G draws
    the cluster from `z[:, 0]`, so it still maps `z` alone to an image; `ema_decay`, `seed` and `d_steps` go to `zoo.GAN`.

    Example:

    >>> gan = zoo.create("dcgan", image_shape=(32, 32, 3), latent_dim=128)
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    image_shape = tuple(image_shape)
    frequencies = _cluster_frequencies(clusters, cluster_frequencies)
    if frequencies is None:
        discriminator = blocks.conv_discriminator(image_shape, d_width, spectral_norm, minibatch_std)
    else:
        if minibatch_std:
            raise ZooError("minibatch_std is not available with clusters; pass one of them.")
        discriminator = blocks.label_conditioned_discriminator(
            image_shape, len(frequencies), d_width, spectral_norm=spectral_norm
        )
    return GAN(
        blocks.conv_generator(
            latent_dim, image_shape, g_width, upsampling, output_kernel_size, frequencies
        ),
        discriminator,
        latent_clusters=frequencies,
        latent_dim=latent_dim,
        variant=NAME,
        compile_defaults={
            "loss": "non_saturating",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.5),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.5),
        },
        **gan_options,
    )


def _cluster_frequencies(clusters, cluster_frequencies):
    if clusters is None:
        if cluster_frequencies is not None:
            raise ZooError("cluster_frequencies needs clusters=k as well.")
        return None
    if isinstance(clusters, bool) or not isinstance(clusters, int) or clusters < 2:
        raise ZooError(f"clusters must be an integer >= 2. Received: clusters={clusters!r}.")
    if cluster_frequencies is None:
        return [1.0 / clusters] * clusters
    if len(cluster_frequencies) != clusters or min(cluster_frequencies) <= 0:
        raise ZooError(
            f"cluster_frequencies must be {clusters} positive numbers (one per cluster). "
            f"Received {len(cluster_frequencies)} values."
        )
    return [float(value) for value in cluster_frequencies]
