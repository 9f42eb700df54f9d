"""The web page, driven in Debian's headless Chromium by Playwright.

The page runs the generators in the browser with onnxruntime-web (WebAssembly
here: the default browser has `--disable-gpu`; a second one with
`--enable-unsafe-webgpu` gets SwiftShader's software WebGPU adapter) and, from
`zoo serve`, can also ask the server. Served by `zoo serve` (the fixture models of
test_serving) and as the static folder `zoo page` writes, behind Python's
`http.server`. Pages may load nothing but their own server's URLs.

Latents are compared bit for bit with `zoo.latent.sample_latent`; the browser's
float outputs with onnxruntime's (wasm and native kernels round differently, by
~1e-6), so pixels are compared within one grey level (and counted: none differed
when this was written).

Playwright never downloads a browser here: it launches /usr/bin/chromium
(`apt-get install chromium`, done by .ci/setup), and onnxruntime-web comes from
`npm ci` (also .ci/setup). Outside CI the tests are skipped when Playwright,
Chromium or onnxruntime-web is missing; in CI (CI=true) that is a failure.
"""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from browser_runtime import CHROMIUM, COMMON_ARGS
from test_serving import fixture_models
from test_serving_http import start_server
from zoo.images import make_grid
from zoo.latent import sample_latent
from zoo.serving import browser as page_runtime

CHROMIUM_ARGS = ["--disable-gpu", *COMMON_ARGS]  # no WebGPU adapter: onnxruntime-web runs on WebAssembly
WEBGPU_ARGS = ["--enable-unsafe-webgpu", *COMMON_ARGS]  # SwiftShader's software adapter in headless Chromium
ORT_WEB = page_runtime.find_ort_web()

if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
from playwright.sync_api import sync_playwright  # noqa: E402

needs_ort_web = pytest.mark.skipif(
    ORT_WEB is None and not os.environ.get("CI"), reason="onnxruntime-web is not installed (npm ci)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The page's models run in this process by onnxruntime, for the expected images."""
    from zoo.serving import OnnxGenerator

    models = fixture_models(tmp_path_factory)
    return {"cgan": OnnxGenerator(models["cgan"][0]), "walker": OnnxGenerator(models["dcgan"][0])}


def open_page(browser, url, path="/", block=None):
    """A fresh page that may load nothing but `url`'s own resources; `page.requests` records them.

    `block`: a URL ending whose requests fail (as if the browser could not load it).
    """
    context = browser.new_context()
    page = context.new_page()
    page.outside_requests, page.requests, page.errors = [], [], []

    def only_local(route):
        if block and route.request.url.endswith(block):
            route.abort()
        elif route.request.url.startswith(url + "/"):
            route.continue_()
        else:
            page.outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("request", lambda request: page.requests.append((request.method, request.url[len(url):])))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url + path)
    page.wait_for_selector("body[data-ready='true']", timeout=60_000)
    return page


def close_page(page):
    errors = (page.outside_requests, page.errors)
    page.context.close()
    assert errors == ([], [])


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server.url)
    yield page
    close_page(page)


def shown_pixels(page, selector):
    """The red channel of what the browser decoded for an <img> or drew on a <canvas>."""
    return np.array(page.eval_on_selector(selector, """element => {
        const width = element.naturalWidth || element.width, height = element.naturalHeight || element.height;
        const canvas = document.createElement("canvas");
        canvas.width = width; canvas.height = height;
        const context = canvas.getContext("2d");
        context.drawImage(element, 0, 0);
        const data = context.getImageData(0, 0, width, height).data;
        const red = [];
        for (let i = 0; i < data.length; i += 4) red.push(data[i]);
        return [height, width, red];
    }""")[2], dtype=np.uint8).reshape(*page.eval_on_selector(
        selector, "e => [e.naturalHeight || e.height, e.naturalWidth || e.width]"))


def bits(values):
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def assert_within_one_grey_level(shown, expected):
    difference = np.abs(shown.astype(np.int16) - expected.astype(np.int16))
    off = int(np.count_nonzero(difference))
    print(f"pixels off by one grey level: {off} of {difference.size}")
    assert shown.shape == expected.shape and difference.max(initial=0) <= 1 and off <= difference.size // 1000


def use_server(page):
    page.select_option("[data-testid=runtime]", "server")


def shown(seed, truncation):
    """A script true once the grid shows `seed` at `truncation` (`None`: the field is left as it is, at 1)."""
    psi = "1" if truncation is None else str(truncation)
    return (f"document.querySelector('[data-testid=grid]').dataset.seed === '{seed}' && "
            f"document.querySelector('[data-testid=grid]').dataset.truncation === '{psi}'")


def generate(page, seed, truncation=None):
    """Presses Generate on the server path; returns the /v1/generate response."""
    page.fill("[data-testid=seed]", str(seed))
    if truncation is not None:
        page.fill("[data-testid=truncation]", str(truncation))
    with page.expect_response("**/v1/generate") as answer:
        page.click("[data-testid=generate]")
    response = answer.value
    page.wait_for_function(shown(seed, truncation))
    return response


def generate_here(page, seed, truncation=None):
    """Presses Generate on the browser path; returns what the page computed (zooPage.last)."""
    page.fill("[data-testid=seed]", str(seed))
    if truncation is not None:
        page.fill("[data-testid=truncation]", str(truncation))
    page.click("[data-testid=generate]")
    page.wait_for_function(shown(seed, truncation), timeout=120_000)
    return page.evaluate("""() => { const last = window.zooPage.last;
        return {z: Array.from(last.z), images: Array.from(last.images), labels: last.labels, backend: last.backend,
                shape: last.shape, seed: last.seed, truncation: last.truncation}; }""")


def no_server_generation(page):
    return [request for request in page.requests if "/v1/generate" in request[1] or "/v1/interpolate" in request[1]]


def check_browser_grid(page, local, last, n, labels, seed, truncation=None):
    assert last["seed"] == str(seed) and last["shape"][0] == n and last["truncation"] == truncation
    z = sample_latent(n, local.latent_dim, seed, truncation=truncation)
    np.testing.assert_array_equal(bits(last["z"]), bits(z.ravel()))
    expected_labels = None if labels is None else np.asarray(labels, dtype=np.int64)
    assert last["labels"] == (None if labels is None else expected_labels.tolist())
    floats = local.run(z, expected_labels).ravel()
    assert np.abs(np.float32(last["images"]) - floats).max() <= 1e-5
    expected = make_grid(local.to_uint8(floats.reshape(n, *local.image_shape)))[..., 0]
    assert_within_one_grey_level(shown_pixels(page, "[data-testid=grid]"), expected)


# ---------------------------------------------------------------------------- the server path
def test_pick_a_class_generate_and_change_the_seed(page, local):
    use_server(page)
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "3")
    response = generate(page, 7)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert response.request.post_data_json == {"model": "cgan", "n": 16, "seed": 7, "format": "png", "labels": 3}
    size = page.eval_on_selector("[data-testid=grid]", "img => [img.naturalWidth, img.naturalHeight, img.complete, img.hidden]")
    assert size == [122, 122, True, False]
    expected = make_grid(local["cgan"].generate(16, labels=3, seed=7))[..., 0]
    np.testing.assert_array_equal(shown_pixels(page, "[data-testid=grid]"), expected)
    assert "seed 7" in page.inner_text("[data-testid=status]") and "by the server" in page.inner_text("[data-testid=status]")
    assert page.get_attribute("[data-testid=backend]", "data-backend") == "server"

    other = generate(page, 8)
    assert other.status == 200 and other.request.post_data_json["seed"] == 8
    changed = shown_pixels(page, "[data-testid=grid]")
    assert changed.shape == (122, 122) and not np.array_equal(changed, expected)
    np.testing.assert_array_equal(changed, make_grid(local["cgan"].generate(16, labels=3, seed=8))[..., 0])
    # Seeds past 2**53 go to the server as exact JSON integers.
    big = generate(page, 2**63 - 1)
    assert big.request.post_data_json["seed"] == 2**63 - 1 and big.headers["x-seed"] == str(2**63 - 1)


def test_truncation_on_the_server_path(page, local):
    use_server(page)
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "3")
    response = generate(page, 7, truncation=0.6)
    assert response.status == 200
    assert response.request.post_data_json == {"model": "cgan", "n": 16, "seed": 7, "format": "png", "labels": 3,
                                               "truncation": 0.6}
    expected = make_grid(local["cgan"].generate(16, labels=3, seed=7, truncation=0.6))[..., 0]
    np.testing.assert_array_equal(shown_pixels(page, "[data-testid=grid]"), expected)
    assert "seed 7, ψ 0.6" in page.inner_text("[data-testid=status]")
    # 1 sends no truncation at all; a bad value is caught in the page.
    assert "truncation" not in generate(page, 7, truncation=1).request.post_data_json
    page.fill("[data-testid=truncation]", "0")
    page.click("[data-testid=generate]")
    page.wait_for_selector("[data-testid=status].error", timeout=5_000)
    assert "truncation must be a number in (0, 1]" in page.inner_text("[data-testid=status]")
    # The walk takes the same truncation.
    page.fill("[data-testid=truncation]", "0.5")
    page.fill("[data-testid=steps]", "4")
    with page.expect_response("**/v1/interpolate") as answer:
        page.click("[data-testid=load-walk]")
    assert answer.value.status == 200 and answer.value.request.post_data_json["truncation"] == 0.5


def test_scrub_a_latent_walk(page, local):
    use_server(page)
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "5")
    page.fill("[data-testid=seed-a]", "1")
    page.fill("[data-testid=seed-b]", "2")
    page.fill("[data-testid=steps]", "8")
    with page.expect_response("**/v1/interpolate") as answer:
        page.click("[data-testid=load-walk]")
    assert answer.value.status == 200
    page.wait_for_function("!document.querySelector('[data-testid=scrub]').disabled")
    walk = local["cgan"].interpolate(1, 2, steps=8, labels=5)[..., 0]
    scale = 256 // 28

    def frame_shown():
        pixels = shown_pixels(page, "[data-testid=frame]")
        assert pixels.shape == (28 * scale, 28 * scale)
        return pixels[::scale, ::scale]  # nearest-neighbour upscaling: every scale-th pixel

    np.testing.assert_array_equal(frame_shown(), walk[0])
    page.focus("[data-testid=scrub]")
    page.keyboard.press("End")
    assert page.inner_text("[data-testid=frame-label]") == "8 / 8"
    np.testing.assert_array_equal(frame_shown(), walk[7])
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    np.testing.assert_array_equal(frame_shown(), walk[5])


def test_unconditional_model_and_errors_are_shown(page):
    use_server(page)
    page.select_option("[data-testid=model]", "walker")
    assert page.is_disabled("[data-testid=label]")
    response = generate(page, 3)
    assert response.request.post_data_json == {"model": "walker", "n": 16, "seed": 3, "format": "png"}
    page.select_option("[data-testid=count]", "64")
    response = generate(page, 4)
    size = page.eval_on_selector("[data-testid=grid]", "img => [img.naturalWidth, img.naturalHeight]")
    assert response.status == 200 and size == [242, 242]  # 8 x 8 tiles
    # A bad seed is caught in the page, a bad count by the server: both are shown.
    page.evaluate("document.querySelector('[data-testid=seed]').setAttribute('step', 'any')")
    page.fill("[data-testid=seed]", "1.5")
    page.click("[data-testid=generate]")
    page.wait_for_selector("[data-testid=status].error", timeout=5_000)
    assert "seed must be a non-negative integer" in page.inner_text("[data-testid=status]")
    page.fill("[data-testid=seed]", "5")
    page.evaluate("document.querySelector('[data-testid=count]').add(new Option('300', '300', true, true))")
    with page.expect_response("**/v1/generate") as answer:
        page.click("[data-testid=generate]")
    assert answer.value.status == 422
    page.wait_for_function("document.querySelector('[data-testid=status]').textContent.startsWith('n:')", timeout=5_000)
    assert "Allowed: an integer in 1..256" in page.inner_text("[data-testid=status]")


# ---------------------------------------------------------------------------- the browser path
@needs_ort_web
def test_generate_in_the_browser_without_the_server(page, local):
    options = page.eval_on_selector_all("[data-testid=runtime] option", "options => options.map(o => o.value)")
    assert options == ["browser", "server"] and page.input_value("[data-testid=runtime]") == "browser"
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "3")
    last = generate_here(page, 7)
    assert last["backend"] == "wasm" and page.get_attribute("[data-testid=grid]", "data-backend") == "wasm"
    assert "in this browser, WebAssembly" in page.inner_text("[data-testid=status]")
    assert "onnxruntime-web 1.30.0 on WebAssembly" in page.inner_text("[data-testid=backend]")
    check_browser_grid(page, local["cgan"], last, 16, [3] * 16, 7)
    # The largest seed the server takes, all classes in turn, 4 images.
    page.select_option("[data-testid=label]", "")
    page.select_option("[data-testid=count]", "4")
    last = generate_here(page, 2**63 - 1)
    check_browser_grid(page, local["cgan"], last, 4, [0, 1, 2, 3], 2**63 - 1)
    # The facts shown come from the ONNX file's metadata.
    facts = "variant cgan latent dim 64 classes 10 image shape 28 × 28 × 1"
    assert page.inner_text("[data-testid=model-info]").split() == facts.split()

    page.select_option("[data-testid=model]", "walker")
    assert page.is_disabled("[data-testid=label]")
    last = generate_here(page, 3)
    check_browser_grid(page, local["walker"], last, 4, None, 3)
    # Truncated: the page's z is zoo.latent's, bit for bit, and so are the images.
    last = generate_here(page, 3, truncation=0.7)
    check_browser_grid(page, local["walker"], last, 4, None, 3, truncation=0.7)
    assert "seed 3, ψ 0.7" in page.inner_text("[data-testid=status]")
    # The browser path takes the server's limit on the number of images.
    page.evaluate("document.querySelector('[data-testid=count]').add(new Option('300', '300', true, true))")
    page.click("[data-testid=generate]")
    page.wait_for_selector("[data-testid=status].error", timeout=5_000)
    assert "n: the number of images must be an integer in 1..256" in page.inner_text("[data-testid=status]")
    assert no_server_generation(page) == [] and [method for method, _ in page.requests if method != "GET"] == []
    onnx_files = [path for _, path in page.requests if path.endswith("generator.onnx")]
    assert onnx_files == ["/v1/models/cgan/generator.onnx", "/v1/models/walker/generator.onnx"]


@needs_ort_web
def test_walk_in_the_browser(page, local):
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "5")
    page.fill("[data-testid=seed-a]", "1")
    page.fill("[data-testid=seed-b]", "2")
    page.fill("[data-testid=steps]", "8")
    page.click("[data-testid=load-walk]")
    page.wait_for_function("!document.querySelector('[data-testid=scrub]').disabled", timeout=60_000)
    z = np.float32(page.evaluate("Array.from(window.zooPage.walk.z)")).reshape(8, 64)
    expected_z = local["cgan"].walk(1, 2, steps=8)
    np.testing.assert_array_equal(bits(z[[0, -1]]), bits(expected_z[[0, -1]]))
    assert np.abs(z - expected_z).max() <= 1e-6
    walk = local["cgan"].interpolate(1, 2, steps=8, labels=5)[..., 0]
    scale = 256 // 28
    page.focus("[data-testid=scrub]")
    for key, index in [(None, 0), ("End", 7), ("ArrowLeft", 6)]:
        if key:
            page.keyboard.press(key)
        assert_within_one_grey_level(shown_pixels(page, "[data-testid=frame]")[::scale, ::scale], walk[index])
    # Truncated ends: zoo.latent's bits, scaled by psi.
    page.fill("[data-testid=truncation]", "0.5")
    page.click("[data-testid=load-walk]")
    page.wait_for_function("window.zooPage.walk.truncation === 0.5", timeout=60_000)
    z = np.float32(page.evaluate("Array.from(window.zooPage.walk.z)")).reshape(8, 64)
    np.testing.assert_array_equal(bits(z[[0, -1]]), bits(local["cgan"].walk(1, 2, steps=8, truncation=0.5)[[0, -1]]))
    assert no_server_generation(page) == []


@needs_ort_web
def test_latent_js_in_chromium_equals_zoo_latent(page):
    """latent.js run by Chromium's JavaScript engine: 200 seeds, large ones, a long stream, bit for bit;
    and truncated by several psi (in double precision, then rounded to float32)."""
    seeds = [*range(200), 2**32, 2**53 + 1, 2**63 - 1, 10**30]
    truncations = [1, 0.999, 0.7, 0.5, 1 / 3, 0.1, 2.0**-30]
    result = page.evaluate("""async ([seeds, truncations]) => {
        const { sampleLatent } = await import("./static/latent.js");
        const rows = seeds.map((seed) => Array.from(sampleLatent(1, 64, BigInt(seed))));
        const truncated = truncations.map(
            (psi) => seeds.slice(0, 20).map((seed) => Array.from(sampleLatent(1, 64, BigInt(seed), psi))));
        const hashOf = (values) => {
            let hash = 0;  // FNV-1a over a long stream's bits, to keep the answer small
            for (const word of new Uint32Array(values.buffer)) hash = Math.imul(hash ^ word, 16777619) >>> 0;
            return hash;
        };
        const hash = hashOf(sampleLatent(4096, 64, 7n));
        return { rows, truncated, hash, truncatedHash: hashOf(sampleLatent(4096, 64, 7n, 0.7)) };
    }""", [[str(seed) for seed in seeds], truncations])
    for seed, row in zip(seeds, result["rows"]):
        np.testing.assert_array_equal(bits(row), bits(sample_latent(1, 64, seed)[0]))
    for psi, rows in zip(truncations, result["truncated"]):
        for seed, row in zip(seeds, rows):
            expected = sample_latent(1, 64, seed, truncation=psi)[0]
            np.testing.assert_array_equal(bits(row), bits(expected), f"{seed=} {psi=}")

    def fnv1a(values):
        hash_value = 0
        for word in bits(values.ravel()).tolist():
            hash_value = ((hash_value ^ word) * 16777619) & 0xFFFFFFFF
        return hash_value

    assert result["hash"] == fnv1a(sample_latent(4096, 64, 7))
    assert result["truncatedHash"] == fnv1a(sample_latent(4096, 64, 7, truncation=0.7))


@needs_ort_web
def test_webgpu_in_chromium(playwright, server, local):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=WEBGPU_ARGS)
    try:
        probe = browser.new_page()
        probe.goto(server.url + "/health")
        adapter = probe.evaluate("async () => Boolean(navigator.gpu && await navigator.gpu.requestAdapter())")
        probe.close()
        if not adapter:
            pytest.skip("headless Chromium offers no WebGPU adapter here (even with --enable-unsafe-webgpu)")
        # SwiftShader is a software adapter, slower than WebAssembly: the page takes it only when asked.
        page = open_page(browser, server.url)
        assert "on WebAssembly" in page.inner_text("[data-testid=backend]")
        close_page(page)
        page = open_page(browser, server.url, "/?backend=webgpu")
        assert "on WebGPU" in page.inner_text("[data-testid=backend]")
        page.select_option("[data-testid=model]", "cgan")
        page.select_option("[data-testid=label]", "2")
        page.select_option("[data-testid=count]", "4")
        last = generate_here(page, 11)
        assert last["backend"] == "webgpu"
        check_browser_grid(page, local["cgan"], last, 4, [2] * 4, 11)
        assert no_server_generation(page) == []
        close_page(page)
    finally:
        browser.close()


@needs_ort_web
def test_static_folder_behind_a_plain_web_server(tmp_path, browser, tmp_path_factory, local):
    models = fixture_models(tmp_path_factory)
    site = tmp_path / "site"
    written = subprocess.run(
        [sys.executable, "-m", "zoo", "page", "--out", str(site), f"cgan={models['cgan'][0]}", f"walker={models['dcgan'][0]}"],
        capture_output=True, text=True, timeout=120,
    )
    assert written.returncode == 0, written.stderr
    assert sorted(path.name for path in site.iterdir()) == ["index.html", "models", "models.json", "ort", "static"]
    web = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        port = re.search(r"port (\d+)", web.stdout.readline()).group(1)
        url = f"http://127.0.0.1:{port}"
        page = open_page(browser, url)
        assert page.eval_on_selector_all("[data-testid=runtime] option", "options => options.map(o => o.value)") == ["browser"]
        assert page.is_hidden("[data-testid=runtime-note]") and page.is_hidden("#docs-link")
        page.select_option("[data-testid=model]", "cgan")
        page.select_option("[data-testid=label]", "9")
        last = generate_here(page, 21)
        check_browser_grid(page, local["cgan"], last, 16, [9] * 16, 21)
        assert all(method == "GET" and "/v1/" not in path for method, path in page.requests)
        close_page(page)
        # ?model=URL lists models by hand (here: the copy inside the folder).
        page = open_page(browser, url, "/?model=models/walker/generator.onnx")
        assert page.eval_on_selector_all("[data-testid=model] option", "options => options.map(o => o.value)") == ["walker"]
        last = generate_here(page, 5)
        check_browser_grid(page, local["walker"], last, 16, None, 5)
        close_page(page)
    finally:
        web.terminate()
        web.wait(10)


def test_server_without_onnxruntime_web_runs_the_models_itself(browser, tmp_path_factory, monkeypatch):
    monkeypatch.setenv(page_runtime.ORT_WEB_ENV, "none")
    server = start_server(tmp_path_factory)
    try:
        page = open_page(browser, server.url)
        assert page.eval_on_selector_all("[data-testid=runtime] option", "options => options.map(o => o.value)") == ["server"]
        assert "onnxruntime-web is not installed on this server" in page.inner_text("[data-testid=runtime-note]")
        page.select_option("[data-testid=model]", "cgan")
        response = generate(page, 4)
        assert response.status == 200 and page.get_attribute("[data-testid=grid]", "data-backend") == "server"
        assert not any(path.startswith("/ort/") or path.endswith(".onnx") for _, path in page.requests)
        close_page(page)
    finally:
        server.stop()


@needs_ort_web
def test_a_browser_that_cannot_run_the_model_asks_the_server(browser, server):
    page = open_page(browser, server.url, block=".wasm")
    assert page.input_value("[data-testid=runtime]") == "server"
    assert "This browser cannot run cgan" in page.inner_text("[data-testid=runtime-note]")
    page.select_option("[data-testid=label]", "1")
    assert generate(page, 6).status == 200 and page.get_attribute("[data-testid=grid]", "data-backend") == "server"
    close_page(page)
