"""Readers of the files the named data sets come in: IDX (MNIST, Fashion-MNIST)
and CIFAR-10's python pickles. Every malformed file is a one-line `ZooError`
naming the file.
"""

import gzip
import os
import pickle
import struct
import zlib

import numpy as np

from zoo.errors import ZooError

IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_IMAGES_MAGIC = 0x00000803
_IDX_LABELS_MAGIC = 0x00000801

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}


def idx_path(folder, stem):
    """Returns the path of an IDX file (gzipped or not), or `None`."""
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    for file_name in (stem + ".gz", stem, dotted + ".gz", dotted):
        path = os.path.join(folder, file_name)
        if os.path.isfile(path):
            return path
    return None


def one_line(error):
    """`error` as one line of at most ~200 characters, prefixed by its type, for a `ZooError` message."""
    text = " ".join(str(error).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def read_idx_split(folder, split):
    """Reads a split's IDX images and labels in `folder`: `(uint8 (N, H, W, 1), int32 (N,))`."""
    images_stem, labels_stem = IDX_STEMS[split]
    images_path = idx_path(folder, images_stem)
    labels_path = idx_path(folder, labels_stem)
    images = _read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, _IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise ZooError(
            f"{images_path} holds {len(images)} images but {labels_path} "
            f"holds {len(labels)} labels. Re-download them or reinstall the "
            "package that provides them."
        )
    return images[..., np.newaxis], labels.astype(np.int32)


def _read_idx(path, expected_magic):
    """Reads an IDX file of unsigned bytes (optionally gzipped).

    The format is a big-endian uint32 magic number `0x000008NN` (`0x08` =
    unsigned byte, `NN` = number of dimensions), one big-endian uint32 per
    dimension, then the data in row-major order.
    """

    def invalid(reason):
        return ZooError(
            f"{path} is not a valid IDX file ({reason}). Re-download it or "
            "reinstall the package that provides it."
        )

    try:
        with open(path, "rb") as file:
            raw = file.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise invalid(one_line(error)) from error

    if len(raw) < 4:
        raise invalid(f"only {len(raw)} bytes")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        raise invalid(
            f"magic number 0x{magic:08X}, expected 0x{expected_magic:08X}"
        )
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise invalid("truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    size = int(np.prod(shape))
    if len(raw) - header_size != size:
        raise invalid(
            f"expected {size} data bytes for shape {shape}, found "
            f"{len(raw) - header_size}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


class _CifarUnpickler(pickle.Unpickler):
    """Unpickler that only builds the NumPy arrays found in CIFAR batches, so
    a tampered file cannot run arbitrary code."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def read_cifar_split(folder, split):
    """Reads a split's CIFAR-10 batches in `folder`: `(uint8 (N, 32, 32, 3), int32 (N,))`."""
    parts = [
        _read_cifar_batch(os.path.join(folder, file_name))
        for file_name in CIFAR_FILES[split]
    ]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    return images, labels


def _read_cifar_batch(path):
    """Reads one CIFAR-10 python batch: a pickled dict with `b"data"` (uint8
    `(N, 3072)`, each row a 3x32x32 image in channel-first order) and
    `b"labels"` (N ints). Returns `(images (N, 32, 32, 3), labels (N,))`."""

    def invalid(reason):
        return ZooError(
            f"{path} is not a valid CIFAR-10 batch file ({reason}). "
            "Re-download and extract cifar-10-python.tar.gz."
        )

    try:
        with open(path, "rb") as file:
            batch = _CifarUnpickler(file, encoding="bytes").load()
        data = np.asarray(batch[b"data"])
        labels = np.asarray(batch[b"labels"])
    except Exception as error:  # Unpickling can fail in many ways.
        raise invalid(one_line(error)) from error
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise invalid(f"data is {data.dtype} {data.shape}, expected uint8 (N, 3072)")
    if labels.shape != (len(data),):
        raise invalid(f"{labels.size} labels for {len(data)} images")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)
