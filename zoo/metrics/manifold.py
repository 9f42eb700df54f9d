"""Improved precision/recall and density/coverage: k-NN manifold metrics.

Each set of features defines a manifold estimate: the union of balls around its
points, each ball's radius being the distance to the point's k-th nearest
neighbour in its own set (k = 5). With real features `R` (radii `r`) and fake
features `F` (radii `f`), as in Naeem et al. 2020's reference code:

    precision = share of fakes inside some real ball        (Kynkäänniemi 2019)
    recall    = share of reals inside some fake ball        (Kynkäänniemi 2019)
    density   = mean over fakes of (number of real balls holding it) / k   (Naeem 2020)
    coverage  = share of reals whose ball holds some fake   (Naeem 2020)

"Inside" is a strict `<`. Precision and density fall when samples are unlike
the data; recall and coverage fall when modes are dropped: a sample of one
image repeated has fake radii 0, so its recall is 0.

Pairwise distances are computed block by block (`CHUNK` rows at a time, float32
matrix products), so 10k x 10k needs ~20 MB at once, never the full matrix.
"""

import numpy as np

from zoo.errors import ZooError

K = 5
CHUNK = 512


def squared_distances(x, y, x_norms=None, y_norms=None):
    """`[len(x), len(y)]` squared Euclidean distances (clipped at 0)."""
    x_norms = np.einsum("ij,ij->i", x, x) if x_norms is None else x_norms
    y_norms = np.einsum("ij,ij->i", y, y) if y_norms is None else y_norms
    distances = x_norms[:, None] + y_norms[None, :] - 2.0 * (x @ y.T)
    return np.maximum(distances, 0.0, out=distances)


def knn_radii(features, k=K, chunk=CHUNK):
    """Squared distance of each point to its `k`-th nearest neighbour in `features`.

    The point itself (distance 0) is excluded by taking the `(k+1)`-th
    smallest distance of each row, as the reference code does.

    Returns:
        float32 `[n]` squared radii.
    """
    features = np.asarray(features, np.float32)
    if len(features) <= k:
        raise ZooError(
            f"k-NN metrics with k={k} need more than {k} samples per set. Received: {len(features)}."
        )
    norms = np.einsum("ij,ij->i", features, features)
    radii = np.empty(len(features), np.float32)
    for start in range(0, len(features), chunk):
        block = squared_distances(features[start : start + chunk], features, norms[start : start + chunk], norms)
        radii[start : start + chunk] = np.partition(block, k, axis=1)[:, k]
    return radii


def precision_recall_density_coverage(real, fake, k=K, real_radii=None, chunk=CHUNK):
    """The four k-NN manifold metrics of `fake` features against `real` ones.

    Args:
        real: `[n_real, d]` reference features.
        fake: `[n_fake, d]` sample features.
        k: neighbourhood size. Defaults to `5`.
        real_radii: precomputed `knn_radii(real, k)` (the reference set's radii
            do not depend on the sample, so evaluations cache them).
        chunk: rows per block of the distance matrix.

    Returns:
        A dict with float `precision`, `recall`, `density`, `coverage`.

    Example:

    >>> precision_recall_density_coverage(real_features, fake_features)["coverage"]
    0.93
    """
    real = np.asarray(real, np.float32)
    fake = np.asarray(fake, np.float32)
    real_radii = knn_radii(real, k, chunk) if real_radii is None else np.asarray(real_radii, np.float32)
    if len(real_radii) != len(real):
        raise ValueError(f"real_radii has {len(real_radii)} entries for {len(real)} real features.")
    fake_radii = knn_radii(fake, k, chunk)
    real_norms = np.einsum("ij,ij->i", real, real)
    fake_norms = np.einsum("ij,ij->i", fake, fake)
    fake_in_real = np.zeros(len(fake), bool)  # precision
    real_ball_counts = np.zeros(len(fake), np.int64)  # density
    real_in_fake = np.empty(len(real), bool)  # recall
    real_covered = np.empty(len(real), bool)  # coverage
    for start in range(0, len(real), chunk):
        stop = start + chunk
        block = squared_distances(real[start:stop], fake, real_norms[start:stop], fake_norms)
        inside_real = block < real_radii[start:stop, None]
        fake_in_real |= inside_real.any(axis=0)
        real_ball_counts += inside_real.sum(axis=0)
        real_in_fake[start:stop] = (block < fake_radii[None, :]).any(axis=1)
        real_covered[start:stop] = inside_real.any(axis=1)
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(real_ball_counts.mean() / k),
        "coverage": float(real_covered.mean()),
    }
