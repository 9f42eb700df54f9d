"""What the web page needs to run generators in the browser (onnxruntime-web).

The page (zoo/serving/static/) starts from `models.json`, found next to
`index.html`. `zoo serve` answers it at `/models.json`; `zoo page` writes it into
a folder any static web server can serve. It says where each model's ONNX file
is, where the onnxruntime-web files are (`runtime`, `null` when they are not
installed: the page then asks the server, if there is one) and which latent
algorithm the page must draw with (`zoo.latent.LATENT_ALGORITHM`, the one
`zoo/serving/static/latent.js` implements bit for bit).

onnxruntime-web is an npm package (`npm ci` at the repository root, done by
.ci/setup). `find_ort_web` looks for its `dist/` folder in `$ZOO_ORT_WEB`, then in
the `node_modules/` of the source checkout and of the current folder; a wheel
install carries none, so there the page runs the models on the server unless
`ZOO_ORT_WEB` points at a `dist/` folder.
"""

import json
import pathlib

from zoo import paths, settings
from zoo.errors import ZooError
from zoo.latent import LATENT_ALGORITHM

INDEX_FILE = "models.json"
INDEX_FORMAT = 1
ORT_WEB_ENV = settings.ORT_WEB
# The onnxruntime-web files the page loads: the WebGPU build (its wasm also runs
# the CPU provider) and the smaller wasm-only build for browsers without WebGPU.
ORT_WEB_FILES = (
    "ort.webgpu.min.mjs",
    "ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm",
    "ort.wasm.min.mjs",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm",
)
ORT_WEB_MEDIA_TYPES = {".mjs": "text/javascript", ".wasm": "application/wasm"}
_DIST = pathlib.Path("node_modules", "onnxruntime-web", "dist")


def find_ort_web(path=None):
    """The folder holding onnxruntime-web's browser files, or `None` if none is found.

    Args:
        path: a folder to use (an error if it lacks a file). Defaults to
            `$ZOO_ORT_WEB` (`none`: do without), else
            `node_modules/onnxruntime-web/dist` of the source checkout, else of
            the current folder.

    Raises:
        ZooError: if `path` (or `$ZOO_ORT_WEB`) is given and lacks a needed file.
    """
    explicit = path if path is not None else settings.ort_web()
    if path is None and explicit is not None and explicit.strip().lower() == "none":
        return None
    if explicit is not None:
        folder = pathlib.Path(explicit)
        missing = [name for name in ORT_WEB_FILES if not (folder / name).is_file()]
        if missing:
            where = "--ort-web" if path is not None else f"${ORT_WEB_ENV}"
            raise ZooError(
                f"The onnxruntime-web folder lacks {', '.join(missing)}. Received: {where}={str(explicit)!r}. "
                "Pass the dist/ folder of the onnxruntime-web npm package (npm ci installs it in node_modules/)."
            )
        return folder.resolve()
    for root in (root for root in (paths.checkout_root(), pathlib.Path.cwd()) if root is not None):
        folder = root / _DIST
        if all((folder / name).is_file() for name in ORT_WEB_FILES):
            return folder.resolve()
    return None


def ort_web_version(folder):
    """The onnxruntime-web version of a `dist/` folder (from its package.json), or `None`."""
    try:
        return json.loads((pathlib.Path(folder).parent / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def page_index(models, runtime, server, version=None):
    """The page's `models.json` as a dict.

    Args:
        models: one dict per model: `name`, `url` (of its generator.onnx,
            relative to the page), and optionally `variant`, `bytes`, `sha256`,
            `metadata` (what `GET /v1/models/{name}` returns; the page uses it
            when the server runs the model).
        runtime: URL of the onnxruntime-web folder relative to the page (ending
            in `/`), or `None` when the files are not available.
        server: whether `POST v1/generate` and `v1/interpolate` answer next to the page.
        version: the onnxruntime-web version, if known.
    """
    return {
        "format": INDEX_FORMAT,
        "server": bool(server),
        "runtime": runtime,
        "onnxruntime_web": version,
        "latent": {"algorithm": LATENT_ALGORITHM},
        "models": list(models),
    }
