"""`wgan_gp`: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

DCGAN-style networks; the critic has no BatchNorm (the penalty is per sample),
trains `d_steps=5` times per generator step on the Wasserstein loss plus
`zoo.regularizers.GradientPenalty` (lambda = 10), with Adam(1e-4, 0.5, 0.9).
"""

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.regularizers import GradientPenalty
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "wgan_gp"


@register_variant(
    NAME,
    conditional=False,
    summary="Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).",
    references=("Gulrajani et al. 2017, Improved Training of Wasserstein GANs, arXiv:1704.00028",),
)
def wgan_gp(
    image_shape=(28, 28, 1),
    latent_dim=64,
    g_width=24,
    d_width=32,
    penalty_weight=10.0,
    **gan_options,
):
    """Builds a WGAN-GP.

    Example:

    >>> gan = zoo.create("wgan_gp", image_shape=(28, 28, 1), d_steps=5)
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    image_shape = tuple(image_shape)
    gan_options.setdefault("d_steps", 5)
    gan_options.setdefault("d_penalties", [GradientPenalty(penalty_weight)])
    return GAN(
        blocks.conv_generator(latent_dim, image_shape, g_width),
        blocks.conv_discriminator(image_shape, d_width),
        latent_dim=latent_dim,
        variant=NAME,
        compile_defaults={
            "loss": "wasserstein",
            "g_optimizer": default_optimizer(1e-4, beta_1=0.5, beta_2=0.9),
            "d_optimizer": default_optimizer(1e-4, beta_1=0.5, beta_2=0.9),
        },
        **gan_options,
    )
