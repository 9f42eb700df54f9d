"""The fast lane: the generating routes' ordinary requests, answered without routing.

A busy server's requests are nearly all `POST /v1/generate` and
`POST /v2/models/{name}[/versions/{version}]/infer`, and for a small image most
of their cost is the framework around the handler: route matching, exception
middleware, dependency solving, body re-parsing. `InferenceLane` is an ASGI
middleware that sits inside `BodyLimit` (so the body's size, type and deadline
are already checked and the whole body is at hand) and runs those two routes'
handlers itself (the same functions the routes run, `routes.make_generate` and
`open_inference.make_infer`).

Only requests that succeed are answered here. Anything else (a body that does
not validate, an unknown model, a bad label, any other route) is handed on to
the app unchanged, which answers it as it always has, with its usual error; so
errors, the OpenAPI document and every other route are the app's own.

Example:

>>> app.add_middleware(InferenceLane, generate=generate, infer=infer)
"""

import json
import re

from starlette.datastructures import Headers

from zoo.serving.http_errors import RequestError, replay
from zoo.serving.schemas import GenerateRequest

_INFER_PATH = re.compile(r"/v2/models/([^/]+)(?:/versions/([^/]+))?/infer")


class InferenceLane:
    """ASGI middleware answering the ordinary `/v1/generate` and v2 infer requests directly.

    Args:
        app: the ASGI app everything else goes to.
        generate: `generate(GenerateRequest)` -> `Response` (`routes.make_generate`).
        infer: `infer(name, version, body, headers)` -> `Response` (`open_inference.make_infer`).
    """

    def __init__(self, app, generate, infer):
        self.app, self.generate, self.infer = app, generate, infer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path = scope["path"]
        match = None if path == "/v1/generate" else _INFER_PATH.fullmatch(path)
        if match is None and path != "/v1/generate":
            return await self.app(scope, receive, send)
        message = await receive()  # BodyLimit's replay: the whole body, in one message
        if message["type"] != "http.request" or message.get("more_body"):
            return await self.app(scope, replay(message, receive), send)
        body = message.get("body", b"")
        response = await (self._generate(body) if match is None else self._infer(scope, match, body))
        if response is None:
            return await self.app(scope, replay(message, receive), send)
        return await response(scope, receive, send)

    async def _generate(self, body):
        try:
            # As FastAPI reads a body model: json.loads, then validation in Python mode.
            request = GenerateRequest.model_validate(json.loads(body))
        except Exception:  # the app answers it, with its usual 422
            return None
        try:
            return await self.generate(request)
        except RequestError:
            return None

    async def _infer(self, scope, match, body):
        name, version = match.groups()
        try:
            return await self.infer(name, version, body, Headers(scope=scope))
        except RequestError:
            return None

