"""`lsgan`: least-squares GAN (Mao et al. 2017) on DCGAN-style networks.

D regresses real images to 1 and generated ones to 0; G pushes its samples to 1
(the a=0, b=c=1 coding of `zoo.losses.LeastSquaresLoss`).
"""

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "lsgan"


@register_variant(
    NAME,
    conditional=False,
    summary="least-squares GAN (Mao et al. 2017) on DCGAN-style networks.",
    references=("Mao et al. 2017, Least Squares GANs, arXiv:1611.04076",),
)
def lsgan(image_shape=(28, 28, 1), latent_dim=64, g_width=24, d_width=32, **gan_options):
    """Builds an LSGAN.

    Example:

    >>> gan = zoo.create("lsgan", image_shape=(28, 28, 1))
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    image_shape = tuple(image_shape)
    return GAN(
        blocks.conv_generator(latent_dim, image_shape, g_width),
        blocks.conv_discriminator(image_shape, d_width),
        latent_dim=latent_dim,
        variant=NAME,
        compile_defaults={
            "loss": "least_squares",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.5),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.5),
        },
        **gan_options,
    )
