"""Tests of `zoo.export.litert`: `generator.tflite` in the export, `zoo verify` and `zoo.hub`.

Four small untrained generators (dcgan, cgan, mlp_gan and the self-conditioned
`dcgan(clusters=3)`, BatchNorm statistics perturbed so inference mode matters)
are exported once per module at batch sizes 1 and 7; the other tests read those
folders or copy them before tampering. Everything runs for real: TensorFlow's
converter, `ai_edge_litert`'s interpreter, a local hub folder.
"""

import json
import os
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("tf2onnx")
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo import hub  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.export import export_generator, litert, onnx_export, runtime, tracing, verify_artifact  # noqa: E402
from zoo.export.parity import make_feeds  # noqa: E402
from zoo.export.signature import resolve_generator  # noqa: E402
from zoo.files import sha256_file  # noqa: E402
from zoo.sessions import litert_interpreter  # noqa: E402
from model_helpers import perturb_batchnorm  # noqa: E402

LATENT_DIM = 16
CASES = {
    "dcgan": ("dcgan", {}),
    "cgan": ("cgan", {}),
    "mlp_gan": ("mlp_gan", {}),
    "dcgan-clusters": ("dcgan", {"clusters": 3}),
}


def build(variant, options, seed=0):
    keras.utils.set_random_seed(seed)
    gan = zoo.create(variant, image_shape=(28, 28, 1), latent_dim=LATENT_DIM, seed=seed, **options)
    perturb_batchnorm(gan.generator, seed + 1)
    return gan


def class_names(gan):
    return [f"class {i}" for i in range(gan.num_classes)] if gan.conditional else None


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """case -> (gan, folder, report), each exported once."""
    root = tmp_path_factory.mktemp("litert")
    results = {}
    for case, (variant, options) in CASES.items():
        gan = build(variant, options)
        folder = root / case
        report = export_generator(gan, folder, dataset="synthetic", class_names=class_names(gan), batch_sizes=(1, 7))
        results[case] = (gan, str(folder), report)
    return results


def kernel_sizes(model):
    """Number of floats in the kernels and embeddings of `model` (weights with 2+ axes)."""
    return sum(int(np.prod(weight.shape)) for weight in model.weights if len(weight.shape) >= 2)


def tflite(folder):
    return os.path.join(folder, "generator.tflite")


def copy_folder(exported, case, tmp_path):
    target = tmp_path / f"{case}-copy"
    shutil.copytree(exported[case][1], target)
    return str(target)


def shifted_weights(data, delta=0.5):
    """The flatbuffer with `delta` added to every float of its largest buffer (a weight)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    largest = max(model.buffers, key=lambda buffer: 0 if buffer.data is None else len(buffer.data))
    values = np.frombuffer(bytes(bytearray(largest.data)), dtype=np.float32) + np.float32(delta)
    largest.data = np.frombuffer(values.tobytes(), dtype=np.uint8)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def rehash(folder, relative):
    """Updates `relative`'s sha256 and size in manifest.json (a tamper the hashes miss)."""
    path = os.path.join(folder, "manifest.json")
    manifest = json.load(open(path))
    manifest["files"][relative] = {"sha256": sha256_file(os.path.join(folder, relative)),
                                   "size": os.path.getsize(os.path.join(folder, relative))}
    json.dump(manifest, open(path, "w"), indent=2)


# ---------------------------------------------------------------- main path


@pytest.mark.parametrize("case", CASES)
def test_export_writes_a_gated_tflite_listed_in_the_manifest(exported, case):
    gan, folder, report = exported[case]
    assert report.passed
    rows = [row for row in report.rows if row.format == "litert"]
    assert sorted(row.batch_size for row in rows)[:2] == [1, 7]
    assert all(row.gated and row.passed and row.max_abs <= 1e-5 for row in rows)
    assert report.paths["litert"] == tflite(folder) and os.path.isfile(tflite(folder))
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    assert manifest["formats"]["litert"] == "generator.tflite"
    assert manifest["files"]["generator.tflite"]["sha256"] == sha256_file(tflite(folder))
    assert any(row["format"] == "litert" for row in manifest["parity"]["rows"])
    # float32 kernels frozen into the file (BatchNorm folded into them, equal zero biases shared).
    size = os.path.getsize(tflite(folder))
    assert 4 * kernel_sizes(gan.generator) <= size <= 4 * gan.generator.count_params() + 64 * 1024


@pytest.mark.parametrize("case", CASES)
def test_tflite_has_builtin_operators_only(exported, case):
    names = litert.operator_names(tflite(exported[case][1]))
    assert names and not [name for name in names if name.startswith("CUSTOM:") or "Flex" in name]
    assert not {"VAR_HANDLE", "READ_VARIABLE"} & set(names)  # weights are constants
    assert "CONV_2D" in names or "FULLY_CONNECTED" in names


@pytest.mark.parametrize("case", CASES)
def test_interpreter_matches_keras_at_any_batch(exported, case):
    gan, folder, _ = exported[case]
    record = resolve_generator(gan).record
    interpreter = litert.load(tflite(folder))
    ports = {detail["name"]: detail for detail in interpreter.get_input_details()}
    assert sorted(ports) == sorted(record.input_names)
    assert list(ports["z"]["shape_signature"]) == [-1, LATENT_DIM] and ports["z"]["dtype"] == np.float32
    if gan.conditional:
        assert list(ports["label"]["shape_signature"]) == [-1] and ports["label"]["dtype"] == np.int64
    output = interpreter.get_output_details()[0]
    assert output["name"] == "image" and list(output["shape_signature"]) == [-1, 28, 28, 1]
    assert interpreter.get_signature_list() == {
        "serving_default": {"inputs": sorted(record.input_names), "outputs": ["image"]}
    }
    for batch in (7, 1, 7, 3):  # one interpreter, resized both ways
        feeds = make_feeds(record, batch, seed=batch)
        image = litert.run(interpreter, feeds)
        expected = runtime.run_keras(gan.generator, feeds)
        assert image.shape == (batch, 28, 28, 1) and image.dtype == np.float32
        np.testing.assert_allclose(image, expected, atol=1e-5, rtol=1e-5)


def test_labels_of_other_integer_types_are_cast_and_a_missing_input_is_one_line(exported):
    gan, folder, _ = exported["cgan"]
    interpreter = litert_interpreter(tflite(folder))
    feeds = make_feeds(gan.record, 5, seed=0)
    as_int32 = {"z": feeds["z"], "label": feeds["label"].astype(np.int32)}
    np.testing.assert_array_equal(runtime.run_litert(interpreter, as_int32), litert.run(interpreter, feeds))
    # Each class gets its own image from the same z.
    same_z = {"z": np.repeat(feeds["z"][:1], 3, axis=0), "label": np.array([0, 1, 2])}
    images = litert.run(interpreter, same_z)
    assert np.abs(images[0] - images[1]).max() > 1e-4
    with pytest.raises(ZooError) as caught:
        litert.run(interpreter, {"z": feeds["z"]})
    assert "'label'" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("case", ["dcgan", "cgan"])
def test_metadata_round_trip_matches_the_onnx_file(exported, case):
    gan, folder, _ = exported[case]
    meta = litert.read_metadata(tflite(folder))
    onnx_meta = onnx_export.read_metadata(os.path.join(folder, "generator.onnx"))
    assert meta == {key: value for key, value in onnx_meta.items() if key in meta}
    assert set(meta) >= {"zoo_version", "variant", "latent_dim", "image_shape", "num_classes", "dataset"}
    assert meta["variant"] == gan.variant and meta["latent_dim"] == str(LATENT_DIM)
    assert json.loads(meta["image_shape"]) == [28, 28, 1] and meta["dataset"] == "synthetic"
    assert meta["zoo_version"] == zoo.__version__
    if gan.conditional:
        assert meta["num_classes"] == str(gan.num_classes) and meta["inputs"] == "z,label"
        assert json.loads(meta["class_names"]) == class_names(gan)
    else:
        assert meta["num_classes"] == "none"


def test_finalize_replaces_its_metadata_and_keeps_the_converters(exported):
    from tensorflow.lite.tools import flatbuffer_utils

    gan, folder, _ = exported["dcgan"]
    record = resolve_generator(gan).record
    data = open(tflite(folder), "rb").read()
    again = litert.finalize(data, record, {"dataset": "other"})
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(again))
    names = [entry.name.decode() for entry in model.metadata]
    assert names.count("zoo") == 1 and "min_runtime_version" in names
    assert litert.read_metadata(again)["dataset"] == "other"
    assert b"keras-gan-zoo dcgan generator" in model.description
    assert litert.read_metadata(data) == litert.read_metadata(tflite(folder))  # bytes or a path
    with pytest.raises(ZooError, match="Not a LiteRT"):
        litert.read_metadata(b"not a flatbuffer")


# ---------------------------------------------------------------- bad input


@keras.saving.register_keras_serializable(package="zoo_test_litert")
class Sinh(keras.layers.Layer):
    """A layer calling a TensorFlow op that LiteRT has only as a Flex op."""

    def call(self, inputs):
        return tf.math.sinh(inputs)


def flex_generator():
    z = keras.Input((LATENT_DIM,), name="z")
    x = keras.layers.Dense(28 * 28)(z)
    x = Sinh()(x)
    image = keras.layers.Reshape((28, 28, 1), name="image")(keras.layers.Activation("tanh")(x))
    return keras.Model(z, image, name="flex_generator")


def test_a_generator_needing_flex_ops_fails_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "flex"
    with pytest.raises(ZooError) as caught:
        export_generator(flex_generator(), out, batch_sizes=(1,), target="onnxruntime")  # ONNX takes Sinh; LiteRT has no builtin
    message = str(caught.value)
    assert "\n" not in message and "Sinh" in message and "builtin" in message
    assert "SELECT_TF_OPS" in message and "Nothing was written" in message
    assert not out.exists() and os.listdir(tmp_path) == []  # no temporary folder left either


def test_convert_alone_leaves_no_file_on_failure(tmp_path):
    model = flex_generator()
    record = resolve_generator(model).record
    path = tmp_path / "generator.tflite"
    with pytest.raises(ZooError, match="Sinh"):
        litert.convert(tracing.serving_function(tracing.export_copy(model), record), record, path)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- zoo verify


def test_verify_replays_the_tflite(exported):
    for case in ("dcgan", "cgan"):
        report = verify_artifact(exported[case][1])
        assert report.passed, report.failures
        assert set(report.errors) == {"onnxruntime", "savedmodel", "litert"}
        assert report.errors["litert"] <= 1e-5 and "litert" in str(report)


def test_verify_catches_a_tampered_tflite(exported, tmp_path):
    folder = copy_folder(exported, "cgan", tmp_path)
    path = tflite(folder)
    original = open(path, "rb").read()
    open(path, "wb").write(shifted_weights(original))
    report = verify_artifact(folder)
    assert not report.passed
    assert any(line.startswith("generator.tflite: sha256 does not match") for line in report.failures)
    assert any(line.startswith("generator.tflite: litert output differs") for line in report.failures)
    # The hashes updated too: the replay alone still catches it.
    rehash(folder, "generator.tflite")
    report = verify_artifact(folder)
    assert [line.split(":")[0] for line in report.failures] == ["generator.tflite"]
    assert "litert output differs" in report.failures[0]
    # A broken flatbuffer is a failure line, not a crash.
    open(path, "wb").write(original[:64] + bytes(len(original) - 64))
    rehash(folder, "generator.tflite")
    report = verify_artifact(folder, runtimes=("litert",))
    assert len(report.failures) == 1 and report.failures[0].startswith("generator.tflite: litert could not run it")


def test_verify_of_a_folder_without_tflite_skips_litert(exported, tmp_path):
    folder = copy_folder(exported, "dcgan", tmp_path)
    manifest_path = os.path.join(folder, "manifest.json")
    manifest = json.load(open(manifest_path))
    del manifest["formats"]["litert"], manifest["files"]["generator.tflite"]
    json.dump(manifest, open(manifest_path, "w"))
    os.remove(tflite(folder))
    report = verify_artifact(folder)
    assert report.passed and "litert" not in report.errors
    report = verify_artifact(folder, runtimes=("litert",))
    assert report.passed and report.skipped and report.skipped[0].startswith("litert:")


# ---------------------------------------------------------------- zoo.hub


def write_catalogue(tmp_path, folder, name, with_litert=True):
    """A one-entry catalogue for `folder`, served from a local hub folder; returns (catalogue, source)."""
    source = tmp_path / "hub"
    shutil.copytree(folder, source / name)
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    files = manifest["files"]

    def item(relative):
        return {"path": relative, **files[relative]}

    formats = {"keras": item("generator.keras"), "onnx": item("generator.onnx")}
    if with_litert:
        formats["litert"] = item("generator.tflite")
    formats["manifest"] = {"path": "manifest.json", "sha256": sha256_file(os.path.join(folder, "manifest.json")),
                           "size": os.path.getsize(os.path.join(folder, "manifest.json"))}
    model = manifest["model"]
    entry = {
        "description": "A test generator.", "variant": model["variant"], "dataset": "synthetic",
        "latent_dim": model["latent_dim"], "image_shape": model["image_shape"], "num_classes": model["num_classes"],
        "class_names": model["class_names"], "value_range": [-1.0, 1.0], "parameters": model["parameters"],
        "files": formats, "test_vectors": [item(path) for path in sorted(files) if path.startswith("test_data_set_0/")],
        "metrics": {}, "training": {}, "recipe": f"models/{name}/recipe.toml", "card": f"models/{name}/README.md",
        "licence": "Apache-2.0", "data_licence": "none",
    }
    catalogue = tmp_path / f"catalogue-{name}.json"
    catalogue.write_text(json.dumps({"format_version": 1, "models": {name: entry}}))
    return str(catalogue), str(source)


def test_hub_download_litert_returns_the_checked_tflite(exported, tmp_path):
    gan, folder, _ = exported["cgan"]
    catalogue, source = write_catalogue(tmp_path, folder, "test-cgan")
    cache = tmp_path / "cache"
    path = hub.download("test-cgan", format="litert", source=source, cache_dir=cache, catalogue=catalogue)
    assert os.path.basename(path) == "generator.tflite" and str(cache) in path
    assert sha256_file(path) == sha256_file(tflite(folder))
    feeds = make_feeds(resolve_generator(gan).record, 4, seed=3)
    np.testing.assert_allclose(litert.run(litert.load(path), feeds), runtime.run_keras(gan.generator, feeds),
                               atol=1e-5, rtol=1e-5)
    # A changed file at the source is refused and nothing is cached.
    os.remove(path)
    hosted = os.path.join(source, "test-cgan", "generator.tflite")
    changed = shifted_weights(open(hosted, "rb").read())
    open(hosted, "wb").write(changed)
    with pytest.raises(ZooError) as caught:
        hub.download("test-cgan", format="litert", source=source, cache_dir=cache, catalogue=catalogue)
    assert "\n" not in str(caught.value)
    assert not os.path.exists(path)


def test_hub_download_litert_of_an_entry_without_one_is_one_line(exported, tmp_path):
    catalogue, source = write_catalogue(tmp_path, exported["dcgan"][1], "test-old", with_litert=False)
    assert "litert" not in hub.get_entry("test-old", catalogue=catalogue).files
    with pytest.raises(ZooError) as caught:
        hub.download("test-old", format="litert", source=source, cache_dir=tmp_path / "cache", catalogue=catalogue)
    message = str(caught.value)
    assert message.startswith("'test-old' was published without generator.tflite") and "\n" not in message
    assert "keras, onnx" in message
    assert "litert" in hub.FORMATS
