"""Penalties, spectral norm, DiffAugment, mixed precision and XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import regularizers
from zoo.augment import DiffAugment


def linear_critic(weights):
    """D(x) = <w, flatten(x)>: its input gradient is w for every sample."""
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    model.layers[-1].kernel.assign(np.reshape(weights, (4, 1)).astype("float32"))
    return model


def test_gradient_penalty_matches_direct_computation():
    weights = np.array([0.5, -1.0, 2.0, 0.25])
    critic = linear_critic(weights)
    real = tf.random.normal((6, 2, 2, 1))
    fake = tf.random.normal((6, 2, 2, 1))
    penalty = regularizers.GradientPenalty(weight=10.0, seed=1)
    expected = 10.0 * (np.linalg.norm(weights) - 1.0) ** 2
    assert float(penalty(critic, real, fake)) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_is_differentiable_for_the_critic():
    critic = linear_critic([0.5, -1.0, 2.0, 0.25])
    penalty = regularizers.GradientPenalty(weight=1.0)
    with tf.GradientTape() as tape:
        value = penalty(critic, tf.ones((2, 2, 2, 1)), tf.zeros((2, 2, 2, 1)))
    (gradient,) = tape.gradient(value, critic.trainable_variables)
    w = np.array([0.5, -1.0, 2.0, 0.25])
    expected = 2 * (np.linalg.norm(w) - 1) * w / np.linalg.norm(w)  # d/dw (||w|| - 1)^2
    np.testing.assert_allclose(gradient.numpy().ravel(), expected, rtol=1e-4)


def test_r1_penalty_matches_direct_computation():
    scale = 0.7

    def critic(x):  # D(x) = scale * sum(x^2): grad = 2 * scale * x
        return scale * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])

    real = tf.random.normal((5, 3, 3, 1), seed=2)
    expected = 0.5 * 4.0 * np.mean(np.sum((2 * scale * real.numpy()) ** 2, axis=(1, 2, 3)))
    assert float(regularizers.R1Penalty(gamma=4.0)(critic, real, None)) == pytest.approx(expected, rel=1e-5)


def test_spectral_norm_bounds_the_largest_singular_value():
    gan = zoo.create("sngan", seed=0)
    images = tf.random.normal((8, 28, 28, 1))
    for _ in range(30):  # power iterations run in training mode
        gan.discriminator(images, training=True)
    for layer in gan.discriminator.layers:
        if isinstance(layer, keras.layers.SpectralNormalization):
            kernel = layer.layer.kernel.numpy()
            sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
            assert sigma == pytest.approx(1.0, abs=0.05), layer.name


def test_without_spectral_norm_the_kernels_are_not_bounded():
    kernel = zoo.create("dcgan", seed=0).discriminator.layers[-1].kernel.numpy()
    assert np.linalg.svd(kernel, compute_uv=False)[0] > 1.2


def test_diffaugment_is_identity_at_inference_and_differentiable_in_training():
    layer = DiffAugment(seed=0)
    images = tf.random.uniform((4, 28, 28, 1), -1, 1)
    np.testing.assert_array_equal(layer(images, training=False).numpy(), images.numpy())
    with tf.GradientTape() as tape:
        tape.watch(images)
        augmented = layer(images, training=True)
        total = tf.reduce_sum(augmented)
    assert augmented.shape == images.shape
    assert not np.allclose(augmented.numpy(), images.numpy())
    gradient = tape.gradient(total, images).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0


def test_diffaugment_cutout_erases_a_square_of_half_the_side():
    layer = DiffAugment("cutout", seed=0)
    erased = layer(tf.ones((16, 28, 28, 1)), training=True).numpy() == 0
    fractions = erased.mean(axis=(1, 2, 3))
    # A 14x14 square, clipped at the border: at most a quarter of the image.
    assert (fractions > 0).all() and (fractions <= 0.25 + 1e-6).all() and fractions.max() == pytest.approx(0.25)


def test_diffaugment_translation_shifts_content():
    layer = DiffAugment("translation", seed=3)
    image = np.zeros((1, 8, 8, 1), "float32")
    image[0, 4, 4, 0] = 1.0
    shifted = [layer(image, training=True).numpy() for _ in range(8)]
    positions = {tuple(np.argwhere(s[0, ..., 0] == 1.0)[0]) for s in shifted if s.max() == 1.0}
    assert len(positions) > 1 and all(abs(r - 4) <= 1 and abs(c - 4) <= 1 for r, c in positions)


def test_penalties_and_augment_train_and_round_trip(fashion_batches, tmp_path):
    gan = zoo.create("dcgan", seed=0, d_penalties=["r1"], augment=DiffAugment(seed=0))
    gan.compile()
    history = gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    gan.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.d_penalties[0], regularizers.R1Penalty)
    assert isinstance(loaded.augment, DiffAugment) and loaded.augment.policy == "color,translation,cutout"
    np.testing.assert_array_equal(loaded.generate(3, seed=0), gan.generate(3, seed=0))


def test_mixed_precision_wraps_both_optimizers(fashion_batches):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        gan = zoo.create("dcgan", seed=0)
        gan.compile()
    finally:
        keras.config.set_dtype_policy(previous)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    history = gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["g_loss"]).all()
    images = gan.generate(2, seed=0)
    assert images.dtype == np.float32 and np.abs(images).max() <= 1.0


def test_xla_jit_compile_trains(fashion_batches):
    gan = zoo.create("mlp_gan", seed=0)
    gan.compile(jit_compile=True)
    history = gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert gan.jit_compile is True
    assert np.isfinite(history.history["d_loss"]).all()
    assert int(gan.g_optimizer.iterations) == 2


def test_minibatch_stddev_appends_each_groups_mean_standard_deviation():
    x = np.random.default_rng(0).normal(size=(8, 3, 3, 2)).astype("float32")
    out = zoo.layers.MinibatchStdDev(group_size=4)(x).numpy()
    np.testing.assert_array_equal(out[..., :2], x)
    # Sample i belongs to group i % 2: members {0, 2, 4, 6} and {1, 3, 5, 7}.
    for group in range(2):
        members = x[group::2]
        expected = np.sqrt(members.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[group::2, ..., 2], expected, rtol=1e-5)


def test_minibatch_stddev_uses_the_whole_batch_when_groups_do_not_divide_it():
    x = np.random.default_rng(1).normal(size=(3, 2, 2, 1)).astype("float32")
    out = zoo.layers.MinibatchStdDev(group_size=4)(x).numpy()
    np.testing.assert_allclose(out[..., 1], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-5)
    identical = np.repeat(x[:1], 4, axis=0)
    assert np.all(zoo.layers.MinibatchStdDev()(identical).numpy()[..., 1] < 1e-3)


def test_minibatch_stddev_discriminator_trains_and_round_trips(fashion_batches, tmp_path):
    gan = zoo.create("dcgan", minibatch_std=True, seed=0)
    gan.compile()
    history = gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    path = tmp_path / "mbstd.keras"
    gan.save(path)
    restored = keras.saving.load_model(path)
    layer_types = [type(layer).__name__ for layer in restored.discriminator.layers]
    assert "MinibatchStdDev" in layer_types
    images = fashion_batches_first(fashion_batches)
    np.testing.assert_allclose(
        restored.discriminator(images).numpy(), gan.discriminator(images).numpy(), atol=1e-6
    )


def test_minibatch_stddev_rejects_groups_smaller_than_two():
    with pytest.raises(ValueError, match="group_size >= 2"):
        zoo.layers.MinibatchStdDev(group_size=1)


def fashion_batches_first(batches):
    batch = next(iter(batches))
    return batch[0] if isinstance(batch, tuple) else batch


LOAD_AFTER_TENSORFLOW = """
import sys
import zoo
import tensorflow  # probes for keras with importlib.util.find_spec before importing it
import keras
gan = keras.saving.load_model(sys.argv[1])
print(type(gan.augment).__name__, [type(l).__name__ for l in gan.discriminator.layers if l.name.startswith("minibatch")])
"""


def test_saved_stabilizers_load_in_a_fresh_process_that_imports_tensorflow_first(fashion_batches, tmp_path):
    """`import zoo` registers its classes even when TensorFlow imports Keras (as `zoo evaluate` does)."""
    import subprocess
    import sys

    gan = zoo.create("dcgan", minibatch_std=True, augment=DiffAugment(seed=0), seed=0)
    gan.compile()
    gan.fit(fashion_batches, epochs=1, steps_per_epoch=1, verbose=0)
    path = str(tmp_path / "stabilized.keras")
    gan.save(path)
    result = subprocess.run([sys.executable, "-c", LOAD_AFTER_TENSORFLOW, path], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == "DiffAugment ['MinibatchStdDev']"


@pytest.mark.parametrize("penalty_class", [regularizers.R1Penalty, regularizers.R2Penalty])
def test_zero_centred_penalties_on_a_linear_critic_are_half_gamma_times_the_squared_weights(penalty_class):
    weights = np.array([0.5, -1.0, 2.0, 0.25])  # D(x) = <w, x>: ||grad D(x)||^2 = ||w||^2 for every image
    real = tf.random.normal((6, 2, 2, 1), seed=3)
    fake = tf.random.normal((6, 2, 2, 1), seed=4)
    penalty = penalty_class(gamma=3.0)
    assert float(penalty(linear_critic(weights), real, fake)) == pytest.approx(0.5 * 3.0 * np.sum(weights**2), rel=1e-6)


def test_r1_penalises_the_real_images_and_r2_the_fakes():
    def critic(x):  # D(x) = sum(x^2): ||grad||^2 = 4 ||x||^2, so the two sides differ
        return tf.reduce_sum(tf.square(x), axis=[1, 2, 3])

    real = tf.random.normal((5, 3, 3, 1), seed=5)
    fake = 3.0 * tf.random.normal((5, 3, 3, 1), seed=6)

    def expected(images):
        return 0.5 * 2.0 * np.mean(np.sum((2 * images.numpy()) ** 2, axis=(1, 2, 3)))

    assert float(regularizers.R1Penalty(gamma=2.0)(critic, real, fake)) == pytest.approx(expected(real), rel=1e-5)
    assert float(regularizers.R2Penalty(gamma=2.0)(critic, real, fake)) == pytest.approx(expected(fake), rel=1e-5)


def test_r2_is_differentiable_for_the_critic():
    weights = np.array([0.5, -1.0, 2.0, 0.25])
    critic = linear_critic(weights)
    with tf.GradientTape() as tape:
        value = regularizers.R2Penalty(gamma=2.0)(critic, tf.zeros((2, 2, 2, 1)), tf.ones((2, 2, 2, 1)))
    (gradient,) = tape.gradient(value, critic.trainable_variables)
    np.testing.assert_allclose(gradient.numpy().ravel(), 2.0 * weights, rtol=1e-5)  # d/dw gamma/2 ||w||^2


def test_r2_is_registered_and_round_trips_its_gamma():
    penalty = regularizers.get("r2")
    assert isinstance(penalty, regularizers.R2Penalty) and penalty.gamma == 10.0
    again = regularizers.get(keras.saving.serialize_keras_object(regularizers.R2Penalty(0.5)))
    assert isinstance(again, regularizers.R2Penalty) and again.gamma == 0.5
