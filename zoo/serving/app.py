"""The HTTP service: FastAPI routes over `OnnxGenerator`s, run by uvicorn.

Endpoints (`create_app`; the routes are in `zoo.serving.routes`, what they share
in `zoo.serving.served`):

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
    GET  /v2, /v2/health/live, /v2/health/ready, /v2/models/{name}[/ready]
    POST /v2/models/{name}/infer   the Open Inference Protocol v2 (KServe, Triton's
                            tritonclient): z FP32 [n, latent_dim] (+ label INT64 [n])
                            -> image FP32 [n, H, W, C], JSON or binary tensors,
                            errors {"error": "..."} (see `zoo.serving.open_inference`)

Bad requests get a 4xx JSON error naming the field (see `zoo.serving.http_errors`),
documented per route in the OpenAPI document. Slow clients time out and a full
server makes room (see `zoo.serving.limits`). Small concurrent requests are
batched (see `zoo.serving.batching`).
"""

import contextlib
import dataclasses
import gc
import socket
import sys
import urllib.parse

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from zoo import __version__, paths
from zoo.errors import ZooError
from zoo.serving import browser
from zoo.serving.http_errors import BodyLimit, RequestError, http_error, internal_error, request_error, validation_error
from zoo.serving.lane import InferenceLane
from zoo.serving.limits import ServerLimits
from zoo.serving.open_inference import add_open_inference_routes
from zoo.serving.routes import add_generation_routes, add_model_routes, add_page_routes
from zoo.serving.schemas import FIELDS
from zoo.serving.served import ServedModels

STATIC_DIR = paths.static_dir()


def create_app(generators, inference_threads=None, batching=True, max_body_bytes=None, ort_web=None, limits=None,
               fast_lane=True):
    """Builds the FastAPI app serving `generators`.

    Args:
        generators: `OnnxGenerator`s, served under their `name`s.
        inference_threads: threads calling onnxruntime side by side (in this
            process). Defaults to the usable CPUs (max 4).
        batching: batch small concurrent requests. Defaults to `True`.
        max_body_bytes: largest accepted request body; replaces
            `limits.max_body_bytes`. Defaults to 1 MiB.
        ort_web: the onnxruntime-web `dist/` folder the page runs models with;
            `False`: none (the page asks the server). Defaults to
            `zoo.serving.browser.find_ort_web()`.
        limits: a `ServerLimits`. The app enforces `max_body_bytes` and
            `body_timeout` (with any ASGI server); `serve` gives the rest to
            uvicorn. All are stated in the OpenAPI description. Defaults to
            `ServerLimits()`.
        fast_lane: answer the generating routes' ordinary requests without
            routing them (`zoo.serving.lane`; same answers, less CPU per
            request). Defaults to `True`.

    Example:

    >>> app = create_app([OnnxGenerator("export/cgan-fashion-mnist")])
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    limits = limits or ServerLimits()
    if max_body_bytes is not None:
        limits = dataclasses.replace(limits, max_body_bytes=max_body_bytes)
    served = ServedModels(generators, inference_threads=inference_threads, batching=batching)
    ort_web = None if ort_web is False else browser.find_ort_web(ort_web)
    app = _new_app(
        title="keras-gan-zoo",
        version=__version__,
        description=_description(limits),
        lifespan=_lifespan(served.pool),
    )
    app.state.pool = served.pool
    app.state.limits = limits
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RequestError, request_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
    # Routes are matched in order: the generating ones (most of a busy server's
    # requests) first, so they are found without trying the others.
    generate = add_generation_routes(app, served)
    infer = add_open_inference_routes(app, served)
    add_model_routes(app, served)
    # The last added middleware is the outermost: BodyLimit checks the body, then
    # the lane answers the generating routes' ordinary requests itself.
    if fast_lane:
        app.add_middleware(InferenceLane, generate=generate, infer=infer)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout=limits.body_timeout, paths=FIELDS)
    index_html = (STATIC_DIR / "index.html").read_bytes()
    add_page_routes(app, index_html, _page_index(served, ort_web), ort_web)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _new_app(**kwargs):
    """FastAPI with the docs served from local files when fastapi-offline is installed."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def _description(limits):
    """The OpenAPI description: what the service does, its errors and its limits."""
    return (
        "Generate images with exported GAN generators (onnxruntime, no TensorFlow).\n\n"
        'Errors: every error has the body `{"error": {"status", "field", "loc", "type", "message"}}` '
        "(schema `ErrorResponse`); each route lists the statuses it answers. A method a path does not "
        "take gets 405 with an `Allow` header.\n\n" + limits.describe()
    )


def _lifespan(pool):
    """Starts `pool` with the app and closes it after."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await pool.start()
        # The app's ~60k long-lived objects (FastAPI, pydantic, numpy) never die:
        # moving them out of the collector's sight keeps full collections (~25 ms) off the tail.
        gc.collect()
        gc.freeze()
        yield
        await pool.close()

    return lifespan


def _page_index(served, ort_web):
    """The page's `models.json`: each model's URL, size and metadata, and where onnxruntime-web is."""
    models = [
        {
            "name": name,
            "variant": generator.metadata.variant,
            "url": f"v1/models/{urllib.parse.quote(name, safe='')}/generator.onnx",
            "bytes": generator.path.stat().st_size,
            "metadata": served.metadata[name],
        }
        for name, generator in served.generators.items()
    ]
    version = browser.ort_web_version(ort_web) if ort_web else None
    return browser.page_index(models, runtime="ort/" if ort_web else None, server=True, version=version)


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


def serve(generators, host="127.0.0.1", port=8000, inference_threads=None, batching=True, access_log=False,
          log_level="warning", limits=None, processes=1, specs=None):
    """Serves `generators` over HTTP until interrupted (what `zoo serve` runs).

    Prints `zoo: serving ... on http://HOST:PORT` (with the real port when `port`
    is 0) once the socket listens.

    Args:
        limits: a `ServerLimits`: the header and body deadlines, the keep-alive
            time and the connection cap (uvicorn runs with a protocol that
            enforces them, `zoo.serving.limits.protocol_class`). Defaults to
            `ServerLimits()`.
        processes: server processes on the one socket (`zoo serve --workers`);
            more than 1 needs `specs` (see `zoo.serving.workers`). Defaults to `1`.
        specs: `OnnxGenerator` keyword arguments per generator, which each
            worker process loads its own copy of the generators with.
    """
    import uvicorn

    from zoo.serving.limits import protocol_class

    limits = limits or ServerLimits()
    reserve_files(limits.max_connections)
    if processes > 1 and specs is None:
        raise ZooError(f"Several processes need the generators' specs. Received: processes={processes}, specs=None.")
    app = None if processes > 1 else create_app(generators, inference_threads=inference_threads,
                                                batching=batching, limits=limits)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    names = ", ".join(generator.name for generator in generators)
    many = f" ({processes} processes)" if processes > 1 else ""
    print(f"zoo: serving {names} on http://{shown}:{bound_port}{many} (page: /, API docs: /docs)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"zoo: warning: listening on {host}: the service has no authentication.", file=sys.stderr, flush=True)
    # No `limit_concurrency`: it counts slow connections too and answers text/plain 503s;
    # the protocol caps connections itself, making room by closing the longest-waiting one.
    options = {"log_level": log_level, "access_log": access_log, "timeout_keep_alive": limits.keep_alive,
               "server_header": False}
    if processes > 1:
        from zoo.serving.workers import ServeSpec, run_workers

        spec = ServeSpec(list(specs), inference_threads, batching, dataclasses.asdict(limits))
        return run_workers(spec, sock, processes, options)
    config = uvicorn.Config(app, http=protocol_class(limits), **options)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
