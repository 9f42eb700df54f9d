"""Kernel distance (KID): an unbiased MMD^2 between two sets of features.

Bińkowski et al. 2018 ("Demystifying MMD GANs"): the squared maximum mean
discrepancy with the cubic polynomial kernel `k(x, y) = (x.y / d + 1)^3`,
estimated without bias on `subsets` random subsets of `subset_size` vectors
drawn from each side, and averaged. Unlike the Fréchet distance its estimator
has no bias that depends on the sample count, so small-n figures compare with
large-n ones. The subset protocol (100 subsets of 1000) is the reference
implementation's; smaller sets use `min(n_1, n_2)` per subset.

The kernel assumes features of unit scale (as Inception's pooled features
roughly are); `KernelReference(scale="rms")` divides both sides by the
reference's root-mean-square feature value so that a classifier with larger
activations does not blow the cubic kernel up. The reference side's subsets
(fixed seed 0) and their within-set sums are computed once and reused, so an
evaluation only pays for the sample side and the cross terms.
"""

import numpy as np

from zoo.errors import ZooError

SUBSETS = 100
SUBSET_SIZE = 1000
REFERENCE_SEED = 0


def polynomial_kernel(x, y):
    """`(x @ y.T / d + 1) ** 3` for `[n, d]` and `[m, d]` arrays."""
    kernel = x @ y.T
    kernel /= x.shape[1]
    kernel += 1
    cube = kernel * kernel
    cube *= kernel
    return cube


def _within_sum(x):
    """Sum of the kernel over distinct pairs of `x` (the diagonal left out)."""
    kernel = polynomial_kernel(x, x)
    return float(kernel.sum(dtype=np.float64) - np.trace(kernel, dtype=np.float64))


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 of `x` and `y` (same size `m >= 2`) with `polynomial_kernel`."""
    m = len(x)
    within = (_within_sum(x) + _within_sum(y)) / (m * (m - 1))
    return float(within - 2.0 * polynomial_kernel(x, y).sum(dtype=np.float64) / (m * m))


class KernelReference:
    """The reference side of KID, prepared once for many evaluations.

    Args:
        features: `[n, d]` reference features.
        subsets: number of subsets. Defaults to `100`.
        subset_size: vectors per subset and side (capped at both set sizes).
            Defaults to `1000`.
        scale: a number both sides are divided by, or `"rms"` for the
            reference's root-mean-square feature value. Defaults to `1.0`.

    Example:

    >>> reference = KernelReference(real_features, scale="rms")
    >>> kid, kid_std = reference.distance(fake_features, seed=0)
    """

    def __init__(self, features, subsets=SUBSETS, subset_size=SUBSET_SIZE, scale=1.0):
        features = np.asarray(features, np.float32)
        if isinstance(scale, str):
            if scale != "rms":
                raise ValueError(f"scale must be a number or 'rms'. Received: scale={scale!r}.")
            scale = float(np.sqrt(np.mean(np.square(features, dtype=np.float64))))
        self.scale = float(scale) if scale else 1.0
        self.features = features / self.scale
        self.subsets = subsets
        self.subset_size = subset_size
        self._terms = {}

    def _reference_terms(self, size):
        if size not in self._terms:
            rng = np.random.default_rng(REFERENCE_SEED)
            indices = [rng.choice(len(self.features), size, replace=False) for _ in range(self.subsets)]
            sums = [_within_sum(self.features[index]) for index in indices]
            self._terms[size] = (indices, sums)
        return self._terms[size]

    def distance(self, features, seed=0):
        """KID of `features` against the reference: `(mean, std)` over the subsets."""
        x = np.asarray(features, np.float32) / self.scale
        size = min(self.subset_size, len(x), len(self.features))
        if size < 2:
            raise ZooError(
                f"KID needs at least 2 samples on each side. Received: {len(x)} and {len(self.features)}."
            )
        indices, reference_sums = self._reference_terms(size)
        rng = np.random.default_rng(seed)
        values = np.empty(self.subsets)
        for index, (reference_index, reference_sum) in enumerate(zip(indices, reference_sums)):
            sample = x[rng.choice(len(x), size, replace=False)]
            cross = polynomial_kernel(sample, self.features[reference_index]).sum(dtype=np.float64)
            values[index] = (_within_sum(sample) + reference_sum) / (size * (size - 1)) - 2.0 * cross / (size * size)
        return float(values.mean()), float(values.std())


def kernel_distance(features_1, features_2, subsets=SUBSETS, subset_size=SUBSET_SIZE, seed=0, scale=1.0):
    """KID between two feature sets: mean and std of MMD^2 over random subsets.

    Args:
        features_1: `[n_1, d]` sample features.
        features_2: `[n_2, d]` reference features.
        subsets: number of subsets. Defaults to `100`.
        subset_size: vectors per subset and side; capped at `min(n_1, n_2)`.
            Defaults to `1000`.
        seed: seed of the sample side's subsets. Defaults to `0`.
        scale: see `KernelReference`. Defaults to `1.0`.

    Returns:
        `(mean, std)` as floats. The mean may be slightly negative when the
        two sets come from one distribution (the estimator is unbiased).

    Example:

    >>> kid, kid_std = kernel_distance(fake_features, real_features)
    """
    return KernelReference(features_2, subsets, subset_size, scale).distance(features_1, seed)
