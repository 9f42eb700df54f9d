"""Finding the files of a named data set on this machine, and the error when they are not there.

Folders are searched in this order: the data-set subfolders of `data_dir` (or
`ZOO_DATA_DIR`), that folder itself, then `SYSTEM_DATA_DIRS` (Debian's
`dataset-*` packages). A folder holds a split when all of its files are there
(four gzip IDX files, or CIFAR-10's python batches).

Example:

>>> find_local("fashion_mnist", "train", None)
DataFiles(kind='idx', path='/usr/share/datasets/fashion-mnist')
"""

from __future__ import annotations

import dataclasses
import os

from zoo.data.formats import CIFAR_FILES, CIFAR_FOLDER, IDX_STEMS, idx_path
from zoo.errors import ZooError
from zoo.settings import data_dir as data_dir_setting

# System folders searched automatically (after `data_dir` / `ZOO_DATA_DIR`).
SYSTEM_DATA_DIRS = {
    "fashion_mnist": ("/usr/share/datasets/fashion-mnist",),
    "mnist": ("/usr/share/datasets/mnist",),
}

# The subfolder names a named data set is looked for under `data_dir`.
FOLDER_ALIASES = {
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion_mnist", "fashion-mnist"),
    "cifar10": ("cifar10", "cifar-10"),
}

OFFLINE_REASON = "tensorflow-datasets download skipped because ZOO_OFFLINE=1"


@dataclasses.dataclass(frozen=True)
class DataFiles:
    """Where the files of a named data set were found.

    Attributes:
        kind: `"idx"`, `"cifar"` or `"tfds"` (tensorflow-datasets fetches them).
        path: The folder holding them (for `"tfds"`, its `data_dir`, or `None`).
    """

    kind: str
    path: str | None

    def describe(self):
        """`"<kind>:<path>"`, or the kind alone without a path (`DatasetInfo.source`)."""
        if self.path is None:
            return self.kind
        return f"{self.kind}:{self.path}"


def user_data_dir(data_dir):
    """Returns `(folder or None, description for error messages)`."""
    if data_dir is not None:
        path = os.path.abspath(os.path.expanduser(os.fspath(data_dir)))
        return path, f"data_dir={path}"
    path = data_dir_setting()
    if path is not None:
        return path, f"ZOO_DATA_DIR={path}"
    return None, "ZOO_DATA_DIR (unset)"


def search_dirs(name, data_dir):
    """Folders to search, in order: the data-set subfolders of the user's
    folder, the user's folder itself, then the system folders."""
    folders = []
    user_dir = user_data_dir(data_dir)[0]
    if user_dir is not None:
        aliases = FOLDER_ALIASES[name]
        folders += [os.path.join(user_dir, alias) for alias in aliases]
        # A folder named after another data set (e.g. ZOO_DATA_DIR pointing at
        # a fashion-mnist folder while loading mnist) must not be used.
        other_names = {
            alias
            for other, other_aliases in FOLDER_ALIASES.items()
            if other != name
            for alias in other_aliases
        }
        if os.path.basename(user_dir).lower() not in other_names:
            folders.append(user_dir)
    folders += list(SYSTEM_DATA_DIRS.get(name, ()))
    return folders


def find_local(name, split, data_dir):
    """Returns the `DataFiles` of the first folder holding the split's files,
    or `None`."""
    for folder in search_dirs(name, data_dir):
        if not os.path.isdir(folder):
            continue
        if name == "cifar10":
            for candidate in (os.path.join(folder, CIFAR_FOLDER), folder):
                if all(
                    os.path.isfile(os.path.join(candidate, file_name))
                    for file_name in CIFAR_FILES[split]
                ):
                    return DataFiles("cifar", candidate)
        elif all(idx_path(folder, stem) for stem in IDX_STEMS[split]):
            return DataFiles("idx", folder)
    return None


def not_found_error(name, split, data_dir, tfds_reason):
    """The one-line `ZooError` for a named data set whose files are nowhere: where it looked, how to fix it."""
    looked = [user_data_dir(data_dir)[1]]
    looked += list(SYSTEM_DATA_DIRS.get(name, ()))
    what = f"Data set {name!r}"
    if split is not None:
        what += f" (split {split!r})"
    if name == "cifar10":
        fix = (
            "Extract cifar-10-python.tar.gz so that "
            f"<folder>/{CIFAR_FOLDER}/ exists and pass data_dir=<folder> "
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
