"""What the browser-run page needs from Python: `zoo page`, the routes `zoo serve` adds, `zoo.serving.browser`.

The page itself is driven in Chromium by tests/test_serving_page.py; its
JavaScript is compared with the Python it mirrors by tests/test_latent_js.py.
"""

import hashlib
import json
import pathlib
import subprocess
import sys

import pytest

from test_serving import fixture_models
from zoo.errors import ZooError
from zoo.latent import LATENT_ALGORITHM
from zoo.serving import browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATIC = ROOT / "zoo" / "serving" / "static"
ORT_WEB = browser.find_ort_web()
needs_ort_web = pytest.mark.skipif(ORT_WEB is None, reason="onnxruntime-web is not installed (npm ci)")


def zoo(*args, env=None):
    import os

    return subprocess.run(
        [sys.executable, "-m", "zoo", *map(str, args)], capture_output=True, text=True, timeout=180,
        env={**os.environ, **(env or {})},
    )


def test_find_ort_web(tmp_path, monkeypatch):
    monkeypatch.setenv(browser.ORT_WEB_ENV, "none")
    assert browser.find_ort_web() is None
    monkeypatch.setenv(browser.ORT_WEB_ENV, str(tmp_path))
    with pytest.raises(ZooError, match=r"lacks ort\.webgpu\.min\.mjs.*Received: \$ZOO_ORT_WEB="):
        browser.find_ort_web()
    with pytest.raises(ZooError, match=r"Received: --ort-web="):
        browser.find_ort_web(tmp_path)
    for name in browser.ORT_WEB_FILES:
        (tmp_path / name).write_text("x")
    assert browser.find_ort_web() == tmp_path.resolve()


@needs_ort_web
def test_zoo_page_writes_a_static_site(tmp_path, tmp_path_factory):
    models = fixture_models(tmp_path_factory)
    site = tmp_path / "site"
    result = zoo("page", "--out", site, f"cgan={models['cgan'][0]}", models["dcgan"][0])
    assert result.returncode == 0, result.stderr
    assert f"zoo: wrote {site}" in result.stdout and "python -m http.server" in result.stdout
    index = json.loads((site / "models.json").read_text())
    assert index["format"] == 1 and index["server"] is False and index["runtime"] == "ort/"
    assert index["latent"] == {"algorithm": LATENT_ALGORITHM} and index["onnxruntime_web"] == browser.ort_web_version(ORT_WEB)
    assert [(entry["name"], entry["variant"], entry["url"]) for entry in index["models"]] == [
        ("cgan", "cgan", "models/cgan/generator.onnx"), ("dcgan", "dcgan", "models/dcgan/generator.onnx")]
    for entry, folder in zip(index["models"], (models["cgan"][0], models["dcgan"][0])):
        data = (site / entry["url"]).read_bytes()
        assert data == (folder / "generator.onnx").read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert (site / "index.html").read_bytes() == (STATIC / "index.html").read_bytes()
    for name in ("app.js", "generator.js", "latent.js", "onnx_metadata.js", "style.css"):
        assert (site / "static" / name).read_bytes() == (STATIC / name).read_bytes()
    assert sorted(path.name for path in (site / "ort").iterdir()) == sorted(browser.ORT_WEB_FILES)
    assert (site.stat().st_mode & 0o777) == 0o755
    # A page folder is replaced as a whole; other folders are refused.
    (site / "stale.txt").write_text("old")
    again = zoo("page", "--out", site, f"cgan={models['cgan'][0]}")
    assert again.returncode == 0, again.stderr
    assert not (site / "stale.txt").exists() and len(json.loads((site / "models.json").read_text())["models"]) == 1


def test_zoo_page_errors_are_one_line(tmp_path, tmp_path_factory):
    models = fixture_models(tmp_path_factory)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    cases = [
        (["page", "--out", other, models["cgan"][0]], "--out holds files that `zoo page` did not write"),
        (["page", "--out", tmp_path / "a", "--export", tmp_path / "nothing"], "No models given and no export folder"),
        (["page", "--out", tmp_path / "b", "--export", other], "holds no */generator.onnx"),
        (["page", "--out", tmp_path / "c", "--ort-web", other, models["cgan"][0]], "The onnxruntime-web folder lacks"),
        (["page", "--out", tmp_path / "d", f"a b={models['cgan'][0]}"], "A model name must be letters"),
        (["page", "--out", tmp_path / "e", models["cgan"][0], f"cgan={models['dcgan'][0]}"], "Two models share a name"),
    ]
    for args, message in cases:
        result = zoo(*args)
        assert result.returncode == 2 and result.stderr.startswith("zoo: error: "), (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    result = zoo("page", "--out", tmp_path / "f", models["cgan"][0], env={browser.ORT_WEB_ENV: "none"})
    assert result.returncode == 2 and "onnxruntime-web is not installed" in result.stderr
    assert (other / "notes.txt").read_text() == "mine" and not (tmp_path / "a").exists()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from test_serving_http import start_server

    server = start_server(tmp_path_factory)
    yield server
    server.stop()


def test_serve_gives_the_page_its_index_and_onnx_files(server, tmp_path_factory):
    models = fixture_models(tmp_path_factory)
    status, headers, body = server.request("GET", "/models.json")
    index = json.loads(body)
    assert status == 200 and index["server"] is True and index["format"] == 1
    assert index["runtime"] == ("ort/" if ORT_WEB else None) and index["latent"]["algorithm"] == LATENT_ALGORITHM
    entries = {entry["name"]: entry for entry in index["models"]}
    assert entries["cgan"]["url"] == "v1/models/cgan/generator.onnx" and entries["walker"]["variant"] == "dcgan"
    assert entries["cgan"]["metadata"] == json.loads(server.request("GET", "/v1/models/cgan")[2])

    status, headers, body = server.request("GET", "/v1/models/walker/generator.onnx")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert body == (models["dcgan"][0] / "generator.onnx").read_bytes()
    assert entries["walker"]["bytes"] == len(body)
    status, headers, body = server.request("HEAD", "/v1/models/cgan/generator.onnx")
    assert status == 200 and body == b"" and int(headers["content-length"]) == entries["cgan"]["bytes"]
    status, _, body = server.request("GET", "/v1/models/cgn/generator.onnx")
    error = json.loads(body)["error"]
    assert status == 404 and error["field"] == "model" and "Did you mean 'cgan'?" in error["message"]


def test_serve_gives_only_the_listed_onnxruntime_web_files(server):
    for path in ("/ort/ort.min.js", "/ort/..%2Fpackage.json", "/ort/ort.webgpu.min.mjs.map"):
        status, headers, body = server.request("GET", path)
        assert status == 404 and headers["content-type"] == "application/json", path
        assert json.loads(body)["error"]["message"].startswith(("No such onnxruntime-web file", "No such endpoint"))
    status, _, _ = server.request("POST", "/ort/ort.wasm.min.mjs", body={})
    assert status == 405
    if ORT_WEB is None:
        pytest.skip("onnxruntime-web is not installed (npm ci)")
    status, headers, body = server.request("GET", "/ort/ort.wasm.min.mjs")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert body == (ORT_WEB / "ort.wasm.min.mjs").read_bytes()
    status, headers, _ = server.request("HEAD", "/ort/ort-wasm-simd-threaded.wasm")
    assert status == 200 and headers["content-type"] == "application/wasm"
    assert int(headers["content-length"]) == (ORT_WEB / "ort-wasm-simd-threaded.wasm").stat().st_size
