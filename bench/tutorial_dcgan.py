"""The TensorFlow DCGAN tutorial's recipe, re-typed as the benchmarks' baseline.

Architecture, losses, optimizers and the `@tf.function` training loop follow
https://www.tensorflow.org/tutorials/generative/dcgan (Fashion-MNIST-sized 28x28x1,
noise_dim=100, Adam(1e-4), batch 256). Written here from its description; used only
by `bench/` to compare speed and quality side by side with the zoo's DCGAN.
"""

import keras
import tensorflow as tf
from keras import layers

NOISE_DIM = 100


def make_generator_model():
    return keras.Sequential(
        [
            keras.Input((NOISE_DIM,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(
                1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ]
    )


def make_discriminator_model():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )


class TutorialDCGAN:
    """Generator, discriminator, optimizers and the tutorial's `train_step`."""

    def __init__(self):
        self.generator = make_generator_model()
        self.discriminator = make_discriminator_model()
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.generator_optimizer = keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = keras.optimizers.Adam(1e-4)
        self.train_step = tf.function(self._train_step)

    def _train_step(self, images):
        noise = tf.random.normal([tf.shape(images)[0], NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = self.generator(noise, training=True)
            real_output = self.discriminator(images, training=True)
            fake_output = self.discriminator(generated_images, training=True)
            gen_loss = self.cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = self.cross_entropy(
                tf.ones_like(real_output), real_output
            ) + self.cross_entropy(tf.zeros_like(fake_output), fake_output)
        gen_grads = gen_tape.gradient(gen_loss, self.generator.trainable_variables)
        disc_grads = disc_tape.gradient(
            disc_loss, self.discriminator.trainable_variables
        )
        self.generator_optimizer.apply_gradients(
            zip(gen_grads, self.generator.trainable_variables)
        )
        self.discriminator_optimizer.apply_gradients(
            zip(disc_grads, self.discriminator.trainable_variables)
        )
        return gen_loss, disc_loss

    def generate(self, n, seed=0):
        noise = tf.random.stateless_normal([n, NOISE_DIM], seed=[seed, 0])
        return self.generator(noise, training=False).numpy()
