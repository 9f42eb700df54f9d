"""Inception-FID, only where Keras' ImageNet InceptionV3 weights are already local.

The literature's FID uses ImageNet's InceptionV3 (2048-d average-pooled
features). The zoo never downloads anything at run time: the weights file is
looked up in the local Keras cache (`$KERAS_HOME/models/` or
`~/.keras/models/`) before Keras is asked for the model, and when it is absent
the figure is skipped with a one-line reason.

Protocol (Lucic et al. 2018, "Are GANs Created Equal?"): the data set's 10k
test images against 10k generated ones; images in [-1, 1] (InceptionV3's
input range), grey channels repeated to RGB, bilinear resize to 299x299.
Keras' InceptionV3 is not bit-identical to the TF graph of the original FID
code, so figures are close to the published ones, not equal.

Scoring 20k images at 299x299 costs ~5.7 GFLOP each: expect 10+ minutes on a
2-core CPU, which is why it is opt-in (`zoo evaluate --inception`).
"""

import os

import numpy as np

WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INPUT_SIZE = 299
PROTOCOL = "Lucic et al. 2018: 10k test images vs 10k samples, Keras InceptionV3 avg-pool features (2048-d), grey->RGB, bilinear 299x299"


def cache_dirs():
    """Folders where Keras keeps downloaded weights, in lookup order."""
    folders = []
    from zoo.settings import keras_home

    if keras_home():
        folders.append(os.path.join(keras_home(), "models"))
    folders.append(os.path.join(os.path.expanduser("~"), ".keras", "models"))
    folders.append(os.path.join("/tmp", ".keras", "models"))  # Keras' fallback cache
    return folders


def find_weights():
    """Returns the path of the local InceptionV3 notop weights, or `None`."""
    for folder in cache_dirs():
        path = os.path.join(folder, WEIGHTS_FILE)
        if os.path.isfile(path):
            return path
    return None


def skipped_message():
    """The one-line reason given when the weights are not local."""
    return (
        f"Inception-FID skipped: {WEIGHTS_FILE} is not in the local Keras cache "
        f"({cache_dirs()[0]}); the zoo never downloads weights. "
        "Copy the file there to enable it."
    )


class InceptionExtractor:
    """2048-d InceptionV3 features of images in [-1, 1], batch by batch.

    Args:
        weights: path of the notop `.h5` weights file (see `find_weights`).
            `None` builds random weights (tests only).
    """

    def __init__(self, weights):
        import keras
        import tensorflow as tf

        model = keras.applications.InceptionV3(
            include_top=False, weights=weights, pooling="avg", input_shape=(INPUT_SIZE, INPUT_SIZE, 3)
        )
        self.feature_dim = int(model.output_shape[-1])

        @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)], autograph=False)
        def run(images):
            images = tf.image.resize(images, (INPUT_SIZE, INPUT_SIZE), method="bilinear")
            return tf.cast(model(images, training=False), tf.float32)

        self._run = run

    def __call__(self, images, batch_size=50):
        """Returns float32 `[n, 2048]` features."""
        import tensorflow as tf

        chunks = []
        for start in range(0, len(images), batch_size):
            chunk = np.asarray(images[start : start + batch_size], np.float32)
            if chunk.shape[-1] == 1:
                chunk = np.repeat(chunk, 3, axis=-1)
            chunk = tf.convert_to_tensor(chunk)
            chunks.append(self._run(chunk).numpy())
        return np.concatenate(chunks)
