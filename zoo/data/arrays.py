"""Whole data set splits as NumPy arrays, decoded once per process.

Example:

>>> images, labels = load_arrays("fashion_mnist", split="test")
>>> images.shape, labels.shape
((10000, 28, 28, 1), (10000,))
"""

import functools

from zoo.data.arguments import check_folder_split, check_split, resolve_name
from zoo.data.folders import folder_arrays
from zoo.data.formats import one_line, read_cifar_split, read_idx_split
from zoo.data.locate import OFFLINE_REASON, DataFiles, find_local, not_found_error, user_data_dir
from zoo.data.tfds_fallback import read_tfds
from zoo.settings import offline


def load_arrays(name, split="train", data_dir=None):
    """Loads a whole data set split as NumPy arrays.

    Decoded arrays are cached per process, so repeated calls are cheap. The
    returned arrays are shared with that cache and therefore read-only; copy
    them before modifying.

    Args:
        name: One of `KNOWN_DATASETS`, or a path to a folder of images.
        split: `"train"` or `"test"`. Image folders only have `"train"`.
        data_dir: Optional folder holding the data set files (see the
            `zoo.data` docstring). Defaults to the `ZOO_DATA_DIR` environment
            variable.

    Returns:
        Tuple `(images, labels)`: `images` is uint8 of shape
        `(N, height, width, channels)`, `labels` is int32 of shape `(N,)`,
        or `None` for an image folder without class subfolders.

    Example:

    >>> images, labels = zoo.data.load_arrays("fashion_mnist", split="test")
    >>> images.shape, labels.shape
    ((10000, 28, 28, 1), (10000,))
    """
    check_split(split)
    folder = resolve_name(name)
    if folder is not None:
        check_folder_split(folder, split)
        return folder_arrays(folder)
    files = find_local(name, split, data_dir)
    if files is not None:
        return read_arrays(name, split, files)
    if offline():
        raise not_found_error(name, split, data_dir, OFFLINE_REASON)
    tfds_dir = user_data_dir(data_dir)[0]
    try:
        return read_arrays(name, split, DataFiles("tfds", tfds_dir))
    except Exception as error:  # tfds raises many kinds of download errors.
        reason = f"tensorflow-datasets could not load it ({one_line(error)})"
        raise not_found_error(name, split, data_dir, reason) from error


@functools.lru_cache(maxsize=8)
def read_arrays(name, split, files):
    """Decodes a named data set's split from `files` (a `DataFiles`); the arrays are read-only and cached."""
    if files.kind == "idx":
        images, labels = read_idx_split(files.path, split)
    elif files.kind == "cifar":
        images, labels = read_cifar_split(files.path, split)
    else:
        images, labels = read_tfds(name, split, files.path)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels
