"""The fast lane (`zoo.serving.lane`) answers exactly what the routes answer, and answers the ordinary requests itself.

Two apps over the same generators, one with the lane and one without, get the same requests (good
ones and every kind of bad one, for `/v1/generate` and the v2 infer route) in process; the status,
the headers that matter and the body bytes must be equal.
"""

import json

import numpy as np
import pytest

from test_serving import fixture_models

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    from zoo.serving import OnnxGenerator
    from zoo.serving.app import create_app

    models = fixture_models(tmp_path_factory)

    def build(fast_lane):
        generators = [OnnxGenerator(models["cgan"][0]), OnnxGenerator(models["dcgan"][0], name="walker")]
        return create_app(generators, ort_web=False, fast_lane=fast_lane)

    with TestClient(build(True)) as with_lane, TestClient(build(False)) as without:
        yield with_lane, without


def v2_binary(z, labels=None, extra_bytes=b""):
    tensors = [("z", "FP32", list(z.shape), z.astype("<f4").tobytes())]
    if labels is not None:
        tensors.append(("label", "INT64", [len(labels)], np.asarray(labels, "<i8").tobytes()))
    header = json.dumps({
        "id": "r1",
        "inputs": [{"name": name, "datatype": datatype, "shape": shape, "parameters": {"binary_data_size": len(data)}}
                   for name, datatype, shape, data in tensors],
        "parameters": {"binary_data_output": True},
    }).encode()
    return header + b"".join(data for *_, data in tensors) + extra_bytes, {"Inference-Header-Content-Length": str(len(header))}


def v2_json(z, labels=None, **top):
    inputs = [{"name": "z", "datatype": "FP32", "shape": list(z.shape), "data": z.ravel().tolist()}]
    if labels is not None:
        inputs.append({"name": "label", "datatype": "INT64", "shape": [len(labels)], "data": list(labels)})
    return json.dumps({"inputs": inputs, **top}).encode(), {}


Z1 = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
Z3 = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
JSON = {"Content-Type": "application/json"}

V1_BODIES = [
    {"model": "cgan", "n": 1, "seed": 7, "labels": 3},
    {"model": "cgan", "n": 4, "seed": 8, "labels": [0, 1, 2, 3], "format": "npy"},
    {"model": "cgan", "n": 2, "seed": 9, "format": "json", "truncation": 0.7},
    {"model": "walker", "n": 1, "seed": 1, "format": "png"},
    {"model": "walker", "n": 20, "seed": 2, "format": "npy"},  # bigger than a batch
    {"model": "cgan", "n": 1, "seed": 7, "labels": 10},  # out of range
    {"model": "walker", "n": 1, "seed": 7, "labels": 1},  # unconditional
    {"model": "nope", "n": 1, "seed": 1},
    {"n": 1, "seed": 1},  # two models served: name one
    {"model": "cgan", "n": 0, "seed": 1},
    {"model": "cgan", "n": 1, "seed": "7"},
    {"model": "cgan", "n": 1, "seed": 1, "seeds": 2},
    {"model": "cgan", "n": 1, "seed": 1, "truncation": 1.5},
    {"model": "cgan", "n": 1, "seed": 1, "labels": [1, 2]},
    {"model": "cgan", "n": 1, "seed": 1, "format": "gif"},
    [1, 2],
]
V1_RAW = [b"", b"{", b"null", b'{"model": "cgan", "n": 1, "seed": 1e400}', "{\"model\": \"\u00e9\"}".encode()]

V2_REQUESTS = [
    ("/v2/models/cgan/infer", *v2_binary(Z1, [3])),
    ("/v2/models/cgan/versions/1/infer", *v2_binary(Z3, [0, 5, 9])),
    ("/v2/models/walker/infer", *v2_json(Z3)),
    ("/v2/models/walker/infer", *v2_json(Z1, outputs=[{"name": "image", "parameters": {"binary_data": True}}])),
    ("/v2/models/cgan/infer", *v2_binary(Z1, [10])),  # label out of range
    ("/v2/models/cgan/infer", *v2_binary(Z1)),  # label missing
    ("/v2/models/walker/infer", *v2_binary(Z1, [1])),  # unconditional
    ("/v2/models/cgan/versions/2/infer", *v2_binary(Z1, [3])),
    ("/v2/models/nope/infer", *v2_binary(Z1)),
    ("/v2/models/cgan/infer", *v2_binary(Z1, [3], extra_bytes=b"xx")),
    ("/v2/models/walker/infer", *v2_json(Z1[:, :10])),
    ("/v2/models/walker/infer", *v2_json(np.full((1, 64), np.nan, np.float32))),
    ("/v2/models/walker/infer", b"{not json", {}),
    ("/v2/models/walker/infer", b'{"inputs": []}', {}),
    ("/v2/models/walker/infer", b'{"inputs": [{"name": "z"}]}', {"Inference-Header-Content-Length": "999"}),
]


def same_answer(first, second):
    assert first.status_code == second.status_code, (first.status_code, second.status_code, first.text[:200])
    for header in ("content-type", "content-length", "x-model", "x-seed", "inference-header-content-length"):
        assert first.headers.get(header) == second.headers.get(header), header
    assert first.content == second.content


@pytest.mark.parametrize("body", V1_BODIES, ids=lambda body: json.dumps(body)[:60])
def test_v1_generate_answers_equal_with_and_without_the_lane(apps, body):
    with_lane, without = apps
    same_answer(with_lane.post("/v1/generate", json=body), without.post("/v1/generate", json=body))


@pytest.mark.parametrize("raw", V1_RAW)
def test_v1_raw_bodies_equal_with_and_without_the_lane(apps, raw):
    with_lane, without = apps
    same_answer(with_lane.post("/v1/generate", content=raw, headers=JSON),
                without.post("/v1/generate", content=raw, headers=JSON))


@pytest.mark.parametrize("index", range(len(V2_REQUESTS)))
def test_v2_infer_answers_equal_with_and_without_the_lane(apps, index):
    path, body, headers = V2_REQUESTS[index]
    with_lane, without = apps
    same_answer(with_lane.post(path, content=body, headers=headers), without.post(path, content=body, headers=headers))


def test_the_lane_answers_ordinary_requests_itself(apps, monkeypatch):
    """Were the lane handing everything on, the routes would run: make them fail and ask again."""
    from zoo.serving import lane

    with_lane, _ = apps
    calls = []
    original = lane.InferenceLane.__call__

    async def counting(self, scope, receive, send):
        calls.append(scope["path"])
        return await original(self, scope, receive, send)

    monkeypatch.setattr(lane.InferenceLane, "__call__", counting)
    app = with_lane.app
    routes = [route for route in app.router.routes if getattr(route, "path", "") in
              ("/v1/generate", "/v2/models/{name}/infer")]
    assert len(routes) == 2
    saved = [(route, route.app) for route in routes]

    async def broken(scope, receive, send):
        raise AssertionError("the route ran: the lane handed an ordinary request on")

    try:
        for route in routes:
            route.app = broken
        answer = with_lane.post("/v1/generate", json={"model": "cgan", "n": 1, "seed": 7, "labels": 3})
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        body, headers = v2_binary(Z1, [3])
        answer = with_lane.post("/v2/models/cgan/infer", content=body, headers=headers)
        assert answer.status_code == 200
    finally:
        for route, route_app in saved:
            route.app = route_app
    assert calls == ["/v1/generate", "/v2/models/cgan/infer"]


def test_a_body_in_several_messages_goes_on_to_the_app():
    """Without BodyLimit's one-message replay in front, the lane parses nothing and hands the request on."""
    import asyncio

    from zoo.serving.lane import InferenceLane

    async def not_here(*args):
        raise AssertionError("the lane answered a body it had only part of")

    received = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            received.append(message["body"])
            if not message.get("more_body"):
                return

    messages = [{"type": "http.request", "body": b'{"n": 1, ', "more_body": True},
                {"type": "http.request", "body": b'"seed": 1}', "more_body": False}]

    async def receive():
        return messages.pop(0)

    lane = InferenceLane(app, generate=not_here, infer=not_here)
    scope = {"type": "http", "method": "POST", "path": "/v1/generate", "headers": []}
    asyncio.run(lane(scope, receive, None))
    assert b"".join(received) == b'{"n": 1, "seed": 1}'
