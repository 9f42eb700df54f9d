"""A pretrained name works wherever a model path does, through one resolver.

`zoo.loading.resolve_model` turns a name into the verified cached file or
folder (`zoo.hub`); `zoo evaluate`, `zoo export`, `zoo verify`, `zoo serve`,
`zoo sample` and their Python entry points all go through it. The names are the
real packaged catalogue's, their files the checkout's `export/`: read directly
(the default source of a checkout, offline) or served by `http.server` on
127.0.0.1 (`ZOO_HUB_URL`). Each test starts from an empty cache.
"""

import contextlib
import functools
import http.server
import json
import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from tests.cli_helpers import one_line_error
from zoo import hub
from zoo.cli import main
from zoo.errors import ZooError
from zoo.files import sha256_file
from zoo.loading import load_sampler, resolve_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORT = os.path.join(REPO, "export")
DCGAN, CGAN = "dcgan-fashion-mnist", "cgan-fashion-mnist"
LIST_HINT = "zoo list --pretrained"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """An empty cache; the packaged catalogue; files from the checkout's export/ (offline)."""
    for name in ("ZOO_HUB_URL", "ZOO_CATALOGUE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@contextlib.contextmanager
def mirror(directory):
    """Serves `directory` over HTTP on 127.0.0.1; yields its base URL and the paths asked for."""
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=directory))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def png_size(path):
    with open(path, "rb") as file:
        head = file.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


# ------------------------------------------------------------ the resolver


def test_resolve_model_returns_paths_as_given_and_names_as_verified_cache_files(cache):
    folder = os.path.join(EXPORT, DCGAN)
    assert resolve_model(folder) == folder
    path = resolve_model(DCGAN, "onnx")
    assert path.startswith(str(cache)) and os.path.basename(path) == "generator.onnx"
    assert sha256_file(path) == hub.get_entry(DCGAN).files["onnx"].sha256
    published = resolve_model(DCGAN)  # "all": the whole publication folder
    assert os.path.isfile(os.path.join(published, "manifest.json"))
    assert os.path.isfile(os.path.join(published, "test_data_set_0", "input_0.pb"))


def test_resolve_model_errors_are_one_line_and_name_the_list_command(tmp_path):
    with pytest.raises(ZooError) as missing:
        resolve_model(str(tmp_path / "no" / "model.keras"))
    with pytest.raises(ZooError) as unknown:
        resolve_model("dcgan-fashion-mnis")
    for error in (missing, unknown):
        assert LIST_HINT in str(error.value) and "\n" not in str(error.value)
    assert str(missing.value).startswith("No such model file or folder: ")
    assert "Unknown pretrained generator 'dcgan-fashion-mnis'" in str(unknown.value)
    assert "Did you mean 'dcgan-fashion-mnist'?" in str(unknown.value)
    with pytest.raises(TypeError, match="path or a pretrained name"):
        resolve_model(3)


def test_a_local_path_wins_over_a_name(tmp_path, monkeypatch):
    """A folder called like a name is the folder, not the download."""
    monkeypatch.chdir(tmp_path)
    os.symlink(os.path.join(EXPORT, CGAN), DCGAN)
    assert resolve_model(DCGAN) == DCGAN
    assert load_sampler(DCGAN).num_classes == 10  # the cgan behind the link, not the dcgan


# ------------------------------------------------------------ the commands


def test_verify_a_name_downloads_from_a_mirror_once_then_works_offline(cache, monkeypatch, capsys):
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    with mirror(EXPORT) as (url, requested):
        monkeypatch.setenv("ZOO_HUB_URL", url)
        assert main(["verify", DCGAN, "--runtime", "onnxruntime"]) == 0
    assert any(path.startswith(f"/{DCGAN}/generator.onnx") for path in requested), requested
    out = capsys.readouterr().out
    assert "verification passed" in out and str(cache) in out
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # the mirror is gone: the verified cache serves
    assert main(["verify", DCGAN, "--runtime", "onnxruntime"]) == 0
    from zoo.export.verify import verify_artifact

    assert verify_artifact(DCGAN, runtimes=("onnxruntime",)).passed


def test_sample_a_name_an_onnx_file_and_an_export_folder_agree(tmp_path, capsys):
    onnx_file = os.path.join(EXPORT, CGAN, "generator.onnx")
    keras_images = load_sampler(CGAN).generate(12, labels=list(range(10)) + [0, 1], seed=5, truncation=0.8)
    for model in (onnx_file, os.path.join(EXPORT, CGAN)):
        sampler = load_sampler(model)
        assert type(sampler.backend).__name__ == "OnnxBackend" and sampler.num_classes == 10
        images = sampler.generate(12, labels=list(range(10)) + [0, 1], seed=5, truncation=0.8)
        assert np.max(np.abs(images - keras_images)) <= 1e-4
    for model in (CGAN, onnx_file):
        out = tmp_path / f"{os.path.basename(model)}.png"
        assert main(["sample", model, "--n", "10", "--columns", "5", "--out", str(out)]) == 0
        assert png_size(out) == (5 * 28 + 6 * 2, 2 * 28 + 3 * 2)
    assert "wrote 10 images" in capsys.readouterr().out


def test_sample_from_onnx_needs_no_tensorflow(tmp_path, cache):
    argv = ["sample", os.path.join(EXPORT, DCGAN), "--n", "4", "--out", str(tmp_path / "g.png")]
    code = (
        f"import sys\nfrom zoo.cli import main\nstatus = main({argv!r})\n"
        "print(status, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    environment = {**os.environ, "PYTHONPATH": REPO, "ZOO_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stderr
    assert png_size(tmp_path / "g.png") == (2 * 28 + 3 * 2, 2 * 28 + 3 * 2)


def test_export_a_name(tmp_path, capsys):
    from zoo.export.loading import load_exportable

    assert load_exportable(DCGAN).name == hub.pretrained(DCGAN).name
    out = tmp_path / "re-exported"
    assert main(["export", DCGAN, "--out", str(out), "--no-litert", "--target", "onnxruntime"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["latent_dim"] == hub.get_entry(DCGAN).latent_dim
    assert main(["verify", str(out), "--runtime", "onnxruntime"]) == 0


def test_evaluate_a_name_scores_its_verified_export(capsys):
    assert main(["evaluate", "mlp-gan-fashion-mnist", "--n", "100", "--batch-size", "50", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["source"]["kind"] == "export" and result["source"]["name"] == "mlp-gan-fashion-mnist"
    assert result["source"]["sha256"] == hub.get_entry("mlp-gan-fashion-mnist").files["onnx"].sha256
    assert np.isfinite(result["metrics"]["fd"])


def test_serve_resolves_names_through_the_same_resolver():
    from zoo.serving import OnnxGenerator

    generator = OnnxGenerator(CGAN)
    assert generator.name == CGAN and generator.num_classes == 10
    assert str(generator.path) == resolve_model(CGAN, "onnx")
    expected = load_sampler(os.path.join(EXPORT, CGAN, "generator.onnx")).generate(3, labels=[1, 2, 3], seed=9)
    assert np.array_equal(generator.generate(3, labels=[1, 2, 3], seed=9), generator.to_uint8(expected))


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "{model}", "--n", "10"],
        ["export", "{model}", "--out", "{tmp}/out"],
        ["verify", "{model}"],
        ["sample", "{model}", "--out", "{tmp}/grid.png"],
        ["serve", "{model}", "--port", "0"],
    ],
    ids=lambda argv: argv[0],
)
@pytest.mark.parametrize("model", ["no-such-generator", "{tmp}/missing/model.keras"], ids=["unknown-name", "bad-path"])
def test_every_command_refuses_an_unknown_name_or_bad_path_in_one_line(argv, model, tmp_path, capsys):
    argv = [part.format(model=model, tmp=tmp_path).format(tmp=tmp_path) for part in argv]
    line = one_line_error(capsys, argv)
    assert LIST_HINT in line, line
    if model.startswith("no-such"):
        assert "Unknown pretrained generator 'no-such-generator'" in line
    else:
        assert "No such" in line and "missing" in line
    assert not os.path.exists(tmp_path / "out") and not os.path.exists(tmp_path / "grid.png")
