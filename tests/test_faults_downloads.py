"""Faults of `zoo download` / `zoo.hub.download`, each reproduced with real things.

A real HTTP server on 127.0.0.1 misbehaves on purpose (drips one byte a
second, hangs before or after its headers, drips its headers, closes early,
sends a wrong file), and real `zoo download` processes get real signals. The
publication is synthetic (random bytes with their real sha256), so no model is
trained and every limit is passed short and explicitly.
"""

import contextlib
import copy
import hashlib
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from cli_helpers import one_line_error
from zoo import hub
from zoo.errors import ZooError
from zoo.files import sha256_file

NAME = "fault-gan"
ONNX_BYTES = 65536
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


# ------------------------------------------------------------------- set-up


def publish(root):
    """Writes `root/export/NAME/` (random files, a real manifest) and its catalogue; returns the catalogue path."""
    rng = random.Random(0)
    folder = root / "export" / NAME
    contents = {
        "generator.keras": rng.randbytes(4096),
        "generator.onnx": rng.randbytes(ONNX_BYTES),
        "test_data_set_0/input_0.pb": rng.randbytes(300),
        "test_data_set_0/output_0.pb": rng.randbytes(900),
    }
    for relative, data in contents.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    manifest = {
        "format_version": 1,
        "files": {relative: described(data) for relative, data in contents.items()},
        "formats": {"keras": "generator.keras", "onnx": "generator.onnx"},
    }
    return write_catalogue(root, folder, manifest)


def described(data):
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def write_catalogue(root, folder, manifest, name=NAME):
    """Writes `folder/manifest.json` and a one-entry catalogue that pins it; returns the catalogue path."""
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    listed = manifest["files"]

    def item(relative):
        return {"path": relative, **listed[relative]}

    entry = {
        "description": "Random bytes standing in for a generator.", "variant": "dcgan", "dataset": "synthetic",
        "latent_dim": 64, "image_shape": [28, 28, 1], "num_classes": None, "class_names": None,
        "value_range": [-1.0, 1.0], "parameters": 1000,
        "files": {
            "keras": item("generator.keras"), "onnx": item("generator.onnx"),
            "manifest": {"path": "manifest.json", **described((folder / "manifest.json").read_bytes())},
        },
        "test_vectors": [item(relative) for relative in sorted(listed) if relative.startswith("test_data_set_0/")],
        "metrics": {}, "training": {}, "recipe": "models/x/recipe.toml", "card": "models/x/README.md",
        "licence": "Apache-2.0", "data_licence": "none",
    }
    path = root / f"catalogue-{name}.json"
    path.write_text(json.dumps({"format_version": 1, "models": {name: entry}}, indent=2))
    return path


class FaultHandler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files`; `server.mode` picks how it misbehaves."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        data = server.files.get(self.path)
        server.requests += 1
        if data is None:
            self.send_error(404)
            return
        mode = server.mode
        if mode == "hang_before_headers":
            server.stop.wait()
            return
        if mode == "drip_headers":
            for byte in b"HTTP/1.0 200 OK\r\nContent-Length: 65536\r\nX-Padding: " + b"x" * 1000:
                self.wfile.write(bytes([byte]))
                if server.stop.wait(0.05):
                    return
            return
        if mode == "wrong_sha":
            data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "normal" or mode == "wrong_sha":
            self.wfile.write(data)
        elif mode == "close_early":
            self.wfile.write(data[:5000])
            self.close_connection = True
        elif mode == "hang_after_headers":
            self.wfile.write(data[:1000])
            self.wfile.flush()
            server.stop.wait()
        elif mode == "drip":
            for byte in data:
                self.wfile.write(bytes([byte]))
                server.sent += 1
                if server.stop.wait(server.interval):
                    return


class FaultServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hang up on purpose


@contextlib.contextmanager
def serve(folder, mode="normal", interval=1.0):
    """Yields `(server, url)` of a server on 127.0.0.1 that serves `folder`'s files in `mode`."""
    server = FaultServer(("127.0.0.1", 0), FaultHandler)
    server.files = {
        "/" + os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"): open(os.path.join(root, name), "rb").read()
        for root, _, names in os.walk(folder) for name in names
    }
    server.mode, server.interval, server.sent, server.requests = mode, interval, 0, 0
    server.stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def pub(tmp_path, monkeypatch):
    catalogue = publish(tmp_path)
    monkeypatch.setenv("ZOO_CATALOGUE", str(catalogue))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ZOO_HUB_URL", raising=False)
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)

    class Pub:
        root, export, cache = tmp_path, tmp_path / "export", tmp_path / "cache"
        entry = hub.get_entry(NAME, catalogue=str(catalogue))

        @staticmethod
        def download(url, format="onnx", **limits):
            return hub.download(NAME, format, source=url, cache_dir=str(tmp_path / "cache"), **limits)

    Pub.catalogue = catalogue
    return Pub


def cache_files(cache):
    return sorted(
        os.path.relpath(os.path.join(root, name), cache) for root, _, names in os.walk(cache) for name in names
    )


def parts(cache):
    return [path for path in cache_files(cache) if ".part-" in path]


def failure(call):
    """Runs `call`; returns its one-line `ZooError` message and the seconds it took."""
    start = time.monotonic()
    with pytest.raises(ZooError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600, message
    return message, time.monotonic() - start


# ------------------------------------------------------------ time limits


def test_a_server_that_drips_a_byte_a_second_fails_on_the_minimum_rate(pub):
    with serve(pub.export, "drip", interval=1.0) as (server, url):
        message, seconds = failure(lambda: pub.download(url, timeout=2.0, min_rate=100))
    assert "was too slow" in message and "below the minimum of 100 bytes/s" in message, message
    assert f"of {ONNX_BYTES} bytes" in message and "Nothing was cached" in message
    assert 2.0 <= seconds < 6.0
    assert parts(pub.cache) == [] and cache_files(pub.cache) == []


def test_the_deadline_bounds_the_whole_download_even_at_an_acceptable_rate(pub):
    with serve(pub.export, "drip", interval=0.2) as (server, url):
        message, seconds = failure(lambda: pub.download(url, timeout=5.0, min_rate=0, deadline=1.5))
    assert "did not finish within the deadline of 1.5 s" in message, message
    assert 1.5 <= seconds < 4.0 and parts(pub.cache) == []


def test_a_hang_after_the_headers_is_a_stall_with_the_exact_bytes_received(pub):
    with serve(pub.export, "hang_after_headers") as (server, url):
        message, seconds = failure(lambda: pub.download(url, timeout=1.0))
    assert f"stalled: no data for 1 s after 1000 of {ONNX_BYTES} bytes" in message, message
    assert seconds < 4.0 and parts(pub.cache) == []


def test_the_deadline_cuts_a_read_that_is_blocked(pub):
    # The stall timeout (10 s) would not end it: the watchdog shuts the socket at the deadline.
    with serve(pub.export, "hang_after_headers") as (server, url):
        message, seconds = failure(lambda: pub.download(url, timeout=10.0, deadline=1.0))
    assert "did not finish within the deadline of 1 s (1000 of" in message, message
    assert seconds < 4.0 and parts(pub.cache) == []


@pytest.mark.parametrize("mode", ["hang_before_headers", "drip_headers"])
def test_a_server_that_connects_but_does_not_answer_is_not_called_unreachable(pub, mode):
    with serve(pub.export, mode) as (server, url):
        message, seconds = failure(lambda: pub.download(url, timeout=1.0))
    host = url.split("//")[1]
    assert message.startswith(f"{host} accepted the connection but sent no complete response within 1 s"), message
    assert "Could not connect" not in message
    assert seconds < 4.0 and parts(pub.cache) == []


def test_a_connection_closed_early_and_a_wrong_file_are_refused_then_a_good_server_works(pub):
    with serve(pub.export, "close_early") as (server, url):
        message, _ = failure(lambda: pub.download(url, timeout=2.0))
    assert f"the transfer ended after 5000 of {ONNX_BYTES} bytes (connection closed early)" in message, message
    with serve(pub.export, "wrong_sha") as (server, url):
        message, _ = failure(lambda: pub.download(url, timeout=2.0))
    assert "sha256 mismatch" in message and "the file was discarded" in message
    assert cache_files(pub.cache) == []
    with serve(pub.export) as (server, url):
        path = pub.download(url, timeout=2.0)
    assert sha256_file(path) == pub.entry.files["onnx"].sha256


@pytest.mark.parametrize(
    "limits, expected",
    [
        ({"timeout": -1}, "timeout must be a number of seconds > 0 and <= 86400. Received: timeout=-1."),
        ({"timeout": 0}, "timeout must be a number of seconds > 0"),
        ({"timeout": float("nan")}, "Received: timeout=nan."),
        ({"timeout": float("inf")}, "Received: timeout=inf."),
        ({"min_rate": -5}, "min_rate must be a number of bytes per second >= 0"),
        ({"deadline": 0}, "deadline must be a number of seconds > 0 and <= 604800"),
        ({"deadline": -3.5}, "Received: deadline=-3.5."),
    ],
)
def test_every_limit_has_a_range(pub, limits, expected):
    with pytest.raises(ZooError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        pub.download("http://127.0.0.1:9", **limits)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        pub.download("http://127.0.0.1:9", timeout="30")
    with pytest.raises(TypeError):
        pub.download("http://127.0.0.1:9", min_rate=True)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--timeout", "-1"], "--timeout must be a number of seconds > 0 and <= 86400. Received: --timeout -1."),
        (["--timeout", "0"], "Received: --timeout 0."),
        (["--timeout", "abc"], "Received: --timeout abc."),
        (["--timeout", "nan"], "Received: --timeout nan."),
        (["--min-rate", "-1"], "--min-rate must be a number of bytes per second >= 0"),
        (["--deadline", "0"], "--deadline must be a number of seconds > 0"),
        (["--deadline", "1e9"], "Received: --deadline 1e9."),
    ],
)
def test_cli_limits_out_of_range_are_one_line(pub, capsys, argv, expected):
    line = one_line_error(capsys, ["download", NAME, "--format", "onnx", *argv])
    assert expected in line, line


# ----------------------------------------------------------------- signals


def start_download(pub, url, *extra):
    env = dict(os.environ, ZOO_CATALOGUE=str(pub.catalogue), ZOO_CACHE=str(pub.cache), ZOO_HUB_URL=url)
    env.pop("ZOO_OFFLINE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "zoo", "download", NAME, "--format", "onnx", "--timeout", "5", "--min-rate", "0", *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores SIGINT
    )


def wait_for_part(pub, process, server):
    """Waits until `process` has its `.part-` file and the server has sent it some bytes."""
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if parts(pub.cache) and server.sent >= 1:
            return parts(pub.cache)
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"no .part file appeared: {process.communicate()}")


@posix_only
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)])
def test_a_signal_during_a_download_leaves_no_part_file_and_the_next_run_works(pub, signum, status):
    with serve(pub.export, "drip", interval=0.2) as (server, url):
        process = start_download(pub, url)
        wait_for_part(pub, process, server)
        process.send_signal(signum)
        out, err = process.communicate(timeout=15)
    assert process.returncode == status, (process.returncode, err)
    assert "Traceback" not in err and out == ""
    if signum == signal.SIGINT:
        assert err.strip() == "zoo: interrupted"
    assert parts(pub.cache) == [] and cache_files(pub.cache) == []
    with serve(pub.export) as (server, url):
        path = pub.download(url, timeout=2.0)
    assert sha256_file(path) == pub.entry.files["onnx"].sha256


@posix_only
def test_a_killed_download_leaves_a_part_that_the_next_run_removes_but_a_live_one_is_kept(pub):
    with serve(pub.export, "drip", interval=0.2) as (drip, drip_url), serve(pub.export) as (_, good_url):
        live = start_download(pub, drip_url)
        try:
            live_part = wait_for_part(pub, live, drip)
            # Another download of the same file finishes while the first still runs: its part is left alone.
            path = pub.download(good_url, timeout=2.0)
            assert sha256_file(path) == pub.entry.files["onnx"].sha256
            assert parts(pub.cache) == live_part and live.poll() is None
        finally:
            live.kill()
            live.communicate(timeout=15)
        assert live.returncode == -signal.SIGKILL
        assert parts(pub.cache) == live_part  # SIGKILL cannot be handled: the part stays ...
        assert pub.download(good_url, timeout=2.0) == path  # ... until the next download of that file
    assert parts(pub.cache) == []
    assert cache_files(pub.cache) == [os.path.relpath(path, pub.cache)]


# ---------------------------------------------------------------- messages


def test_echoed_user_input_is_clipped(pub, capsys, monkeypatch):
    huge = "x" * 60000
    for argv in (["download", huge], ["download", NAME, "--format", huge], ["download", NAME, "--timeout", huge]):
        line = one_line_error(capsys, argv)
        assert len(line) < 400 and "... (60000 characters)" in line, line[:300]
    monkeypatch.setenv("ZOO_HUB_URL", "ftp://" + huge)
    line = one_line_error(capsys, ["download", NAME, "--format", "onnx"])
    assert len(line) < 400 and "Unsupported hub source" in line
    monkeypatch.setenv("ZOO_HUB_URL", "/no/such/" + huge)
    line = one_line_error(capsys, ["download", NAME, "--format", "onnx"])
    assert len(line) < 400 and "Hub source folder does not exist" in line


# ------------------------------------------------------- mistyped catalogue


def bad_catalogue(pub, tmp_path, edit):
    data = json.loads(pub.catalogue.read_text())
    entry = data["models"][NAME]
    edit(entry)
    path = tmp_path / "bad-catalogue.json"
    path.write_text(json.dumps(data))
    return path


def set_field(key, value):
    def edit(entry):
        entry[key] = copy.deepcopy(value)
    return edit


@pytest.mark.parametrize(
    "edit, expected",
    [
        (set_field("latent_dim", "64"), "field 'latent_dim' must be an integer >= 1. Received: latent_dim='64' (str)."),
        (set_field("latent_dim", 0), "field 'latent_dim' must be an integer >= 1. Received: latent_dim=0 (int)."),
        (set_field("files", []), "field 'files' must be an object"),
        (set_field("image_shape", ["a", 28, 1]), "field 'image_shape' must be a list of 3 integers >= 1"),
        (set_field("image_shape", [28, 28]), "field 'image_shape' must be a list of 3 integers >= 1"),
        (set_field("value_range", ["x", 1]), "field 'value_range' must be a list of 2 finite numbers"),
        (set_field("value_range", [1.0, -1.0]), "field 'value_range' must be a list of 2 finite numbers"),
        (set_field("num_classes", "10"), "field 'num_classes' must be an integer >= 1 or null"),
        (set_field("class_names", ["a"]), "field 'class_names' must be null for an unconditional entry"),
        (set_field("parameters", -1), "field 'parameters' must be an integer >= 1"),
        (set_field("metrics", []), "field 'metrics' must be an object"),
        (set_field("test_vectors", {}), "field 'test_vectors' must be a list"),
        (set_field("description", None), "field 'description' must be a string. Received: description=None"),
        (lambda entry: entry.pop("licence"), "field 'licence' must be a string. Received: licence=missing."),
        (lambda entry: entry["files"].update(onnx=[]), "files.onnx: not an object with path, sha256 and size"),
        (lambda entry: entry["files"]["onnx"].update(path="weights.onnx"), "files.onnx: path 'weights.onnx' is not the standard file (generator.onnx)"),
        (lambda entry: entry["files"]["onnx"].update(size="65536"), "files.onnx: bad size '65536'"),
        (lambda entry: entry["files"].update(tflite=entry["files"]["onnx"]), "field 'files' has an unknown format 'tflite'"),
        (lambda entry: entry["test_vectors"][0].update(path="input_0.pb"), "test_vectors[0]: path 'input_0.pb' is not under test_data_set_0/"),
    ],
)
def test_a_mistyped_catalogue_field_is_one_line_naming_entry_and_field(pub, tmp_path, capsys, monkeypatch, edit, expected):
    monkeypatch.setenv("ZOO_CATALOGUE", str(bad_catalogue(pub, tmp_path, edit)))
    with pytest.raises(ZooError) as caught:
        hub.list_pretrained()
    assert f"entry '{NAME}'" in str(caught.value) and expected in str(caught.value), str(caught.value)
    line = one_line_error(capsys, ["download", NAME])
    assert expected in line
