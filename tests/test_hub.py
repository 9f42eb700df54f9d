"""Tests of `zoo.hub`: the catalogue, verified downloads and the cache, against a real HTTP server.

No generator is published in the repository yet, so the module publishes two
(dcgan and cgan, two training steps each on the real Fashion-MNIST) into a
temporary repository with `zoo.publish.publish_run`, and serves a copy of its
`export/` with `http.server` on 127.0.0.1. The last tests run over the real
packaged catalogue (none yet: they collect nothing).
"""

import contextlib
import dataclasses
import functools
import http.server
import json
import os
import shutil
import socket
import sys
import threading
import types

import numpy as np
import pytest

import zoo.paths
from zoo import hub
from zoo.cli import main
from zoo.errors import ZooError
from zoo.files import sha256_file

NAMES = {"dcgan": "test-dcgan-fashion-mnist", "cgan": "test-cgan-fashion-mnist"}
DCGAN, CGAN = NAMES["dcgan"], NAMES["cgan"]
# The DCGAN run published again without its SavedModel (as a large model would be).
NO_SAVED_MODEL = "test-nosm-fashion-mnist"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_NAMES = hub.load_catalogue(hub.catalogue.PACKAGED_CATALOGUE).names()


# ------------------------------------------------------------------- set-up


@pytest.fixture(autouse=True)
def _commands(monkeypatch):
    """`zoo download` / `zoo publish` are in `zoo.cli.COMMANDS`; added here if not (yet)."""
    from zoo import cli

    missing = tuple(name for name in ("download", "publish") if name not in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + missing)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A temporary repository with two published generators; returns its root."""
    from zoo import publish, training

    root = tmp_path_factory.mktemp("repo")
    (root / "zoo").mkdir()
    for variant, name in NAMES.items():
        run = root / "runs" / name
        training.train(variant, out=str(run), epochs=1, steps_per_epoch=2, batch_size=32, take=256, seed=0, verbose=0)
        write_recipe(root, name, variant)
        publish.publish_run(run, name, repo_root=root, n_eval=0)
    write_recipe(root, NO_SAVED_MODEL, "dcgan")
    publish.publish_run(root / "runs" / DCGAN, NO_SAVED_MODEL, repo_root=root, n_eval=0, max_saved_model_zip_bytes=0)
    return root


def write_recipe(root, name, variant):
    folder = root / "models" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.toml").write_text(
        f'name = "{name}"\ndescription = "A {variant} trained for two steps, for tests."\n'
        f'variant = "{variant}"\ndataset = "fashion_mnist"\nepochs = 1\nbatch_size = 32\n'
        "steps_per_epoch = 2\ntake = 256\nseed = 0\n"
    )


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; paths in `server.truncate` get their full Content-Length but half the bytes."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path in self.server.truncate:
            with open(self.translate_path(self.path), "rb") as file:
                data = file.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up on purpose (size mismatch) is not news


@contextlib.contextmanager
def serve(directory):
    """Yields `(server, base_url)` of a `ThreadingHTTPServer` on 127.0.0.1 serving `directory`."""
    server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    server.truncate = set()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def served(published, tmp_path):
    """A fresh copy of the published export/ (safe to tamper with), served over HTTP."""
    copy = tmp_path / "served"
    shutil.copytree(published / "export", copy)
    with serve(copy) as (server, url):
        yield types.SimpleNamespace(server=server, url=url, folder=copy)


@pytest.fixture
def env(published, served, tmp_path, monkeypatch):
    """The hub pointed at the test catalogue, the served copy and an empty cache."""
    monkeypatch.setenv("ZOO_CATALOGUE", str(published / "zoo" / "catalogue.json"))
    monkeypatch.setenv("ZOO_HUB_URL", served.url)
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    return types.SimpleNamespace(cache=tmp_path / "cache", **vars(served))


def cached_files(cache):
    """Every file (temporary ones included) under the cache."""
    return sorted(
        os.path.relpath(os.path.join(root, name), cache) for root, _, files in os.walk(cache) for name in files
    )


def flip_byte(path):
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vectors_error(generator, folder):
    from zoo.export import load_test_vectors, runtime

    inputs, outputs = load_test_vectors(folder)
    return float(np.abs(runtime.run_keras(generator, inputs) - outputs["image"]).max())


# ------------------------------------------------------------- main path


@pytest.mark.parametrize("name", [DCGAN, CGAN])
def test_pretrained_reproduces_its_own_test_vectors(env, name):
    generator = hub.pretrained(name)
    assert vectors_error(generator, hub.download(name, "test_vectors")) <= 1e-5
    entry = hub.get_entry(name)
    assert generator.count_params() == entry.parameters
    assert tuple(generator.output.shape[1:]) == entry.image_shape


def test_every_format_downloads_verified_and_runs(env):
    from zoo.export import load_test_vectors, runtime
    from zoo.export.verify import verify_artifact

    entry = hub.get_entry(CGAN)
    for format_name in ("keras", "onnx", "manifest"):
        path = hub.download(CGAN, format_name)
        assert os.path.isfile(path) and sha256_file(path) == entry.files[format_name].sha256
    saved_model = hub.download(CGAN, "savedmodel")
    assert os.path.isfile(os.path.join(saved_model, "saved_model.pb"))
    inputs, outputs = load_test_vectors(hub.download(CGAN, "test_vectors"))
    image = runtime.run_saved_model(runtime.load_saved_model(saved_model), inputs)
    assert np.abs(image - outputs["image"]).max() <= 1e-4
    folder = hub.download(CGAN, "all")  # the cache mirrors the published folder: `zoo verify` passes
    report = verify_artifact(folder, runtimes=("onnxruntime",))
    assert report.passed, str(report)
    assert folder == os.path.join(str(env.cache), CGAN, entry.version)
    assert not [path for path in cached_files(env.cache) if ".part-" in path or "/.saved_model" in path]


def test_an_unshipped_saved_model_is_rebuilt_from_keras_and_checked(env, capsys):
    from zoo.export import load_test_vectors, runtime
    from zoo.export.verify import verify_artifact

    entry = hub.get_entry(NO_SAVED_MODEL)
    assert "savedmodel" not in entry.files
    folder = hub.download(NO_SAVED_MODEL, "savedmodel")
    inputs, outputs = load_test_vectors(os.path.dirname(folder))
    image = runtime.run_saved_model(runtime.load_saved_model(folder), inputs)
    assert np.abs(image - outputs["image"]).max() <= 1e-4
    assert hub.download(NO_SAVED_MODEL, "savedmodel") == folder  # kept, not rebuilt
    # The cached copy now holds the rebuilt saved_model/, which `zoo verify` also checks.
    report = verify_artifact(hub.download(NO_SAVED_MODEL, "all"))
    assert report.passed and report.errors["savedmodel"] <= 1e-4, str(report)
    # The published folder ships none: verification says so and passes.
    assert main(["verify", os.path.join(str(env.folder), NO_SAVED_MODEL)]) == 0
    assert "skipped savedmodel: not shipped" in capsys.readouterr().out


def test_cached_files_need_no_server(env, monkeypatch):
    first = hub.download(DCGAN, "onnx")
    env.server.shutdown()
    monkeypatch.setenv("ZOO_HUB_URL", f"http://127.0.0.1:{closed_port()}")
    assert hub.download(DCGAN, "onnx") == first
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert hub.download(DCGAN, "onnx") == first


def test_a_damaged_cached_file_is_deleted_and_downloaded_again(env, monkeypatch, capsys):
    path = hub.download(DCGAN, "onnx")
    flip_byte(path)
    assert hub.download(DCGAN, "onnx") == path
    assert sha256_file(path) == hub.get_entry(DCGAN).files["onnx"].sha256
    assert "did not match its sha256 and was deleted" in capsys.readouterr().err
    flip_byte(path)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(ZooError, match=r"ZOO_OFFLINE=1 and generator.onnx of .* was damaged .* deleted") as caught:
        hub.download(DCGAN, "onnx")
    assert "\n" not in str(caught.value)
    assert not os.path.exists(path)


def test_an_unzipped_saved_model_that_was_changed_is_extracted_again(env):
    folder = hub.download(DCGAN, "savedmodel")
    with open(os.path.join(folder, "saved_model.pb"), "ab") as file:
        file.write(b"x")
    with open(os.path.join(folder, "stray.txt"), "w") as file:
        file.write("not part of the SavedModel")
    assert hub.download(DCGAN, "savedmodel") == folder
    import zipfile

    with zipfile.ZipFile(os.path.join(os.path.dirname(folder), "saved_model.zip")) as archive:
        expected = {info.filename[len("saved_model/"):] for info in archive.infolist() if not info.is_dir()}
    found = {os.path.relpath(os.path.join(r, f), folder).replace(os.sep, "/") for r, _, fs in os.walk(folder) for f in fs}
    assert found == expected


# ------------------------------------------------------------- bad input


def test_a_tampered_file_on_the_server_is_refused_and_not_cached(env):
    flip_byte(env.folder / DCGAN / "generator.onnx")
    with pytest.raises(ZooError, match=r"sha256 mismatch .* the file was discarded") as caught:
        hub.download(DCGAN, "onnx")
    assert "\n" not in str(caught.value)
    assert cached_files(env.cache) == []


def test_a_file_of_another_size_on_the_server_is_refused(env):
    with open(env.folder / DCGAN / "generator.onnx", "ab") as file:
        file.write(b"extra")
    with pytest.raises(ZooError, match="but the catalogue lists"):
        hub.download(DCGAN, "onnx")
    assert cached_files(env.cache) == []


def test_a_dropped_connection_leaves_no_partial_file(env):
    size = hub.get_entry(DCGAN).files["onnx"].size
    env.server.truncate.add(f"/{DCGAN}/generator.onnx")
    with pytest.raises(ZooError, match=rf"transfer ended after {size // 2} of {size} bytes") as caught:
        hub.download(DCGAN, "onnx")
    assert "\n" not in str(caught.value)
    assert cached_files(env.cache) == []


def test_a_missing_file_is_a_404_error(env):
    os.remove(env.folder / DCGAN / "generator.onnx")
    with pytest.raises(ZooError, match=rf"was not found at {env.url}/{DCGAN}/generator.onnx \(HTTP 404\)"):
        hub.download(DCGAN, "onnx")
    assert cached_files(env.cache) == []


def test_connection_refused_is_one_line(env, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("ZOO_HUB_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(ZooError) as caught:
        hub.download(DCGAN, "onnx")
    message = str(caught.value)
    assert f"Could not connect to 127.0.0.1:{port} (connection refused)" in message
    assert "ZOO_HUB_URL" in message and "ZOO_OFFLINE=1" in message and "\n" not in message


def test_offline_without_cache_is_one_line(env, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(ZooError, match=r"ZOO_OFFLINE=1 and generator.keras of .* is not in the cache") as caught:
        hub.pretrained(DCGAN)
    assert "unset ZOO_OFFLINE" in str(caught.value) and "\n" not in str(caught.value)
    assert cached_files(env.cache) == []


def test_offline_still_reads_a_local_folder_source(env, published, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    path = hub.download(DCGAN, "onnx", source=str(published / "export"))
    assert sha256_file(path) == hub.get_entry(DCGAN).files["onnx"].sha256


@pytest.mark.parametrize("name", ["../x", "a/b", "A", "", "..", "a--b", "-a", "a b", "x" * 65, "dcgan\\x"])
def test_bad_names_are_refused_before_any_file_access(env, name):
    with pytest.raises(ZooError, match="Invalid pretrained name"):
        hub.download(name, "onnx")
    with pytest.raises(ZooError, match="Invalid pretrained name"):
        hub.pretrained(name)
    assert not env.cache.exists()


def test_unknown_name_suggests_a_close_one(env):
    with pytest.raises(ZooError) as caught:
        hub.download("test-dcgan-fashion-mnst", "onnx")
    assert str(caught.value).startswith("Unknown pretrained generator 'test-dcgan-fashion-mnst'.")
    assert f"Did you mean '{DCGAN}'?" in str(caught.value)
    with pytest.raises(ZooError, match="Unknown format 'tflite'"):
        hub.download(DCGAN, "tflite")
    with pytest.raises(TypeError):
        hub.download(3, "onnx")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("ftp://example.org/export", "Unsupported hub source"),
        ("/no/such/folder", "Hub source folder does not exist"),
        ("https://", "Hub source has no host"),
        ("hf://just-owner", "needs OWNER/REPO"),
    ],
)
def test_bad_sources_are_one_line(env, source, expected):
    with pytest.raises(ZooError, match=expected):
        hub.download(DCGAN, "onnx", source=source)


def test_no_source_outside_a_checkout_says_to_set_zoo_hub_url(env, monkeypatch):
    monkeypatch.delenv("ZOO_HUB_URL")
    monkeypatch.setattr(zoo.paths, "checkout_root", lambda: None)  # as from an installed wheel
    with pytest.raises(ZooError, match="Set ZOO_HUB_URL"):
        hub.download(DCGAN, "onnx")


# ---------------------------------------------------------- other sources


def test_file_url_and_url_template_sources(env, published, tmp_path, monkeypatch):
    from zoo.publish import release_assets

    entry = hub.get_entry(CGAN)
    path = hub.download(CGAN, "onnx", source=(published / "export").as_uri(), cache_dir=tmp_path / "c1")
    assert sha256_file(path) == entry.files["onnx"].sha256
    assets = tmp_path / "assets"
    written = release_assets(published, assets)
    assert len(written) == sum(len(e.all_files()) for e in hub.list_pretrained())
    assert (assets / f"{CGAN}--test_data_set_0--input_1.pb").is_file()
    with serve(assets) as (_, url):  # a flat host, like a GitHub release
        monkeypatch.setenv("ZOO_HUB_URL", url + "/{asset}")
        folder = hub.download(CGAN, "test_vectors", cache_dir=tmp_path / "c2")
    assert sorted(os.listdir(folder)) == ["input_0.pb", "input_1.pb", "output_0.pb"]


def test_hf_sources_without_huggingface_hub_say_how_to_install_it(env, published, monkeypatch):
    # Downloads through the real huggingface_hub are tested in tests/test_hub_hf.py.
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ZooError, match=r"pip install huggingface_hub") as caught:
        hub.download(DCGAN, "onnx", source="hf://someone/gan-zoo")
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------- catalogue


def test_list_pretrained_entries_are_frozen_data(env, published):
    entries = hub.list_pretrained()
    assert [entry.name for entry in entries] == sorted([*NAMES.values(), NO_SAVED_MODEL])
    cgan = hub.get_entry(CGAN)
    card = json.loads((published / "models" / CGAN / "card.json").read_text())
    assert (cgan.variant, cgan.dataset, cgan.num_classes, cgan.latent_dim) == ("cgan", "fashion_mnist", 10, 64)
    assert cgan.image_shape == (28, 28, 1) and cgan.record.output_range == (-1.0, 1.0)
    assert cgan.parameters == card["model"]["parameters"]
    assert cgan.class_names[0] == "T-shirt/top" and cgan.licence == "Apache-2.0"
    assert cgan.data_licence == "Fashion-MNIST: MIT, © Zalando SE"
    assert set(cgan.sizes) == {"keras", "onnx", "savedmodel", "litert", "gan"} and all(size > 0 for size in cgan.sizes.values())
    assert cgan.files["savedmodel"].path == "saved_model.zip" and len(cgan.files["onnx"].sha256) == 64
    assert cgan.recipe == f"models/{CGAN}/recipe.toml" and cgan.training["steps"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        cgan.latent_dim = 3
    with pytest.raises(TypeError):
        cgan.files["onnx"] = None


def test_an_entry_holds_the_manifests_record(env, published):
    from zoo.record import GeneratorRecord

    cgan = hub.get_entry(CGAN)
    manifest = json.loads((published / "export" / CGAN / "manifest.json").read_text())
    record = GeneratorRecord.from_dict(manifest["model"])
    assert cgan.record == record.replace(variant=record.variant or "cgan")
    assert (cgan.num_classes, cgan.class_names, cgan.parameters) == (record.num_classes, record.class_names, record.parameters)
    assert cgan.conditional and not hub.get_entry(DCGAN).conditional
    entry = json.loads(open(os.environ["ZOO_CATALOGUE"]).read())["models"][CGAN]
    assert "output_range" in entry and "value_range" not in entry  # one spelling, the record's
    assert hub.catalogue.parse_entry(CGAN, json.loads(json.dumps(cgan.to_dict()))) == cgan


def test_value_range_is_a_deprecated_alias_of_the_records_output_range(env):
    import warnings

    cgan = hub.get_entry(CGAN)
    hub.catalogue._WARNED.discard("value_range")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cgan.value_range == cgan.value_range == cgan.record.output_range
    assert [w.category for w in caught] == [DeprecationWarning] and "record.output_range" in str(caught[0].message)


def test_a_catalogue_written_before_the_record_still_loads():
    """Catalogues written before `zoo.record` say `value_range` and lack the record's newer facts."""
    old = os.path.join(REPO, "tests", "fixtures", "catalogue-value-range.json")
    assert all("value_range" in entry for entry in json.loads(open(old).read())["models"].values())
    catalogue = hub.load_catalogue(old)
    cgan = catalogue.get("cgan-fashion-mnist")
    assert (cgan.record.output_range, cgan.num_classes, cgan.variant, cgan.record.training_steps) == ((-1.0, 1.0), 10, "cgan", None)
    for entry in catalogue:
        assert hub.catalogue.parse_entry(entry.name, json.loads(json.dumps(entry.to_dict()))) == entry
        assert "output_range" in entry.to_dict() and "value_range" not in entry.to_dict()
    # Both spellings are checked.
    data = json.loads(open(old).read())
    data["models"]["cgan-fashion-mnist"]["value_range"] = [1.0, -1.0]
    with pytest.raises(ZooError, match="field 'value_range' must be a list of 2 finite numbers"):
        hub.catalogue.parse_entry("cgan-fashion-mnist", data["models"]["cgan-fashion-mnist"])


def test_a_malformed_catalogue_is_one_line(env, tmp_path, monkeypatch):
    data = json.loads(open(os.environ["ZOO_CATALOGUE"]).read())
    data["models"][DCGAN]["files"]["onnx"]["path"] = "../../etc/passwd"
    bad = tmp_path / "catalogue.json"
    bad.write_text(json.dumps(data))
    monkeypatch.setenv("ZOO_CATALOGUE", str(bad))
    with pytest.raises(ZooError, match=r"files.onnx: bad path '../../etc/passwd'"):
        hub.list_pretrained()


def test_conditional_card_grid_has_a_row_per_class(published):
    from PIL import Image

    assert Image.open(published / "models" / CGAN / "samples.png").size == (8 * 30 + 2, 10 * 30 + 2)
    assert Image.open(published / "models" / DCGAN / "samples.png").size == (8 * 30 + 2, 8 * 30 + 2)


# ------------------------------------------------------------ command line


def test_cli_download_prints_only_the_path(env, capsys):
    assert main(["download", CGAN, "--format", "onnx"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    assert sha256_file(out.strip()) == hub.get_entry(CGAN).files["onnx"].sha256


def test_cli_sample_takes_a_pretrained_name(env, published, tmp_path, capsys):
    card = json.loads((published / "models" / CGAN / "card.json").read_text())
    out = tmp_path / "grid.png"
    argv = card["samples"]["command"].split()[1:] + ["--out", str(out)]
    assert main(argv) == 0
    assert out.read_bytes() == (published / "models" / CGAN / "samples.png").read_bytes()


def test_sample_from_a_name_without_tensorflow_runs_the_onnx_file(env, published, tmp_path, monkeypatch):
    """Where Keras/TensorFlow are not installed (a `serve`-only wheel), a name draws with onnxruntime."""
    from zoo import loading
    from zoo.sampling import Sampler

    monkeypatch.setattr(loading, "_keras_installed", lambda: False)
    sampler = loading.load_sampler(CGAN)
    assert sampler.backend.kind == "onnx" and sampler.num_classes == 10
    onnx = Sampler.from_onnx(hub.download(CGAN, format="onnx"))
    np.testing.assert_array_equal(sampler.generate(5, labels=3, seed=1), onnx.generate(5, labels=3, seed=1))


def test_cli_list_pretrained(env, capsys):
    assert main(["list", "--pretrained"]) == 0
    out = capsys.readouterr().out
    assert DCGAN in out and CGAN in out and "not measured" in out
    assert "MB" in out and "dcgan" in out and "fashion_mnist" in out


def test_cli_errors_are_one_line(env, capsys, monkeypatch):
    for argv, expected in (
        (["download", "test-cgan-fashion-mnst"], f"Did you mean '{CGAN}'?"),
        (["download", "../x"], "Invalid pretrained name"),
        (["sample", "test-cgan-fashion-mnst"], "or pass a .keras file, an .onnx file or an export folder"),
    ):
        status = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert status == 2 and len(err) == 1 and err[0].startswith("zoo: error:") and expected in err[0], err
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert main(["sample", DCGAN]) == 2
    assert "not in the cache" in capsys.readouterr().err


def test_empty_catalogue(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "catalogue.json"
    empty.write_text('{"format_version": 1, "models": {}}')
    monkeypatch.setenv("ZOO_CATALOGUE", str(empty))
    assert hub.list_pretrained() == []
    with pytest.raises(ZooError, match="Available: none published yet"):
        hub.download("dcgan-fashion-mnist")
    assert main(["list", "--pretrained"]) == 0
    assert "No pretrained generators are published yet" in capsys.readouterr().out


# ------------------------------------------- the real packaged catalogue


@pytest.fixture(scope="module")
def repo_server():
    with serve(os.path.join(REPO, "export")) as (_, url):
        yield url


@pytest.mark.parametrize("name", REAL_NAMES)
def test_published_generator_downloads_and_verifies(name, repo_server, tmp_path, monkeypatch):
    from zoo.export.verify import verify_artifact

    monkeypatch.delenv("ZOO_CATALOGUE", raising=False)
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    monkeypatch.setenv("ZOO_HUB_URL", repo_server)
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    folder = hub.download(name, "all")
    entry = hub.get_entry(name)
    for item in entry.all_files():
        assert sha256_file(os.path.join(folder, *item.path.split("/"))) == item.sha256, item.path
    report = verify_artifact(folder, runtimes=("onnxruntime",))
    assert report.passed, str(report)
    generator = hub.pretrained(name)  # also checks parameter count and output shape against the entry
    assert vectors_error(generator, os.path.join(folder, "test_data_set_0")) <= 1e-5
    assert entry.sizes["keras"] <= 8_000_000 and entry.sizes["onnx"] <= 8_000_000
    assert os.path.isfile(os.path.join(REPO, entry.recipe)) and os.path.isfile(os.path.join(REPO, entry.card))
