"""Helpers shared by the tests that train or export small models."""

import keras
import numpy as np


class Kill(keras.callbacks.Callback):
    """Stands for a kill between epochs: raises when epoch `at` (0-based) begins."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("killed")


class EpochRecorder(keras.callbacks.Callback):
    """Records the epochs that `fit` begins."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def perturb_batchnorm(model, seed=1):
    """Moves BatchNorm statistics away from identity, so that inference mode matters in an export."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                rng.normal(0.0, 0.2, beta.shape).astype("float32"),
                rng.normal(0.0, 0.2, mean.shape).astype("float32"),
                rng.uniform(0.5, 2.0, variance.shape).astype("float32"),
            ])
