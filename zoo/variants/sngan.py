"""`sngan`: spectrally normalised discriminator with the hinge loss (Miyato et al. 2018).

DCGAN-style networks; every layer of D is wrapped in `SpectralNormalization`, which
bounds D's Lipschitz constant without a penalty; TTUR learning rates (D 4e-4,
G 1e-4; Heusel et al. 2017).
"""

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "sngan"


@register_variant(
    NAME,
    conditional=False,
    summary="spectrally normalised discriminator with the hinge loss (Miyato et al. 2018).",
    references=("Miyato et al. 2018, Spectral Normalization for GANs, arXiv:1802.05957",),
)
def sngan(image_shape=(28, 28, 1), latent_dim=64, g_width=24, d_width=32, **gan_options):
    """Builds an SNGAN.

    Example:

    >>> gan = zoo.create("sngan", image_shape=(32, 32, 3), latent_dim=128)
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    image_shape = tuple(image_shape)
    return GAN(
        blocks.conv_generator(latent_dim, image_shape, g_width),
        blocks.conv_discriminator(image_shape, d_width, spectral_norm=True),
        latent_dim=latent_dim,
        variant=NAME,
        compile_defaults={
            "loss": "hinge",
            "g_optimizer": default_optimizer(1e-4, beta_1=0.5, beta_2=0.999),
            "d_optimizer": default_optimizer(4e-4, beta_1=0.5, beta_2=0.999),
        },
        **gan_options,
    )
