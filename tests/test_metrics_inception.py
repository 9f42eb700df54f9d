"""Inception-FID: offered only with local weights, never downloaded."""

import numpy as np
import pytest

from zoo import data
from zoo.metrics import evaluation, inception, sources


def test_weights_are_looked_up_in_the_local_keras_cache_only(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert inception.cache_dirs()[0] == str(tmp_path / "models")
    monkeypatch.setattr(inception, "cache_dirs", lambda: [str(tmp_path / "models")])
    assert inception.find_weights() is None
    value, protocol, note = evaluation.inception_fid(None, "fashion_mnist", 10, 0, 10)
    assert (value, protocol) == (None, None)
    assert note.startswith("Inception-FID skipped:") and "\n" not in note
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / inception.WEIGHTS_FILE).write_bytes(b"")
    assert inception.find_weights() == str(tmp_path / "models" / inception.WEIGHTS_FILE)


@pytest.mark.slow
def test_inception_fid_code_path_with_random_weights(monkeypatch):
    """The whole Inception-FID path on 30 vs 40 images (random weights: no download)."""
    monkeypatch.setattr(inception, "find_weights", lambda: "random")
    monkeypatch.setattr(inception, "InceptionExtractor", lambda weights: _RandomInception())
    test_images = data.load_arrays("fashion_mnist", "test")[0]
    monkeypatch.setattr(data, "load_arrays", lambda name, split, data_dir=None: (test_images[:40], None))
    value, protocol, note = evaluation.inception_fid(sources.ArraySource(test_images[40:70]), "fashion_mnist", 30, 0, 10)
    assert np.isfinite(value) and value >= 0
    assert protocol["reference_count"] == 40 and "10k vs 10k" in note


class _RandomInception(inception.InceptionExtractor):
    def __init__(self):
        super().__init__(None)
