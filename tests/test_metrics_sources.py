"""Scoring every generator format: `.keras`, `.onnx`, export folder, same numbers."""

import json
import os
import shutil

import numpy as np
import pytest

import zoo
from zoo.errors import ZooError
from zoo.files import sha256_file
from zoo.loading import load_gan
from zoo.metrics import evaluate, sources

N = 300
COMPARED = ("fd", "kid", "classifier_score", "precision", "recall", "density", "coverage", "conditional_accuracy")


def to_onnx(generator, path, num_classes=None, metadata=True):
    """Converts a zoo generator the way the exporter does: ports `z`(/`label`) -> `image`."""
    onnx = pytest.importorskip("onnx")
    tf2onnx = pytest.importorskip("tf2onnx")
    import tensorflow as tf

    latent_dim = int(generator.inputs[0].shape[-1])
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    if num_classes is None:
        signature = [z_spec]

        def function(z):
            return {"image": generator(z, training=False)}

    else:
        signature = [z_spec, tf.TensorSpec([None], tf.int64, name="label")]

        def function(z, label):
            return {"image": generator([z, tf.cast(label, tf.int32)], training=False)}

    model, _ = tf2onnx.convert.from_function(tf.function(function, input_signature=signature), input_signature=signature, opset=17)
    assert [port.name for port in model.graph.output] == ["image"]
    if metadata:
        onnx.helper.set_model_props(
            model, {"latent_dim": str(latent_dim), "num_classes": "none" if num_classes is None else str(num_classes)}
        )
    onnx.save(model, str(path))
    return path


def export_folder(onnx_path, folder, latent_dim, num_classes):
    """A folder shaped like `zoo export`'s: generator.onnx + manifest.json."""
    os.makedirs(folder)
    shutil.copy(onnx_path, os.path.join(folder, "generator.onnx"))
    manifest = {
        "format_version": 1,
        "model": {"variant": "dcgan", "latent_dim": latent_dim, "num_classes": num_classes, "image_shape": [28, 28, 1]},
        "formats": {"onnx": "generator.onnx"},
        "files": {"generator.onnx": {"sha256": sha256_file(onnx_path), "size": os.path.getsize(onnx_path)}},
    }
    with open(os.path.join(folder, "manifest.json"), "w") as file:
        json.dump(manifest, file)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """An (untrained) dcgan and cgan, each as .keras, .onnx and export folder."""
    root = tmp_path_factory.mktemp("generators")
    paths = {}
    for variant, num_classes in (("dcgan", None), ("cgan", 10)):
        gan = zoo.create(variant, seed=0)
        keras_path = root / f"{variant}.keras"
        gan.save(keras_path)
        onnx_path = to_onnx(gan.generator, root / f"{variant}.onnx", num_classes)
        paths[variant] = {
            "keras": keras_path,
            "onnx": onnx_path,
            "export": export_folder(onnx_path, root / f"{variant}-export", gan.latent_dim, num_classes),
        }
    return paths


@pytest.mark.parametrize("variant", ["dcgan", "cgan"])
def test_keras_onnx_and_export_folder_score_the_same(models, variant):
    results = {kind: evaluate(str(path), "fashion_mnist", n=N, seed=0) for kind, path in models[variant].items()}
    assert results["keras"].source["kind"] == "keras"
    assert results["onnx"].source["kind"] == "onnx"
    assert results["export"].source["kind"] == "export"
    for kind in ("onnx", "export"):
        for name in COMPARED:
            expected = results["keras"].metrics[name]
            if expected is None:
                assert results[kind].metrics[name] is None
            else:
                # 8-bit quantisation absorbs the float differences of the runtimes.
                assert results[kind].metrics[name] == pytest.approx(expected, rel=1e-3, abs=1e-4), (kind, name)
    conditional = variant == "cgan"
    assert (results["keras"].metrics["conditional_accuracy"] is not None) == conditional
    assert sum(results["keras"].class_histogram["counts"]) == N


def test_onnx_without_metadata_takes_latent_dim_from_its_input(models, tmp_path):
    gan = zoo.create("dcgan", seed=0)
    path = to_onnx(gan.generator, tmp_path / "bare.onnx", metadata=False)
    source = sources.open_source(str(path))
    assert (source.latent_dim, source.num_classes) == (64, None)
    # A conditional ONNX file without metadata takes the data set's classes.
    gan = zoo.create("cgan", seed=0)
    bare = to_onnx(gan.generator, tmp_path / "bare-cgan.onnx", num_classes=10, metadata=False)
    assert sources.open_source(str(bare), num_classes=10).num_classes == 10
    with pytest.raises(ZooError, match="takes labels but its metadata has no num_classes"):
        sources.open_source(str(bare))


def test_sources_draw_through_the_sampler_with_the_record(models):
    from zoo.record import GeneratorRecord
    from zoo.sampling import Sampler

    source = sources.open_source(str(models["cgan"]["export"]))
    assert isinstance(source.sampler, Sampler) and isinstance(source.record, GeneratorRecord)
    assert source.record.variant == "dcgan"  # read from the manifest's "model" table
    assert source.describe()["variant"] == "dcgan" and source.image_shape == (28, 28, 1)
    assert isinstance(sources.open_source(str(models["cgan"]["onnx"])).sampler, Sampler)


def test_an_export_whose_manifest_contradicts_its_onnx_inputs_is_refused(models, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(models["cgan"]["export"], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["num_classes"] = None
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ZooError, match="does not take the inputs its manifest.json describes"):
        sources.open_source(str(folder))
    # The data set's classes stand in for a class count the manifest does not record.
    assert sources.open_source(str(folder), num_classes=10).num_classes == 10


def test_the_old_base_class_name_is_a_deprecated_alias():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from zoo.metrics.sources import Source
    assert Source is sources.ImageSource
    assert any(issubclass(w.category, DeprecationWarning) and "ImageSource" in str(w.message) for w in caught)


def test_onnx_images_equal_gan_generate_for_the_same_seed(models):
    gan = load_gan(models["dcgan"]["keras"])
    images, _ = next(sources.open_source(str(models["dcgan"]["onnx"])).batches(8, seed=3))
    np.testing.assert_allclose(images, gan.generate(8, seed=3), atol=1e-5)


def test_a_modified_export_is_refused(models, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(models["dcgan"]["export"], folder)
    with open(folder / "generator.onnx", "ab") as file:
        file.write(b"\0")
    with pytest.raises(ZooError, match="does not match the sha256 in manifest.json"):
        sources.open_source(str(folder))


def test_conditional_labels_are_balanced():
    assert sources.balanced_labels(12, 5).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


def test_bad_model_paths_are_one_line_errors(tmp_path):
    with pytest.raises(ZooError, match="No such model file or folder"):
        sources.open_source(str(tmp_path / "missing.keras"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="without manifest.json, model.keras or generator.onnx"):
        sources.open_source(str(tmp_path / "empty"))
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ZooError, match="onnxruntime cannot open the generator"):
        sources.open_source(str(tmp_path / "junk.onnx"))


def test_a_keras_file_that_is_not_a_generator_is_refused(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.save(tmp_path / "discriminator.keras")
    with pytest.raises(ZooError, match="is not a generator"):
        sources.open_source(str(tmp_path / "discriminator.keras"))


def test_a_folder_written_by_zoo_export_scores_like_its_keras_model(models, tmp_path):
    try:
        from zoo.export import export_generator
    except (ImportError, AttributeError) as error:  # the exporter is optional here
        pytest.skip(f"zoo.export is not available ({error})")
    gan = load_gan(models["cgan"]["keras"])
    export_generator(gan, tmp_path / "export")
    exported = evaluate(str(tmp_path / "export"), "fashion_mnist", n=N, seed=0)
    original = evaluate(str(models["cgan"]["keras"]), "fashion_mnist", n=N, seed=0)
    assert exported.source["kind"] == "export" and exported.source["num_classes"] == 10
    for name in COMPARED:
        assert exported.metrics[name] == pytest.approx(original.metrics[name], rel=1e-3, abs=1e-4), name


def test_a_gan_is_scored_with_the_generator_it_ships():
    """With EMA kept, `GAN.generate` and `zoo export` use the EMA generator; so must the metrics."""
    from zoo.latent import sample_latent

    gan = zoo.create("dcgan", seed=0, ema_decay=0.999)
    for variable in gan.ema_generator.trainable_variables:  # EMA weights apart from the raw ones
        variable.assign(variable * 0.5)
    images = next(iter(sources.open_source(gan).batches(16, seed=0)))[0]
    z = sample_latent(16, gan.latent_dim, 0)
    np.testing.assert_allclose(images, gan.ema_generator(z, training=False).numpy(), atol=1e-5)
    assert np.abs(images - gan.generator(z, training=False).numpy()).max() > 1e-2
