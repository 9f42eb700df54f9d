"""The metric formulas of `zoo.metrics`, checked against direct (slow) computations."""

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance

from zoo.errors import ZooError
from zoo.metrics import frechet, kid, manifold, scores


def gaussian(n, d, seed, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    return (rng.standard_normal((n, d)) @ mixing * scale + shift).astype(np.float32)


def scipy_frechet(x, y):
    """The reference FID code's formula, with `scipy.linalg.sqrtm`."""
    mu_1, mu_2 = x.mean(0), y.mean(0)
    cov_1, cov_2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(cov_1 @ cov_2)
    return float(np.sum((mu_1 - mu_2) ** 2) + np.trace(cov_1 + cov_2 - 2 * root.real))


def test_streaming_statistics_equal_numpy_mean_and_cov():
    x = gaussian(1000, 16, 0, shift=50.0)  # a large offset tests the shifted accumulation
    stats = frechet.FeatureStatistics()
    for batch in np.array_split(x, 7):
        stats.update(batch)
    assert stats.count == 1000
    np.testing.assert_allclose(stats.mean, x.astype(np.float64).mean(0), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(stats.covariance, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("shift, scale", [(0.0, 1.0), (0.3, 1.0), (1.0, 2.0)])
def test_frechet_distance_matches_scipy_sqrtm(shift, scale):
    x = gaussian(600, 12, 1).astype(np.float64)
    y = gaussian(500, 12, 2, shift=shift, scale=scale).astype(np.float64)
    stats_x = frechet.FeatureStatistics().update(x[:300]).update(x[300:])
    stats_y = frechet.FeatureStatistics().update(y)
    ours = frechet.frechet_distance_from_statistics(stats_x, stats_y)
    assert ours == pytest.approx(scipy_frechet(x, y), rel=1e-7, abs=1e-9)


def test_frechet_distance_of_singular_covariances_is_finite_and_exact():
    # Rank-deficient features (ReLU features often are): sqrtm struggles, eigh does not.
    x = np.zeros((200, 8))
    x[:, :3] = gaussian(200, 3, 3)
    y = np.zeros((200, 8))
    y[:, :3] = gaussian(200, 3, 4, shift=0.5)
    assert frechet.frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)) == pytest.approx(
        scipy_frechet(x[:, :3], y[:, :3]), rel=1e-7
    )
    assert frechet.frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)) == pytest.approx(2.0)
    same = frechet.FeatureStatistics().update(x)
    assert frechet.frechet_distance_from_statistics(same, same) == pytest.approx(0.0, abs=1e-9)


def test_kid_matches_a_direct_unbiased_mmd():
    x = gaussian(300, 10, 5).astype(np.float64)
    y = gaussian(300, 10, 6, shift=0.2).astype(np.float64)
    d = x.shape[1]
    kernel = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m = len(x)
    direct = (
        sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        + sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        - 2 * sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    )
    assert kid.mmd2_unbiased(x, y) == pytest.approx(direct, rel=1e-9)
    # With subsets the size of the sets every subset is the whole set.
    mean, std = kid.kernel_distance(x, y, subsets=3, subset_size=300)  # float32 products
    assert mean == pytest.approx(direct, rel=1e-4) and std == pytest.approx(0.0, abs=1e-9)
    same, _ = kid.kernel_distance(x[:150], x[150:], subsets=20, subset_size=100)
    assert abs(same) < mean / 5
    # Scaling both sides by the reference's RMS makes KID scale-free.
    scaled = kid.kernel_distance(10 * x, 10 * y, subsets=3, subset_size=300, scale="rms")[0]
    assert scaled == pytest.approx(kid.kernel_distance(x, y, subsets=3, subset_size=300, scale="rms")[0], rel=1e-4)


def reference_prdc(real, fake, k):
    """Naeem et al. 2020's reference code (github.com/clovaai/generative-evaluation-prdc)."""
    real_real = scipy.spatial.distance.cdist(real, real)
    fake_fake = scipy.spatial.distance.cdist(fake, fake)
    real_fake = scipy.spatial.distance.cdist(real, fake)
    real_radii = np.partition(real_real, k, axis=1)[:, k]
    fake_radii = np.partition(fake_fake, k, axis=1)[:, k]
    return {
        "precision": (real_fake < real_radii[:, None]).any(axis=0).mean(),
        "recall": (real_fake < fake_radii[None, :]).any(axis=1).mean(),
        "density": (1.0 / k) * (real_fake < real_radii[:, None]).sum(axis=0).mean(),
        "coverage": (real_fake.min(axis=1) < real_radii).mean(),
    }


@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_precision_recall_density_coverage_match_the_reference_code(shift):
    real = gaussian(700, 6, 7)
    fake = gaussian(450, 6, 8, shift=shift, scale=0.8)
    ours = manifold.precision_recall_density_coverage(real, fake, k=5, chunk=128)
    expected = reference_prdc(real.astype(np.float64), fake.astype(np.float64), 5)
    for name, value in expected.items():
        # float32 matrix products may flip a point lying on a ball's boundary.
        assert ours[name] == pytest.approx(value, abs=3e-3), name


def test_one_repeated_point_has_no_recall_or_coverage():
    real = gaussian(500, 6, 9)
    collapsed = np.repeat(real[:1], 500, axis=0)
    values = manifold.precision_recall_density_coverage(real, collapsed)
    assert values["recall"] == 0.0
    assert values["coverage"] < 0.05  # only the reals whose ball holds that one point
    assert values["precision"] == 1.0


def test_knn_metrics_need_more_than_k_samples():
    with pytest.raises(ZooError, match="more than 5 samples"):
        manifold.knn_radii(np.zeros((5, 3), np.float32), k=5)


def test_classifier_score_bounds_and_conditional_accuracy():
    confident = np.eye(10)[np.arange(1000) % 10]
    assert scores.classifier_score(confident)[0] == pytest.approx(10.0, rel=1e-6)
    uniform = np.full((1000, 10), 0.1)
    assert scores.classifier_score(uniform)[0] == pytest.approx(1.0)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert scores.classifier_score(one_class)[0] == pytest.approx(1.0)
    labels = np.arange(1000) % 10
    assert scores.conditional_accuracy(confident, labels) == 1.0
    assert scores.conditional_accuracy(one_class, labels) == pytest.approx(0.1)
    assert scores.class_histogram(one_class).tolist() == [1000] + [0] * 9


def test_importing_zoo_metrics_is_cheap():
    import subprocess
    import sys

    code = "import sys, zoo.metrics; zoo.metrics.__all__; assert 'tensorflow' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
