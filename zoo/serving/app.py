"""The HTTP service: FastAPI routes over `OnnxGenerator`s, run by uvicorn.

Endpoints (`create_app`):

    GET  /                  the web page (zoo/serving/static/, plain HTML + JS)
    GET  /health            {"status": "ok", "models": [...], and the pool's call counters}
    GET  /v1/models         {"models": [metadata of every loaded generator]}
    GET  /v1/models/{name}  metadata of one generator
    GET  /v1/models/{name}/generator.onnx   its ONNX file (the page runs it in the browser)
    GET  /models.json       the page's index: model URLs, where onnxruntime-web is
                            (see `zoo.serving.browser`)
    GET  /ort/{file}        onnxruntime-web's browser files, when installed (npm ci)
    POST /v1/generate       {"model", "n", "seed", "labels", "format"} -> a PNG grid,
                            a uint8 .npy array [n, H, W, C] or JSON
    POST /v1/interpolate    {"model", "seed_a", "seed_b", "steps", "labels",
                            "method", "format"} -> a latent walk
    GET  /docs, /redoc, /openapi.json   OpenAPI (served offline when
                            fastapi-offline is installed)

Bad requests get a 4xx JSON error naming the field (see `zoo.serving.http_errors`),
documented per route in the OpenAPI document. Slow clients time out and a full
server makes room (see `zoo.serving.limits`). Small concurrent requests are
batched (see `zoo.serving.batching`).
"""

import contextlib
import dataclasses
import gc
import io
import json
import pathlib
import secrets
import socket
import sys
import urllib.parse

import numpy as np
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from zoo import __version__
from zoo.errors import ZooError, did_you_mean
from zoo.images import encode_png, make_grid
from zoo.serving import browser
from zoo.serving.batching import GeneratorPool
from zoo.serving.http_errors import (
    BodyLimit,
    RequestError,
    clip,
    http_error,
    internal_error,
    request_error,
    short,
    validation_error,
)
from zoo.serving.limits import ServerLimits
from zoo.serving.schemas import FIELDS, GenerateRequest, InterpolateRequest, error_responses

STATIC_DIR = pathlib.Path(__file__).parent / "static"
POST_ERRORS = (400, 404, 408, 413, 415, 422, 503)
MEDIA_TYPES = {"png": "image/png", "npy": "application/x-npy", "json": "application/json"}


def _new_app(**kwargs):
    """FastAPI with the docs served from local files when fastapi-offline is installed."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def create_app(generators, workers=None, batching=True, max_body_bytes=None, ort_web=None, limits=None):
    """Builds the FastAPI app serving `generators`.

    Args:
        generators: `OnnxGenerator`s, served under their `name`s.
        workers: threads calling onnxruntime. Defaults to the usable CPUs (max 4).
        batching: batch small concurrent requests. Defaults to `True`.
        max_body_bytes: largest accepted request body; replaces
            `limits.max_body_bytes`. Defaults to 64 KiB.
        ort_web: the onnxruntime-web `dist/` folder the page runs models with;
            `False`: none (the page asks the server). Defaults to
            `zoo.serving.browser.find_ort_web()`.
        limits: a `ServerLimits`. The app enforces `max_body_bytes` and
            `body_timeout` (with any ASGI server); `serve` gives the rest to
            uvicorn. All are stated in the OpenAPI description. Defaults to
            `ServerLimits()`.

    Example:

    >>> app = create_app([OnnxGenerator("export/cgan-fashion-mnist")])
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    limits = limits or ServerLimits()
    if max_body_bytes is not None:
        limits = dataclasses.replace(limits, max_body_bytes=max_body_bytes)
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
    ort_web = None if ort_web is False else browser.find_ort_web(ort_web)
    page_index = browser.page_index(
        [
            {
                "name": name,
                "variant": generator.metadata.variant,
                "url": f"v1/models/{urllib.parse.quote(name, safe='')}/generator.onnx",
                "bytes": generator.path.stat().st_size,
                "metadata": metadata[name],
            }
            for name, generator in generators.items()
        ],
        runtime="ort/" if ort_web else None,
        server=True,
        version=browser.ort_web_version(ort_web) if ort_web else None,
    )

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
        description="Generate images with exported GAN generators (onnxruntime, no TensorFlow).\n\n"
        'Errors: every error has the body `{"error": {"status", "field", "loc", "type", "message"}}` '
        "(schema `ErrorResponse`); each route lists the statuses it answers. A method a path does not "
        "take gets 405 with an `Allow` header.\n\n" + limits.describe(),
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.limits = limits
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout=limits.body_timeout, paths=FIELDS)
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
            hint = did_you_mean(name, generators) if len(name) <= 100 else ""
            raise RequestError(
                404, "model", f"Unknown model '{clip(name, 40)}'. Received: model={short(name)}. "
                f"Available: {', '.join(generators)}.{hint}", "unknown_model",
            )
        return generator

    def labels_for(generator, labels, n, per="image"):
        """int64 labels `[n]` for `generator`, or a 422 naming the bad one (as given, however big)."""
        classes = generator.num_classes
        if classes is None:
            if labels is None:
                return None
            raise RequestError(
                422, "labels", f"'{generator.name}' is unconditional and takes no labels. "
                f"Received: labels={short(labels)}. Allowed: leave labels out.", "unconditional",
            )
        if labels is None:
            return np.arange(n, dtype=np.int64) % classes
        values = [labels] * n if isinstance(labels, int) else labels
        if len(values) != n:
            raise RequestError(
                422, "labels", f"Invalid labels: expected one per {per} ({n}). Received: {len(values)} labels. "
                f"Allowed: an integer class in 0..{classes - 1}, or a list of {n}.", "wrong_length",
            )
        for index, label in enumerate(values):
            if not 0 <= label < classes:
                single = isinstance(labels, int)
                where, loc = ("labels", ["labels"]) if single else (f"labels[{index}]", ["labels", index])
                raise RequestError(
                    422, "labels", f"Invalid {where}: out of range. Received: {where}={short(label)}. "
                    f"Allowed: an integer class in 0..{classes - 1}.", "out_of_range", loc,
                )
        return np.asarray(values, dtype=np.int64)

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

    @app.get("/health", summary="Liveness and the served model names", responses=error_responses(408, 503))
    async def health():
        return {
            "status": "ok",
            "models": list(generators),
            "onnx_calls": pool.calls,
            "inline_calls": pool.inline_calls,
            "batched_requests": pool.batched_requests,
        }

    @app.get("/v1/models", summary="Metadata of every served generator", responses=error_responses(408, 503))
    async def list_models():
        return {"models": list(metadata.values())}

    @app.get("/v1/models/{name}", summary="Metadata of one generator", responses=error_responses(404, 408, 503))
    async def get_model(name: str):
        return metadata[pick(name).name]

    @app.api_route(
        "/v1/models/{name}/generator.onnx",
        methods=["GET", "HEAD"],
        summary="The ONNX file of one generator",
        response_class=FileResponse,
        responses={200: {"content": {"application/octet-stream": {}},
                         "description": "generator.onnx, with its metadata_props (what the page runs in the browser)."},
                   **error_responses(404, 408, 503)},
    )
    async def get_model_onnx(name: str):
        return FileResponse(pick(name).path, media_type="application/octet-stream")

    @app.get("/models.json", include_in_schema=False)
    async def page_models():
        return page_index

    @app.api_route("/ort/{file}", methods=["GET", "HEAD"], include_in_schema=False)
    async def ort_web_file(file: str):
        if ort_web is None or file not in browser.ORT_WEB_FILES:
            reason = ("onnxruntime-web is not installed here (npm ci)" if ort_web is None
                      else f"Allowed: {', '.join(browser.ORT_WEB_FILES)}")
            raise RequestError(404, None, f"No such onnxruntime-web file. Received: {short(file)}. {reason}.",
                               "not_found")
        path = ort_web / file
        media_type = browser.ORT_WEB_MEDIA_TYPES[path.suffix]
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    @app.post(
        "/v1/generate",
        summary="Generate images",
        responses={200: {"content": {"image/png": {}, "application/x-npy": {}, "application/json": {}},
                         "description": "A PNG grid (2 px padding), a uint8 .npy array [n, H, W, C] "
                         "or JSON {model, seed, labels, shape, images}. Headers: X-Model, X-Seed."},
                   **error_responses(*POST_ERRORS)},
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
                         "description": "PNG: the frames in one row without padding (frame i at x = i * W)."},
                   **error_responses(*POST_ERRORS)},
    )
    async def interpolate(request: InterpolateRequest):
        generator = pick(request.model)
        z = generator.walk(request.seed_a, request.seed_b, request.steps, request.method)
        labels = labels_for(generator, request.labels, request.steps, per="frame")
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


def reserve_files(max_connections, spare=256):
    """Raises the soft open-file limit to hold `max_connections` sockets (or `ZooError`)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + spare
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise ZooError(
                f"Too many connections for this process's open-file limit. Received: --max-connections "
                f"{max_connections}. Allowed: at most {max(1, hard - spare)} here (ulimit -n {hard})."
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def serve(generators, host="127.0.0.1", port=8000, workers=None, batching=True, access_log=False,
          log_level="warning", limits=None):
    """Serves `generators` over HTTP until interrupted (what `zoo serve` runs).

    Prints `zoo: serving ... on http://HOST:PORT` (with the real port when `port`
    is 0) once the socket listens.

    Args:
        limits: a `ServerLimits`: the header and body deadlines, the keep-alive
            time and the connection cap (uvicorn runs with a protocol that
            enforces them, `zoo.serving.limits.protocol_class`). Defaults to
            `ServerLimits()`.
    """
    import uvicorn

    from zoo.serving.limits import protocol_class

    limits = limits or ServerLimits()
    reserve_files(limits.max_connections)
    app = create_app(generators, workers=workers, batching=batching, limits=limits)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    names = ", ".join(app.state.pool.generators)
    print(f"zoo: serving {names} on http://{shown}:{bound_port} (page: /, API docs: /docs)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"zoo: warning: listening on {host}: the service has no authentication.", file=sys.stderr, flush=True)
    # No `limit_concurrency`: it counts slow connections too and answers text/plain 503s;
    # the protocol caps connections itself, making room by closing the longest-waiting one.
    config = uvicorn.Config(
        app, log_level=log_level, access_log=access_log, timeout_keep_alive=limits.keep_alive,
        http=protocol_class(limits), server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
