"""Checks of the arguments of `zoo.data.load`, `load_arrays` and `info`, each a one-line `ZooError`.

Example:

>>> resolve_name("fashion_mnist") is None  # a named data set; a folder gives its absolute path
True
>>> check_image_size((64, 64, 3))
((64, 64), 3)
"""

import os

import numpy as np

from zoo.data.catalog import KNOWN_DATASETS, SPLITS
from zoo.errors import ZooError, unknown_name_error


def check_split(split):
    """Raises unless `split` is one of `SPLITS`."""
    if split not in SPLITS:
        raise ZooError(
            f"Unknown split {split!r}. Received: split={split!r}. "
            "Use 'train' or 'test'."
        )


def is_int(value):
    """Whether `value` is a Python or NumPy int (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(arg_name, value):
    """Raises unless `value` is an int."""
    if not is_int(value):
        raise ZooError(
            f"{arg_name} must be an int. Received: {arg_name}={value!r}."
        )


def check_positive_int(arg_name, value):
    """Raises unless `value` is an int above 0."""
    if not (is_int(value) and value > 0):
        raise ZooError(
            f"{arg_name} must be a positive int. Received: "
            f"{arg_name}={value!r}."
        )


def check_image_size(image_size):
    """Returns `((height, width), channels or None)`, or `None`."""
    if image_size is None:
        return None
    valid = (
        isinstance(image_size, (tuple, list))
        and len(image_size) in (2, 3)
        and all(is_int(value) and value > 0 for value in image_size)
        and (len(image_size) == 2 or image_size[2] in (1, 3))
    )
    if not valid:
        raise ZooError(
            "image_size must be (height, width) or (height, width, channels) "
            f"with channels 1 or 3. Received: image_size={image_size!r}."
        )
    channels = int(image_size[2]) if len(image_size) == 3 else None
    return (int(image_size[0]), int(image_size[1])), channels


def check_folder_split(folder, split):
    """Raises unless `split` is `"train"`, the one split of an image folder."""
    if split != "train":
        raise ZooError(
            f"Image folder {folder!r} has a single split. Received: "
            f"split={split!r}. Use split='train'."
        )


def resolve_name(name):
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
