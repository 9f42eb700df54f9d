"""DiffAugment (Zhao et al. 2020): differentiable augmentation for both inputs of D.

Applying the same family of random, differentiable transformations to real and
generated images before the discriminator keeps D from memorising a small data
set, while G still receives gradients through the augmentation.

Example:

>>> gan = zoo.create("dcgan", augment=zoo.augment.DiffAugment("color,translation,cutout"))
"""

import keras
import tensorflow as tf

POLICIES = ("color", "translation", "cutout")


@keras.saving.register_keras_serializable(package="zoo")
class DiffAugment(keras.layers.Layer):
    """Random brightness/saturation/contrast, translation and cutout, differentiable.

    Active only with `training=True`; the identity otherwise.

    Args:
        policy: comma-separated subset of `color`, `translation`, `cutout`.
            Defaults to `"color,translation,cutout"`.
        translation_ratio: largest shift as a fraction of the side. Defaults
            to `0.125`.
        cutout_ratio: side of the erased square as a fraction of the image.
            Defaults to `0.5`.
        seed: seed of the draws. Defaults to `None`.
    """

    def __init__(self, policy="color,translation,cutout", translation_ratio=0.125,
                 cutout_ratio=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        parts = [part.strip() for part in policy.split(",") if part.strip()]
        unknown = [part for part in parts if part not in POLICIES]
        if unknown:
            raise ValueError(
                f"Unknown DiffAugment policy {unknown[0]!r}. Received: policy={policy!r}. "
                f"Available: {', '.join(POLICIES)}."
            )
        self.policy = ",".join(parts)
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        for part in self.policy.split(","):
            images = getattr(self, f"_{part}")(images)
        return images

    def _uniform(self, shape, low=0.0, high=1.0, dtype="float32"):
        return keras.random.uniform(shape, low, high, dtype=dtype, seed=self.seed_generator)

    def _color(self, x):
        n = tf.shape(x)[0]
        x = x + tf.cast(self._uniform((n, 1, 1, 1), -0.5, 0.5), x.dtype)  # brightness
        if x.shape[-1] > 1:  # saturation: only meaningful for colour images
            mean = tf.reduce_mean(x, axis=3, keepdims=True)
            x = (x - mean) * tf.cast(self._uniform((n, 1, 1, 1), 0.0, 2.0), x.dtype) + mean
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        return (x - mean) * tf.cast(self._uniform((n, 1, 1, 1), 0.5, 1.5), x.dtype) + mean

    def _translation(self, x):
        n, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        shift_h = tf.cast(tf.cast(height, "float32") * self.translation_ratio + 0.5, "int32")
        shift_w = tf.cast(tf.cast(width, "float32") * self.translation_ratio + 0.5, "int32")
        dy = tf.cast(tf.floor(self._uniform((n, 1, 1)) * tf.cast(2 * shift_h + 1, "float32")), "int32") - shift_h
        dx = tf.cast(tf.floor(self._uniform((n, 1, 1)) * tf.cast(2 * shift_w + 1, "float32")), "int32") - shift_w
        rows = tf.clip_by_value(tf.range(height)[None, :, None] + dy + 1, 0, height + 1)
        columns = tf.clip_by_value(tf.range(width)[None, None, :] + dx + 1, 0, width + 1)
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # zero border
        batch = tf.broadcast_to(tf.range(n)[:, None, None], tf.shape(rows + columns))
        indices = tf.stack(
            [batch, tf.broadcast_to(rows, tf.shape(batch)), tf.broadcast_to(columns, tf.shape(batch))],
            axis=-1,
        )
        return tf.gather_nd(padded, indices)

    def _cutout(self, x):
        n, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        size_h = tf.cast(tf.cast(height, "float32") * self.cutout_ratio + 0.5, "int32")
        size_w = tf.cast(tf.cast(width, "float32") * self.cutout_ratio + 0.5, "int32")
        top = tf.cast(self._uniform((n, 1, 1)) * tf.cast(height + 1 - size_h % 2, "float32"), "int32")
        left = tf.cast(self._uniform((n, 1, 1)) * tf.cast(width + 1 - size_w % 2, "float32"), "int32")
        rows = tf.range(height)[None, :, None] - top + size_h // 2
        columns = tf.range(width)[None, None, :] - left + size_w // 2
        inside = (rows >= 0) & (rows < size_h) & (columns >= 0) & (columns < size_w)
        return x * tf.cast(~inside, x.dtype)[..., None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "policy": self.policy,
                "translation_ratio": self.translation_ratio,
                "cutout_ratio": self.cutout_ratio,
                "seed": self.seed,
            }
        )
        return config
