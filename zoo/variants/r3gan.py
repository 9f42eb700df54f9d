"""`r3gan`: relativistic pairing loss with R1 + R2 penalties (Huang et al. 2024).

R3GAN's training recipe on the zoo's DCGAN-shaped networks (`blocks.conv_generator`,
`blocks.conv_discriminator`, which has no BatchNorm, so the penalties stay
per-sample): the relativistic pairing loss (RpGAN, `zoo.losses.RelativisticPairingLoss`),
zero-centred gradient penalties on real *and* generated images with one `gamma`
(`zoo.regularizers.R1Penalty` + `R2Penalty`), and Adam(2e-4) with betas (0, 0.99)
as in the paper. The paper's modernised ResNet backbone is not part of this variant:
the loss and penalties combine with any variant, e.g.
`zoo.create("dcgan", d_penalties=["r1", "r2"])` and `compile(loss="relativistic_pairing")`.
"""

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.regularizers import R1Penalty, R2Penalty
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "r3gan"


@register_variant(
    NAME,
    conditional=False,
    summary="relativistic pairing loss with R1 + R2 penalties (Huang et al. 2024).",
    references=(
        "Huang, Gokaslan, Kuleshov & Tompkin 2024, The GAN is dead; long live the GAN! "
        "A Modern GAN Baseline, arXiv:2501.05441",
        "Jolicoeur-Martineau 2018, The relativistic discriminator, arXiv:1807.00734",
        "Mescheder, Geiger & Nowozin 2018, Which Training Methods for GANs do actually "
        "Converge?, arXiv:1801.04406",
    ),
)
def r3gan(
    image_shape=(28, 28, 1),
    latent_dim=64,
    g_width=24,
    d_width=32,
    gamma=1.0,
    **gan_options,
):
    """Builds an R3GAN-trained DCGAN; `gamma` weighs both R1 and R2.

    `d_penalties` replaces the R1 + R2 pair when given; `ema_decay`, `seed`
    and `d_steps` go to `zoo.GAN`.

    Example:

    >>> gan = zoo.create("r3gan", image_shape=(32, 32, 3), gamma=0.5)
    >>> gan.compile()   # relativistic pairing loss, Adam(2e-4, 0, 0.99)
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    image_shape = tuple(image_shape)
    gan_options.setdefault("d_penalties", [R1Penalty(gamma), R2Penalty(gamma)])
    return GAN(
        blocks.conv_generator(latent_dim, image_shape, g_width),
        blocks.conv_discriminator(image_shape, d_width),
        latent_dim=latent_dim,
        variant=NAME,
        compile_defaults={
            "loss": "relativistic_pairing",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.0, beta_2=0.99),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.0, beta_2=0.99),
        },
        **gan_options,
    )
