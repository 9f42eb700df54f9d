"""`mlp_gan`: fully connected generator and discriminator (Goodfellow et al. 2014)."""

import math

import keras
from keras import layers

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.registry import register_variant
from zoo.variants.blocks import check_image_shape, image_input, latent_input

NAME = "mlp_gan"


def build_generator(latent_dim, image_shape, hidden_units=(256, 512, 1024)):
    """z -> Dense/LeakyReLU stack -> tanh image."""
    z = latent_input(latent_dim)
    x = z
    for units in hidden_units:
        x = layers.LeakyReLU(0.2)(layers.Dense(units)(x))
    x = layers.Dense(math.prod(image_shape))(x)
    x = layers.Reshape(image_shape)(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def build_discriminator(image_shape, hidden_units=(512, 256), dropout=0.3):
    """Image -> flatten -> Dense/LeakyReLU/Dropout stack -> one logit."""
    image = image_input(image_shape)
    x = layers.Flatten()(image)
    for units in hidden_units:
        x = layers.LeakyReLU(0.2)(layers.Dense(units)(x))
        x = layers.Dropout(dropout)(x)
    logit = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(image, logit, name="discriminator")


@register_variant(
    NAME,
    conditional=False,
    summary="fully connected generator and discriminator (Goodfellow et al. 2014).",
    references=("Goodfellow et al. 2014, Generative Adversarial Nets, arXiv:1406.2661",),
)
def mlp_gan(image_shape=(28, 28, 1), latent_dim=64, **gan_options):
    """Builds the fully connected GAN.

    Example:

    >>> gan = zoo.create("mlp_gan", image_shape=(28, 28, 1), latent_dim=64)
    """
    image_shape = check_image_shape(image_shape, NAME)
    latent_dim = check_latent_dim(latent_dim)
    return GAN(
        build_generator(latent_dim, image_shape),
        build_discriminator(image_shape),
        latent_dim=latent_dim,
        variant=NAME,
        compile_defaults={
            "loss": "non_saturating",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.5),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.5),
        },
        **gan_options,
    )
