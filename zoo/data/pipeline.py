"""`load()`: a data set as a batched `tf.data.Dataset` of images in [-1, 1], ready for `model.fit`.

The pipeline is cache -> shuffle -> batch -> scale to [-1, 1] (and resize) ->
prefetch.

Example:

>>> dataset = load("fashion_mnist", batch_size=64, seed=1)
>>> images, labels = next(iter(dataset))
>>> images.shape, labels.dtype
(TensorShape([64, 28, 28, 1]), tf.int32)
"""

import numpy as np
import tensorflow as tf

from zoo.data.arguments import (
    check_folder_split,
    check_image_size,
    check_int,
    check_positive_int,
    check_split,
    resolve_name,
)
from zoo.data.arrays import load_arrays
from zoo.data.folders import folder_dataset
from zoo.errors import ZooError


def load(
    name,
    split="train",
    batch_size=128,
    *,
    data_dir=None,
    with_labels=True,
    shuffle=True,
    seed=None,
    cache=True,
    drop_remainder=True,
    image_size=None,
    take=None,
    labels=None,
):
    """Loads a data set as a batched `tf.data.Dataset` ready for training.

    Images are float32 scaled to `[-1, 1]` (`x / 127.5 - 1`) with shape
    `(batch_size, height, width, channels)`.

    Args:
        name: One of `KNOWN_DATASETS`, or a path to a folder of images.
        split: `"train"` or `"test"`. Image folders only have `"train"`.
        batch_size: Positive int. With `drop_remainder=True` it must not be
            larger than the number of examples.
        data_dir: Optional folder holding the data set files (see the
            `zoo.data` docstring). Defaults to the `ZOO_DATA_DIR` environment
            variable.
        with_labels: If `True` and the data set has labels, elements are
            `(images, labels)` tuples with int32 labels of shape
            `(batch_size,)`. Otherwise elements are just `images`.
        shuffle: Whether to shuffle the whole data set, reshuffling at every
            iteration.
        seed: Optional int seed for shuffling; the same seed gives the same
            order.
        cache: Whether to cache the uint8 images (before scaling) in memory.
        drop_remainder: Whether to drop the last incomplete batch, which gives
            a static batch dimension.
        image_size: Optional `(height, width)` or `(height, width, channels)`
            with `channels` 1 or 3. Images are resized (and converted between
            grayscale and RGB) to it. For image folders it defaults to the
            size and color mode of the first image.
        take: Optional positive int: keep only the first `take` examples
            (before shuffling), for quick runs.
        labels: Optional int array, one per example of the split, used
            instead of the data set's own labels (e.g. cluster ids from
            `zoo.clusters`); implies `with_labels=True`. Named data sets only.

    Returns:
        A `tf.data.Dataset`.

    Example:

    >>> dataset = zoo.data.load("fashion_mnist", batch_size=64, seed=1)
    >>> images, labels = next(iter(dataset))
    >>> images.shape, labels.dtype
    (TensorShape([64, 28, 28, 1]), tf.int32)
    """
    size = _check_load_arguments(split, batch_size, take, seed, image_size)
    folder = resolve_name(name)
    if folder is not None:
        dataset, count = _folder_examples(name, folder, split, size, take, with_labels, labels)
        target = None  # Keras already resized the images.
    else:
        dataset, count = _named_examples(name, split, data_dir, take, with_labels, labels)
        target = size
    if drop_remainder and batch_size > count:
        raise ZooError(
            f"batch_size={batch_size} is larger than the number of examples "
            f"in data set {name!r} (split {split!r}): {count}. Pass a smaller "
            "batch_size or drop_remainder=False."
        )
    return batch_pipeline(
        dataset, count, batch_size,
        shuffle=shuffle, seed=seed, cache=cache, drop_remainder=drop_remainder, target=target,
    )


def _check_load_arguments(split, batch_size, take, seed, image_size):
    """Checks `load`'s plain arguments; returns `image_size` as `check_image_size` does."""
    check_split(split)
    check_positive_int("batch_size", batch_size)
    if take is not None:
        check_positive_int("take", take)
    if seed is not None:
        check_int("seed", seed)
    return check_image_size(image_size)


def _folder_examples(name, folder, split, size, take, with_labels, labels):
    """`(unbatched uint8 dataset, number of examples)` of a folder of images, resized to `size`."""
    if labels is not None:
        raise ZooError(
            f"labels=... replaces a named data set's labels; {name!r} is an image folder. "
            "Give each class its own subfolder instead."
        )
    check_folder_split(folder, split)
    dataset, count, has_labels = folder_dataset(folder, size)
    if take is not None:
        dataset = dataset.take(take)
        count = min(count, take)
    if has_labels and not with_labels:
        dataset = dataset.map(lambda images, labels: images)
    return dataset, count


def _named_examples(name, split, data_dir, take, with_labels, labels):
    """`(unbatched uint8 dataset, number of examples)` of a named data set's split."""
    images, own_labels = load_arrays(name, split, data_dir)
    if labels is None:
        labels = own_labels
    else:
        labels = _replacement_labels(labels, len(images), name, split)
        with_labels = True
    if take is not None:
        images = images[:take]
        labels = None if labels is None else labels[:take]
    if labels is not None and with_labels:
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    else:
        dataset = tf.data.Dataset.from_tensor_slices(images)
    return dataset, len(images)


def _replacement_labels(labels, count, name, split):
    """`labels` as int32 after checking there is one integer per example."""
    labels = np.asarray(labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise ZooError(
            f"labels must be {count} integers (one per {split!r} example of {name!r}). "
            f"Received an array of shape {labels.shape} and dtype {labels.dtype}."
        )
    return labels.astype("int32")


def batch_pipeline(dataset, count, batch_size, *, shuffle, seed, cache, drop_remainder, target):
    """cache -> shuffle -> batch -> scale to [-1, 1] -> prefetch."""
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(
            max(count, 1), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def scale(images):
        images = tf.cast(images, tf.float32) / 127.5 - 1.0
        return convert_images(images, target)

    if isinstance(dataset.element_spec, tuple):
        dataset = dataset.map(
            lambda images, labels: (scale(images), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        dataset = dataset.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def convert_images(images, target):
    """Resizes a batch of images in [-1, 1] and converts its channels to
    `target = ((height, width), channels or None)`; `None` keeps them."""
    if target is None:
        return images
    (height, width), channels = target
    if channels is not None and channels != images.shape[-1]:
        if channels == 3:
            images = tf.image.grayscale_to_rgb(images)
        else:
            images = tf.image.rgb_to_grayscale(images)
    if tuple(images.shape[1:3]) != (height, width):
        images = tf.image.resize(images, (height, width), antialias=True)
        images = tf.clip_by_value(images, -1.0, 1.0)
    return images


def shard_for_workers(dataset):
    """`dataset` set to be split between the workers of a multi-worker strategy by its elements.

    Keras hands a `fit` dataset to `tf.distribute`, which on a multi-worker
    cluster gives each worker its share of every global batch. The zoo's data
    sets come from arrays, not files, so the share is taken by elements
    (`AutoShardPolicy.DATA`): every worker reads the same pipeline (the same
    shuffle seed) and keeps its own part of each batch, in worker order.

    Example:

    >>> batches = shard_for_workers(load("fashion_mnist", batch_size=256, seed=0))
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
