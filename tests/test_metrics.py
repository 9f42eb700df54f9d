"""Sanity of `zoo.metrics` on the real Fashion-MNIST with the published classifier."""

import json
import os
import shutil

import numpy as np
import pytest
import scipy.linalg

from zoo import data
from zoo.errors import ZooError
from zoo.files import sha256_file
from zoo.metrics import evaluate, published, reference_figures, sources
from zoo.metrics.classifier import FeatureExtractor, to_float

N = 5000


@pytest.fixture(scope="module")
def classifier():
    return published.find_classifier("fashion_mnist")


@pytest.fixture(scope="module")
def figures():
    """Train vs test, one image repeated, and noise, each n=5000 against the test split."""
    return reference_figures("fashion_mnist", n=N, seed=0)


def test_published_classifier_is_verified_and_accurate(classifier):
    assert classifier.verified
    assert classifier.sha256 == sha256_file(classifier.path)
    assert classifier.size == os.path.getsize(classifier.path) == classifier.facts["size"]
    assert classifier.dataset == "fashion_mnist"
    assert classifier.test_accuracy >= 0.92
    assert classifier.facts["command"].startswith("zoo train-classifier fashion_mnist")
    assert classifier.facts["seed"] == 0


def test_a_classifier_that_does_not_match_its_sha256_is_refused(classifier, tmp_path):
    folder = tmp_path / "fashion_mnist"
    shutil.copytree(os.path.dirname(classifier.path), folder)
    with open(folder / "classifier.keras", "ab") as file:
        file.write(b"\0")
    with pytest.raises(ZooError, match="does not match the sha256 in classifier.json") as error:
        published.find_classifier(path=folder)
    assert "\n" not in str(error.value)


def test_real_versus_real_is_near_the_floor_and_far_from_noise(figures):
    real = figures["train_vs_test"].metrics
    noise = figures["noise_vs_test"].metrics
    assert real["fd"] < 0.01 * noise["fd"]
    assert abs(real["kid"]) < 0.01 * noise["kid"]
    assert real["classifier_score"] > 8.0 > 2.0 > noise["classifier_score"]
    for name in ("precision", "recall"):
        assert real[name] > 0.9, name
    assert real["coverage"] > 0.8  # n=5000 against 10k reference balls
    assert 0.9 < real["density"] < 1.1
    assert noise["recall"] < 0.01 and noise["coverage"] < 0.01 and noise["density"] < 0.2
    # Real images fall in every class about equally.
    assert min(figures["train_vs_test"].class_histogram["fractions"]) > 0.07


def test_a_mode_collapsed_sample_scores_worse_than_real_on_recall_and_coverage(figures):
    real = figures["train_vs_test"].metrics
    collapsed = figures["one_image_repeated"].metrics
    assert collapsed["recall"] < 0.01 < 0.9 < real["recall"]
    assert collapsed["coverage"] < 0.01 < 0.8 < real["coverage"]
    assert collapsed["fd"] > 100 * real["fd"]
    assert collapsed["classifier_score"] == pytest.approx(1.0, abs=1e-3)
    assert max(figures["one_image_repeated"].class_histogram["counts"]) == N


def test_conditional_accuracy_on_real_labelled_images_equals_the_classifier_accuracy(classifier):
    images, labels = data.load_arrays("fashion_mnist", "test")
    result = evaluate(sources.ArraySource(images, labels, name="test split", num_classes=10), "fashion_mnist", n=len(images))
    assert result.metrics["conditional_accuracy"] == pytest.approx(classifier.test_accuracy, abs=2e-4)
    # The reference scored against itself: every distance at its floor.
    assert result.metrics["fd"] == pytest.approx(0.0, abs=1e-6)
    assert result.metrics["precision"] == result.metrics["recall"] == result.metrics["coverage"] == 1.0


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # dead ReLU units: sqrtm warns, eigh does not
def test_fd_matches_a_direct_scipy_computation_on_small_data(classifier):
    train, _ = data.load_arrays("fashion_mnist", "train")
    test, _ = data.load_arrays("fashion_mnist", "test")
    result = evaluate(sources.ArraySource(train[:500], name="500 train images"), "fashion_mnist", n=500)
    extractor = FeatureExtractor(published.load_classifier(classifier))
    fake = extractor(to_float(train[:500]))[0].astype(np.float64)
    real = np.concatenate([extractor(to_float(test[i : i + 2000]))[0] for i in range(0, len(test), 2000)]).astype(np.float64)
    cov_fake, cov_real = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
    root = scipy.linalg.sqrtm(cov_fake @ cov_real).real
    direct = np.sum((fake.mean(0) - real.mean(0)) ** 2) + np.trace(cov_fake + cov_real - 2 * root)
    assert result.metrics["fd"] == pytest.approx(direct, rel=1e-4)


def test_protocol_is_recorded(figures, classifier):
    protocol = figures["train_vs_test"].protocol
    assert protocol["reference_split"] == "test" and protocol["reference_count"] == 10_000
    assert (protocol["n"], protocol["seed"]) == (N, 0)
    assert protocol["classifier"]["sha256"] == classifier.sha256
    assert protocol["knn"]["k"] == 5 and protocol["kid"]["subsets"] == 100
    json.dumps(figures["train_vs_test"].to_dict(), allow_nan=False)


def test_resized_samples_are_scored_and_the_resize_is_recorded():
    images, _ = data.load_arrays("fashion_mnist", "test")
    padded = np.pad(images[:200], ((0, 0), (2, 2), (2, 2), (0, 0)))  # 32x32
    result = evaluate(sources.ArraySource(padded), "fashion_mnist", n=200)
    assert result.protocol["resize"] == "bilinear antialiased 32x32 -> 28x28"
    assert result.metrics["precision"] > 0.5
