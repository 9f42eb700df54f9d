"""Discriminator penalties that any variant can switch on.

A penalty is called inside the discriminator's gradient tape as
`penalty(discriminate, real_images, fake_images)`, where `discriminate(images)`
returns D's logits for the batch's labels (and augmentation); it returns a scalar
that is added to D's loss. Pass penalties to `zoo.GAN(..., d_penalties=[...])`.

Example:

>>> gan = zoo.create("dcgan", d_penalties=[zoo.regularizers.R1Penalty(gamma=1.0)])
"""

import keras
import tensorflow as tf

from zoo.components import Component, Registry


def _squared_gradient_norms(discriminate, images):
    """Per-sample `||dD(x)/dx||^2` with a nested tape (second order capable)."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = tf.reduce_sum(discriminate(images))
    gradients = tape.gradient(logits, images)
    return tf.reduce_sum(tf.square(tf.cast(gradients, "float32")), axis=[1, 2, 3])


class Penalty(Component):
    """Base class: a scalar added to the discriminator's loss."""

    def __call__(self, discriminate, real_images, fake_images):
        raise NotImplementedError


PENALTIES = Registry("penalty", base=Penalty)
_register = PENALTIES.register


@_register("gradient_penalty")
class GradientPenalty(Penalty):
    """WGAN-GP's two-sided penalty (Gulrajani et al. 2017).

    `weight * E[(||grad D(x_hat)||_2 - target)^2]` at random interpolates
    `x_hat = eps * real + (1 - eps) * fake`, `eps ~ U[0, 1]` per sample.

    Args:
        weight: lambda. Defaults to `10.0`.
        target: the gradient norm aimed at. Defaults to `1.0`.
        seed: seed of the interpolation draws. Defaults to `None`.
    """

    def __init__(self, weight=10.0, target=1.0, seed=None):
        self.weight = float(weight)
        self.target = float(target)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def __call__(self, discriminate, real_images, fake_images):
        batch_size = tf.shape(real_images)[0]
        epsilon = keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator)
        epsilon = tf.cast(epsilon, real_images.dtype)
        interpolates = epsilon * real_images + (1.0 - epsilon) * tf.cast(fake_images, real_images.dtype)
        norms = tf.sqrt(_squared_gradient_norms(discriminate, interpolates) + 1e-12)
        return self.weight * tf.reduce_mean(tf.square(norms - self.target))

    def get_config(self):
        return {"weight": self.weight, "target": self.target, "seed": self.seed}


class ZeroCentredGradientPenalty(Penalty):
    """Base of R1 and R2: `gamma / 2 * E[||grad D(x)||^2]` on one side's images.

    Subclasses say which images are penalised (`penalised_images`).

    Args:
        gamma: the penalty's weight. Defaults to `10.0`.
    """

    def __init__(self, gamma=10.0):
        self.gamma = float(gamma)

    def penalised_images(self, real_images, fake_images):
        raise NotImplementedError

    def __call__(self, discriminate, real_images, fake_images):
        images = self.penalised_images(real_images, fake_images)
        return 0.5 * self.gamma * tf.reduce_mean(_squared_gradient_norms(discriminate, images))

    def get_config(self):
        return {"gamma": self.gamma}


@_register("r1")
class R1Penalty(ZeroCentredGradientPenalty):
    """R1 (Mescheder et al. 2018): `gamma / 2 * E[||grad D(x_real)||^2]`.

    Args:
        gamma: the penalty's weight. Defaults to `10.0`.
    """

    def penalised_images(self, real_images, fake_images):
        return real_images


@_register("r2")
class R2Penalty(ZeroCentredGradientPenalty):
    """R2 (Mescheder et al. 2018): `gamma / 2 * E[||grad D(x_fake)||^2]`.

    The same zero-centred penalty as R1, on the generated batch. R3GAN (Huang
    et al. 2024) uses both with one gamma and the relativistic pairing loss
    (`zoo.losses.RelativisticPairingLoss`).

    Args:
        gamma: the penalty's weight. Defaults to `10.0`.

    Example:

    >>> gan = zoo.create("dcgan", d_penalties=[R1Penalty(0.1), R2Penalty(0.1)])
    """

    def penalised_images(self, real_images, fake_images):
        return fake_images


def get(identifier):
    """A penalty from a name (`"gradient_penalty"`, `"r1"`, `"r2"`), a config or an instance."""
    return PENALTIES.get(identifier)
