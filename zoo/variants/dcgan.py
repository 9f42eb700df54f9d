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

Reference: Radford, Metz & Chintala, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks", ICLR 2016.
"""

import keras

from zoo.gan import GAN, check_latent_dim, default_optimizer
from zoo.registry import register_variant
from zoo.variants import blocks


def build_generator(latent_dim, image_shape, width=24, upsampling="nearest", output_kernel_size=3):
    z = blocks.latent_input(latent_dim)
    image = blocks.conv_generator_body(z, image_shape, width, upsampling, output_kernel_size=output_kernel_size)
    return keras.Model(z, image, name="generator")


def build_discriminator(image_shape, width=32, spectral_norm=False, minibatch_std=False):
    image = blocks.image_input(image_shape)
    logit = blocks.conv_discriminator_body(
        image, image_shape, width, spectral_norm, minibatch_std=minibatch_std
    )
    return keras.Model(image, logit, name="discriminator")


@register_variant("dcgan")
def dcgan(
    image_shape=(28, 28, 1),
    latent_dim=64,
    g_width=24,
    d_width=32,
    upsampling="nearest",
    spectral_norm=False,
    minibatch_std=False,
    output_kernel_size=3,
    **gan_options,
):
    """Builds a DCGAN for `image_shape` (square, side b*2^k, e.g. 28, 32, 64).

    `spectral_norm=True` wraps D's layers in spectral normalization (Miyato et
    al. 2018); `minibatch_std=True` gives D a minibatch standard deviation
    channel (Karras et al. 2018) against mode collapse; `output_kernel_size=1`
    makes G's output layer pointwise (see `blocks.conv_generator_body`); `ema_decay`, `seed` and `d_steps` go to `zoo.GAN`.

    Example:

    >>> gan = zoo.create("dcgan", image_shape=(32, 32, 3), latent_dim=128)
    """
    blocks.upsampling_plan(image_shape, "dcgan")
    latent_dim = check_latent_dim(latent_dim)
    image_shape = tuple(image_shape)
    return GAN(
        build_generator(latent_dim, image_shape, g_width, upsampling, output_kernel_size),
        build_discriminator(image_shape, d_width, spectral_norm, minibatch_std),
        latent_dim=latent_dim,
        variant="dcgan",
        compile_defaults={
            "loss": "non_saturating",
            "g_optimizer": default_optimizer(2e-4, beta_1=0.5),
            "d_optimizer": default_optimizer(2e-4, beta_1=0.5),
        },
        **gan_options,
    )
