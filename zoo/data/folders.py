"""Folders of images as data sets (one subfolder per class gives labels)."""

import os

import keras
import numpy as np
import tensorflow as tf

from zoo.data.formats import one_line
from zoo.errors import ZooError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_GRAYSCALE_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def _list_images(folder):
    """Image files under `folder` (recursively), in the order Keras reads
    them."""
    paths = []
    for root, _, files in sorted(os.walk(folder), key=lambda item: item[0]):
        paths += [
            os.path.join(root, file_name)
            for file_name in sorted(files)
            if file_name.lower().endswith(IMAGE_EXTENSIONS)
        ]
    return paths


def scan_folder(folder):
    """Returns `(image paths, class names or None)`.

    Subfolders holding images are classes; without such subfolders the
    images of the folder itself are read without labels.
    """
    class_names = []
    paths = []
    for entry in sorted(os.listdir(folder)):
        subfolder = os.path.join(folder, entry)
        if entry.startswith(".") or not os.path.isdir(subfolder):
            continue
        images = _list_images(subfolder)
        if images:
            class_names.append(entry)
            paths += images
    if class_names:
        return paths, tuple(class_names)
    paths = _list_images(folder)
    if not paths:
        raise ZooError(
            f"Folder {folder!r} contains no images. Put image files "
            f"({', '.join(IMAGE_EXTENSIONS)}) in it, or in one subfolder per "
            "class."
        )
    return paths, None


def first_image_shape(path):
    """Returns `(height, width, channels)` of an image file (1 channel for
    grayscale modes, else 3)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            mode = image.mode
    except OSError as error:
        raise ZooError(
            f"{path} is not a readable image ({one_line(error)}). Remove or "
            "replace it."
        ) from error
    return height, width, 1 if mode in _GRAYSCALE_MODES else 3


def folder_dataset(folder, size=None):
    """Returns `(unbatched uint8 dataset, number of images, has labels)`."""
    paths, class_names = scan_folder(folder)
    height, width, channels = first_image_shape(paths[0])
    if size is not None:
        (height, width), channels = size[0], size[1] or channels
    dataset = keras.utils.image_dataset_from_directory(
        folder,
        labels="inferred" if class_names else None,
        label_mode="int",
        class_names=list(class_names) if class_names else None,
        color_mode="grayscale" if channels == 1 else "rgb",
        batch_size=None,
        image_size=(height, width),
        shuffle=False,
        verbose=False,
    )

    def to_uint8(images):
        return tf.cast(tf.clip_by_value(tf.round(images), 0.0, 255.0), tf.uint8)

    if class_names:
        dataset = dataset.map(
            lambda images, labels: (to_uint8(images), tf.cast(labels, tf.int32))
        )
    else:
        dataset = dataset.map(to_uint8)
    return dataset, len(paths), class_names is not None


def folder_arrays(folder):
    """Returns `(uint8 images (N, H, W, C), int32 labels (N,) or None)` of a folder of images."""
    dataset, _, has_labels = folder_dataset(folder)
    chunks = list(dataset.batch(1024).as_numpy_iterator())
    if has_labels:
        images = np.concatenate([images for images, _ in chunks])
        labels = np.concatenate([labels for _, labels in chunks])
        return images, labels.astype(np.int32)
    return np.concatenate(chunks), None
