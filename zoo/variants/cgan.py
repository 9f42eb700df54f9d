"""`cgan`: conditional GAN (Mirza & Osindero 2014) on DCGAN-style networks.

The class label conditions both networks through learned embeddings: G
concatenates the label's embedding to `z`; D projects its label embedding to an
extra image-sized channel stacked on the input image
(`blocks.label_conditioned_generator` and `blocks.label_conditioned_discriminator`).
"""

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.lazy import lazy_exports
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "cgan"

# The networks moved to `blocks`, which `dcgan(clusters=k)` and `projection_cgan` share.
__getattr__, __dir__ = lazy_exports(__name__, {}, deprecated={
    "build_generator": ("zoo.variants.blocks", "label_conditioned_generator"),
    "build_discriminator": ("zoo.variants.blocks", "label_conditioned_discriminator"),
})


@register_variant(
    NAME,
    conditional=True,
    summary="conditional GAN (Mirza & Osindero 2014) on DCGAN-style networks.",
    references=("Mirza & Osindero 2014, Conditional GANs, arXiv:1411.1784",),
)
def cgan(
    image_shape=(28, 28, 1),
    latent_dim=64,
    num_classes=10,
    g_width=24,
    d_width=32,
    spectral_norm=False,
    **gan_options,
):
    """Builds a conditional GAN; generate with `gan.generate(n, labels=...)`.

    Example:

    >>> gan = zoo.create("cgan", image_shape=(28, 28, 1), num_classes=10)
    >>> images = gan.generate(10, labels=list(range(10)), seed=0)
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    num_classes = blocks.required_num_classes(num_classes, NAME)
    image_shape = tuple(image_shape)
    return GAN(
        blocks.label_conditioned_generator(latent_dim, image_shape, num_classes, g_width),
        blocks.label_conditioned_discriminator(
            image_shape, num_classes, d_width, spectral_norm=spectral_norm
        ),
        latent_dim=latent_dim,
        num_classes=num_classes,
        variant=NAME,
        compile_defaults={
            "loss": "non_saturating",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.5),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.5),
        },
        **gan_options,
    )
