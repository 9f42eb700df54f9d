"""onnxruntime-web in Debian's headless Chromium, driven from Python (a test helper).

`BrowserRuntime` launches `/usr/bin/chromium` once (Playwright, which never
downloads a browser here) and opens one page served by a small `http.server` on
127.0.0.1 (an ephemeral port, in a thread): the page, the onnxruntime-web build
in `./node_modules/onnxruntime-web/dist` (`npm ci`) and the `.onnx` files handed
to `load`, nothing else; `page.route` refuses and records any other URL, so
nothing comes from the network. (Answering every request from `page.route`
itself works too, but pushes the 28 MB wasm binary through Playwright's pipe:
30 s for the first session instead of 2 s.) 127.0.0.1 is a secure context,
which WebGPU needs, and the page is cross-origin isolated (COOP/COEP headers),
so the wasm backend may use threads.

Runners have the same shape as `zoo.export.engines`: `load(path, ep)` returns
`run(feeds) -> image`, feeds `{"z": float32, "label": int64}` by port name.
Arrays cross the Python/JavaScript boundary as base64 of their bytes (exact).

WebGPU: headless Chromium 156 offers a WebGPU adapter (SwiftShader, a software
Vulkan: correct, not fast) with `--enable-unsafe-webgpu` alone, and only in a
secure context; without the flag `navigator.gpu.requestAdapter()` gives `null`.
`webgpu_adapter()` reports what the page was offered.

This lives under `tests/` rather than in `zoo/` because it needs a checkout's
`node_modules/`, Playwright and a system Chromium: a verification harness for
the test suite and `bench/portability.py`, not a way to run a generator.

Example:

>>> with BrowserRuntime() as browser:
...     run = browser.load("export/cgan-fashion-mnist/generator.onnx", "wasm")
...     image = run({"z": z, "label": label})
"""

import base64
import http.server
import os
import threading

import numpy as np

CHROMIUM = "/usr/bin/chromium"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORT_DIST = os.path.join(ROOT, "node_modules", "onnxruntime-web", "dist")
CONTENT_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                 ".map": "application/json"}
EXECUTION_PROVIDERS = ("wasm", "webgpu")
# Debian's Chromium, run as root, with no background connections (the network is closed here).
COMMON_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
# The one flag under which headless Chromium offers a WebGPU adapter (SwiftShader) here.
CHROMIUM_ARGS = [*COMMON_ARGS, "--enable-unsafe-webgpu"]
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>onnxruntime-web runner</title></head>
<body><script type="module">
import * as ort from "/ort/ort.min.mjs";
ort.env.wasm.wasmPaths = "/ort/";
ort.env.logLevel = "error";
const sessions = new Map();
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
function b64(array) {
  const view = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let text = "";
  for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(text);
}
function tensors(feeds) {
  const out = {};
  for (const [name, f] of Object.entries(feeds)) {
    const raw = bytes(f.data);
    const data = f.dtype === "int64" ? new BigInt64Array(raw.buffer) : new Float32Array(raw.buffer);
    out[name] = new ort.Tensor(f.dtype, data, f.shape);
  }
  return out;
}
window.zooAdapter = async () => {
  if (!navigator.gpu) return {available: false, reason: "navigator.gpu is undefined"};
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return {available: false, reason: "navigator.gpu.requestAdapter() returned null"};
  const info = adapter.info || {};
  return {available: true, vendor: info.vendor || "", architecture: info.architecture || ""};
};
window.zooLoad = async (key, url, ep, threads) => {
  if (threads) ort.env.wasm.numThreads = threads;
  const model = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const session = await ort.InferenceSession.create(model, {executionProviders: [ep]});
  sessions.set(key, session);
  return {inputs: session.inputNames, outputs: session.outputNames};
};
window.zooRun = async (key, feeds) => {
  const session = sessions.get(key);
  const results = await session.run(tensors(feeds));
  const image = results["image"];
  return {dims: Array.from(image.dims), type: image.type, data: b64(image.data)};
};
window.zooTime = async (key, feeds, rounds, warmup) => {
  const session = sessions.get(key);
  const input = tensors(feeds);
  for (let i = 0; i < warmup; i++) await session.run(input);
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const results = await session.run(input);
    await results["image"].getData();
    times.push(performance.now() - start);
  }
  return times;
};
window.zooRelease = async (key) => {
  const session = sessions.get(key);
  sessions.delete(key);
  if (session) await session.release();
};
document.body.dataset.ready = "true";
</script></body></html>
"""


class BrowserError(RuntimeError):
    """onnxruntime-web failed in the page: the JavaScript error, on one line."""


def missing():
    """Why the browser runtime cannot start here, or `None` when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is missing (pip install playwright)"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not os.path.isfile(os.path.join(ORT_DIST, "ort.min.mjs")):
        return f"{ORT_DIST} is missing (npm ci)"
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the page, onnxruntime-web's files and the registered models; nothing else."""

    runtime = None  # set per server

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/":
            return self._send(PAGE.encode("utf-8"), "text/html; charset=utf-8")
        if path.startswith("/ort/"):
            name = path[len("/ort/"):]
            local = os.path.join(ORT_DIST, name)
            if "/" not in name and ".." not in name and os.path.isfile(local):
                return self._send_file(local, CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream"))
        local = self.runtime._models.get(path)
        if local is not None:
            return self._send_file(local, "application/octet-stream")
        self.send_error(404)

    def _send_file(self, local, kind):
        with open(local, "rb") as file:
            self._send(file.read(), kind)

    def _send(self, body, kind):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class BrowserRuntime:
    """One headless Chromium page that runs ONNX files with onnxruntime-web.

    Args:
        threads: wasm threads. Defaults to onnxruntime-web's own choice.

    Example:

    >>> with BrowserRuntime() as browser:
    ...     browser.webgpu_adapter()
    {'available': True, 'vendor': 'google', 'architecture': 'swiftshader'}
    """

    def __init__(self, threads=None):
        self.threads = threads
        self.outside_requests = []
        self.page_errors = []
        self._models = {}
        self._keys = 0
        self._server = self._playwright = self._browser = None

    def __enter__(self):
        reason = missing()
        if reason:
            raise RuntimeError(reason)
        from playwright.sync_api import sync_playwright

        try:
            handler = type("Handler", (_Handler,), {"runtime": self})
            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, name="browser-runtime", daemon=True).start()
            self.origin = f"http://127.0.0.1:{self._server.server_port}"
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            self.page = self._browser.new_page()
            self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
            self.page.route("**/*", self._only_local)
            self.page.goto(self.origin + "/")
            self.page.wait_for_selector("body[data-ready='true']", state="attached", timeout=30_000)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Closes Chromium and stops the server (safe to call twice)."""
        browser, self._browser = self._browser, None
        if browser is not None:
            browser.close()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            playwright.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def _only_local(self, route):
        if route.request.url.startswith(self.origin + "/"):
            return route.continue_()
        self.outside_requests.append(route.request.url)
        return route.abort()

    def webgpu_adapter(self):
        """`{"available": bool, ...}`: the WebGPU adapter this page is offered, or why none."""
        return self.page.evaluate("zooAdapter()")

    def load(self, path, ep="wasm"):
        """Opens an onnxruntime-web session on the ONNX file `path` with `ep`.

        Args:
            path: an `.onnx` file.
            ep: `"wasm"` or `"webgpu"`. Defaults to `"wasm"`.

        Returns:
            `run(feeds) -> float32 image`; `run.time(feeds, rounds, warmup)`
            returns per-call milliseconds measured in the page
            (`performance.now()`), and `run.release()` frees the session.

        Raises:
            BrowserError: when onnxruntime-web cannot create the session.
        """
        if ep not in EXECUTION_PROVIDERS:
            raise ValueError(f"Unknown execution provider. Received: ep={ep!r}. Available: wasm, webgpu.")
        self._keys += 1
        key = f"m{self._keys}"
        url_path = f"/models/{key}.onnx"
        self._models[url_path] = os.fspath(path)
        self._call("([k, u, e, t]) => zooLoad(k, u, e, t)", [key, url_path, ep, self.threads])

        def run(feeds):
            result = self._call("([k, f]) => zooRun(k, f)", [key, _encode(feeds)])
            image = np.frombuffer(base64.b64decode(result["data"]), dtype=np.float32)
            return image.reshape(result["dims"])

        def time_calls(feeds, rounds, warmup=3):
            return self._call("([k, f, r, w]) => zooTime(k, f, r, w)", [key, _encode(feeds), rounds, warmup])

        def release():
            self._call("([k]) => zooRelease(k)", [key])
            self._models.pop(url_path, None)

        run.time = time_calls
        run.release = release
        return run

    def _call(self, expression, argument):
        from playwright.sync_api import Error

        try:
            return self.page.evaluate(expression, argument)
        except Error as error:
            message = " ".join(str(error.message).split())
            raise BrowserError(message[:400]) from None


def _encode(feeds):
    encoded = {}
    for name, value in feeds.items():
        array = np.ascontiguousarray(value, dtype=np.int64 if name == "label" else np.float32)
        encoded[name] = {
            "dtype": "int64" if name == "label" else "float32",
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    return encoded
