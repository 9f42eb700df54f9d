"""The HTTP service: FastAPI routes over `OnnxGenerator`s, run by uvicorn.

Endpoints (`create_app`):

    GET  /                  the web page (zoo/serving/static/, plain HTML + JS)
    GET  /health            {"status": "ok", "models": [...], and the pool's call counters}
    GET  /v1/models         {"models": [metadata of every loaded generator]}
    GET  /v1/models/{name}  metadata of one generator
    POST /v1/generate       {"model", "n", "seed", "labels", "format"} -> a PNG grid,
                            a uint8 .npy array [n, H, W, C] or JSON
    POST /v1/interpolate    {"model", "seed_a", "seed_b", "steps", "labels",
                            "method", "format"} -> a latent walk
    GET  /docs, /redoc, /openapi.json   OpenAPI (served offline when
                            fastapi-offline is installed)

Bad requests get a 4xx JSON error naming the field (see `zoo.serving.http_errors`).
Small concurrent requests are batched (see `zoo.serving.batching`).
"""

import contextlib
import gc
import io
import json
import pathlib
import secrets
import socket
import sys

import numpy as np
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from zoo import __version__
from zoo.errors import ZooError, did_you_mean
from zoo.images import encode_png, make_grid
from zoo.serving.batching import GeneratorPool
from zoo.serving.http_errors import (
    MAX_BODY_BYTES,
    BodyLimit,
    RequestError,
    http_error,
    internal_error,
    request_error,
    short,
    validation_error,
)
from zoo.serving.schemas import GenerateRequest, InterpolateRequest

STATIC_DIR = pathlib.Path(__file__).parent / "static"
MEDIA_TYPES = {"png": "image/png", "npy": "application/x-npy", "json": "application/json"}


def _new_app(**kwargs):
    """FastAPI with the docs served from local files when fastapi-offline is installed."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def create_app(generators, workers=None, batching=True, max_body_bytes=MAX_BODY_BYTES):
    """Builds the FastAPI app serving `generators`.

    Args:
        generators: `OnnxGenerator`s, served under their `name`s.
        workers: threads calling onnxruntime. Defaults to the usable CPUs (max 4).
        batching: batch small concurrent requests. Defaults to `True`.
        max_body_bytes: largest accepted request body. Defaults to 64 KiB.

    Example:

    >>> app = create_app([OnnxGenerator("export/cgan-fashion-mnist")])
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    generators = list(generators)
    names = [generator.name for generator in generators]
    if len(set(names)) != len(names):
        raise ZooError(
            f"Two models share a name. Received: names={names}. Rename one with NAME=MODEL."
        )
    generators = dict(zip(names, generators))
    if not generators:
        raise ZooError("Nothing to serve. Received: no models. Pass at least one model.")
    pool = GeneratorPool(generators, workers=workers, batching=batching)
    metadata = {name: generator.metadata.to_dict() for name, generator in generators.items()}
    index_html = (STATIC_DIR / "index.html").read_bytes()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await pool.start()
        # The app's ~60k long-lived objects (FastAPI, pydantic, numpy) never die:
        # moving them out of the collector's sight keeps full collections (~25 ms) off the tail.
        gc.collect()
        gc.freeze()
        yield
        await pool.close()

    app = _new_app(
        title="keras-gan-zoo",
        version=__version__,
        description="Generate images with exported GAN generators (onnxruntime, no TensorFlow).",
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def pick(name):
        if name is None:
            if len(generators) == 1:
                return next(iter(generators.values()))
            raise RequestError(
                422, "model", f"Several models are served: name one. Allowed: {', '.join(generators)}.", "missing"
            )
        generator = generators.get(name)
        if generator is None:
            raise RequestError(
                404, "model", f"Unknown model '{name}'. Received: model={short(name)}. "
                f"Available: {', '.join(generators)}.{did_you_mean(name, generators)}", "unknown_model",
            )
        return generator

    def labels_for(generator, labels, n):
        if labels is None and generator.num_classes is not None:
            return np.arange(n, dtype=np.int64) % generator.num_classes
        try:
            return generator.check_labels(labels, n)
        except ZooError as error:
            raise RequestError(422, "labels", str(error)) from None

    async def respond(generator, z, labels, fmt, facts, columns=None, padding=2):
        images = await pool.run(generator.name, z, labels)
        facts = {**facts, "labels": None if labels is None else labels.tolist()}
        render = _Renderer(generator, fmt, columns, padding, facts)
        if len(z) > pool.batch_below:
            content = await pool.call(render, images)
        else:
            content = render(images)
        headers = {"X-Model": generator.name}
        if "seed" in facts:
            headers["X-Seed"] = str(facts["seed"])
        return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers)

    @app.get("/", include_in_schema=False)
    async def index():
        return HTMLResponse(index_html)

    @app.get("/health", summary="Liveness and the served model names")
    async def health():
        return {
            "status": "ok",
            "models": list(generators),
            "onnx_calls": pool.calls,
            "inline_calls": pool.inline_calls,
            "batched_requests": pool.batched_requests,
        }

    @app.get("/v1/models", summary="Metadata of every served generator")
    async def list_models():
        return {"models": list(metadata.values())}

    @app.get("/v1/models/{name}", summary="Metadata of one generator")
    async def get_model(name: str):
        return metadata[pick(name).name]

    @app.post(
        "/v1/generate",
        summary="Generate images",
        responses={200: {"content": {"image/png": {}, "application/x-npy": {}, "application/json": {}},
                         "description": "A PNG grid (2 px padding), a uint8 .npy array [n, H, W, C] "
                         "or JSON {model, seed, labels, shape, images}. Headers: X-Model, X-Seed."}},
    )
    async def generate(request: GenerateRequest):
        generator = pick(request.model)
        seed = secrets.randbelow(2**31) if request.seed is None else request.seed
        z = generator.latents(request.n, seed)
        labels = labels_for(generator, request.labels, request.n)
        return await respond(generator, z, labels, request.format, {"seed": seed})

    @app.post(
        "/v1/interpolate",
        summary="A latent walk from seed_a to seed_b",
        responses={200: {"content": {"image/png": {}, "application/x-npy": {}, "application/json": {}},
                         "description": "PNG: the frames in one row without padding (frame i at x = i * W)."}},
    )
    async def interpolate(request: InterpolateRequest):
        generator = pick(request.model)
        z = generator.walk(request.seed_a, request.seed_b, request.steps, request.method)
        labels = labels_for(generator, request.labels, request.steps)
        facts = {"seed_a": request.seed_a, "seed_b": request.seed_b, "method": request.method}
        return await respond(generator, z, labels, request.format, facts, columns=request.steps, padding=0)

    return app


class _Renderer:
    """Float images -> response bytes in one format (run on the pool for big batches)."""

    def __init__(self, generator, fmt, columns, padding, facts):
        self.generator, self.fmt, self.columns, self.padding = generator, fmt, columns, padding
        self.facts = facts

    def __call__(self, images):
        images = self.generator.to_uint8(images)
        if self.fmt == "png":
            return encode_png(make_grid(images, columns=self.columns, padding=self.padding))
        if self.fmt == "npy":
            buffer = io.BytesIO()
            np.save(buffer, images, allow_pickle=False)
            return buffer.getvalue()
        body = {"model": self.generator.name, **self.facts, "shape": list(images.shape), "dtype": "uint8",
                "images": images.tolist()}
        return json.dumps(body, separators=(",", ":")).encode()


def bind(host, port):
    """A listening TCP socket on `host:port` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise ZooError(f"Cannot listen on {host}:{port}: {error.strerror}. Received: --host {host} --port {port}.") from None


def serve(generators, host="127.0.0.1", port=8000, workers=None, batching=True, access_log=False, log_level="warning"):
    """Serves `generators` over HTTP until interrupted (what `zoo serve` runs).

    Prints `zoo: serving ... on http://HOST:PORT` (with the real port when `port`
    is 0) once the socket listens.
    """
    import uvicorn

    app = create_app(generators, workers=workers, batching=batching)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    names = ", ".join(app.state.pool.generators)
    print(f"zoo: serving {names} on http://{shown}:{bound_port} (page: /, API docs: /docs)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"zoo: warning: listening on {host}: the service has no authentication.", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app, log_level=log_level, access_log=access_log, timeout_keep_alive=5,
        limit_concurrency=1024, server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
