"""Keras layers the variants share that Keras itself does not provide."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the minibatch standard deviation as one extra feature map.

    Karras et al. 2018 (Progressive GAN, section 3): the discriminator sees how
    much its input batch varies, so a generator that collapses to few modes is
    easy to tell apart from real data. The batch is split into groups of
    `group_size` samples; within each group the standard deviation of every
    feature at every position is averaged into one number, which is appended as
    a constant channel to each sample of that group. A batch whose size is not a
    multiple of `group_size` is treated as one group.

    Args:
        group_size: samples per group. Defaults to `4`.
        epsilon: added to the variance before the square root. Defaults to `1e-8`.

    Example:

    >>> x = keras.random.normal((8, 7, 7, 64))
    >>> MinibatchStdDev(group_size=4)(x).shape
    (8, 7, 7, 65)
    """

    def __init__(self, group_size=4, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 2:
            raise ValueError(
                f"MinibatchStdDev needs group_size >= 2. Received: group_size={group_size!r}."
            )
        self.group_size = int(group_size)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        shape = ops.shape(inputs)
        batch = shape[0]
        groups_of_size = ops.where(batch % self.group_size == 0, self.group_size, batch)
        # [group member, group index, ...]: sample i sits in group i % members.
        grouped = ops.reshape(inputs, (groups_of_size, -1) + tuple(inputs.shape[1:]))
        grouped = ops.cast(grouped, "float32")
        centred = grouped - ops.mean(grouped, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(centred), axis=0) + self.epsilon)
        per_group = ops.mean(std, axis=tuple(range(1, len(inputs.shape))))
        per_sample = ops.reshape(ops.tile(per_group[None, :], (groups_of_size, 1)), (-1,))
        per_sample = ops.cast(per_sample, inputs.dtype)
        feature_map = ops.ones_like(inputs[..., :1]) * ops.reshape(
            per_sample, (-1,) + (1,) * (len(inputs.shape) - 1)
        )
        return ops.concatenate([inputs, feature_map], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        config = super().get_config()
        config.update({"group_size": self.group_size, "epsilon": self.epsilon})
        return config
