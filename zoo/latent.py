"""Latent codes and labels drawn the same way everywhere, with NumPy alone.

Keras generation, the exported artifacts' test vectors and the ONNX-only serving
runtime all draw `z` through `sample_latent`, so one seed gives one image whatever
runtime computes it.
"""

import numbers

import numpy as np

from zoo.errors import ZooError


def sample_latent(n, latent_dim, seed=None):
    """Draws `n` standard-normal latent vectors as float32 `[n, latent_dim]`.

    Args:
        n: number of vectors, a positive integer.
        latent_dim: size of each vector.
        seed: integer seed for a reproducible draw; `None` draws fresh noise.

    Example:

    >>> sample_latent(2, 4, seed=0).shape
    (2, 4)
    """
    n = check_count(n)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
    ):
        raise ZooError(
            f"seed must be an integer. Received: seed={seed!r}."
        )
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, int(latent_dim)), dtype=np.float32)


def check_count(n, maximum=None):
    """Returns `n` as an int after checking it is a positive integer."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ZooError(
            f"The number of images must be a positive integer. Received: n={n!r}."
        )
    if maximum is not None and n > maximum:
        raise ZooError(
            f"Too many images requested. Received: n={n}. Allowed: 1..{maximum}."
        )
    return int(n)


def check_labels(labels, n, num_classes):
    """Validates class labels for a batch of `n` and returns them as int64 `[n]`.

    Args:
        labels: an int (used for every image) or a sequence of `n` ints.
        n: batch size.
        num_classes: number of classes of the conditional model, or `None` for
            an unconditional one, which accepts no labels.

    Example:

    >>> check_labels(3, 2, num_classes=10)
    array([3, 3])
    """
    if num_classes is None:
        if labels is not None:
            raise ZooError(
                "This model is unconditional and takes no labels. "
                "Received: labels. Drop the labels or use a conditional variant."
            )
        return None
    if labels is None:
        raise ZooError(
            f"This model is conditional: pass labels (ints in 0..{num_classes - 1}), "
            f"one per image or a single int for all. Received: labels=None."
        )
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((n,), array)
    if array.dtype.kind == "f" and array.size and np.all(np.mod(array, 1) == 0):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ZooError(
            f"labels must be integers. Received: labels of dtype {array.dtype}. "
            f"Pass ints in 0..{num_classes - 1}."
        )
    if array.ndim != 1 or array.shape[0] != n:
        raise ZooError(
            f"Expected one label per image ({n}). Received: labels of shape "
            f"{tuple(array.shape)}."
        )
    bad = array[(array < 0) | (array >= num_classes)]
    if bad.size:
        raise ZooError(
            f"Label out of range. Received: label={int(bad[0])}. "
            f"Allowed: 0..{num_classes - 1}."
        )
    return array.astype(np.int64)
