"""The routes of the HTTP service, added to an app by group (see `zoo.serving.app`).

- `add_page_routes`: `GET /` (the page), `/models.json` (its index), `/ort/{file}`
  (onnxruntime-web's browser files);
- `add_model_routes`: `GET /health`, `/v1/models`, `/v1/models/{name}` and
  `/v1/models/{name}/generator.onnx`;
- `add_generation_routes`: `POST /v1/generate` and `/v1/interpolate`.

Each takes the FastAPI app and the `ServedModels` it serves (`zoo.serving.served`).

Example:

>>> served = ServedModels(generators)
>>> add_model_routes(app, served)
"""

import os
import secrets

from fastapi.responses import FileResponse, HTMLResponse

from zoo.serving import browser
from zoo.serving.batching import LatentDraw
from zoo.serving.http_errors import RequestError, short
from zoo.serving.schemas import GenerateRequest, InterpolateRequest, error_responses

POST_ERRORS = (400, 404, 408, 413, 415, 422, 503)


def add_page_routes(app, index_html, page_index, ort_web):
    """The web page, its model index and onnxruntime-web's files (`None`: not installed)."""

    @app.get("/", include_in_schema=False)
    async def index():
        return HTMLResponse(index_html)

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


def add_model_routes(app, served):
    """Liveness, and the metadata and ONNX file of each served generator."""
    pool = served.pool

    @app.get("/health", summary="Liveness and the served model names", responses=error_responses(408, 503))
    async def health():
        return {
            "status": "ok",
            "models": list(served.generators),
            "pid": os.getpid(),
            "onnx_calls": pool.calls,
            "inline_calls": pool.inline_calls,
            "batched_requests": pool.batched_requests,
        }

    @app.get("/v1/models", summary="Metadata of every served generator", responses=error_responses(408, 503))
    async def list_models():
        return {"models": list(served.metadata.values())}

    @app.get("/v1/models/{name}", summary="Metadata of one generator", responses=error_responses(404, 408, 503))
    async def get_model(name: str):
        return served.metadata[served.pick(name).name]

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
        return FileResponse(served.pick(name).path, media_type="application/octet-stream")


def make_generate(served):
    """`generate(request)`: the `Response` to a validated `GenerateRequest`, or a `RequestError`.

    What `POST /v1/generate` runs (and the fast lane, `zoo.serving.lane`, for
    the requests it answers itself).
    """

    async def generate(request):
        generator = served.pick(request.model)
        seed = secrets.randbelow(2**31) if request.seed is None else request.seed
        z = LatentDraw(request.n, seed, request.truncation)  # drawn with the batch it joins
        labels = served.labels_for(generator, request.labels, request.n)
        facts = {"seed": seed, "truncation": request.truncation}
        return await served.respond(generator, z, labels, request.format, facts)

    return generate


def add_generation_routes(app, served):
    """Images for seeds (`/v1/generate`) and latent walks between two seeds (`/v1/interpolate`).

    Returns:
        The generate handler, `generate(request)` (see `make_generate`).
    """
    generate_body = make_generate(served)

    @app.post(
        "/v1/generate",
        summary="Generate images",
        responses={200: {"content": {"image/png": {}, "application/x-npy": {}, "application/json": {}},
                         "description": "A PNG grid (2 px padding), a uint8 .npy array [n, H, W, C] "
                         "or JSON {model, seed, truncation, labels, shape, images}. Headers: X-Model, X-Seed."},
                   **error_responses(*POST_ERRORS)},
    )
    async def generate(request: GenerateRequest):
        return await generate_body(request)

    @app.post(
        "/v1/interpolate",
        summary="A latent walk from seed_a to seed_b",
        responses={200: {"content": {"image/png": {}, "application/x-npy": {}, "application/json": {}},
                         "description": "PNG: the frames in one row without padding (frame i at x = i * W)."},
                   **error_responses(*POST_ERRORS)},
    )
    async def interpolate(request: InterpolateRequest):
        generator = served.pick(request.model)
        z = generator.walk(request.seed_a, request.seed_b, request.steps, request.method, request.truncation)
        labels = served.labels_for(generator, request.labels, request.steps, per="frame")
        facts = {"seed_a": request.seed_a, "seed_b": request.seed_b, "method": request.method,
                 "truncation": request.truncation}
        return await served.respond(generator, z, labels, request.format, facts, columns=request.steps, padding=0)

    return generate_body
