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

The modules, by job: `catalog` (the named data sets), `arguments` (argument
checks), `locate` (finding the files), `formats` (IDX and CIFAR-10 files),
`folders` (folders of images), `tfds_fallback` (tensorflow-datasets),
`arrays` (`load_arrays`), `describe` (`info`) and `pipeline` (`load`).

Example:

```python
images, labels = zoo.data.load_arrays("fashion_mnist")
dataset = zoo.data.load("fashion_mnist", batch_size=64, seed=0)
for images, labels in dataset.take(1):
    print(images.shape)  # (64, 28, 28, 1), float32 in [-1, 1]
```
"""

from zoo.data.arrays import load_arrays  # noqa: F401
from zoo.data.catalog import KNOWN_DATASETS, SPLITS  # noqa: F401
from zoo.data.describe import DatasetInfo, info  # noqa: F401
from zoo.data.folders import IMAGE_EXTENSIONS  # noqa: F401
from zoo.data.locate import SYSTEM_DATA_DIRS  # noqa: F401
from zoo.data.pipeline import load  # noqa: F401
