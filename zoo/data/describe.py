"""Describing a data set without decoding it: `info()` and its `DatasetInfo`.

Example:

>>> info("fashion_mnist").image_shape
(28, 28, 1)
"""

from __future__ import annotations

import dataclasses

from zoo.data.arguments import resolve_name
from zoo.data.catalog import CLASS_NAMES, IMAGE_SHAPES, SPLITS
from zoo.data.folders import first_image_shape, scan_folder
from zoo.data.locate import OFFLINE_REASON, DataFiles, find_local, not_found_error, user_data_dir
from zoo.settings import offline


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


def info(name, data_dir=None):
    """Describes a data set without decoding it.

    Args:
        name: One of `KNOWN_DATASETS`, or a path to a folder of images.
        data_dir: Optional folder holding the data set files (see the
            `zoo.data` docstring). Defaults to the `ZOO_DATA_DIR` environment
            variable.

    Returns:
        A `DatasetInfo`.

    Example:

    >>> zoo.data.info("fashion_mnist").image_shape
    (28, 28, 1)
    """
    folder = resolve_name(name)
    if folder is not None:
        return _folder_info(folder)
    files = None
    for split in SPLITS:
        files = find_local(name, split, data_dir)
        if files is not None:
            break
    if files is None:
        if offline():
            raise not_found_error(name, None, data_dir, OFFLINE_REASON)
        files = DataFiles("tfds", user_data_dir(data_dir)[0])
    class_names = CLASS_NAMES[name]
    return DatasetInfo(
        name=name,
        image_shape=IMAGE_SHAPES[name],
        num_classes=len(class_names),
        class_names=class_names,
        source=files.describe(),
    )


def _folder_info(folder):
    """The `DatasetInfo` of a folder of images (its shape is the first image's)."""
    files, class_names = scan_folder(folder)
    height, width, channels = first_image_shape(files[0])
    return DatasetInfo(
        name=folder,
        image_shape=(height, width, channels),
        num_classes=None if class_names is None else len(class_names),
        class_names=class_names,
        source=f"folder:{folder}",
    )
