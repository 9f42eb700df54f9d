"""The Open Inference Protocol v2 routes of `zoo serve`, through the real `tritonclient`, and `--workers N`.

The server is `python -m zoo serve` on 127.0.0.1 (see `test_serving_http.Server`); the expected images
are `OnnxGenerator`'s in this process for the same `z`.
"""

import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from test_serving import fixture_models
from test_serving_http import Server

pytest.importorskip("fastapi")
triton = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return fixture_models(tmp_path_factory)


@pytest.fixture(scope="module")
def server(models):
    server = Server([models["cgan"][0], f"walker={models['dcgan'][0]}"])  # the default limits
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    return triton.InferenceServerClient(f"127.0.0.1:{server.port}")


@pytest.fixture(scope="module")
def local(models):
    from zoo.serving import OnnxGenerator

    return {"cgan": OnnxGenerator(models["cgan"][0]), "walker": OnnxGenerator(models["dcgan"][0])}


def tensor(name, array, datatype, binary=False):
    value = triton.InferInput(name, list(array.shape), datatype)
    value.set_data_from_numpy(array, binary_data=binary)
    return value


def latents(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 64)).astype(np.float32)


def binary_body(size):
    """A body with a binary `z` [1, 64] whose header says `binary_data_size: size`."""
    header = json.dumps({"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32",
                                     "parameters": {"binary_data_size": size}}]}).encode()
    return header + bytes(256), {"Inference-Header-Content-Length": str(len(header))}


def error_of(status, body):
    """The message of a v2 error body (asserting its shape)."""
    assert status >= 400, status
    payload = json.loads(body)
    assert set(payload) == {"error"} and isinstance(payload["error"], str) and payload["error"], payload
    return payload["error"]


def test_health_server_and_model_metadata(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("cgan") and client.is_model_ready("walker")
    assert not client.is_model_ready("nope")
    server = client.get_server_metadata()
    assert server["name"] == "keras-gan-zoo" and "binary_tensor_data" in server["extensions"]
    cgan = client.get_model_metadata("cgan")
    assert cgan["name"] == "cgan" and cgan["versions"] == ["1"]
    assert cgan["inputs"] == [{"name": "z", "datatype": "FP32", "shape": [-1, 64]},
                              {"name": "label", "datatype": "INT64", "shape": [-1]}]
    assert cgan["outputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 28, 28, 1]}]
    assert [port["name"] for port in client.get_model_metadata("walker")["inputs"]] == ["z"]
    with pytest.raises(InferenceServerException, match="Unknown model"):
        client.get_model_metadata("nope")


@pytest.mark.parametrize("binary", [False, True])
def test_infer_unconditional_equals_the_runtime(client, local, binary):
    z = latents(3)
    output = triton.InferRequestedOutput("image", binary_data=binary)
    result = client.infer("walker", [tensor("z", z, "FP32", binary)], outputs=[output], request_id="r1")
    images = result.as_numpy("image")
    assert images.dtype == np.float32 and images.shape == (3, 28, 28, 1)
    np.testing.assert_allclose(images, local["walker"].run(z), atol=1e-6, rtol=0)
    assert result.get_response()["id"] == "r1"


def test_the_largest_request_fits_the_default_body_limit_as_json(client, local):
    """256 latents and labels as JSON text (~350 KB, tritonclient's binary_data=False) are within the default cap."""
    z, labels = latents(256, seed=3), np.arange(256, dtype=np.int64) % 10
    result = client.infer("cgan", [tensor("z", z, "FP32"), tensor("label", labels, "INT64")],
                          outputs=[triton.InferRequestedOutput("image", binary_data=True)])
    np.testing.assert_allclose(result.as_numpy("image"), local["cgan"].run(z, labels), atol=1e-6, rtol=0)


def test_infer_conditional_equals_the_runtime_with_tritonclient_defaults(client, local):
    z, labels = latents(4, seed=1), np.array([0, 3, 9, 3], np.int64)
    # tritonclient's defaults: binary inputs, binary outputs (binary_data_output).
    result = client.infer("cgan", [tensor("z", z, "FP32", True), tensor("label", labels, "INT64", True)])
    np.testing.assert_allclose(result.as_numpy("image"), local["cgan"].run(z, labels), atol=1e-6, rtol=0)
    json_result = client.infer("cgan", [tensor("z", z, "FP32"), tensor("label", labels, "INT64")],
                               outputs=[triton.InferRequestedOutput("image", binary_data=False)])
    np.testing.assert_array_equal(json_result.as_numpy("image"), result.as_numpy("image"))


def test_a_versioned_path_and_nested_json_data(server, local):
    z = latents(2, seed=2)
    body = {"inputs": [{"name": "z", "shape": [2, 64], "datatype": "FP32", "data": z.tolist()}]}
    status, headers, data = server.request("POST", "/v2/models/walker/versions/1/infer", data=json.dumps(body).encode())
    assert status == 200 and headers["content-type"] == "application/json"
    output = json.loads(data)["outputs"][0]
    assert output["shape"] == [2, 28, 28, 1] and output["datatype"] == "FP32"
    images = np.asarray(output["data"], np.float32).reshape(output["shape"])
    np.testing.assert_allclose(images, local["walker"].run(z), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "model, inputs, status, words",
    [
        ("walker", [("z", latents(1), "FP32"), ("label", np.array([1]), "INT64")], 400, "unconditional"),
        ("cgan", [("z", latents(1), "FP32")], 400, "Missing input 'label'"),
        ("cgan", [("z", latents(1), "FP32"), ("label", np.array([10]), "INT64")], 400, "out of range"),
        ("cgan", [("z", latents(2), "FP32"), ("label", np.array([1]), "INT64")], 400, "shape of input 'label'"),
        ("walker", [("z", np.zeros((1, 63), np.float32), "FP32")], 400, "shape of input 'z'"),
        ("walker", [("z", np.zeros((300, 64), np.float32), "FP32")], 400, "n in 1..256"),
        ("walker", [("z", np.zeros((1, 64), np.float64), "FP64")], 400, "datatype of input 'z'"),
        ("cgan", [("z", latents(1), "FP32"), ("label", np.array([1], np.int32), "INT32")], 400, "datatype"),
        ("walker", [("z", np.full((1, 64), np.inf, np.float32), "FP32")], 400, "infinite"),
        ("nope", [("z", latents(1), "FP32")], 404, "Unknown model"),
    ],
)
def test_bad_tensors_get_a_4xx_error_through_tritonclient(client, model, inputs, status, words):
    for binary in (False, True):
        tensors = [tensor(name, array, datatype, binary) for name, array, datatype in inputs]
        with pytest.raises(InferenceServerException) as raised:
            client.infer(model, tensors)
        assert raised.value.status() == str(status) and words in raised.value.message(), raised.value


@pytest.mark.parametrize(
    "data, headers, status, words",
    [
        (b"{not json", {}, 400, "not valid JSON"),
        (b"[1, 2]", {}, 400, "JSON object"),
        (b"{}", {}, 400, "'inputs'"),
        (json.dumps({"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32",
                                 "data": ["0.5"] * 64}]}).encode(), {}, 400, "Allowed: numbers"),
        (json.dumps({"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32",
                                 "data": [True] * 64}]}).encode(), {}, 400, "Allowed: numbers"),
        (json.dumps({"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32",
                                 "data": [0.0] * 63}]}).encode(), {}, 400, "63 values"),
        (json.dumps({"inputs": [{"name": "z", "shape": [1, "64"], "datatype": "FP32",
                                 "data": [0.0] * 64}]}).encode(), {}, 400, "shape of input 'z'"),
        (b'{"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32", "data": [1' + b"0" * 5000 + b"]}]}",
         {}, 400, "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "not valid JSON"),
        (json.dumps({"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32",
                                 "parameters": {"binary_data_size": 256}}]}).encode(), {}, 400, "binary_data_size"),
        (b"{}", {"Inference-Header-Content-Length": "99"}, 400, "Inference-Header-Content-Length"),
        (*binary_body(256.0), 400, "binary_data_size"),
        (*binary_body(252), 400, "binary_data_size"),
        (binary_body(256)[0] + b"xx", binary_body(256)[1], 400, "bytes after"),
        (json.dumps({"inputs": [{"name": "z", "shape": [1, 64], "datatype": "FP32", "data": [0.0] * 64}],
                     "outputs": [{"name": "logits"}]}).encode(), {}, 400, "Unknown output"),
        (b"{}", {"Content-Type": "text/plain"}, 400, "'inputs'"),  # any Content-Type, as in Triton
        (b"{}", {"Content-Encoding": "gzip"}, 415, "Compressed"),
        (b" " * 1_100_000, {}, 413, "too large"),  # over the default 1 MiB
    ],
)
def test_bad_bodies_get_a_4xx_error_json(server, data, headers, status, words):
    got, response_headers, body = server.request("POST", "/v2/models/walker/infer", data=data, headers=headers)
    assert got == status and response_headers["content-type"] == "application/json"
    assert words in error_of(got, body)


def test_unknown_v2_routes_and_methods_answer_v2_errors(server):
    status, _, body = server.request("GET", "/v2/models/walker/versions/2")
    assert status == 404 and "Unknown version" in error_of(status, body)
    status, _, body = server.request("GET", "/v2/nothing")
    assert status == 404 and "No such endpoint" in error_of(status, body)
    status, headers, body = server.request("GET", "/v2/models/walker/infer")
    assert status == 405 and "POST" in headers["allow"] and error_of(status, body)


def test_workers_2_runs_two_processes_on_one_port(models):
    server = Server([f"walker={models['dcgan'][0]}", "--workers", "2"])
    try:
        pids = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            status, headers, body = server.request("GET", "/health")
            assert status == 200
            pids.add(json.loads(body)["pid"])
        assert len(pids) == 2 and server.process.pid not in pids
        client = triton.InferenceServerClient(f"127.0.0.1:{server.port}")
        assert client.is_server_ready()
    finally:
        server.stop()
    assert server.process.returncode is not None
    for pid in pids:  # the workers end with the supervisor
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("value", ["0", "-1"])
def test_bad_workers_is_a_one_line_exit_2_error(models, value):
    command = [sys.executable, "-m", "zoo", "serve", str(models["dcgan"][0]), "--port", "0", "--workers", value]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(r"--workers .*positive.*Received: --workers " + value, result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
