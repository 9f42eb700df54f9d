"""Keras layers the variants share that Keras itself does not provide."""

import itertools
import statistics

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


@keras.saving.register_keras_serializable(package="zoo")
class LatentCluster(keras.layers.Layer):
    """Draws a cluster id from the first latent coordinate.

    For a self-conditioned generator (Liu et al. 2020, "Diverse Image
    Generation via Self-Conditioned GANs"): the id is the bin of `z[:, 0]`
    between standard-normal quantiles, so with `z ~ N(0, I)` cluster `k` is
    drawn with probability `frequencies[k]` and the generator keeps the plain
    `z -> image` interface (and exports like any unconditional one).

    Args:
        frequencies: the clusters' shares of the training data (positive,
            normalised here).

    Example:

    >>> layer = LatentCluster([0.5, 0.5])
    >>> keras.ops.convert_to_numpy(layer(np.array([[-1.0, 0.0], [2.0, 0.0]]))).tolist()
    [0, 1]
    """

    def __init__(self, frequencies, **kwargs):
        super().__init__(**kwargs)
        frequencies = [float(value) for value in frequencies]
        if len(frequencies) < 2 or min(frequencies) <= 0:
            raise ValueError(
                "LatentCluster needs at least 2 positive frequencies. "
                f"Received: frequencies={frequencies!r}."
            )
        total = sum(frequencies)
        self.frequencies = [value / total for value in frequencies]
        normal = statistics.NormalDist()
        cumulative = itertools.accumulate(self.frequencies[:-1])
        self.thresholds = [normal.inv_cdf(min(max(p, 1e-12), 1 - 1e-12)) for p in cumulative]

    def call(self, z):
        first = ops.cast(z[:, :1], "float32")
        above = ops.cast(first > ops.convert_to_tensor([self.thresholds], "float32"), "int32")
        return ops.sum(above, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def compute_output_spec(self, z):
        return keras.KerasTensor((z.shape[0],), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update({"frequencies": self.frequencies})
        return config
