"""Fréchet distance between two feature distributions, from streamed statistics.

The Fréchet (2-Wasserstein) distance between the Gaussians fitted to two sets of
features (Heusel et al. 2017, "FID" when the features are Inception's) is

    FD = |mu_1 - mu_2|^2 + Tr(C_1 + C_2 - 2 (C_1 C_2)^(1/2))

`FeatureStatistics` accumulates the count, the sum and the sum of outer products
batch by batch (float64, shifted by the first batch's mean against
cancellation), so 50k samples need only `d + d^2` numbers. The covariance is the
unbiased one (`ddof=1`, as `numpy.cov` and the reference FID code).

`Tr((C_1 C_2)^(1/2))` is computed without `scipy.linalg.sqrtm`: with
`S = C_1^(1/2)` (symmetric, from `eigh`), `C_1 C_2` is similar to the symmetric
PSD matrix `S C_2 S`, so the trace is the sum of the square roots of that
matrix's eigenvalues: exact, real and stable even for singular covariances.
"""

import numpy as np

from zoo.errors import ZooError


class FeatureStatistics:
    """Running mean and covariance of feature vectors, fed batch by batch.

    Example:

    >>> stats = FeatureStatistics()
    >>> for batch in batches:
    ...     stats.update(features(batch))
    >>> stats.mean.shape, stats.covariance.shape
    ((128,), (128, 128))
    """

    def __init__(self):
        self.count = 0
        self._shift = None
        self._sum = None
        self._outer = None

    def update(self, features):
        """Adds a `[batch, d]` array of features."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2:
            raise ValueError(f"features must be [batch, dim]. Received: shape={features.shape}.")
        if not len(features):
            return self
        if self._shift is None:
            self._shift = features.mean(axis=0)
            dim = features.shape[1]
            self._sum = np.zeros(dim)
            self._outer = np.zeros((dim, dim))
        centred = features - self._shift
        self._sum += centred.sum(axis=0)
        self._outer += centred.T @ centred
        self.count += len(features)
        return self

    @property
    def mean(self):
        self._check(1)
        return self._shift + self._sum / self.count

    @property
    def covariance(self):
        """The unbiased (`ddof=1`) covariance matrix, float64 `[d, d]`."""
        self._check(2)
        centred_mean = self._sum / self.count
        return (self._outer - self.count * np.outer(centred_mean, centred_mean)) / (self.count - 1)

    def _check(self, minimum):
        if self.count < minimum:
            raise ZooError(
                f"Feature statistics need at least {minimum} samples. Received: {self.count}."
            )


def sqrt_psd(matrix):
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(cov_1, cov_2):
    """`Tr((cov_1 cov_2)^(1/2))` for two covariance matrices."""
    root = sqrt_psd(cov_1)
    values = np.linalg.eigvalsh(root @ cov_2 @ root)
    return float(np.sum(np.sqrt(np.clip(values, 0, None))))


def frechet_distance(mean_1, cov_1, mean_2, cov_2):
    """Fréchet distance between `N(mean_1, cov_1)` and `N(mean_2, cov_2)`.

    Args:
        mean_1, mean_2: `[d]` means.
        cov_1, cov_2: `[d, d]` covariances.

    Returns:
        A float >= 0 (tiny negative round-off is clipped to 0).

    Example:

    >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
    2.0
    """
    mean_1, mean_2 = np.asarray(mean_1, np.float64), np.asarray(mean_2, np.float64)
    cov_1, cov_2 = np.asarray(cov_1, np.float64), np.asarray(cov_2, np.float64)
    if mean_1.shape != mean_2.shape or cov_1.shape != cov_2.shape:
        raise ValueError(
            f"Both distributions need the same dimension. Received: means {mean_1.shape} and "
            f"{mean_2.shape}, covariances {cov_1.shape} and {cov_2.shape}."
        )
    difference = mean_1 - mean_2
    value = difference @ difference + np.trace(cov_1) + np.trace(cov_2)
    value -= 2 * trace_sqrt_product(cov_1, cov_2)
    return max(float(value), 0.0)


def frechet_distance_from_statistics(stats_1, stats_2):
    """`frechet_distance` of two `FeatureStatistics`."""
    return frechet_distance(stats_1.mean, stats_1.covariance, stats_2.mean, stats_2.covariance)
