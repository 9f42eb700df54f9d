"""Image data sets for training GANs.

Three named data sets are known: `"mnist"`, `"fashion_mnist"` and
`"cifar10"`. Any other name that is an existing folder is read as a folder of
images (one subfolder per class, or a flat folder without labels).

Files of the named data sets are looked for, in this order:

1. the `data_dir` argument, or else the `ZOO_DATA_DIR` environment variable
   (the folder itself and a subfolder named after the data set, e.g.
   `<dir>/fashion_mnist/` or `<dir>/fashion-mnist/`);
2. the system folders in `SYSTEM_DATA_DIRS` (Debian's `dataset-*` packages);
3. tensorflow-datasets, which may download them -- skipped when the
   environment variable `ZOO_OFFLINE` is `"1"`.

Example:

```python
images, labels = zoo.data.load_arrays("fashion_mnist")
dataset = zoo.data.load("fashion_mnist", batch_size=64, seed=0)
for images, labels in dataset.take(1):
    print(images.shape)  # (64, 28, 28, 1), float32 in [-1, 1]
```
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf

from zoo.data.folders import IMAGE_EXTENSIONS  # noqa: F401  (public)
from zoo.data.folders import _first_image_shape, _folder_arrays, _folder_dataset, _scan_folder
from zoo.data.formats import (
    _CIFAR_FILES,
    _CIFAR_FOLDER,
    _IDX_STEMS,
    _idx_path,
    _one_line,
    _read_cifar_split,
    _read_idx_split,
)
from zoo.errors import ZooError, unknown_name_error

KNOWN_DATASETS = frozenset({"mnist", "fashion_mnist", "cifar10"})

SPLITS = ("train", "test")

# System folders searched automatically (after `data_dir` / `ZOO_DATA_DIR`).
SYSTEM_DATA_DIRS = {
    "fashion_mnist": ("/usr/share/datasets/fashion-mnist",),
    "mnist": ("/usr/share/datasets/mnist",),
}



_FOLDER_ALIASES = {
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist"),
    "cifar10": ("cifar10", "cifar-10"),
}

_IMAGE_SHAPES = {
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
}

_CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
}




@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Description of a data set, as returned by `info()`.

    Attributes:
        name: The data set name, or the folder path for image folders.
        image_shape: `(height, width, channels)` of one image.
        num_classes: Number of classes, or `None` when there are no labels.
        class_names: Tuple of class names, or `None` when there are no labels.
        source: Where the data comes from, e.g.
            `"idx:/usr/share/datasets/fashion-mnist"`,
            `"cifar:/data/cifar-10-batches-py"`, `"folder:/data/faces"` or
            `"tfds"` (fetched by tensorflow-datasets when loaded).
    """

    name: str
    image_shape: tuple
    num_classes: int | None
    class_names: tuple | None
    source: str


@dataclasses.dataclass(frozen=True)
class _Source:
    """Where the files of a named data set were found."""

    kind: str  # "idx", "cifar" or "tfds"
    path: str | None

    def describe(self):
        if self.path is None:
            return self.kind
        return f"{self.kind}:{self.path}"


def info(name, data_dir=None):
    """Describes a data set without decoding it.

    Args:
        name: One of `KNOWN_DATASETS`, or a path to a folder of images.
        data_dir: Optional folder holding the data set files (see the module
            docstring). Defaults to the `ZOO_DATA_DIR` environment variable.

    Returns:
        A `DatasetInfo`.

    Example:

    >>> zoo.data.info("fashion_mnist").image_shape
    (28, 28, 1)
    """
    folder = _resolve_name(name)
    if folder is not None:
        files, class_names = _scan_folder(folder)
        height, width, channels = _first_image_shape(files[0])
        return DatasetInfo(
            name=folder,
            image_shape=(height, width, channels),
            num_classes=None if class_names is None else len(class_names),
            class_names=class_names,
            source=f"folder:{folder}",
        )
    source = None
    for split in SPLITS:
        source = _find_local(name, split, data_dir)
        if source is not None:
            break
    if source is None:
        if _offline():
            raise _not_found_error(name, None, data_dir, _OFFLINE_REASON)
        source = _Source("tfds", _user_data_dir(data_dir)[0])
    class_names = _CLASS_NAMES[name]
    return DatasetInfo(
        name=name,
        image_shape=_IMAGE_SHAPES[name],
        num_classes=len(class_names),
        class_names=class_names,
        source=source.describe(),
    )


def load_arrays(name, split="train", data_dir=None):
    """Loads a whole data set split as NumPy arrays.

    Decoded arrays are cached per process, so repeated calls are cheap. The
    returned arrays are shared with that cache and therefore read-only; copy
    them before modifying.

    Args:
        name: One of `KNOWN_DATASETS`, or a path to a folder of images.
        split: `"train"` or `"test"`. Image folders only have `"train"`.
        data_dir: Optional folder holding the data set files (see the module
            docstring). Defaults to the `ZOO_DATA_DIR` environment variable.

    Returns:
        Tuple `(images, labels)`: `images` is uint8 of shape
        `(N, height, width, channels)`, `labels` is int32 of shape `(N,)`,
        or `None` for an image folder without class subfolders.

    Example:

    >>> images, labels = zoo.data.load_arrays("fashion_mnist", split="test")
    >>> images.shape, labels.shape
    ((10000, 28, 28, 1), (10000,))
    """
    _check_split(split)
    folder = _resolve_name(name)
    if folder is not None:
        _check_folder_split(folder, split)
        return _folder_arrays(folder)
    source = _find_local(name, split, data_dir)
    if source is not None:
        return _read_arrays(name, split, source)
    if _offline():
        raise _not_found_error(name, split, data_dir, _OFFLINE_REASON)
    tfds_dir = _user_data_dir(data_dir)[0]
    try:
        return _read_arrays(name, split, _Source("tfds", tfds_dir))
    except Exception as error:  # tfds raises many kinds of download errors.
        reason = f"tensorflow-datasets could not load it ({_one_line(error)})"
        raise _not_found_error(name, split, data_dir, reason) from error


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
        data_dir: Optional folder holding the data set files (see the module
            docstring). Defaults to the `ZOO_DATA_DIR` environment variable.
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
    _check_split(split)
    _check_positive_int("batch_size", batch_size)
    if take is not None:
        _check_positive_int("take", take)
    if seed is not None:
        _check_int("seed", seed)
    size = _check_image_size(image_size)

    folder = _resolve_name(name)
    if folder is not None and labels is not None:
        raise ZooError(
            f"labels=... replaces a named data set's labels; {name!r} is an image folder. "
            "Give each class its own subfolder instead."
        )
    if folder is not None:
        _check_folder_split(folder, split)
        dataset, count, has_labels = _folder_dataset(folder, size)
        if take is not None:
            dataset = dataset.take(take)
            count = min(count, take)
        if has_labels and not with_labels:
            dataset = dataset.map(lambda images, labels: images)
        target = None  # Keras already resized the images.
    else:
        images, own_labels = load_arrays(name, split, data_dir)
        if labels is None:
            labels = own_labels
        else:
            labels = np.asarray(labels)
            if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
                raise ZooError(
                    f"labels must be {len(images)} integers (one per {split!r} example of {name!r}). "
                    f"Received an array of shape {labels.shape} and dtype {labels.dtype}."
                )
            labels = labels.astype("int32")
            with_labels = True
        if take is not None:
            images = images[:take]
            labels = None if labels is None else labels[:take]
        count = len(images)
        if labels is not None and with_labels:
            dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        else:
            dataset = tf.data.Dataset.from_tensor_slices(images)
        target = size

    if drop_remainder and batch_size > count:
        raise ZooError(
            f"batch_size={batch_size} is larger than the number of examples "
            f"in data set {name!r} (split {split!r}): {count}. Pass a smaller "
            "batch_size or drop_remainder=False."
        )
    return _batch_pipeline(
        dataset,
        count,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        drop_remainder=drop_remainder,
        target=target,
    )


def clear_cache():
    """Forgets the decoded arrays cached by `load_arrays()`."""
    _read_arrays.cache_clear()


# --- Argument checks -------------------------------------------------------


def _check_split(split):
    if split not in SPLITS:
        raise ZooError(
            f"Unknown split {split!r}. Received: split={split!r}. "
            "Use 'train' or 'test'."
        )


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_int(arg_name, value):
    if not _is_int(value):
        raise ZooError(
            f"{arg_name} must be an int. Received: {arg_name}={value!r}."
        )


def _check_positive_int(arg_name, value):
    if not (_is_int(value) and value > 0):
        raise ZooError(
            f"{arg_name} must be a positive int. Received: "
            f"{arg_name}={value!r}."
        )


def _check_image_size(image_size):
    """Returns `((height, width), channels or None)`, or `None`."""
    if image_size is None:
        return None
    valid = (
        isinstance(image_size, (tuple, list))
        and len(image_size) in (2, 3)
        and all(_is_int(value) and value > 0 for value in image_size)
        and (len(image_size) == 2 or image_size[2] in (1, 3))
    )
    if not valid:
        raise ZooError(
            "image_size must be (height, width) or (height, width, channels) "
            f"with channels 1 or 3. Received: image_size={image_size!r}."
        )
    channels = int(image_size[2]) if len(image_size) == 3 else None
    return (int(image_size[0]), int(image_size[1])), channels


def _check_folder_split(folder, split):
    if split != "train":
        raise ZooError(
            f"Image folder {folder!r} has a single split. Received: "
            f"split={split!r}. Use split='train'."
        )


def _resolve_name(name):
    """Returns `None` for a known data set, the absolute folder path for an
    image folder, and raises `ZooError` otherwise."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        raise ZooError(
            "name must be a data set name or a folder path. "
            f"Received: name={name!r}."
        )
    if name in KNOWN_DATASETS:
        return None
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        return os.path.abspath(path)
    raise unknown_name_error(
        "data set", name, KNOWN_DATASETS, extra=", or a path to a folder of images"
    )


# --- Finding the files of the named data sets ------------------------------


_OFFLINE_REASON = "tensorflow-datasets download skipped because ZOO_OFFLINE=1"


def _offline():
    return os.environ.get("ZOO_OFFLINE", "").strip() == "1"


def _user_data_dir(data_dir):
    """Returns `(folder or None, description for error messages)`."""
    if data_dir is not None:
        path = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
        return path, f"data_dir={path}"
    env_dir = os.environ.get("ZOO_DATA_DIR", "").strip()
    if env_dir:
        path = os.path.abspath(os.path.expanduser(env_dir))
        return path, f"ZOO_DATA_DIR={path}"
    return None, "ZOO_DATA_DIR (unset)"


def _search_dirs(name, data_dir):
    """Folders to search, in order: the data-set subfolders of the user's
    folder, the user's folder itself, then the system folders."""
    folders = []
    user_dir = _user_data_dir(data_dir)[0]
    if user_dir is not None:
        aliases = _FOLDER_ALIASES[name]
        folders += [os.path.join(user_dir, alias) for alias in aliases]
        # A folder named after another data set (e.g. ZOO_DATA_DIR pointing at
        # a fashion-mnist folder while loading mnist) must not be used.
        other_names = {
            alias
            for other, other_aliases in _FOLDER_ALIASES.items()
            if other != name
            for alias in other_aliases
        }
        if os.path.basename(user_dir).lower() not in other_names:
            folders.append(user_dir)
    folders += list(SYSTEM_DATA_DIRS.get(name, ()))
    return folders


def _find_local(name, split, data_dir):
    """Returns the `_Source` of the first folder holding the split's files,
    or `None`."""
    for folder in _search_dirs(name, data_dir):
        if not os.path.isdir(folder):
            continue
        if name == "cifar10":
            for candidate in (os.path.join(folder, _CIFAR_FOLDER), folder):
                if all(
                    os.path.isfile(os.path.join(candidate, file_name))
                    for file_name in _CIFAR_FILES[split]
                ):
                    return _Source("cifar", candidate)
        elif all(_idx_path(folder, stem) for stem in _IDX_STEMS[split]):
            return _Source("idx", folder)
    return None


def _not_found_error(name, split, data_dir, tfds_reason):
    looked = [_user_data_dir(data_dir)[1]]
    looked += list(SYSTEM_DATA_DIRS.get(name, ()))
    what = f"Data set {name!r}"
    if split is not None:
        what += f" (split {split!r})"
    if name == "cifar10":
        fix = (
            "Extract cifar-10-python.tar.gz so that "
            f"<folder>/{_CIFAR_FOLDER}/ exists and pass data_dir=<folder> "
            "(CLI: --data-dir) or set ZOO_DATA_DIR."
        )
    else:
        fix = (
            "Put the four gzip IDX files in a folder and pass data_dir=... "
            "(CLI: --data-dir) or set ZOO_DATA_DIR; on Debian, "
            "`apt-get install dataset-fashion-mnist` provides fashion_mnist."
        )
    return ZooError(
        f"{what} was not found. Looked in: {', '.join(looked)}; "
        f"{tfds_reason}. {fix}"
    )


# --- Reading the named data sets -------------------------------------------


@functools.lru_cache(maxsize=8)
def _read_arrays(name, split, source):
    if source.kind == "idx":
        images, labels = _read_idx_split(source.path, split)
    elif source.kind == "cifar":
        images, labels = _read_cifar_split(source.path, split)
    else:
        images, labels = _read_tfds(name, split, source.path)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _read_tfds(name, split, data_dir):
    import tensorflow_datasets as tfds  # Slow to import: only when needed.

    images, labels = tfds.as_numpy(
        tfds.load(
            name,
            split=split,
            as_supervised=True,
            batch_size=-1,
            data_dir=data_dir,
        )
    )
    return np.asarray(images, dtype=np.uint8), np.asarray(labels, dtype=np.int32)


# --- The tf.data pipeline --------------------------------------------------


def _batch_pipeline(
    dataset, count, batch_size, *, shuffle, seed, cache, drop_remainder, target
):
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
        return _convert_images(images, target)

    if isinstance(dataset.element_spec, tuple):
        dataset = dataset.map(
            lambda images, labels: (scale(images), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        dataset = dataset.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _convert_images(images, target):
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
