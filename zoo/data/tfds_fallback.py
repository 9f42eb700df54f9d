"""Reading a named data set through tensorflow-datasets, the last place `zoo.data` looks.

tensorflow-datasets may download the files (into `data_dir`, else its own
default folder); `zoo.data` skips it when `ZOO_OFFLINE=1`
(`zoo.settings.offline`). It is imported only when needed: it is slow to import.

Example:

>>> images, labels = read_tfds("mnist", "test", None)
>>> images.shape, labels.dtype
((10000, 28, 28, 1), dtype('int32'))
"""

import numpy as np


def read_tfds(name, split, data_dir):
    """Returns `(uint8 images (N, H, W, C), int32 labels (N,))` of a split, as tensorflow-datasets loads it."""
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
