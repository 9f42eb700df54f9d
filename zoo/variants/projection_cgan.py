"""`projection_cgan`: conditional GAN with a projection discriminator.

D scores `psi(phi(x)) + <embed(y), phi(x)>` (Miyato & Koyama 2018): the label enters
as an inner product with D's features instead of being concatenated to the input.
D is spectrally normalised and trained with the hinge loss; G is the cGAN's
generator (`blocks.label_conditioned_generator`: label embedding concatenated to `z`).
"""

import keras
from keras import layers

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.registry import register_variant
from zoo.variants import blocks

NAME = "projection_cgan"


def build_discriminator(image_shape, num_classes, width=32):
    image = blocks.image_input(image_shape)
    label = blocks.label_input()
    features = blocks.conv_discriminator_features(image, image_shape, width, spectral_norm=True)
    unconditional = layers.SpectralNormalization(layers.Dense(1))(features)
    embedded = layers.Embedding(num_classes, features.shape[-1])(label)
    projection = layers.Dot(axes=1)([embedded, features])
    logit = layers.Add(dtype="float32", name="logit")([unconditional, projection])
    return keras.Model([image, label], logit, name="discriminator")


@register_variant(
    NAME,
    conditional=True,
    summary="conditional GAN with a projection discriminator (Miyato & Koyama 2018).",
    references=("Miyato & Koyama 2018, cGANs with Projection Discriminator, arXiv:1802.05637",),
)
def projection_cgan(
    image_shape=(28, 28, 1), latent_dim=64, num_classes=10, g_width=24, d_width=32, **gan_options
):
    """Builds a projection-discriminator cGAN.

    Example:

    >>> gan = zoo.create("projection_cgan", num_classes=10)
    >>> images = gan.generate(10, labels=list(range(10)), seed=0)
    """
    blocks.upsampling_plan(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    num_classes = blocks.required_num_classes(num_classes, NAME)
    image_shape = tuple(image_shape)
    return GAN(
        blocks.label_conditioned_generator(latent_dim, image_shape, num_classes, g_width),
        build_discriminator(image_shape, num_classes, d_width),
        latent_dim=latent_dim,
        num_classes=num_classes,
        variant=NAME,
        compile_defaults={
            "loss": "hinge",
            "g_optimizer": default_optimizer(1e-4, beta_1=0.5, beta_2=0.999),
            "d_optimizer": default_optimizer(4e-4, beta_1=0.5, beta_2=0.999),
        },
        **gan_options,
    )
