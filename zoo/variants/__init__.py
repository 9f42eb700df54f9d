"""Built-in GAN variants; importing this package registers them."""

from zoo.variants import cgan, dcgan, lsgan, mlp_gan, projection_cgan, r3gan, sngan, wgan_gp  # noqa: F401
