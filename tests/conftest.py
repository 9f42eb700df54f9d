"""Shared test set-up: offline, quiet, small, on the real Fashion-MNIST."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never reach the internet: tensorflow-datasets downloads are off.
os.environ["ZOO_OFFLINE"] = "1"

import pytest  # noqa: E402

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def pytest_configure(config):
    if not os.path.isfile(os.path.join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")):
        raise pytest.UsageError(
            f"The real Fashion-MNIST is missing from {FASHION_MNIST_DIR}. "
            "Install it with `apt-get install -y dataset-fashion-mnist` (as .ci/run does)."
        )


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def fashion_batches():
    """64-image batches of real Fashion-MNIST with labels (first 2048 images)."""
    import zoo

    return zoo.data.load("fashion_mnist", batch_size=64, seed=0, take=2048)
