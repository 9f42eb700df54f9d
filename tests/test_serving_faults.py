"""Faults of `zoo serve`, over real sockets on 127.0.0.1 to the real server process.

- Slow clients (nothing sent, headers byte by byte, headers and one body byte)
  are closed within their deadlines, and never lock a normal client out, even
  past the connection cap; a server whose every connection is busy answers a
  JSON 503.
- The OpenAPI document lists, per route, the error statuses the server really
  answers to crafted bad requests, with the schema of the real error bodies;
  a 405 carries `Allow` with the path's documented methods.
- Messages report what was sent (huge integers as given), cut to ~100 characters.

The servers run with short deadlines (`--header-timeout 1.5`...) to keep this fast.
"""

import json
import re
import selectors
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

from cli_helpers import one_line_error
from test_serving import fixture_models
from test_serving_http import Server

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5
MAX_CONNECTIONS = 128
BODY_GRACE = 1.0  # zoo.serving.limits.BODY_GRACE: the protocol's backstop after the app's 408
LIMIT_ARGS = ["--header-timeout", HEADER_TIMEOUT, "--body-timeout", BODY_TIMEOUT, "--keep-alive", 2,
              "--max-connections", MAX_CONNECTIONS, "--max-body-bytes", 8192]


def _stop(server):
    server.stop()
    errors = server.process.stderr.read()
    assert "Traceback" not in errors, errors


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    models = fixture_models(tmp_path_factory)
    server = Server([models["cgan"][0], f"walker={models['dcgan'][0]}", *LIMIT_ARGS])
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def spec(server):
    status, _, body = server.request("GET", "/openapi.json")
    assert status == 200
    return json.loads(body)


# ------------------------------------------------------------------ the documented error schema
def _resolve(schema, spec):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _check(value, schema, spec, where="body"):
    """A JSON Schema check of the subset pydantic writes (type, required, properties, items, anyOf)."""
    schema = _resolve(schema, spec)
    if "anyOf" in schema:
        failures = []
        for option in schema["anyOf"]:
            try:
                return _check(value, option, spec, where)
            except AssertionError as failure:
                failures.append(str(failure))
        raise AssertionError(f"{where}: {value!r} matches no anyOf option: {failures}")
    kinds = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool}
    kind = schema.get("type")
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an integer"
    elif kind is not None:
        assert isinstance(value, kinds[kind]), f"{where}: {value!r} is not {kind}"
    if kind == "object":
        for name in schema.get("required", ()):
            assert name in value, f"{where}: missing {name}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _check(value[name], sub, spec, f"{where}.{name}")
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], spec, f"{where}[{index}]")


def validate(body, schema, spec):
    """`body` against `schema` of `spec`: with `jsonschema` when installed, else `_check`."""
    try:
        import jsonschema
    except ImportError:
        return _check(body, schema, spec)
    jsonschema.validate(body, {**_resolve(schema, spec), "components": spec["components"]})


def documented(spec, method, path):
    """`(responses of the operation or None, the path item)` for a concrete `path`."""
    for template, item in spec["paths"].items():
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path):
            return item.get(method.lower()), item
    raise AssertionError(f"{path} is not in the OpenAPI document")


def check_error(spec, method, path, status, headers, payload, expected):
    """The answer is `expected`, documented for the route, with the documented body."""
    assert status == expected, payload[:300]
    assert headers["content-type"] == "application/json"
    operation, item = documented(spec, method, path)
    body = json.loads(payload)
    assert body["error"]["status"] == status and "\n" not in body["error"]["message"]
    if operation is None:  # a method the path does not take
        assert status == 405
        assert set(headers["allow"].split(", ")) == {name.upper() for name in item}
        responses = next(iter(item.values()))["responses"]
        response = responses["default"]
    else:
        response = operation["responses"][str(status)]
    validate(body, response["content"]["application/json"]["schema"], spec)
    return body["error"]


def test_every_route_documents_its_errors_with_the_real_schema(spec):
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 body, which the server never sends
    assert {"status", "field", "loc", "type", "message"} <= set(schemas["ErrorDetail"]["required"])
    expected = {
        ("get", "/health"): {"408", "503"},
        ("get", "/v1/models"): {"408", "503"},
        ("get", "/v1/models/{name}"): {"404", "408", "503"},
        ("get", "/v1/models/{name}/generator.onnx"): {"404", "408", "503"},
        ("head", "/v1/models/{name}/generator.onnx"): {"404", "408", "503"},
        ("post", "/v1/generate"): {"400", "404", "408", "413", "415", "422", "503"},
        ("post", "/v1/interpolate"): {"400", "404", "408", "413", "415", "422", "503"},
    }
    seen = {(method, path): operation for path, item in spec["paths"].items() for method, operation in item.items()}
    assert set(seen) == set(expected)
    for key, operation in seen.items():
        errors = {code for code in operation["responses"] if code != "200"}
        assert errors == expected[key] | {"default"}, key
        for code in errors:
            schema = operation["responses"][code]["content"]["application/json"]["schema"]
            assert _resolve(schema, spec) is schemas["ErrorResponse"], (key, code)
    description = spec["info"]["description"]
    assert f"within {HEADER_TIMEOUT:g} s" in description and f"at most {MAX_CONNECTIONS} connections" in description
    assert "Allow" in description and "at most 8192 bytes" in description


GOOD = {"model": "cgan", "n": 1, "seed": 0, "labels": 1}
CRAFTED = [
    # method, path, body (dict: JSON; bytes: as is), content type, status
    ("DELETE", "/health", None, None, 405),
    ("POST", "/v1/models", b"{}", "application/json", 405),
    ("PUT", "/v1/models/cgan", None, None, 405),
    ("POST", "/v1/models/cgan/generator.onnx", b"{}", "application/json", 405),
    ("GET", "/v1/generate", None, None, 405),
    ("PATCH", "/v1/interpolate", b"{}", "application/json", 405),
    ("GET", "/v1/models/nope", None, None, 404),
    ("GET", "/v1/models/nope/generator.onnx", None, None, 404),
    ("POST", "/v1/generate", b'{"model": "cgan",', "application/json", 400),
    ("POST", "/v1/generate", b"{" * 3000, "application/json", 400),
    ("POST", "/v1/generate", GOOD, "text/plain", 415),
    ("POST", "/v1/interpolate", GOOD, "application/x-www-form-urlencoded", 415),
    ("POST", "/v1/generate", {**GOOD, "labels": [1] * 3000}, "application/json", 413),
    ("POST", "/v1/interpolate", {"labels": [1] * 3000}, "application/json", 413),
    ("POST", "/v1/generate", {**GOOD, "model": "nope"}, "application/json", 404),
    ("POST", "/v1/interpolate", {"model": "nope", "seed_a": 1, "seed_b": 2}, "application/json", 404),
    ("POST", "/v1/generate", {**GOOD, "n": 0}, "application/json", 422),
    ("POST", "/v1/interpolate", {"model": "cgan", "seed_a": 1}, "application/json", 422),
]


@pytest.mark.parametrize("method, path, body, content_type, status", CRAFTED,
                         ids=[f"{m} {p} {s}" for m, p, _, _, s in CRAFTED])
def test_crafted_bad_requests_get_documented_answers(server, spec, method, path, body, content_type, status):
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"Content-Type": content_type} if content_type else {}
    got, answer_headers, payload = server.request(method, path, data=data, headers=headers)
    check_error(spec, method, path, got, answer_headers, payload, status)


def test_head_of_an_unknown_model_file_is_a_bodiless_404(server):
    status, headers, payload = server.request("HEAD", "/v1/models/nope/generator.onnx")
    assert (status, payload) == (404, b"") and headers["content-type"] == "application/json"


def test_schemathesis_finds_no_disagreement_with_the_document(server, tmp_path):
    """Property-based requests from the document itself (when schemathesis is installed)."""
    pytest.importorskip("schemathesis")
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
               "--checks", "all", "--max-examples", "12", "--seed", "0", "--no-color",
               "--exclude-checks", "positive_data_acceptance", "--request-timeout", "10"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


# ------------------------------------------------------------------ messages
HUGE = 2**64 - 1
MESSAGES = [
    # body, status, field, text the message must hold
    ({"model": "cgan", "labels": HUGE}, 422, "labels", f"labels={HUGE}."),
    ({"model": "cgan", "n": 2, "labels": [1, HUGE]}, 422, "labels", f"labels[1]={HUGE}."),
    ({"model": "cgan", "n": 2, "labels": [1, -HUGE]}, 422, "labels", f"labels[1]=-{HUGE}."),
    ({"model": "cgan", "n": 3, "labels": [1, 2]}, 422, "labels", "Received: 2 labels"),
    ({"model": "cgan", "n": 1, "labels": [1, 2]}, 422, "labels", "Received: 2 labels"),
    ({"model": "cgan", "seed": 2**63}, 422, "seed", f"seed={2**63}."),
    ({"model": "cgan", "seed": HUGE * 10**20}, 422, "seed", f"seed={HUGE * 10**20}."),
    ({"model": "cgan", "seed": -(2**63) - 1}, 422, "seed", f"seed={-(2**63) - 1}."),
    ({"model": "cgan", "n": 0}, 422, "n", "n=0."),
    ({"model": "cgan", "n": 10**30}, 422, "n", f"n={10**30}."),
    ({"model": "cgan", "n": -(10**30)}, 422, "n", f"n={-(10**30)}."),
    ({"model": "cgan", "seed_a": 1, "seed_b": 2, "steps": 3, "labels": [1]}, 422, "labels", "one per frame (3)"),
    ({"model": "a" * 3000}, 404, "model", "..."),
    ({"model": "cgan", "b" * 3000: 1}, 422, "b" * 97 + "...", "..."),
    ({"model": "cgan", "format": "f" * 3000}, 422, "format", "..."),
]


@pytest.mark.parametrize("body, status, field, text", MESSAGES, ids=[json.dumps(m[0])[:50] for m in MESSAGES])
def test_messages_report_what_was_sent_cut_short(server, spec, body, status, field, text):
    path = "/v1/interpolate" if "seed_a" in body else "/v1/generate"
    got, headers, payload = server.post(path, body)
    error = check_error(spec, "POST", path, got, headers, payload, status)
    assert error["field"] == field and text in error["message"], error
    assert len(error["message"]) <= 300 and len(payload) <= 700


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 5000])
@pytest.mark.parametrize("field", ["n", "seed", "labels"])
def test_non_finite_and_huge_numbers_get_a_4xx(server, spec, literal, field):
    data = f'{{"model": "cgan", "{field}": {literal}}}'.encode()
    got, headers, payload = server.request("POST", "/v1/generate", data=data,
                                           headers={"Content-Type": "application/json"})
    assert got in (400, 422), payload
    error = check_error(spec, "POST", "/v1/generate", got, headers, payload, got)
    assert error["field"] == (field if got == 422 else "body"), error


# ------------------------------------------------------------------ slow clients
SLOW_KINDS = {
    "silent": b"",
    "headers": b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl",
    "body": b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{",
    "get-body": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{",
}


def _open_slow(port, count):
    connections = []
    for index in range(count):
        kind = list(SLOW_KINDS)[index % len(SLOW_KINDS)]
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(SLOW_KINDS[kind])
        sock.setblocking(False)
        connections.append({"sock": sock, "kind": kind, "opened": time.monotonic(), "data": b"", "closed": None})
    return connections


def _drain(connections, seconds):
    """Reads every connection until the server closes it or `seconds` pass; records when."""
    selector = selectors.DefaultSelector()
    for connection in connections:
        selector.register(connection["sock"], selectors.EVENT_READ, connection)
    deadline = time.monotonic() + seconds
    open_count = len(connections)
    while open_count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.1):
            connection = key.data
            try:
                chunk = connection["sock"].recv(65536)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                connection["data"] += chunk
                continue
            connection["closed"] = time.monotonic()
            selector.unregister(connection["sock"])
            open_count -= 1
    selector.close()
    for connection in connections:
        connection["sock"].close()


def _answer(data):
    """`(status, json body)` of a raw HTTP response, or `(None, None)` for none."""
    if not data:
        return None, None
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_slow_clients_are_closed_in_time_and_do_not_lock_others_out(server, spec):
    """Twice the connection cap of slow clients: normal requests still get 200 at once."""
    connections = _open_slow(server.port, 2 * MAX_CONNECTIONS + 44)
    for _ in range(3):
        started = time.monotonic()
        assert server.request("GET", "/health")[0] == 200
        status, headers, _ = server.post("/v1/generate", {"model": "cgan", "n": 4, "seed": 1, "labels": 2})
        assert status == 200 and headers["content-type"] == "image/png"
        assert time.monotonic() - started < 1.0  # at once, not when the slow ones time out
    _drain(connections, HEADER_TIMEOUT + BODY_TIMEOUT + BODY_GRACE + 3)
    late = max(HEADER_TIMEOUT, BODY_TIMEOUT + BODY_GRACE) + 1.0
    schema = spec["paths"]["/v1/generate"]["post"]["responses"]["408"]["content"]["application/json"]["schema"]
    for connection in connections:
        assert connection["closed"] is not None, connection["kind"]
        assert connection["closed"] - connection["opened"] <= late, connection["kind"]
        status, body = _answer(connection["data"])
        if connection["kind"] == "silent":
            assert status is None  # nothing asked, nothing answered
        elif connection["kind"] == "get-body":
            assert status in (200, 408), connection["data"][:200]  # answered, then closed for its body
        else:
            assert status == 408, connection["data"][:200]
            validate(body, schema, spec)
    assert server.request("GET", "/health")[0] == 200


def test_slow_clients_under_the_cap_time_out_at_their_deadlines(server):
    connections = _open_slow(server.port, 40)
    _drain(connections, HEADER_TIMEOUT + BODY_TIMEOUT + BODY_GRACE + 3)
    for connection in connections:
        waited = connection["closed"] - connection["opened"]
        status, body = _answer(connection["data"])
        if connection["kind"] in ("silent", "headers"):
            assert HEADER_TIMEOUT - 0.1 <= waited <= HEADER_TIMEOUT + 1, connection["kind"]
        elif connection["kind"] == "body":
            assert BODY_TIMEOUT - 0.1 <= waited <= BODY_TIMEOUT + 1
            assert status == 408 and body["error"]["field"] == "body" and "1 of 100 bytes" in body["error"]["message"]
        else:  # answered at once; closed when its body did not follow
            assert status == 200 and waited <= BODY_TIMEOUT + BODY_GRACE + 1


def test_a_server_whose_connections_are_all_busy_answers_a_json_503(tmp_path_factory):
    models = fixture_models(tmp_path_factory)
    server = Server([models["cgan"][0], "--max-connections", 1])
    busy = socket.socket()
    try:
        # Big answers pipelined on a connection that reads none: it stays busy answering.
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        busy.connect(("127.0.0.1", server.port))
        body = json.dumps({"n": 256, "seed": 0, "format": "json"}).encode()
        request = (b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        busy.sendall(request * 16)  # ~19 MB of answers: more than the socket buffers hold
        time.sleep(0.5)
        status, headers, payload = server.request("GET", "/health")
        assert status == 503 and headers["content-type"] == "application/json"
        error = json.loads(payload)["error"]
        assert error["type"] == "server_full" and headers["connection"] == "close"
    finally:
        busy.close()
        deadline = time.monotonic() + 10
        while server.request("GET", "/health")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _stop(server)


def test_keep_alive_requests_still_work_with_deadlines(server):
    """Several requests on one connection, each well within its deadline."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with sock:
        for _ in range(3):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while b'"batched_requests"' not in data:
                data += sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200 ")
            time.sleep(0.5)


# ------------------------------------------------------------------ the options
@pytest.mark.parametrize(
    "option, value",
    [("--header-timeout", "0"), ("--header-timeout", "nan"), ("--body-timeout", "-1"),
     ("--body-timeout", "4000"), ("--keep-alive", "inf"), ("--max-connections", "0"),
     ("--max-connections", "2000000"), ("--max-body-bytes", "0")],
)
def test_limit_options_out_of_range_are_one_line_errors(capsys, option, value):
    line = one_line_error(capsys, ["serve", "any-model", option, value])
    assert f"Received: {option} {value}" in line and "Allowed:" in line


def test_limits_are_documented_in_help(capsys):
    from zoo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--header-timeout", "--body-timeout", "--keep-alive", "--max-connections", "--max-body-bytes"):
        assert option in text
    assert "408" in text and "503" in text and "at most 1024 connections" in text


def test_server_limits_check_their_ranges():
    from zoo.serving.limits import ServerLimits

    assert ServerLimits().header_timeout == 10
    for bad in ({"header_timeout": 0}, {"body_timeout": float("nan")}, {"max_connections": 1.5},
                {"max_connections": True}, {"keep_alive": "5"}):
        with pytest.raises(ValueError, match=f"Received: {next(iter(bad))}="):
            ServerLimits(**bad)


def test_urls_in_messages_are_cut(server, spec):
    path = "/v1/" + "z" * 5000
    got, headers, payload = server.request("GET", urllib.parse.quote(path))
    assert got == 404 and len(payload) < 500
