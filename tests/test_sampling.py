"""`zoo.sampling.Sampler`: one way to run a generator in Keras, onnxruntime and LiteRT."""

import os

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.latent import sample_latent
from zoo.sampling import Sampler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CGAN = os.path.join(ROOT, "export", "cgan-fashion-mnist")
MLP = os.path.join(ROOT, "export", "mlp-gan-fashion-mnist")


@pytest.fixture(scope="module")
def cgan_samplers():
    import keras

    generator = keras.saving.load_model(os.path.join(CGAN, "generator.keras"))
    return {
        "keras": Sampler.from_keras(generator),
        "onnx": Sampler.from_onnx(os.path.join(CGAN, "generator.onnx")),
        "litert": Sampler.from_litert(os.path.join(CGAN, "generator.tflite")),
    }


def test_every_backend_gives_the_same_images_for_a_seed(cgan_samplers):
    """The published cGAN in three formats: same latents, same labels, same pixels (to float32 noise)."""
    images = {kind: sampler.generate(12, labels=list(range(10)) + [0, 1], seed=5) for kind, sampler in cgan_samplers.items()}
    for kind, array in images.items():
        assert array.shape == (12, 28, 28, 1) and array.dtype == np.float32, kind
    np.testing.assert_allclose(images["onnx"], images["keras"], atol=1e-4)
    np.testing.assert_allclose(images["litert"], images["keras"], atol=1e-4)
    # Different labels give different images: the labels reach the generator.
    assert np.abs(images["onnx"][0] - images["onnx"][1]).max() > 0.1


def test_records_agree_across_backends(cgan_samplers):
    records = {kind: sampler.record for kind, sampler in cgan_samplers.items()}
    assert {(r.latent_dim, r.image_shape, r.num_classes) for r in records.values()} == {(64, (28, 28, 1), 10)}
    assert records["onnx"].class_names[0] == "T-shirt/top"
    assert records["litert"].class_names == records["onnx"].class_names


def test_chunking_does_not_change_the_images():
    whole = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"), max_batch=256)
    chunked = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"), max_batch=3)
    np.testing.assert_array_equal(whole.generate(10, seed=2), chunked.generate(10, seed=2))


def test_generate_uses_the_zoo_latent_draw():
    sampler = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"))
    np.testing.assert_array_equal(sampler.latents(4, seed=9), sample_latent(4, sampler.latent_dim, 9))
    np.testing.assert_array_equal(sampler.generate(4, seed=9), sampler.run(sample_latent(4, sampler.latent_dim, 9)))


def test_gan_generate_is_the_keras_sampler():
    import zoo

    gan = zoo.create("cgan", image_shape=(28, 28, 1), latent_dim=16, num_classes=10, seed=0)
    expected = Sampler.from_keras(gan).generate(5, labels=[1, 2, 3, 4, 5], seed=3)
    np.testing.assert_array_equal(gan.generate(5, labels=[1, 2, 3, 4, 5], seed=3), expected)
    assert Sampler.from_keras(gan).record == gan.record


@pytest.mark.parametrize(
    "labels, message",
    [(None, "conditional"), ([0] * 3, "one label per image"), (10, "out of range"), ([0.5] * 4, "integers")],
)
def test_bad_labels_are_refused_in_every_backend(cgan_samplers, labels, message):
    for sampler in cgan_samplers.values():
        with pytest.raises(ZooError, match=message):
            sampler.generate(4, labels=labels, seed=0)


def test_bad_latents_and_counts_are_refused():
    sampler = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"))
    with pytest.raises(ZooError, match=r"Expected z of shape \[n, "):
        sampler.run(np.zeros((2, 3), np.float32))
    with pytest.raises(ZooError, match="takes no labels"):
        sampler.run(sampler.latents(2, 0), labels=np.zeros(2, np.int64))
    with pytest.raises(ZooError, match="positive integer"):
        sampler.generate(0)


def test_walk_starts_and_ends_at_the_seeds_latents():
    sampler = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"))
    walk = sampler.walk(1, 2, steps=5)
    np.testing.assert_array_equal(walk[0], sampler.latents(1, 1)[0])
    np.testing.assert_array_equal(walk[-1], sampler.latents(1, 2)[0])
    np.testing.assert_allclose(np.linalg.norm(walk, axis=1), np.linalg.norm(walk[0]), rtol=0.2)
    with pytest.raises(ZooError, match="at least 2 steps"):
        sampler.walk(1, 2, steps=1)
    with pytest.raises(ZooError, match="Unknown interpolation"):
        sampler.walk(1, 2, method="cubic")


def test_to_uint8_maps_the_output_range():
    sampler = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"))
    assert sampler.to_uint8(np.array([-1.0, 0.0, 1.0, 3.0])).tolist() == [0, 128, 255, 255]
    shifted = Sampler(sampler.backend, sampler.record.replace(output_range=(0.0, 1.0)))
    assert shifted.to_uint8(np.array([0.0, 0.5, 1.0])).tolist() == [0, 128, 255]


def test_sessions_refuse_unknown_providers_and_bad_threads():
    from zoo import sessions

    with pytest.raises(ZooError, match="no execution provider 'NoSuchExecutionProvider'"):
        sessions.onnx_session(os.path.join(MLP, "generator.onnx"), providers=["NoSuchExecutionProvider"])
    with pytest.raises(ZooError, match="threads must be a positive integer"):
        sessions.onnx_session(os.path.join(MLP, "generator.onnx"), threads=0)
    with pytest.raises(ZooError, match="onnxruntime cannot open the generator"):
        sessions.onnx_session(b"not an onnx model")
    assert sessions.check_providers("CPUExecutionProvider") == ("CPUExecutionProvider",)
    assert sessions.physical_cores() >= 1


# ---------------------------------------------------------------------------- truncation
def test_no_truncation_keeps_the_bits_and_half_halves_z():
    for seed, n, d in [(0, 4, 64), (7, 3, 99), (2**63 - 1, 1, 5)]:
        plain = sample_latent(n, d, seed)
        for psi in (None, 1, 1.0):
            truncated = sample_latent(n, d, seed, truncation=psi)
            np.testing.assert_array_equal(truncated.view(np.uint32), plain.view(np.uint32))
        # psi scales the float64 draw before its one rounding to float32; for 0.5 that is exact halving.
        np.testing.assert_array_equal(sample_latent(n, d, seed, truncation=0.5), plain / np.float32(2))
    sampler = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"))
    np.testing.assert_array_equal(sampler.latents(3, seed=4, truncation=0.7), sample_latent(3, 64, 4, truncation=0.7))
    np.testing.assert_array_equal(sampler.generate(3, seed=4, truncation=1), sampler.generate(3, seed=4))
    walk = sampler.walk(1, 2, steps=4, truncation=0.6)
    np.testing.assert_array_equal(walk[0], sample_latent(1, 64, 1, truncation=0.6)[0])
    np.testing.assert_array_equal(walk[-1], sample_latent(1, 64, 2, truncation=0.6)[0])
    np.testing.assert_array_equal(
        sampler.interpolate(1, 2, steps=4, truncation=0.6), sampler.run(sampler.walk(1, 2, steps=4, truncation=0.6))
    )


@pytest.mark.parametrize("psi", [0, -0.5, 1.5, 1 + 1e-12, float("nan"), float("inf"), True, "0.5", [0.5]])
def test_bad_truncations_are_one_line_errors(psi):
    sampler = Sampler.from_onnx(os.path.join(MLP, "generator.onnx"))
    for call in (lambda: sample_latent(2, 4, 0, truncation=psi), lambda: sampler.generate(2, seed=0, truncation=psi),
                 lambda: sampler.walk(1, 2, truncation=psi)):
        with pytest.raises(ZooError, match=r"^truncation must be a number in \(0, 1\]\. Received: truncation=") as error:
            call()
        assert "\n" not in str(error.value)
    with pytest.raises(ZooError) as error:
        sample_latent(1, 1, truncation=1.5)
    assert str(error.value) == (
        "truncation must be a number in (0, 1]. Received: truncation=1.5. Use 1 (or None) for no truncation."
    )


def test_truncated_images_agree_across_backends(cgan_samplers):
    images = {kind: sampler.generate(6, labels=[0, 1, 2, 3, 4, 5], seed=5, truncation=0.6)
              for kind, sampler in cgan_samplers.items()}
    np.testing.assert_allclose(images["onnx"], images["keras"], atol=1e-4)
    np.testing.assert_allclose(images["litert"], images["keras"], atol=1e-4)
    # Truncation reaches the generator: the same seed gives other images.
    untruncated = cgan_samplers["onnx"].generate(6, labels=[0, 1, 2, 3, 4, 5], seed=5)
    assert np.abs(images["onnx"] - untruncated).max() > 0.1


def test_gan_generate_takes_truncation():
    import zoo

    gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=16, seed=0)
    sampler = Sampler.from_keras(gan)
    expected = sampler.run(sample_latent(3, 16, 1, truncation=0.5))
    np.testing.assert_array_equal(gan.generate(3, seed=1, truncation=0.5), expected)
    np.testing.assert_array_equal(gan.generate(3, seed=1, truncation=1.0), gan.generate(3, seed=1))
    with pytest.raises(ZooError, match=r"truncation must be a number in \(0, 1\]"):
        gan.generate(3, seed=1, truncation=0)


@pytest.mark.parametrize("name, labels", [("mlp-gan-fashion-mnist", None), ("cgan-fashion-mnist", 3)])
def test_smaller_truncation_gives_less_varied_images(name, labels):
    """On published generators, the pixel variance across samples falls as psi falls (and is not zero)."""
    sampler = Sampler.from_onnx(os.path.join(ROOT, "export", name, "generator.onnx"))
    variances = [float(sampler.generate(128, labels=labels, seed=0, truncation=psi).var(axis=0).mean())
                 for psi in (1.0, 0.7, 0.4, 0.1)]
    assert variances == sorted(variances, reverse=True) and len(set(variances)) == 4, variances
    assert 0 < variances[-1] < 0.25 * variances[0], variances
