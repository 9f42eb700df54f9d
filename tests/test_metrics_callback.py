"""`zoo.metrics.Evaluate`: metrics in the training logs, History and TensorBoard."""

import pytest

import zoo
from zoo.errors import ZooError
from zoo.metrics import Evaluate


def test_metrics_land_in_history_and_tensorboard(fashion_batches, tmp_path):
    gan = zoo.create("dcgan", seed=0)
    gan.compile()
    evaluate = Evaluate(every=2, n=200, log_dir=tmp_path / "logs", verbose=0)
    history = gan.fit(fashion_batches.take(2), epochs=3, callbacks=[evaluate], verbose=0)
    # Evaluated after epoch 2 (every=2) and after the last epoch (3).
    for key in ("fd", "kid", "classifier_score", "precision", "recall", "density", "coverage"):
        assert len(history.history[key]) == 2, key
    assert "conditional_accuracy" not in history.history
    assert evaluate.last_result.protocol["n"] == 200
    events = list((tmp_path / "logs" / "evaluation").glob("events.out.tfevents.*"))
    assert events


def test_conditional_gan_logs_conditional_accuracy(fashion_batches):
    gan = zoo.create("cgan", seed=0)
    gan.compile()
    history = gan.fit(fashion_batches.take(1), epochs=1, callbacks=[Evaluate(every=5, n=100, verbose=0)], verbose=0)
    assert 0.0 <= history.history["conditional_accuracy"][0] <= 1.0


def test_bad_settings_fail_early():
    with pytest.raises(ZooError, match="every must be a positive integer"):
        Evaluate(every=0)
    with pytest.raises(ZooError, match="positive integer"):
        Evaluate(n=0)
