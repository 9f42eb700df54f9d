"""R3GAN's pieces: the relativistic pairing loss in `train_step`, R1 + R2, the `r3gan` variant."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import losses, regularizers


class RecordingPairingLoss(losses.RelativisticPairingLoss):
    """The pairing loss, remembering the logits its generator term received."""

    def __init__(self):
        self.calls = []

    def generator_loss(self, fake_logits, real_logits=None):
        self.calls.append((np.array(fake_logits), None if real_logits is None else np.array(real_logits)))
        return super().generator_loss(fake_logits, real_logits=real_logits)


class RecordingHingeLoss(losses.HingeLoss):
    """A loss without `needs_real_logits`, whose generator term takes fake logits only."""

    def __init__(self):
        self.calls = 0

    def generator_loss(self, fake_logits):
        self.calls += 1
        return super().generator_loss(fake_logits)


def test_a_relativistic_loss_gets_the_current_discriminators_real_logits_in_the_generator_step(fashion_batches):
    gan = zoo.create("dcgan", seed=0)
    loss = RecordingPairingLoss()
    gan.compile(loss=loss, run_eagerly=True)
    real_images = next(iter(fashion_batches))[0]
    gan.fit(tf.data.Dataset.from_tensors(real_images), epochs=1, verbose=0)
    ((fake_logits, real_logits),) = loss.calls
    assert real_logits.shape == fake_logits.shape == (64, 1)
    # Computed after D's update: D's logits of the same real batch now.
    np.testing.assert_allclose(real_logits, gan.discriminator(real_images, training=True).numpy(), atol=1e-5)


def test_other_losses_keep_their_one_argument_generator_term(fashion_batches):
    gan = zoo.create("dcgan", seed=0)
    loss = RecordingHingeLoss()
    gan.compile(loss=loss, run_eagerly=True)
    gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert loss.calls == 2


def test_any_variant_combines_the_pairing_loss_with_r1_and_r2_and_round_trips(fashion_batches, tmp_path):
    gan = zoo.create("dcgan", seed=0, d_penalties=["r1", regularizers.R2Penalty(0.5)])
    gan.compile(loss="relativistic_pairing")
    history = gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all() and np.isfinite(history.history["g_loss"]).all()
    gan.save(tmp_path / "rp.keras")
    loaded = keras.saving.load_model(tmp_path / "rp.keras")
    assert isinstance(loaded.loss_fn, losses.RelativisticPairingLoss)
    assert [(type(p), p.gamma) for p in loaded.d_penalties] == [
        (regularizers.R1Penalty, 10.0),
        (regularizers.R2Penalty, 0.5),
    ]
    np.testing.assert_array_equal(loaded.generate(3, seed=0), gan.generate(3, seed=0))
    loaded.fit(fashion_batches, epochs=1, steps_per_epoch=1, verbose=0)  # training resumes
    assert int(loaded.g_optimizer.iterations) == 3


def test_r3gan_variant_has_the_papers_defaults():
    record = zoo.registry.variant_record("r3gan")
    assert record.conditional is False and record.defaults["gamma"] == 1.0
    assert any("arXiv:2501.05441" in reference for reference in record.references)
    gan = zoo.create("r3gan", gamma=0.25)
    gan.compile()
    assert isinstance(gan.loss_fn, losses.RelativisticPairingLoss)
    assert [(type(p), p.gamma) for p in gan.d_penalties] == [
        (regularizers.R1Penalty, 0.25),
        (regularizers.R2Penalty, 0.25),
    ]
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert (optimizer.beta_1, optimizer.beta_2) == (0.0, 0.99)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)


def test_r3gan_penalties_can_be_replaced():
    gan = zoo.create("r3gan", d_penalties=["r1"])
    assert [type(p) for p in gan.d_penalties] == [regularizers.R1Penalty]
