"""Tests of `zoo.export` and the `zoo export` / `zoo verify` commands.

Every variant is built once per module (fixed seed, 28x28x1, BatchNorm moving
statistics perturbed so inference mode matters) and exported once; the other
tests read those folders or copy them before tampering.
"""

import json
import os
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo.cli import main as cli_main  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.export import export_generator, load_test_vectors, verify_artifact  # noqa: E402
from zoo.export import runtime  # noqa: E402
from zoo.export.manifest import manifest_record  # noqa: E402
from zoo.export.parity import make_feeds  # noqa: E402
from zoo.export.signature import resolve_generator  # noqa: E402
from zoo.sessions import onnx_session  # noqa: E402

VARIANTS = ("mlp_gan", "dcgan", "cgan")
PUBLISHED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "export")
LATENT_DIM = 16


def perturb_batchnorm(model, seed=1):
    """Gives every BatchNormalization non-trivial gamma/beta and moving stats."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                    rng.normal(0.0, 0.2, beta.shape).astype("float32"),
                    rng.normal(0.0, 0.2, mean.shape).astype("float32"),
                    rng.uniform(0.5, 2.0, variance.shape).astype("float32"),
                ]
            )


def build(variant, seed=0):
    keras.utils.set_random_seed(seed)
    gan = zoo.create(variant, image_shape=(28, 28, 1), latent_dim=LATENT_DIM, seed=seed)
    perturb_batchnorm(gan.generator)
    return gan


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """variant -> (gan, folder, report), each exported once."""
    root = tmp_path_factory.mktemp("export")
    results = {}
    for variant in VARIANTS:
        gan = build(variant)
        folder = root / variant
        precision = {"cgan": "fp16", "mlp_gan": "int8"}.get(variant)
        report = export_generator(
            gan, folder, dataset="synthetic", class_names=_class_names(gan), precision=precision
        )
        results[variant] = (gan, str(folder), report)
    return results


def _class_names(gan):
    return [f"class {i}" for i in range(gan.num_classes)] if gan.conditional else None


def _copy(exported, variant, tmp_path):
    target = tmp_path / f"{variant}-copy"
    shutil.copytree(exported[variant][1], target)
    return str(target)


def _flip_byte(path, position=None):
    data = bytearray(open(path, "rb").read())
    position = len(data) // 2 if position is None else position
    data[position] ^= 0xFF
    open(path, "wb").write(bytes(data))


# ---------------------------------------------------------------- main path


@pytest.mark.parametrize("variant", VARIANTS)
def test_export_passes_parity_in_every_format(exported, variant):
    _, folder, report = exported[variant]
    assert report.passed
    for name in ("savedmodel", "onnxruntime", "keras (reloaded)"):
        rows = [row for row in report.rows if row.format == name]
        assert sorted(row.batch_size for row in rows) == [1, 7, 64]
        assert all(row.passed and row.max_abs <= 1e-5 for row in rows)
    for relative in ("saved_model", "generator.onnx", "generator.keras", "manifest.json",
                     "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb"):
        assert os.path.exists(os.path.join(folder, relative)), relative
    assert "savedmodel" in str(report) and "onnxruntime" in str(report)


@pytest.mark.parametrize("variant", VARIANTS)
def test_onnx_metadata_checker_and_ports(exported, variant):
    gan, folder, _ = exported[variant]
    model = onnx.load(os.path.join(folder, "generator.onnx"))
    onnx.checker.check_model(model, full_check=True)
    opset = {entry.domain: entry.version for entry in model.opset_import}[""]
    assert 17 <= opset <= 18
    meta = {prop.key: prop.value for prop in model.metadata_props}
    assert meta["variant"] == variant
    assert meta["latent_dim"] == str(LATENT_DIM)
    assert json.loads(meta["image_shape"]) == [28, 28, 1]
    assert json.loads(meta["output_range"]) == [-1.0, 1.0]
    assert meta["zoo_version"] == zoo.__version__
    assert meta["dataset"] == "synthetic"
    if gan.conditional:
        assert meta["num_classes"] == "10"
        assert json.loads(meta["class_names"])[3] == "class 3"
    else:
        assert meta["num_classes"] == "none" and "class_names" not in meta

    session = ort.InferenceSession(os.path.join(folder, "generator.onnx"), providers=["CPUExecutionProvider"])
    inputs = [(port.name, port.type, port.shape) for port in session.get_inputs()]
    expected = [("z", "tensor(float)", ["batch", LATENT_DIM])]
    if gan.conditional:
        expected.append(("label", "tensor(int64)", ["batch"]))
    assert inputs == expected
    (output,) = session.get_outputs()
    assert (output.name, output.type, output.shape) == ("image", "tensor(float)", ["batch", 28, 28, 1])


@pytest.mark.parametrize("variant", VARIANTS)
def test_savedmodel_signature_uses_the_same_names(exported, variant):
    gan, folder, _ = exported[variant]
    signature = tf.saved_model.load(os.path.join(folder, "saved_model")).signatures["serving_default"]
    _, kwargs = signature.structured_input_signature
    assert kwargs["z"].dtype == tf.float32 and kwargs["z"].shape.as_list() == [None, LATENT_DIM]
    if gan.conditional:
        assert kwargs["label"].dtype == tf.int64 and kwargs["label"].shape.as_list() == [None]
    else:
        assert set(kwargs) == {"z"}
    assert list(signature.structured_outputs) == ["image"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_dynamic_batch_of_three(exported, variant):
    gan, folder, _ = exported[variant]
    info = resolve_generator(gan)
    feeds = make_feeds(info.record, 3, seed=123)
    expected = runtime.run_keras(gan.generator, feeds)
    actual = runtime.run_onnx(onnx_session(os.path.join(folder, "generator.onnx")), feeds)
    assert actual.shape == (3, 28, 28, 1) and actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=1e-5)
    assert np.abs(expected).max() > 1e-2  # perturbed BatchNorm: outputs are not ~0


def test_manifest_lists_every_file_with_its_hash(exported):
    gan, folder, report = exported["cgan"]
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    on_disk = {
        os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
        for root, _, files in os.walk(folder)
        for name in files
    } - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert "saved_model/saved_model.pb" in manifest["files"]
    assert manifest["model"]["variant"] == "cgan"
    assert manifest["model"]["num_classes"] == 10
    assert manifest["model"]["latent_dim"] == LATENT_DIM
    assert manifest["model"]["image_shape"] == [28, 28, 1]
    assert manifest["model"]["output_range"] == [-1.0, 1.0]
    assert manifest["model"]["dataset"] == "synthetic"
    assert "training_steps" in manifest["model"]
    assert manifest["io"]["inputs"][1] == {"name": "label", "dtype": "int64", "shape": ["batch"]}
    assert manifest["opset"] == 17 and manifest["onnx_target"] == "portable"
    for tool in ("keras", "tensorflow", "tf2onnx", "onnx", "onnxruntime"):
        assert manifest["versions"][tool]
    assert manifest["parity"]["passed"] and manifest["parity"]["tolerance"] == {"atol": 1e-5, "rtol": 1e-5}
    assert {row["format"] for row in manifest["parity"]["rows"]} >= {"savedmodel", "onnxruntime"}
    # fp16 copy: written, io kept float32, error reported (not gated).
    assert manifest["formats"]["onnx_fp16"] == "generator.fp16.onnx"
    assert manifest["reduced_precision"] and manifest["reduced_precision"][0]["format"] == "onnxruntime fp16"
    fp16 = ort.InferenceSession(os.path.join(folder, "generator.fp16.onnx"), providers=["CPUExecutionProvider"])
    assert [port.type for port in fp16.get_inputs()] == ["tensor(float)", "tensor(int64)"]
    assert fp16.get_outputs()[0].type == "tensor(float)"
    assert report.max_error("onnxruntime fp16") < 5e-2


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_file_stores_the_one_record(exported, variant):
    """The manifest, the ONNX file and the LiteRT file all read back as the record that was exported."""
    from zoo.export import litert, onnx_export

    gan, folder, _ = exported[variant]
    record = resolve_generator(gan, dataset="synthetic", class_names=_class_names(gan)).record
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    assert manifest["model"] == record.to_dict() and manifest["io"] == record.io_ports()
    assert manifest_record(manifest) == record
    no_count = record.replace(parameters=None)  # the model files store no parameter count
    assert onnx_export.read_record(os.path.join(folder, "generator.onnx")) == no_count
    assert litert.read_record(os.path.join(folder, "generator.tflite")) == no_count
    meta = onnx_export.read_metadata(os.path.join(folder, "generator.onnx"))
    assert meta == record.to_onnx_metadata({"export_target": "portable"})
    assert onnx.load(os.path.join(folder, "generator.onnx")).doc_string == record.describe()


@pytest.mark.parametrize("name", sorted(
    name for name in os.listdir(PUBLISHED) if os.path.isfile(os.path.join(PUBLISHED, name, "manifest.json"))
))
def test_published_artifacts_read_as_records(name):
    """Folders written by earlier versions read through the same readers, and agree."""
    from zoo.export import litert, onnx_export
    from zoo.export.manifest import read_manifest

    folder = os.path.join(PUBLISHED, name)
    record = manifest_record(read_manifest(folder))
    assert onnx_export.read_record(os.path.join(folder, "generator.onnx")) == record.replace(parameters=None)
    if os.path.isfile(os.path.join(folder, "generator.tflite")):
        assert litert.read_record(os.path.join(folder, "generator.tflite")) == record.replace(parameters=None)


def test_a_manifest_without_generator_facts_is_one_line():
    with pytest.raises(ZooError, match="has no latent_dim") as caught:
        manifest_record({"files": {}, "model": {"image_shape": [28, 28, 1]}}, source="x/manifest.json")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("x/manifest.json")


def test_int8_copy_is_reported(exported):
    _, folder, report = exported["mlp_gan"]
    assert os.path.exists(os.path.join(folder, "generator.int8.onnx"))
    assert report.precision_rows and not any(row.gated for row in report.precision_rows)
    assert report.max_error("onnxruntime int8") < 0.2


def test_onnx_graph_is_rewritten_without_transposes(exported):
    _, folder, _ = exported["dcgan"]
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    graph = manifest["onnx_graph"]
    assert graph["rewrites"]["subpixel_conv"] == 2
    ops = {node.op_type for node in onnx.load(os.path.join(folder, "generator.onnx")).graph.node}
    assert "Resize" not in ops and "Tile" not in ops
    assert graph["rewrites"]["projection_transpose"] == 1
    assert graph["transposes"] == 0 and "Transpose" not in ops
    # The 14x14 hidden interleave is Reshapes and Concats alone; only the output's DepthToSpace(4) is left (CRD).
    assert graph["rewrites"]["concat_interleave"] == 1
    nodes = onnx.load(os.path.join(folder, "generator.onnx")).graph.node
    assert not any(node.op_type == "Col2Im" for node in nodes)
    interleaves = [node for node in nodes if node.op_type == "DepthToSpace"]
    assert [(helper_attribute(n, "blocksize"), helper_attribute(n, "mode")) for n in interleaves] == [(4, b"CRD")]
    # The output convolution runs on the 14x14 phases; only its 16 channels are interleaved.
    assert graph["rewrites"]["conv_before_interleave"] == 1
    model = onnx.load(os.path.join(folder, "generator.onnx"))
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    producers = {output: node for node in model.graph.node for output in node.output}
    last_interleave = [node for node in model.graph.node if node.op_type == "DepthToSpace"][-1]
    producer = producers[last_interleave.input[0]]
    if producer.op_type == "Tanh":  # hoisted above the interleave
        producer = producers[producer.input[0]]
    assert producer.op_type == "Conv" and initializers[producer.input[1]].dims[:1] == [16]
    # Every ReLU follows its convolution directly (fusable), none an interleave.
    relus = [node for node in model.graph.node if node.op_type == "Relu"]
    assert graph["rewrites"]["hoisted_activations"] >= 2
    assert all(producers[node.input[0]].op_type in ("Conv", "MatMul", "Add", "Mul") for node in relus)


def naive_conv_3x3_same(image, kernel):
    """`image` [C, H, W], `kernel` [O, C, 3, 3], zero padding, as plain sums."""
    channels, height, width = image.shape
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((kernel.shape[0], height, width))
    for dy in range(3):
        for dx in range(3):
            window = padded[:, dy : dy + height, dx : dx + width]
            out += np.einsum("oc,chw->ohw", kernel[:, :, dy, dx], window)
    return out


def naive_conv_4x4_stride_2_pad_1(image, kernel):
    channels, height, width = image.shape
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((kernel.shape[0], height // 2, width // 2))
    for dy in range(4):
        for dx in range(4):
            window = padded[:, dy : dy + height - 1 : 2, dx : dx + width - 1 : 2]
            out += np.einsum("oc,chw->ohw", kernel[:, :, dy, dx], window)
    return out


def to_phases(image, block=2):
    """[C, bH, bW] -> [b*b*C, H, W] in DepthToSpace's DCR order."""
    return np.concatenate([image[:, a::block, b::block] for a in range(block) for b in range(block)])


def test_interleaved_conv_kernel_equals_the_full_resolution_convolution():
    from zoo.export.onnx_optimize import interleaved_conv_kernel

    rng = np.random.default_rng(0)
    image = rng.normal(size=(5, 8, 12))
    kernel = rng.normal(size=(2, 5, 3, 3)).astype(np.float32)
    expected = naive_conv_3x3_same(image, kernel)
    on_phases = naive_conv_4x4_stride_2_pad_1(to_phases(image), interleaved_conv_kernel(kernel))
    np.testing.assert_allclose(on_phases, to_phases(expected, block=4), atol=1e-4)


def test_phase_pointwise_kernel_equals_the_full_resolution_convolution():
    from zoo.export.onnx_optimize import phase_pointwise_kernel

    rng = np.random.default_rng(0)
    image = rng.normal(size=(5, 8, 12))
    kernel = rng.normal(size=(3, 5, 1, 1)).astype(np.float32)
    expected = np.einsum("oc,chw->ohw", kernel[:, :, 0, 0], image)
    on_phases = np.einsum("oc,chw->ohw", phase_pointwise_kernel(kernel)[:, :, 0, 0], to_phases(image))
    np.testing.assert_allclose(on_phases, to_phases(expected), atol=1e-4)


def test_pointwise_output_layer_runs_on_the_phases_and_keeps_parity(tmp_path):
    keras.utils.set_random_seed(5)
    gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=LATENT_DIM, output_kernel_size=1)
    out = tmp_path / "pointwise"
    report = export_generator(gan, out, batch_sizes=(1, 7))
    assert report.passed
    graph = json.load(open(out / "manifest.json"))["onnx_graph"]
    assert graph["rewrites"]["conv_before_interleave"] == 1 and graph["transposes"] == 0
    model = onnx.load(str(out / "generator.onnx"))
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    # The last convolution writes the 4 phases of the 1-channel image, then one DepthToSpace(2).
    assert initializers[convs[-1].input[1]].dims == [4, 4 * 24, 1, 1]
    interleaves = [node for node in model.graph.node if node.op_type == "DepthToSpace"]
    # The hidden 14x14 interleave is concats; only the 4-channel output uses DepthToSpace(2), in CRD mode.
    assert [(helper_attribute(n, "blocksize"), helper_attribute(n, "mode")) for n in interleaves] == [(2, b"CRD")]
    assert graph["rewrites"]["concat_interleave"] == 1


def test_the_same_generator_exports_to_the_same_bytes(exported, tmp_path):
    """Two `zoo export` processes write the same files, so a re-export changes git history only when the graph does."""
    import subprocess
    import sys

    gan, _, _ = exported["mlp_gan"]
    gan.generator.save(tmp_path / "generator.keras")
    # The second process traces other functions first, as `zoo publish --reexport all` does between models.
    script = (
        "import sys, tensorflow as tf\n"
        "for _ in range(int(sys.argv[1])): tf.function(lambda x: x + 1)(tf.constant(1.0))\n"
        "from zoo.cli import main\n"
        "sys.exit(main(['export', sys.argv[2], '--out', sys.argv[3]]))\n"
    )
    for out, traces in (("a", 0), ("b", 3)):
        command = [sys.executable, "-c", script, str(traces), str(tmp_path / "generator.keras"), str(tmp_path / out)]
        assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    for name in ("generator.onnx", "generator.tflite", "test_data_set_0/output_0.pb"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_onnxruntime_target_uses_col2im_and_is_recorded(tmp_path):
    keras.utils.set_random_seed(6)
    gan = zoo.create("dcgan", image_shape=(28, 28, 1), latent_dim=LATENT_DIM)
    report = export_generator(gan, tmp_path / "ort", batch_sizes=(1, 7), target="onnxruntime")
    assert report.passed and report.target == "onnxruntime"
    manifest = json.load(open(tmp_path / "ort" / "manifest.json"))
    assert manifest["opset"] == 18 and manifest["onnx_target"] == "onnxruntime"
    assert manifest["onnx_graph"]["rewrites"]["col2im_interleave"] == 1
    model = onnx.load(str(tmp_path / "ort" / "generator.onnx"))
    assert [node.op_type for node in model.graph.node].count("Col2Im") == 1
    assert {p.key: p.value for p in model.metadata_props}["export_target"] == "onnxruntime"
    # The same generator exported portably computes the same images (the rewrites are exact).
    portable = export_generator(gan, tmp_path / "portable", batch_sizes=(1, 7))
    assert {p.key: p.value for p in onnx.load(str(tmp_path / "portable" / "generator.onnx")).metadata_props}[
        "export_target"] == "portable"
    tuned_image = load_test_vectors(str(tmp_path / "ort"))[1]["image"]
    portable_image = load_test_vectors(str(tmp_path / "portable"))[1]["image"]
    np.testing.assert_array_equal(tuned_image, portable_image)
    assert portable.max_error("onnxruntime") < 1e-5


def test_portable_target_takes_only_its_opset(tmp_path):
    gan = zoo.create("mlp_gan", image_shape=(28, 28, 1), latent_dim=LATENT_DIM)
    with pytest.raises(ZooError, match="portable target is opset 17"):
        export_generator(gan, tmp_path / "x", opset=18)
    assert not os.path.exists(tmp_path / "x")


def test_dcr_to_crd_reorders_depth_to_space_input():
    from onnx.reference import ReferenceEvaluator

    from zoo.export.onnx_optimize import dcr_to_crd

    x = np.random.default_rng(0).standard_normal((2, 3 * 16, 5, 5)).astype(np.float32)
    outputs = []
    for mode, data in (("DCR", x), ("CRD", x[:, dcr_to_crd(3, 4)])):
        node = onnx.helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=4, mode=mode)
        outputs.append(ReferenceEvaluator(node).run(None, {"x": data})[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])


def helper_attribute(node, name):
    return next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name)


def test_output_kernel_size_is_checked():
    with pytest.raises(ZooError, match="output_kernel_size must be 1 or 3. Received: output_kernel_size=5"):
        zoo.create("dcgan", output_kernel_size=5)


def test_test_vectors_follow_the_model_zoo_layout(exported):
    for variant in ("dcgan", "cgan"):
        gan, folder, _ = exported[variant]
        inputs, outputs = load_test_vectors(folder)
        assert list(inputs) == (["z", "label"] if gan.conditional else ["z"])
        assert list(outputs) == ["image"]
        assert inputs["z"].dtype == np.float32 and outputs["image"].dtype == np.float32
        if gan.conditional:
            assert inputs["label"].dtype == np.int64
        tensor = onnx.TensorProto.FromString(open(os.path.join(folder, "test_data_set_0", "output_0.pb"), "rb").read())
        assert tensor.name == "image"


# ------------------------------------------------------------------- verify


def test_verify_passes_on_a_fresh_export(exported, capsys):
    _, folder, _ = exported["dcgan"]
    report = verify_artifact(folder)
    assert report.passed, str(report)
    assert set(report.errors) == {"onnxruntime", "savedmodel", "litert"}
    assert cli_main(["verify", folder]) == 0
    assert "verification passed" in capsys.readouterr().out


def test_verify_names_a_tampered_onnx_file(exported, tmp_path, capsys):
    folder = _copy(exported, "mlp_gan", tmp_path)
    _flip_byte(os.path.join(folder, "generator.onnx"))
    assert cli_main(["verify", folder]) == 1
    err = capsys.readouterr().err
    assert "generator.onnx: sha256 does not match" in err


def test_verify_names_tampered_and_truncated_test_vectors(exported, tmp_path):
    folder = _copy(exported, "mlp_gan", tmp_path)
    output = os.path.join(folder, "test_data_set_0", "output_0.pb")
    _flip_byte(output, position=os.path.getsize(output) - 3)  # a float in the raw data
    report = verify_artifact(folder)
    assert not report.passed
    assert any(line.startswith("test_data_set_0/output_0.pb:") for line in report.failures)

    folder = _copy(exported, "cgan", tmp_path)
    vector = os.path.join(folder, "test_data_set_0", "input_0.pb")
    with open(vector, "r+b") as file:
        file.truncate(os.path.getsize(vector) // 2)
    report = verify_artifact(folder)
    assert not report.passed
    assert report.failures[0].startswith("test_data_set_0/input_0.pb: size")
    assert cli_main(["verify", folder]) == 1


def test_verify_names_a_truncated_manifest(exported, tmp_path):
    folder = _copy(exported, "mlp_gan", tmp_path)
    manifest = os.path.join(folder, "manifest.json")
    with open(manifest, "r+b") as file:
        file.truncate(100)
    report = verify_artifact(folder)
    assert not report.passed and report.failures[0].startswith("manifest.json: not valid JSON")


def test_verify_rejects_a_folder_that_is_not_an_export(tmp_path, capsys):
    with pytest.raises(ZooError, match="manifest.json"):
        verify_artifact(tmp_path)
    assert cli_main(["verify", str(tmp_path / "missing")]) == 2
    assert "zoo: error: No such export folder" in capsys.readouterr().err
    with pytest.raises(ZooError, match="no test vectors"):
        load_test_vectors(tmp_path)


# -------------------------------------------------------------- bad inputs


@keras.saving.register_keras_serializable(package="zoo_tests")
class EagerOnlyShift(keras.layers.Layer):
    """Adds 1e-3 when run eagerly only: Keras and the traced graph disagree."""

    def call(self, inputs):
        return inputs + 1e-3 if tf.executing_eagerly() else inputs


def test_parity_failure_raises_and_leaves_nothing_behind(tmp_path):
    z = keras.Input((LATENT_DIM,), name="z")
    x = keras.layers.Dense(28 * 28)(z)
    x = keras.layers.Reshape((28, 28, 1))(x)
    x = EagerOnlyShift()(x)
    image = keras.layers.Activation("tanh", name="image")(x)
    generator = keras.Model(z, image, name="generator")
    out = tmp_path / "broken"
    with pytest.raises(ZooError, match="parity failed") as error:
        export_generator(generator, out)
    assert "\n" not in str(error.value)
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def test_existing_folder_needs_force(exported, tmp_path):
    gan = exported["mlp_gan"][0]
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ZooError, match="already exists.*--force"):
        export_generator(gan, out)
    assert os.listdir(out) == ["keep.txt"]


def test_force_never_deletes_a_folder_that_is_not_an_export(exported, tmp_path, capsys):
    from cli_helpers import one_line_error

    gan = exported["mlp_gan"][0]
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "thesis.txt").write_text("mine")
    with pytest.raises(ZooError, match="only a folder written by `zoo export`.*Nothing was changed"):
        export_generator(gan, documents, force=True)
    assert os.listdir(documents) == ["thesis.txt"]
    # A real export folder with a file the user added is not replaced either.
    folder = exported["mlp_gan"][1]
    copy = tmp_path / "export-copy"
    shutil.copytree(folder, copy)
    (copy / "notes.md").write_text("mine")
    with pytest.raises(ZooError, match=r"would delete 1 file\(s\).*notes.md"):
        export_generator(gan, copy, force=True)
    assert (copy / "notes.md").read_text() == "mine"
    # The run folder that holds the input model is never replaced, even when it looks like an export.
    run = tmp_path / "run"
    shutil.copytree(folder, run)
    line = one_line_error(capsys, ["export", str(run / "generator.keras"), "--out", str(run), "--force"])
    assert "holds the model being exported" in line
    assert (run / "generator.keras").exists()
    # An export folder as `zoo export` wrote it is replaced.
    os.remove(copy / "notes.md")
    assert export_generator(gan, copy, force=True, batch_sizes=(1,)).passed
    assert sorted(os.listdir(tmp_path)) == ["documents", "export-copy", "run"]


def test_unwritable_output_is_a_one_line_error(exported, tmp_path):
    gan = exported["mlp_gan"][0]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ZooError, match="Cannot write"):
        export_generator(gan, blocker / "out")
    assert os.listdir(tmp_path) == ["a-file"]


def test_discriminator_is_refused(exported, tmp_path):
    gan = exported["dcgan"][0]
    with pytest.raises(ZooError, match="is a discriminator"):
        export_generator(gan.discriminator, tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_bad_options_are_refused(exported, tmp_path):
    gan = exported["mlp_gan"][0]
    with pytest.raises(ZooError, match="opset"):
        export_generator(gan, tmp_path / "x", opset=19)
    with pytest.raises(ZooError, match="precision"):
        export_generator(gan, tmp_path / "x", precision="int4")
    with pytest.raises(ZooError, match="class_names"):
        export_generator(gan, tmp_path / "x", class_names=["a"])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_generator_exports_as_float32(tmp_path, policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(3)
        gan = zoo.create("mlp_gan", image_shape=(28, 28, 1), latent_dim=LATENT_DIM)
    finally:
        keras.config.set_dtype_policy(previous)
    report = export_generator(gan, tmp_path / "mixed", batch_sizes=(1, 7))
    assert report.passed
    session = onnx_session(str(tmp_path / "mixed" / "generator.onnx"))
    assert session.get_outputs()[0].type == "tensor(float)"
    graph = onnx.load(str(tmp_path / "mixed" / "generator.onnx")).graph
    low = (onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    assert not any(tensor.data_type in low for tensor in graph.initializer)
    assert not any(node.op_type == "Cast" for node in graph.node)


# --------------------------------------------------------------------- CLI


def test_cli_exports_a_generator_only_file_and_refuses_bad_inputs(exported, tmp_path, capsys):
    gan = exported["mlp_gan"][0]
    generator_path = str(tmp_path / "generator-only.keras")
    gan.generator.save(generator_path)
    out = str(tmp_path / "cli-export")
    assert cli_main(["export", generator_path, "--out", out, "--dataset", "synthetic"]) == 0
    assert "passed" in capsys.readouterr().out
    assert cli_main(["verify", out]) == 0

    assert cli_main(["export", generator_path, "--out", out]) == 2
    assert "already exists" in capsys.readouterr().err

    discriminator_path = str(tmp_path / "discriminator.keras")
    gan.discriminator.save(discriminator_path)
    assert cli_main(["export", discriminator_path, "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error:") and "discriminator" in err and err.count("\n") == 1

    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("hello")
    assert cli_main(["export", str(not_a_model), "--out", str(tmp_path / "n")]) == 2
    assert "not a .keras file" in capsys.readouterr().err
    assert not (tmp_path / "d").exists() and not (tmp_path / "n").exists()


# ------------------------------------------------------------------- sweep

OTHER_VARIANTS = [name for name in zoo.list_variants() if name not in VARIANTS]


@pytest.mark.parametrize("variant", OTHER_VARIANTS)
def test_every_other_registered_variant_exports_with_parity(variant, tmp_path):
    gan = build(variant)
    report = export_generator(gan, tmp_path / variant, batch_sizes=(1, 7))
    assert report.passed
    assert report.max_error("onnxruntime") <= 1e-5


def naive_conv_transpose_4x4_stride_2_pad_1(image, kernel):
    """ONNX ConvTranspose: `image` [C, H, W], `kernel` [C, O, 4, 4] -> [O, 2H, 2W]."""
    channels, height, width = image.shape
    full = np.zeros((kernel.shape[1], 2 * height + 2, 2 * width + 2))
    for i in range(height):
        for j in range(width):
            full[:, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4] += np.einsum("c,cokl->okl", image[:, i, j], kernel)
    return full[:, 1:-1, 1:-1]


def test_transposed_phase_kernels_equal_the_transposed_convolution():
    from zoo.export.onnx_optimize import transposed_phase_kernels

    rng = np.random.default_rng(1)
    image = rng.normal(size=(3, 5, 4))
    kernel = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)
    expected = naive_conv_transpose_4x4_stride_2_pad_1(image, kernel)
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)))
    for (a, b), phase in transposed_phase_kernels(kernel).items():
        # pads [top, left, bottom, right] = [1 - a, 1 - b, a, b]: the window of output m starts at row m - 1 + a.
        window = padded[:, a : a + 5 + 1, b : b + 4 + 1]
        actual = np.zeros((2, 5, 4))
        for ky in range(2):
            for kx in range(2):
                actual += np.einsum("oc,chw->ohw", phase[:, :, ky, kx], window[:, ky : ky + 5, kx : kx + 4])
        np.testing.assert_allclose(actual, expected[:, a::2, b::2], atol=1e-4)


def test_transposed_convolutions_export_without_conv_transpose(tmp_path):
    gan = zoo.create("dcgan", upsampling="transpose", seed=0)
    rng = np.random.default_rng(0)
    for layer in gan.generator.layers:  # BatchNorm statistics away from identity, to check the folding
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, size))
            layer.beta.assign(rng.normal(0, 0.2, size))
            layer.moving_mean.assign(rng.normal(0, 0.2, size))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size))
    report = export_generator(gan, tmp_path / "transpose")
    assert report.passed and report.max_error("onnxruntime") < 1e-5
    assert report.onnx_graph["rewrites"]["conv_transpose"] == 2
    assert report.onnx_graph["ops_before"].get("ConvTranspose") == 2
    assert "ConvTranspose" not in report.onnx_graph["ops"] and "Transpose" not in report.onnx_graph["ops"]
