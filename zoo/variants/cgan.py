"""`cgan`: conditional GAN (Mirza & Osindero 2014) on DCGAN-style networks.

The class label conditions both networks through learned embeddings: G
concatenates the label's embedding to `z`; D projects its label embedding to an
extra image-sized channel stacked on the input image.

Reference: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014.
"""

import keras
from keras import layers

from zoo.errors import ZooError
from zoo.gan import GAN, check_latent_dim, check_num_classes, default_optimizer
from zoo.registry import register_variant
from zoo.variants import blocks


def build_generator(latent_dim, image_shape, num_classes, width=24, embedding_dim=32):
    z = blocks.latent_input(latent_dim)
    label = blocks.label_input()
    embedded = layers.Embedding(num_classes, embedding_dim)(label)
    x = layers.Concatenate()([z, embedded])
    image = blocks.conv_generator_body(x, image_shape, width, "nearest")
    return keras.Model([z, label], image, name="generator")


def build_discriminator(image_shape, num_classes, width=32, embedding_dim=32, spectral_norm=False):
    height, width_px, _ = image_shape
    image = blocks.image_input(image_shape)
    label = blocks.label_input()
    embedded = layers.Embedding(num_classes, embedding_dim)(label)
    label_map = layers.Reshape((height, width_px, 1))(
        layers.Dense(height * width_px)(embedded)
    )
    x = layers.Concatenate()([image, label_map])
    logit = blocks.conv_discriminator_body(x, image_shape, width, spectral_norm)
    return keras.Model([image, label], logit, name="discriminator")


@register_variant("cgan")
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
    blocks.upsampling_plan(image_shape, "cgan")
    latent_dim = check_latent_dim(latent_dim)
    num_classes = check_num_classes(num_classes)
    if num_classes is None:
        raise ZooError(
            "cgan is conditional: num_classes must be an integer >= 2. "
            "Received: num_classes=None."
        )
    image_shape = tuple(image_shape)
    return GAN(
        build_generator(latent_dim, image_shape, num_classes, g_width),
        build_discriminator(image_shape, num_classes, d_width, spectral_norm=spectral_norm),
        latent_dim=latent_dim,
        num_classes=num_classes,
        variant="cgan",
        compile_defaults={
            "loss": "non_saturating",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.5),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.5),
        },
        **gan_options,
    )

