"""Every bad request answered the same way: a 4xx JSON error naming the field.

    {"error": {"status": 422, "field": "n", "loc": ["n"], "type": "less_than_equal",
               "message": "Invalid n: ... Received: n=300. Allowed: an integer in 1..256."}}

`field` is the top-level body field at fault (`"body"` for the body as a whole,
`null` for a wrong route or method); `loc` adds list indices (`["labels", 3]`).
Statuses: 400 malformed JSON (or HTTP), 404 unknown model or route, 405 wrong
method (with an `Allow` header), 408 a request that did not arrive in time, 413
body over the cap, 415 not JSON, 422 a bad field value, 503 a full server, 500
never for user input. Whatever the client sent is echoed cut to ~100 characters.
The body is `schemas.ErrorResponse`, as the OpenAPI document says.
"""

import asyncio
import json

from fastapi.responses import JSONResponse

from zoo.serving.limits import BODY_TIMEOUT, MAX_BODY_BYTES
from zoo.serving.schemas import ALLOWED, FIELDS

ECHO_CHARS = 100
JSON_MEDIA_TYPES = frozenset({b"application/json"})


class RequestError(Exception):
    """A bad request: answered as `{"error": {...}}` with `status`."""

    def __init__(self, status, field, message, type="invalid", loc=None):
        super().__init__(message)
        self.status, self.field, self.message, self.type, self.loc = status, field, message, type, loc


def error_response(status, field, message, type="invalid", loc=None, headers=None):
    loc = loc if loc is not None else ([] if field is None else [field])
    body = {"error": {"status": status, "field": field, "loc": loc, "type": type, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def v2_error_response(status, message, headers=None):
    """An Open Inference Protocol v2 error: `{"error": message}` (`zoo.serving.open_inference`)."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def is_v2(path):
    """Whether `path` is an Open Inference Protocol v2 route (errors as `{"error": message}`)."""
    return path == "/v2" or path.startswith("/v2/")


def clip(text, limit=ECHO_CHARS):
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(value, limit=ECHO_CHARS):
    """`value` as JSON (a number exactly as given, however big), cut to `limit` characters."""
    try:
        text = json.dumps(value, default=str)
    except ValueError:  # an int past Python's 4300-digit str limit
        text = f"<an integer of about {value.bit_length() * 0.30103:.0f} digits>"
    return clip(text, limit)


async def validation_error(request, exc):
    errors = exc.errors() or [{"loc": ("body",), "msg": "Invalid body", "type": "invalid"}]
    first = errors[0]
    # Of the errors about the first bad field, the deepest says most (labels[3], not labels).
    same_field = [error for error in errors if tuple(error.get("loc", ()))[:2] == tuple(first.get("loc", ()))[:2]]
    first = max(same_field, key=lambda error: len(error.get("loc", ())))
    loc = [part for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "JSON decode error")
        return error_response(400, "body", f"The body is not valid JSON: {detail}.", "json_invalid", [])
    field = str(loc[0]) if loc else "body"
    # Union members (labels: int | list) add their type name to the path; keep indices only.
    path = [field] + [part for part in loc[1:] if isinstance(part, int)]
    if first.get("type") == "extra_forbidden":
        allowed = ", ".join(sorted(FIELDS.get(request.url.path, ())))
        field = path[0] = clip(field)
        message = f"Unknown field '{field}'. Received: {field}={short(first.get('input'))}. Allowed fields: {allowed}."
    elif first.get("type") == "missing" and field != "body":
        message = f"Missing field '{field}'. Allowed: {ALLOWED.get(field, 'see /docs')}."
    elif first.get("type") == "missing":
        message = "The body is empty. Allowed: a JSON object, e.g. {\"n\": 16, \"seed\": 0}."
    else:
        received = first.get("input")
        where = field + "".join(f"[{index}]" for index in path[1:])
        message = (
            f"Invalid {where}: {first.get('msg', 'bad value')}. Received: {where}={short(received)}. "
            f"Allowed: {ALLOWED.get(field, 'see /docs')}."
        )
    return error_response(422, field, message, first.get("type", "invalid"), path)


async def request_error(request, exc):
    return error_response(exc.status, exc.field, exc.message, exc.type, exc.loc)


def allowed_methods(request, exc):
    """The methods of every route on the request's path (the `Allow` of a 405)."""
    path = request.scope["path"]
    methods = set()
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    if not methods:  # e.g. StaticFiles, which names them itself
        methods = {part.strip() for part in (exc.headers or {}).get("Allow", "").split(",") if part.strip()}
    return ", ".join(sorted(methods))


def _unparsable(cause):
    """Why `json.loads` failed, other than a syntax error (FastAPI's generic 400)."""
    if isinstance(cause, RecursionError):
        return "it nests too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "it has an integer of more than 4300 digits"
    if isinstance(cause, UnicodeDecodeError):
        return "it is not UTF-8"
    return f"{type(cause).__name__}" if cause is not None else "it cannot be parsed"


async def http_error(request, exc):
    where = f"{request.method} {clip(request.url.path)}"
    if is_v2(request.url.path):
        headers = {"Allow": allowed_methods(request, exc)} if exc.status_code == 405 else None
        reason = "No such endpoint" if exc.status_code == 404 else clip(str(exc.detail))
        return v2_error_response(exc.status_code, f"{reason}. Received: {where}.", headers)
    if exc.status_code == 405:
        allow = allowed_methods(request, exc)
        return error_response(
            405, None, f"Method not allowed. Received: {where}. Allowed: {allow}.", "method_not_allowed",
            headers={"Allow": allow},
        )
    if exc.status_code == 404:
        return error_response(404, None, f"No such endpoint. Received: {where}. See /docs.", "not_found")
    if exc.status_code == 400:  # FastAPI could not parse the body
        return error_response(
            400, "body", f"The body is not valid JSON: {_unparsable(exc.__cause__)}. Allowed: a JSON object.",
            "json_invalid", [],
        )
    return error_response(exc.status_code, None, clip(str(exc.detail)), "http", headers=exc.headers)


async def internal_error(request, exc):
    if is_v2(request.url.path):
        return v2_error_response(500, f"Internal error ({type(exc).__name__}).")
    return error_response(500, None, f"Internal error ({type(exc).__name__}).", "internal")


async def _receive_by(receive, deadline):
    """`await receive()`, or `asyncio.TimeoutError` at the loop time `deadline`."""
    if hasattr(asyncio, "timeout_at"):  # Python 3.11+: no extra task
        async with asyncio.timeout_at(deadline):
            return await receive()
    return await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())


class BodyLimit:
    """ASGI middleware: POST bodies must be JSON (415), at most `max_bytes` long (413),
    and complete within `timeout` seconds (408, then the connection is closed).

    `paths`: the routes that take a body (others pass through, to their 404 or
    405). Defaults to every path. Open Inference Protocol v2 routes (`is_v2`)
    are limited alike but take any Content-Type, as Triton does (`tritonclient`
    sends none, `curl -d` a form type), and get `{"error": message}` errors.
    """

    def __init__(self, app, max_bytes=MAX_BODY_BYTES, timeout=BODY_TIMEOUT, paths=None):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.paths = None if paths is None else frozenset(paths)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        v2 = is_v2(scope["path"])
        if not v2 and self.paths is not None and scope["path"] not in self.paths:
            return await self.app(scope, receive, send)

        def error(status, message, type, headers=None):
            if v2:
                return v2_error_response(status, message, headers)
            return error_response(status, "body", message, type, headers=headers)

        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if not v2 and content_type not in JSON_MEDIA_TYPES:
            received = clip(content_type.decode("latin-1")) or "none"
            return await error(
                415, f"The body must be JSON. Received: Content-Type={received}. Allowed: application/json.",
                "unsupported_media_type",
            )(scope, receive, send)

        def too_large():
            return error(413, f"The body is too large. Allowed: at most {self.max_bytes} bytes.", "body_too_large")

        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > self.max_bytes:
            return await too_large()(scope, receive, send)
        chunks, size = [], 0
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                message = await _receive_by(receive, deadline)
            except asyncio.TimeoutError:
                return await error(
                    408, f"The request body did not arrive within {self.timeout:g} s of its headers. "
                    f"Received: {size} of {declared or 'unknown'} bytes.", "request_timeout",
                    headers={"Connection": "close"},
                )(scope, receive, send)
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await too_large()(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await self.app(scope, replay(whole, receive), send)


def replay(message, receive):
    """An ASGI `receive` that gives `message` first, then whatever `receive` gives."""
    replayed = False

    async def replaying():
        nonlocal replayed
        if not replayed:
            replayed = True
            return message
        return await receive()

    return replaying
