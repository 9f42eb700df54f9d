import keras
import numpy as np
import pytest

from zoo import losses

REAL = np.array([[2.0], [-0.5], [0.3]], "float32")
FAKE = np.array([[-1.0], [0.7], [0.0]], "float32")


def softplus(x):
    return np.log1p(np.exp(x))


def value(x):
    return float(keras.ops.convert_to_numpy(x))


def test_non_saturating_matches_formula():
    loss = losses.get("non_saturating")
    expected_d = np.mean(softplus(-REAL)) + np.mean(softplus(FAKE))
    assert value(loss.discriminator_loss(REAL, FAKE)) == pytest.approx(expected_d, rel=1e-6)
    assert value(loss.generator_loss(FAKE)) == pytest.approx(np.mean(softplus(-FAKE)), rel=1e-6)


def test_minimax_generator_term_is_log_one_minus_d():
    loss = losses.get("minimax")
    d_fake = 1 / (1 + np.exp(-FAKE))
    assert value(loss.generator_loss(FAKE)) == pytest.approx(np.mean(np.log(1 - d_fake)), rel=1e-5)


def test_label_smoothing_changes_only_the_real_term():
    smooth = losses.NonSaturatingLoss(label_smoothing=0.1)
    expected = np.mean(softplus(REAL) - 0.9 * REAL) + np.mean(softplus(FAKE))
    assert value(smooth.discriminator_loss(REAL, FAKE)) == pytest.approx(expected, rel=1e-6)


def test_hinge_wasserstein_least_squares_match_formulas():
    hinge = losses.get("hinge")
    assert value(hinge.discriminator_loss(REAL, FAKE)) == pytest.approx(
        np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)), rel=1e-6
    )
    wasserstein = losses.get("wasserstein")
    assert value(wasserstein.discriminator_loss(REAL, FAKE)) == pytest.approx(FAKE.mean() - REAL.mean(), rel=1e-6)
    least_squares = losses.get("least_squares")
    assert value(least_squares.generator_loss(FAKE)) == pytest.approx(0.5 * np.mean((FAKE - 1) ** 2), rel=1e-6)


@pytest.mark.parametrize("name", losses.list_losses())
def test_every_loss_serializes_round_trip(name):
    loss = losses.get(name)
    config = keras.saving.serialize_keras_object(loss)
    again = losses.get(config)
    assert type(again) is type(loss)
    assert again.get_config() == loss.get_config()


def test_unknown_loss_is_a_one_line_error():
    with pytest.raises(ValueError, match="Did you mean 'hinge'"):
        losses.get("hinje")
    with pytest.raises(TypeError, match="loss must be"):
        losses.get(3)


def test_relativistic_pairing_matches_formula_pair_by_pair():
    loss = losses.get("relativistic_pairing")
    assert isinstance(loss, losses.RelativisticPairingLoss) and loss.needs_real_logits
    assert value(loss.discriminator_loss(REAL, FAKE)) == pytest.approx(np.mean(softplus(-(REAL - FAKE))), rel=1e-6)
    assert value(loss.generator_loss(FAKE, real_logits=REAL)) == pytest.approx(
        np.mean(softplus(-(FAKE - REAL))), rel=1e-6
    )
    # Pairing, not averaging: permuting the fakes changes the loss.
    assert value(loss.discriminator_loss(REAL, FAKE[::-1])) != pytest.approx(value(loss.discriminator_loss(REAL, FAKE)))


def test_relativistic_generator_loss_without_real_logits_is_a_one_line_error():
    with pytest.raises(ValueError, match="Received: real_logits=None") as error:
        losses.get("relativistic_pairing").generator_loss(FAKE)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", sorted(set(losses.list_losses()) - {"relativistic_pairing"}))
def test_only_relativistic_losses_need_real_logits_in_the_generator_step(name):
    assert losses.get(name).needs_real_logits is False
