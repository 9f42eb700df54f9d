"""The optimizers of `zoo.GAN`: the usual default, lookup, and loss scaling.

Example:

>>> config = default_optimizer(1e-4, beta_1=0.5, beta_2=0.9)   # a serialized Adam
>>> get_optimizer(config).learning_rate
1e-4
"""

import keras


def default_optimizer(learning_rate=2e-4, beta_1=0.5, beta_2=0.999):
    """Serialized Adam config, the usual GAN optimizer (Radford et al. 2016)."""
    return keras.optimizers.serialize(keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2))


def get_optimizer(identifier):
    """An optimizer instance from an instance, a serialized config or a name."""
    if isinstance(identifier, keras.optimizers.Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return keras.optimizers.deserialize(identifier)
    return keras.optimizers.get(identifier)


def loss_scaled(optimizer):
    """`optimizer` wrapped in a `LossScaleOptimizer` (mixed precision), unless it already is one."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
