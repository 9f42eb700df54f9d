"""The compatibility matrix: every generator in every ONNX runtime, on its test vectors.

Artifacts: every published generator (`export/*/` whose manifest lists
`generator.onnx`) and a fresh export (the default, portable target) of every
registered variant, plus a self-conditioned `dcgan(clusters=...)`. Runtimes: the
engines of `zoo.export.engines` (onnxruntime, the ONNX reference evaluator,
OpenVINO, OpenCV DNN, tract; onnx2torch in the `slow` column, since torch is too
heavy for the default suite) and onnxruntime-web in Debian's headless Chromium
(wasm, and WebGPU where Chromium offers an adapter: SwiftShader here, see
`browser_runtime.py`). Each cell replays the artifact's `test_data_set_0/` and
must match `output_0.pb` within max-abs 1e-4, then runs the first row alone
(batch 1) to check that the runtime follows the dynamic batch dimension.

Fresh exports are made lazily, once per module; the browser starts once per
module and one page runs every artifact. Outside CI a runtime whose library is
missing is skipped with the pip command that installs it; in CI (CI=true) it
fails.
"""

import json
import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")

import zoo  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.export import engines  # noqa: E402
from zoo.export.test_vectors import load_test_vectors  # noqa: E402

import browser_runtime  # noqa: E402
from model_helpers import perturb_batchnorm  # noqa: E402

TOLERANCE = 1e-4
LATENT_DIM = 16
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORT_DIR = os.path.join(REPO, "export")
IN_CI = bool(os.environ.get("CI"))
ONNX2TORCH_INSTALL = "pip install torch==2.14.1 torchvision==0.29.1 onnx2torch"


def published_generators():
    """Names of the `export/*/` folders whose manifest lists `generator.onnx`."""
    names = []
    for name in sorted(os.listdir(EXPORT_DIR)):
        path = os.path.join(EXPORT_DIR, name, "manifest.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                if "generator.onnx" in json.load(file).get("files", {}):
                    names.append(name)
    return names


# id -> (variant, builder options); the self-conditioned DCGAN is a dcgan with clusters.
FRESH = {name: (name, {}) for name in zoo.list_variants()}
FRESH["dcgan-clusters"] = ("dcgan", {"clusters": 10})
ARTIFACTS = [f"published/{name}" for name in published_generators()] + [f"fresh/{name}" for name in FRESH]
BROWSER_RUNTIMES = {"onnxruntime-web-wasm": "wasm", "onnxruntime-web-webgpu": "webgpu"}
RUNTIMES = [
    "onnxruntime", "onnx-reference", "openvino", "opencv", "tract", *BROWSER_RUNTIMES,
    pytest.param("onnx2torch", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def artifact_folder(tmp_path_factory):
    """`artifact_folder(id)`: the folder of a published generator or of a fresh export (made once)."""
    from zoo.export.exporter import export_generator

    root = tmp_path_factory.mktemp("portability")
    folders = {}

    def folder(artifact):
        kind, name = artifact.split("/", 1)
        if artifact not in folders:
            if kind == "published":
                folders[artifact] = os.path.join(EXPORT_DIR, name)
            else:
                variant, options = FRESH[name]
                keras.utils.set_random_seed(0)
                gan = zoo.create(variant, image_shape=(28, 28, 1), latent_dim=LATENT_DIM, seed=0, **options)
                perturb_batchnorm(gan.generator)
                export_generator(gan, root / name, batch_sizes=(1, 7))
                folders[artifact] = str(root / name)
        return folders[artifact]

    return folder


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium page for every artifact of this module."""
    reason = browser_runtime.missing()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    with browser_runtime.BrowserRuntime() as runtime:
        yield runtime


def load_runner(runtime, path, request):
    if runtime in BROWSER_RUNTIMES:
        page = request.getfixturevalue("browser")
        ep = BROWSER_RUNTIMES[runtime]
        if ep == "webgpu":
            adapter = page.webgpu_adapter()
            if not adapter["available"]:
                pytest.skip(
                    f"headless Chromium offers no WebGPU adapter ({adapter['reason']}) under "
                    f"{' '.join(browser_runtime.CHROMIUM_ARGS)}"
                )
        return page.load(path, ep)
    engine = engines.get_engine(runtime)
    if runtime == "onnx2torch" and engine.available:
        return request.getfixturevalue("torch_worker").load(path)
    if not engine.available:
        install = ONNX2TORCH_INSTALL if runtime == "onnx2torch" else engine.install
        message = f"{engine.title} is not installed ({install} lifts this skip)"
        if IN_CI and runtime != "onnx2torch":  # the test extra installs every default column
            pytest.fail(message)
        pytest.skip(message)
    return engine.load(path)


class TorchWorker:
    """The onnx2torch engine in a child interpreter that never imports TensorFlow.

    This process imported TensorFlow, and torch's CUDA build (triton) crashes a
    process that did so before importing torch; a torch user has no TensorFlow
    loaded, which the child reproduces. One child serves the whole module:
    each request names an ONNX file and an `.npz` of feeds, the reply is an
    `.npy` of the image (or the child's error).
    """

    SCRIPT = (
        "import sys, traceback, numpy as np\n"
        "from zoo.export import engines\n"
        "runs = {}\n"
        "for line in sys.stdin:\n"
        "    path, feeds, out = line.rstrip('\\n').split('\\t')\n"
        "    try:\n"
        "        if path not in runs:\n"
        "            runs[path] = engines.load('onnx2torch', path)\n"
        "        np.save(out, runs[path](dict(np.load(feeds))))\n"
        "        print('ok', flush=True)\n"
        "    except Exception as error:\n"
        "        print('error ' + repr(error).replace('\\n', ' ')[:1500], flush=True)\n"
    )

    def __init__(self, folder):
        import subprocess
        import sys

        self.folder, self.calls = folder, 0
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=environment,
        )

    def load(self, path):
        def run(feeds):
            self.calls += 1
            feeds_path = self.folder / f"feeds-{self.calls}.npz"
            out_path = self.folder / f"image-{self.calls}.npy"
            np.savez(feeds_path, **feeds)
            self.process.stdin.write(f"{path}\t{feeds_path}\t{out_path}\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline().strip()
            if reply != "ok":
                raise AssertionError(f"onnx2torch: {reply or f'the child exited ({self.process.poll()})'}")
            return np.load(out_path)

        return run

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def torch_worker(tmp_path_factory):
    worker = TorchWorker(tmp_path_factory.mktemp("onnx2torch"))
    yield worker
    worker.close()


def max_abs(actual, expected):
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    assert actual.dtype == np.float32
    return float(np.max(np.abs(actual.astype(np.float64) - expected)))


@pytest.mark.parametrize("artifact", ARTIFACTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_reproduces_the_test_vectors(runtime, artifact, artifact_folder, request):
    folder = artifact_folder(artifact)
    inputs, outputs = load_test_vectors(folder)
    expected = outputs["image"]
    run = load_runner(runtime, os.path.join(folder, "generator.onnx"), request)

    error = max_abs(run(inputs), expected)
    assert error <= TOLERANCE, f"{runtime} on {artifact}: max-abs {error:.2e} > {TOLERANCE:g}"
    single = max_abs(run({name: value[:1] for name, value in inputs.items()}), expected[:1])
    assert single <= TOLERANCE, f"{runtime} on {artifact} at batch 1: max-abs {single:.2e}"
    assert np.abs(expected).max() > 1e-2  # not an all-zero image that anything would match

    if runtime in BROWSER_RUNTIMES:
        page = request.getfixturevalue("browser")
        run.release()
        assert page.outside_requests == [] and page.page_errors == []


# ------------------------------------------------------------ the registry


def test_registry_names_and_install_hints():
    assert set(engines.list_engines()) == {"onnxruntime", "onnx-reference", "openvino", "opencv", "tract", "onnx2torch"}
    assert set(engines.available_engines()) <= set(engines.list_engines())
    assert "onnxruntime" in engines.available_engines()
    from zoo.export.targets import RUNTIMES as TARGET_RUNTIMES

    # Every runtime the portable target promises, but TensorRT (no GPU here), has a column in the matrix.
    columns = set(engines.list_engines()) | set(BROWSER_RUNTIMES)
    assert set(TARGET_RUNTIMES) - {"tensorrt"} <= columns
    for name in engines.list_engines():
        assert engines.get_engine(name).install.startswith("pip install ")


def test_unknown_engine_and_missing_file_are_one_line_errors(tmp_path):
    with pytest.raises(ZooError, match=r"Unknown engine 'opencvv'.*Did you mean 'opencv'\?"):
        engines.load("opencvv", tmp_path / "generator.onnx")
    with pytest.raises(ZooError, match="No ONNX file at"):
        engines.load("onnxruntime", tmp_path / "generator.onnx")


def test_missing_library_names_the_pip_package(tmp_path):
    model = tmp_path / "generator.onnx"
    model.write_bytes(b"")
    engines.register_engine("zoo-test-absent", "Absent", ("zoo_test_no_such_module",),
                            "pip install zoo-test-absent")(lambda path: None)
    try:
        assert "zoo-test-absent" not in engines.available_engines()
        with pytest.raises(ZooError) as error:
            engines.load("zoo-test-absent", model)
        assert str(error.value) == (
            "The zoo-test-absent engine needs the 'zoo_test_no_such_module' module: pip install zoo-test-absent."
        )
        with pytest.raises(ValueError, match="already registered"):
            engines.register_engine("zoo-test-absent", "Absent", (), "pip install x")(lambda path: None)
    finally:
        del engines._ENGINES["zoo-test-absent"]


def test_missing_feed_is_named(artifact_folder):
    folder = artifact_folder("fresh/cgan")
    run = engines.load("onnxruntime", os.path.join(folder, "generator.onnx"))
    inputs, _ = load_test_vectors(folder)
    with pytest.raises(ZooError, match="Missing feed 'label'. Received: feeds with z."):
        run({"z": inputs["z"]})
