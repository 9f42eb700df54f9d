"""The web page of `zoo serve`, driven in Debian's headless Chromium by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium
(`apt-get install chromium`, done by .ci/setup). Outside CI the test is skipped
when Playwright or Chromium is missing; in CI (CI=true) that is a failure.
"""

import os
import shutil

import numpy as np
import pytest

from test_serving import fixture_models
from test_serving_http import start_server
from zoo.images import make_grid

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]

if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page that may load nothing but the server's own URLs (offline)."""
    context = browser.new_context()
    page = context.new_page()
    page.outside_requests = []

    def only_local(route):
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            page.outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    yield page
    assert page.outside_requests == [] and page.errors == []
    context.close()


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


def generate(page, seed):
    page.fill("[data-testid=seed]", str(seed))
    with page.expect_response("**/v1/generate") as answer:
        page.click("[data-testid=generate]")
    response = answer.value
    page.wait_for_function(f"document.querySelector('[data-testid=grid]').dataset.seed === '{seed}'")
    return response


def test_pick_a_class_generate_and_change_the_seed(page, tmp_path_factory):
    from zoo.serving import OnnxGenerator

    local = OnnxGenerator(fixture_models(tmp_path_factory)["cgan"][0])
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "3")
    response = generate(page, 7)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert response.request.post_data_json == {"model": "cgan", "n": 16, "seed": 7, "format": "png", "labels": 3}
    size = page.eval_on_selector("[data-testid=grid]", "img => [img.naturalWidth, img.naturalHeight, img.complete, img.hidden]")
    assert size == [122, 122, True, False]
    expected = make_grid(local.generate(16, labels=3, seed=7))[..., 0]
    np.testing.assert_array_equal(shown_pixels(page, "[data-testid=grid]"), expected)
    assert "seed 7" in page.inner_text("[data-testid=status]")

    other = generate(page, 8)
    assert other.status == 200 and other.request.post_data_json["seed"] == 8
    changed = shown_pixels(page, "[data-testid=grid]")
    assert changed.shape == (122, 122) and not np.array_equal(changed, expected)
    np.testing.assert_array_equal(changed, make_grid(local.generate(16, labels=3, seed=8))[..., 0])


def test_scrub_a_latent_walk(page, tmp_path_factory):
    from zoo.serving import OnnxGenerator

    local = OnnxGenerator(fixture_models(tmp_path_factory)["cgan"][0])
    page.select_option("[data-testid=model]", "cgan")
    page.select_option("[data-testid=label]", "5")
    page.fill("[data-testid=seed-a]", "1")
    page.fill("[data-testid=seed-b]", "2")
    page.fill("[data-testid=steps]", "8")
    with page.expect_response("**/v1/interpolate") as answer:
        page.click("[data-testid=load-walk]")
    assert answer.value.status == 200
    page.wait_for_function("!document.querySelector('[data-testid=scrub]').disabled")
    walk = local.interpolate(1, 2, steps=8, labels=5)[..., 0]
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
