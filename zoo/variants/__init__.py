"""Built-in GAN variants; importing this package registers them."""

from zoo.variants import cgan, dcgan, mlp_gan  # noqa: F401
