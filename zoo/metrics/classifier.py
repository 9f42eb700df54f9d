"""The domain classifier: the "eye" of every metric in `zoo.metrics`.

ImageNet's Inception network is the wrong eye for 28x28 grey clothes and
digits (and cannot be downloaded here), so the zoo trains a small CNN on the
data set's train split and scores samples in its feature space, as TF-GAN does
for MNIST. The network is a plain functional `keras.Model` of built-in layers
(no custom objects to register):

    image [28, 28, 1] in [-1, 1]
      -> 3 x (3x3 conv, BatchNorm, ReLU), 2x2 max-pooling after the first two
      -> Flatten -> Dense(128, ReLU) named "features"   (FD, KID, PR, DC)
      -> Dropout -> Dense(num_classes) named "logits"   (classifier score, accuracy)

`FeatureExtractor` runs it batch by batch and returns both the features and the
class probabilities.
"""

import time

import numpy as np

from zoo.errors import ZooError

FEATURE_LAYER = "features"
LOGITS_LAYER = "logits"

# Test-split accuracy a published classifier must reach (see the issue).
MIN_TEST_ACCURACY = {"fashion_mnist": 0.92, "mnist": 0.99}


def build_classifier(image_shape=(28, 28, 1), num_classes=10, width=32, feature_dim=128, dropout=0.3):
    """Builds the (untrained) domain classifier.

    Args:
        image_shape: `(H, W, C)` of the data set's images.
        num_classes: number of classes.
        width: filters of the first convolution (doubled twice). Defaults to `32`.
        feature_dim: size of the `"features"` layer. Defaults to `128`.
        dropout: dropout rate before the logits. Defaults to `0.3`.

    Returns:
        A functional `keras.Model` mapping images in [-1, 1] to logits, whose
        layer `"features"` is the feature space of the metrics.

    Example:

    >>> model = build_classifier((28, 28, 1), 10)
    >>> model.get_layer("features").output.shape
    (None, 128)
    """
    import keras
    from keras import layers

    images = keras.Input(tuple(image_shape), name="image")
    x = images
    for block, filters in enumerate((width, width * 2, width * 4)):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{block}")(x)
        x = layers.BatchNormalization(name=f"bn{block}")(x)
        x = layers.ReLU(name=f"relu{block}")(x)
        if block < 2:
            x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout, name="dropout")(features)
    logits = layers.Dense(num_classes, name=LOGITS_LAYER)(x)
    return keras.Model(images, logits, name="classifier")


def train_classifier(dataset, epochs=8, batch_size=128, seed=0, learning_rate=2e-3, data_dir=None, verbose="auto"):
    """Trains the domain classifier on `dataset`'s train split.

    Adam with a cosine-decayed learning rate, no augmentation, fixed seed
    (weights, dropout and shuffling).

    Args:
        dataset: `"fashion_mnist"`, `"mnist"` or `"cifar10"`.
        epochs: passes over the train split. Defaults to `8`.
        batch_size: images per step. Defaults to `128`.
        seed: seed of the weights and the shuffling. Defaults to `0`.
        learning_rate: peak learning rate. Defaults to `2e-3`.
        data_dir: folder with local data files (see `zoo.data`).
        verbose: `fit` verbosity.

    Returns:
        `(model, facts)`: the trained `keras.Model` and a dict with
        `test_accuracy`, `train_seconds` and the settings.

    Example:

    >>> model, facts = train_classifier("fashion_mnist", epochs=8, seed=0)
    >>> facts["test_accuracy"] >= 0.92
    True
    """
    import keras

    from zoo import data

    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ZooError(f"{name} must be a positive integer. Received: {name}={value!r}.")
    info = data.info(dataset, data_dir=data_dir)
    if info.num_classes is None:
        raise ZooError(
            f"Data set {dataset!r} has no labels, so no classifier can be trained on it. "
            "Use a labelled data set (or a folder with one subfolder per class)."
        )
    keras.utils.set_random_seed(seed)
    model = build_classifier(info.image_shape, info.num_classes)
    train = data.load(dataset, "train", batch_size, data_dir=data_dir, seed=seed, drop_remainder=True)
    steps = int(train.cardinality()) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(train, epochs=epochs, verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - start
    # Inference-only: the optimizer state is not part of the published file.
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    images, labels = data.load_arrays(dataset, "test", data_dir=data_dir)
    accuracy = classifier_accuracy(model, images, labels)
    facts = {
        "dataset": dataset,
        "image_shape": list(info.image_shape),
        "num_classes": info.num_classes,
        "class_names": list(info.class_names),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "learning_rate": learning_rate,
        "train_accuracy_last_epoch": float(history.history["accuracy"][-1]),
        "test_accuracy": accuracy,
        "train_seconds": round(seconds, 1),
        "parameters": int(model.count_params()),
    }
    return model, facts


def classifier_accuracy(model, images, labels, batch_size=1000):
    """Top-1 accuracy of `model` on uint8 images with int labels."""
    extractor = FeatureExtractor(model)
    correct = 0
    for start in range(0, len(images), batch_size):
        _, probabilities = extractor(to_float(images[start : start + batch_size]))
        correct += int(np.sum(np.argmax(probabilities, axis=1) == labels[start : start + batch_size]))
    return correct / len(images)



def to_float(images):
    """uint8 images -> float32 in [-1, 1] (`x / 127.5 - 1`, as `zoo.data`)."""
    return np.asarray(images, dtype=np.float32) / 127.5 - 1.0


class FeatureExtractor:
    """Runs the classifier on batches: images -> `(features, probabilities)`.

    The model is wrapped once in a `tf.function` with a dynamic batch
    dimension, so batches of any size reuse one trace.

    Args:
        model: the classifier `keras.Model` (a `"features"` layer, logits out).

    Example:

    >>> features, probabilities = FeatureExtractor(model)(images)
    >>> features.shape, probabilities.shape
    ((500, 128), (500, 10))
    """

    def __init__(self, model):
        import keras
        import tensorflow as tf

        try:
            features = model.get_layer(FEATURE_LAYER).output
        except ValueError:
            raise ZooError(
                f"The classifier '{model.name}' has no layer named '{FEATURE_LAYER}'. "
                "Use a classifier written by `zoo train-classifier`."
            ) from None
        self.model = model
        self.feature_layer = FEATURE_LAYER
        self.image_shape = tuple(model.input_shape[1:])
        self.feature_dim = int(features.shape[-1])
        self.num_classes = int(model.output_shape[-1])
        both = keras.Model(model.inputs, [features, model.outputs[0]])
        spec = tf.TensorSpec((None, *self.image_shape), tf.float32)

        @tf.function(input_signature=[spec], autograph=False)
        def run(images):
            features, logits = both(images, training=False)
            return tf.cast(features, tf.float32), tf.nn.softmax(tf.cast(logits, tf.float32))

        self._run = run

    def __call__(self, images):
        """Returns float32 `(features [n, d], probabilities [n, num_classes])`."""
        import tensorflow as tf

        features, probabilities = self._run(tf.convert_to_tensor(images, tf.float32))
        return features.numpy(), probabilities.numpy()
