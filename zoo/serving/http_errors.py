"""Every bad request answered the same way: a 4xx JSON error naming the field.

    {"error": {"status": 422, "field": "n", "loc": ["n"], "type": "less_than_equal",
               "message": "Invalid n: ... Received: n=300. Allowed: an integer in 1..256."}}

`field` is the top-level body field at fault (`"body"` for the body as a whole,
`null` for a wrong route or method); `loc` adds list indices (`["labels", 3]`).
Statuses: 400 malformed JSON, 404 unknown model or route, 405 wrong method,
413 body over the cap, 415 not JSON, 422 a bad field value, 500 never for user
input.
"""

import json

from fastapi.responses import JSONResponse

from zoo.serving.schemas import ALLOWED, FIELDS

MAX_BODY_BYTES = 64 * 1024


class RequestError(Exception):
    """A bad request: answered as `{"error": {...}}` with `status`."""

    def __init__(self, status, field, message, type="invalid"):
        super().__init__(message)
        self.status, self.field, self.message, self.type = status, field, message, type


def error_response(status, field, message, type="invalid", loc=None):
    loc = loc if loc is not None else ([] if field is None else [field])
    body = {"error": {"status": status, "field": field, "loc": loc, "type": type, "message": message}}
    return JSONResponse(body, status_code=status)


def short(value):
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


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
    return error_response(exc.status, exc.field, exc.message, exc.type)


async def http_error(request, exc):
    messages = {404: f"No such endpoint. Received: {request.method} {request.url.path}. See /docs.",
                405: f"Method not allowed. Received: {request.method} {request.url.path}. See /docs."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, None, message, "http")


async def internal_error(request, exc):
    return error_response(500, None, f"Internal error ({type(exc).__name__}).", "internal")


class BodyLimit:
    """ASGI middleware: POST bodies must be JSON and at most `max_bytes` long (413)."""

    def __init__(self, app, max_bytes=MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            received = content_type.decode("latin-1") or "none"
            return await error_response(
                415, "body", f"The body must be JSON. Received: Content-Type={received}. "
                "Allowed: application/json.", "unsupported_media_type",
            )(scope, receive, send)
        too_large = error_response(
            413, "body", f"The body is too large. Allowed: at most {self.max_bytes} bytes.", "body_too_large"
        )
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > self.max_bytes:
            return await too_large(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await too_large(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
