"""One sweep over every registered variant, plus the base class's contracts."""

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import ZooError
from zoo.registry import variant_record

VARIANTS = zoo.list_variants()


def is_conditional(name):
    return variant_record(name).conditional


def labels_for(name, n):
    return [i % 10 for i in range(n)] if is_conditional(name) else None


@pytest.fixture(scope="module")
def trained():
    """Every variant after 3 `fit` steps on real Fashion-MNIST, with its start weights."""
    import zoo.data

    batches = zoo.data.load("fashion_mnist", batch_size=64, seed=0, take=1024)
    models = {}
    for name in VARIANTS:
        gan = zoo.create(name, seed=0)
        gan.compile()
        before = {
            "g": [w.numpy().copy() for w in gan.generator.trainable_weights],
            "d": [w.numpy().copy() for w in gan.discriminator.trainable_weights],
        }
        history = gan.fit(batches, epochs=1, steps_per_epoch=3, verbose=0)
        models[name] = (gan, before, history.history)
    return models


@pytest.mark.parametrize("name", VARIANTS)
def test_fit_on_real_data_gives_finite_losses_and_moves_both_networks(trained, name):
    gan, before, history = trained[name]
    for key in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"):
        assert np.isfinite(history[key]).all(), key
    for network, weights in (("g", gan.generator.trainable_weights), ("d", gan.discriminator.trainable_weights)):
        # Every kernel and embedding moves. (A bias may legitimately not: under
        # the hinge and Wasserstein losses the gradient of D's output bias is
        # mean(real terms) - mean(fake terms), exactly 0 while all are active.)
        stuck = [
            w.path for a, w in zip(before[network], weights)
            if ("kernel" in w.path or "embeddings" in w.path) and np.array_equal(a, w.numpy())
        ]
        assert not stuck, f"{network}: weights did not change: {stuck}"
        assert sum(not np.array_equal(a, w.numpy()) for a, w in zip(before[network], weights)) >= len(weights) - 1
    assert int(gan.g_optimizer.iterations) == 3
    assert int(gan.d_optimizer.iterations) == 3 * gan.d_steps


@pytest.mark.parametrize("name", VARIANTS)
def test_generate_shape_range_and_seed(trained, name):
    gan = trained[name][0]
    images = gan.generate(12, labels=labels_for(name, 12), seed=3)
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, gan.generate(12, labels=labels_for(name, 12), seed=3))
    assert not np.array_equal(images, gan.generate(12, labels=labels_for(name, 12), seed=4))


@pytest.mark.parametrize("name", VARIANTS)
def test_keras_round_trip_is_bit_exact_and_keeps_optimizers(trained, name, tmp_path):
    gan = trained[name][0]
    path = tmp_path / f"{name}.keras"
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is zoo.GAN and loaded.variant == name
    assert (loaded.latent_dim, loaded.num_classes) == (gan.latent_dim, gan.num_classes)
    np.testing.assert_array_equal(
        gan.generate(16, labels=labels_for(name, 16), seed=0),
        loaded.generate(16, labels=labels_for(name, 16), seed=0),
    )
    # Training can resume: optimizer state and loss come back.
    assert int(loaded.g_optimizer.iterations) == int(gan.g_optimizer.iterations)
    for original, restored in zip(gan.d_optimizer.variables, loaded.d_optimizer.variables):
        np.testing.assert_array_equal(original.numpy(), restored.numpy())
    assert type(loaded.loss_fn) is type(gan.loss_fn)
    assert loaded.predict(np.zeros((2, gan.latent_dim), "float32") if not gan.conditional
                          else [np.zeros((2, gan.latent_dim), "float32"), np.array([1, 2], "int32")],
                          verbose=0).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("name", VARIANTS)
def test_builds_and_steps_for_32x32x3(name):
    # Shape-only check: CIFAR-10 cannot be downloaded here, so tiny random batches.
    kwargs = {"num_classes": 10} if is_conditional(name) else {}
    gan = zoo.create(name, image_shape=(32, 32, 3), latent_dim=16, **kwargs)
    gan.compile()
    assert gan.image_shape == (32, 32, 3)
    images = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    batch = (images, np.arange(8, dtype="int32") % 10)
    logs = gan.train_on_batch(*batch, return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])
    assert gan.generate(2, labels=labels_for(name, 2), seed=0).shape == (2, 32, 32, 3)


def test_cgan_output_depends_on_the_label(trained):
    gan = trained["cgan"][0]
    zeros = gan.generate(8, labels=0, seed=1)
    sevens = gan.generate(8, labels=7, seed=1)
    assert np.abs(zeros - sevens).mean() > 1e-3


def test_record_and_generate_go_through_the_sampler(trained):
    from zoo.sampling import Sampler

    gan = trained["cgan"][0]
    record = gan.record
    assert (record.latent_dim, record.image_shape, record.num_classes) == (64, (28, 28, 1), 10)
    assert record.variant == "cgan" and record.training_steps == 3
    assert record.parameters == gan.inference_generator.count_params()
    assert zoo.create("dcgan").record.training_steps is None  # not compiled, not trained
    labels = [k % 10 for k in range(10)]
    expected = Sampler.from_keras(gan).generate(10, labels=labels, seed=5)
    np.testing.assert_array_equal(gan.generate(10, labels=labels, seed=5), expected)
    # The batch size does not change the images.
    # Another batch size may pick other oneDNN kernels (seen on AVX2-only CPUs): equal to float rounding.
    np.testing.assert_allclose(gan.generate(10, labels=labels, seed=5, batch_size=3), expected, rtol=0, atol=1e-6)


def test_load_sampler_draws_from_a_generator_only_keras_file(trained, tmp_path, monkeypatch):
    from zoo.loading import GeneratorSampler, load_sampler
    from zoo.sampling import Sampler

    gan = trained["cgan"][0]
    gan.inference_generator.save(tmp_path / "generator.keras")
    sampler = load_sampler(tmp_path / "generator.keras")
    assert isinstance(sampler, Sampler) and (sampler.latent_dim, sampler.num_classes) == (64, 10)
    np.testing.assert_array_equal(sampler.generate(4, labels=2, seed=1), gan.generate(4, labels=2, seed=1))
    # The old class still works, with a warning the first time.
    monkeypatch.setattr(GeneratorSampler, "_warned", False)
    with pytest.warns(DeprecationWarning, match="Sampler.from_keras"):
        old = GeneratorSampler(gan.inference_generator, 64, 10)
    np.testing.assert_allclose(  # another batch size: equal to float rounding (oneDNN kernels)
        old.generate(4, labels=2, seed=1, batch_size=3), gan.generate(4, labels=2, seed=1), rtol=0, atol=1e-6
    )


def test_d_steps_runs_more_discriminator_updates(fashion_batches):
    gan = zoo.GAN(
        zoo.create("mlp_gan").generator,
        zoo.create("mlp_gan").discriminator,
        latent_dim=64,
        d_steps=3,
    )
    gan.compile()
    gan.fit(fashion_batches, epochs=1, steps_per_epoch=2, verbose=0)
    assert int(gan.g_optimizer.iterations) == 2
    assert int(gan.d_optimizer.iterations) == 6


def test_compile_overrides_defaults():
    gan = zoo.create("mlp_gan")
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer="rmsprop", loss="minimax")
    assert isinstance(gan.g_optimizer, keras.optimizers.SGD)
    assert isinstance(gan.d_optimizer, keras.optimizers.RMSprop)
    assert type(gan.loss_fn).__name__ == "MinimaxLoss"
    with pytest.raises(ZooError, match="two different optimizer"):
        shared = keras.optimizers.Adam()
        gan.compile(g_optimizer=shared, d_optimizer=shared)


def test_metrics_are_the_four_trackers():
    gan = zoo.create("mlp_gan")
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"]


@pytest.mark.parametrize(
    "labels, match",
    [
        ([10] * 4, "Label out of range. Received: label=10"),
        ([-1, 0, 0, 0], "Label out of range"),
        ([0.5, 1, 2, 3], "labels must be integers"),
        (["a", "b", "c", "d"], "labels must be integers"),
        ([1, 2], r"one label per image \(4\)"),
        (None, "This model is conditional"),
    ],
)
def test_bad_labels_are_one_line_errors(labels, match):
    gan = zoo.create("cgan")
    with pytest.raises(ZooError, match=match) as error:
        gan.generate(4, labels=labels)
    assert "\n" not in str(error.value)


def test_labels_for_an_unconditional_model_are_rejected():
    with pytest.raises(ZooError, match="unconditional"):
        zoo.create("dcgan").generate(2, labels=[1, 2])


@pytest.mark.parametrize("latent_dim", [0, -3, 2.5, True])
def test_latent_dim_must_be_positive_int(latent_dim):
    with pytest.raises(ZooError, match="latent_dim must be a positive integer"):
        zoo.create("dcgan", latent_dim=latent_dim)


@pytest.mark.parametrize("shape", [(30, 30, 1), (28, 32, 1), (6, 6, 1), (28, 28), "big"])
def test_image_shape_the_variant_cannot_build(shape):
    with pytest.raises(ZooError, match="image_shape"):
        zoo.create("dcgan", image_shape=shape)


def test_conditional_fit_without_labels_is_explained():
    import tensorflow as tf

    gan = zoo.create("cgan")
    gan.compile()
    images = tf.data.Dataset.from_tensors(tf.zeros((4, 28, 28, 1)))
    with pytest.raises(ZooError, match="needs \\(images, labels\\) batches"):
        gan.fit(images, epochs=1, verbose=0)


def test_ema_generator_follows_its_formula(fashion_batches):
    gan = zoo.create("dcgan", seed=0, ema_decay=0.9)
    gan.compile()
    batch = next(iter(fashion_batches))
    gan.train_on_batch(*batch)  # first step: t = 0 before the update -> warm-up
    ema_before = [w.numpy().copy() for w in gan.ema_generator.weights]
    gan.train_on_batch(*batch)
    step = int(gan.g_optimizer.iterations)  # incremented before the EMA update
    decay = min(0.9, (1 + step) / (10 + step))
    for before, average, weight in zip(ema_before, gan.ema_generator.weights, gan.generator.weights):
        expected = decay * before + (1 - decay) * weight.numpy() if weight.trainable else weight.numpy()
        np.testing.assert_allclose(average.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert gan.inference_generator is gan.ema_generator


def test_ema_model_round_trips_and_samples_from_the_average(fashion_batches, tmp_path):
    gan = zoo.create("mlp_gan", seed=0, ema_decay=0.99)
    gan.compile()
    gan.fit(fashion_batches, epochs=1, steps_per_epoch=3, verbose=0)
    z = np.random.default_rng(0).standard_normal((4, 64)).astype("float32")
    np.testing.assert_allclose(gan.generate(4, seed=1), gan.ema_generator(zoo.latent.sample_latent(4, 64, 1)).numpy(), atol=1e-6)
    assert np.abs(gan.ema_generator(z).numpy() - gan.generator(z).numpy()).max() > 1e-4
    gan.save(tmp_path / "ema.keras")
    loaded = keras.saving.load_model(tmp_path / "ema.keras")
    assert loaded.ema_decay == 0.99
    np.testing.assert_array_equal(loaded.generate(4, seed=1), gan.generate(4, seed=1))
