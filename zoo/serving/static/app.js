// The keras-gan-zoo page: plain ES modules, no build step, no outside resources.
//
// It starts from models.json next to index.html (served by `zoo serve`, or written
// by `zoo page` for any static web server; `?model=URL` lists models by hand). By
// default the page runs the generator itself with onnxruntime-web (generator.js:
// WebGPU where the browser has it, else WebAssembly), reading latent size, classes
// and image shape from the ONNX file; a seed and truncation psi give the same
// latents as zoo.latent.sample_latent (latent.js). When the page comes from `zoo
// serve` it can also ask the server instead (POST v1/generate and v1/interpolate),
// for browsers that cannot run the model or when onnxruntime-web is not installed there.
// A software WebGPU adapter (SwiftShader) is slower than WebAssembly, so the page
// uses it only when asked: ?backend=webgpu (or ?backend=wasm).
"use strict";

import { BrowserGenerator, loadRuntime, makeGrid } from "./generator.js";
import { LATENT_ALGORITHM } from "./latent.js";

const MAX_SEED = 2n ** 63n - 1n; // as the server's /v1/generate
const MAX_IMAGES = 256;
const $ = (id) => document.getElementById(id);
const state = {
  index: null, // models.json
  entries: {}, // name -> {name, url, variant, metadata?}
  generators: {}, // name -> Promise<BrowserGenerator>
  metadata: null, // facts of the selected model
  gridUrl: null,
  walk: null,
  shown: 0, // counts showModel calls, so that a slow load does not overwrite a newer one
};
// What the page did last, for scripts and tests: {z, images, pixels, backend, ...}.
window.zooPage = { last: null, walk: null };

const onServer = () => $("runtime").value === "server";
const currentEntry = () => state.entries[$("model").value];

function setStatus(element, text, isError) {
  element.textContent = text;
  element.classList.toggle("error", Boolean(isError));
}

// ------------------------------------------------------------------ inputs
function readSeed(input) {
  const text = input.value.trim();
  if (!/^\d+$/.test(text) || BigInt(text) > MAX_SEED) {
    throw new Error(`seed must be a non-negative integer (at most ${MAX_SEED}), got "${input.value}"`);
  }
  return BigInt(text);
}

/** The truncation psi in (0, 1] of the form, `null` for 1 (no truncation). */
function readTruncation(input) {
  const text = input.value.trim();
  const psi = text === "" ? NaN : Number(text);
  if (!(psi > 0 && psi <= 1)) throw new Error(`truncation must be a number in (0, 1], got "${input.value}"`);
  return psi === 1 ? null : psi;
}

const truncationText = (psi) => (psi === null ? "" : `, ψ ${psi}`);

function selectedLabel() {
  if (!state.metadata || !state.metadata.conditional || $("label").value === "") return null;
  return Number($("label").value);
}

/** JSON with BigInts written as plain numbers (seeds up to 2**63 - 1). */
function toJson(body) {
  const marks = [];
  const text = JSON.stringify(body, (_, value) => {
    if (typeof value !== "bigint") return value;
    marks.push(value.toString());
    return `\u0000${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_, i) => marks[Number(i)]);
}

// ------------------------------------------------------------------ the two runtimes
function runtimeUrl() {
  return new URL(state.index.runtime || "ort/", document.baseURI).href;
}

// ?backend=webgpu (also on a software adapter) or ?backend=wasm; default: auto.
const preferredBackend = () => new URLSearchParams(window.location.search).get("backend") || "auto";
const runtime = () => loadRuntime(runtimeUrl(), preferredBackend());

function browserGenerator(entry) {
  if (!state.generators[entry.name]) {
    state.generators[entry.name] = runtime()
      .then((runtime) => BrowserGenerator.open(entry.name, new URL(entry.url, document.baseURI).href, runtime));
    state.generators[entry.name].catch(() => delete state.generators[entry.name]);
  }
  return state.generators[entry.name];
}

async function serverMetadata(entry) {
  if (entry.metadata) return entry.metadata;
  const response = await fetch(`v1/models/${encodeURIComponent(entry.name)}`);
  if (!response.ok) throw new Error(`cannot read the model's facts: HTTP ${response.status}`);
  entry.metadata = await response.json();
  return entry.metadata;
}

async function postForImage(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: toJson(body) });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      const payload = await response.json();
      message = payload.error ? `${payload.error.field || "request"}: ${payload.error.message}` : message;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new Error(message);
  }
  return response.blob();
}

function backendName(backend) {
  return { webgpu: "WebGPU", wasm: "WebAssembly (CPU)", server: "the server" }[backend] || backend;
}

function showBackend(backend, runtime = {}) {
  const adapter = backend === "webgpu" && runtime.adapter ? ` (${runtime.adapter})` : "";
  const where = backend === "server"
    ? "Run by the server (onnxruntime)"
    : `Run in this browser by onnxruntime-web ${runtime.version} on ${backendName(backend)}${adapter}`;
  $("backend").textContent = where;
  $("backend").dataset.backend = backend;
}

// ------------------------------------------------------------------ model facts
async function showModel() {
  const entry = currentEntry();
  const shown = (state.shown += 1);
  const select = $("label");
  select.replaceChildren(new Option("…", ""));
  select.disabled = true;
  $("generate").disabled = true;
  $("load-walk").disabled = true;
  $("model-info").replaceChildren();
  state.metadata = null;
  state.walk = null;
  $("scrub").disabled = true;
  drawFrame();
  setStatus($("status"), `Loading ${entry.name}…`);
  let metadata;
  try {
    if (onServer()) {
      metadata = await serverMetadata(entry);
      if (shown === state.shown) showBackend("server");
    } else {
      const generator = await browserGenerator(entry);
      metadata = generator.metadata;
      if (shown === state.shown) showBackend(generator.backend, await runtime());
    }
  } catch (error) {
    if (shown !== state.shown) return false;
    if (!onServer() && state.index.server) {
      // This browser cannot run the model: the server can.
      $("runtime").value = "server";
      $("runtime-note").textContent = `This browser cannot run ${entry.name} (${error.message}): the server computes the images.`;
      $("runtime-note").hidden = false;
      return showModel();
    }
    setStatus($("status"), `Cannot load ${entry.name}: ${error.message}`, true);
    return false;
  }
  if (shown !== state.shown) return false;
  state.metadata = metadata;
  select.replaceChildren();
  if (metadata.conditional) {
    select.append(new Option("all classes in turn", ""));
    for (let k = 0; k < metadata.num_classes; k += 1) {
      const name = metadata.class_names ? `${k}: ${metadata.class_names[k]}` : String(k);
      select.append(new Option(name, String(k)));
    }
    select.disabled = false;
  } else {
    select.append(new Option("unconditional", ""));
  }
  const facts = {
    variant: metadata.variant || "?",
    "latent dim": metadata.latent_dim,
    classes: metadata.conditional ? metadata.num_classes : "none (unconditional)",
    "image shape": metadata.image_shape.join(" × "),
  };
  for (const [key, value] of Object.entries(facts)) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    $("model-info").append(dt, dd);
  }
  $("generate").disabled = false;
  $("load-walk").disabled = false;
  setStatus($("status"), "Pick a class and a seed, then press Generate.");
  return true;
}

// ------------------------------------------------------------------ drawing
function canvasOf({ width, height, rgba }) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas;
}

const pngOf = (canvas) => new Promise((resolve, reject) => {
  canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the browser cannot encode the image"))), "image/png");
});

async function showGrid(blob, facts) {
  const url = URL.createObjectURL(blob);
  const image = $("grid");
  await new Promise((resolve, reject) => {
    image.onload = resolve;
    image.onerror = () => reject(new Error("the browser cannot show the image"));
    image.src = url;
  });
  if (state.gridUrl) URL.revokeObjectURL(state.gridUrl);
  state.gridUrl = url;
  const scale = Math.max(1, Math.floor(512 / image.naturalWidth));
  image.style.width = `${image.naturalWidth * scale}px`;
  image.hidden = false;
  image.alt = `${facts.n} images from ${facts.model}, seed ${facts.seed}`;
  image.dataset.backend = facts.backend;
  image.dataset.seed = String(facts.seed);
  image.dataset.truncation = String(facts.truncation ?? 1);
}

// ------------------------------------------------------------------ actions
async function generate(event) {
  event.preventDefault();
  const entry = currentEntry();
  const button = $("generate");
  button.disabled = true;
  try {
    const n = Number($("count").value);
    const seed = readSeed($("seed"));
    const truncation = readTruncation($("truncation"));
    const label = selectedLabel();
    if (!onServer() && !(Number.isSafeInteger(n) && n >= 1 && n <= MAX_IMAGES)) {
      throw new Error(`n: the number of images must be an integer in 1..${MAX_IMAGES}, got "${$("count").value}"`);
    }
    const started = performance.now();
    let blob;
    let backend = "server";
    if (onServer()) {
      const body = { model: entry.name, n, seed, format: "png" };
      if (label !== null) body.labels = label;
      if (truncation !== null) body.truncation = truncation;
      blob = await postForImage("v1/generate", body);
    } else {
      const generator = await browserGenerator(entry);
      const result = await generator.generate(n, label, seed, truncation);
      backend = generator.backend;
      blob = await pngOf(canvasOf(makeGrid(result.pixels, result.shape)));
      window.zooPage.last = { model: entry.name, seed: String(seed), truncation, n, backend, ...result };
    }
    await showGrid(blob, { n, model: entry.name, seed, truncation, backend });
    const ms = Math.round(performance.now() - started);
    const where = backend === "server" ? "by the server" : `in this browser, ${backendName(backend)}`;
    const what = `${n} image${n > 1 ? "s" : ""} from ${entry.name}, seed ${seed}${truncationText(truncation)}`;
    setStatus($("status"), `${what} (${where}, ${ms} ms)`);
  } catch (error) {
    setStatus($("status"), error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function loadWalk(event) {
  event.preventDefault();
  const entry = currentEntry();
  const button = $("load-walk");
  button.disabled = true;
  try {
    const steps = Number($("steps").value);
    if (!Number.isSafeInteger(steps) || steps < 2 || steps > 64) throw new Error(`frames must be an integer in 2..64, got "${$("steps").value}"`);
    const seedA = readSeed($("seed-a"));
    const seedB = readSeed($("seed-b"));
    const truncation = readTruncation($("truncation"));
    const label = selectedLabel();
    const [height, width] = state.metadata.image_shape;
    let strip;
    if (onServer()) {
      const body = { model: entry.name, seed_a: seedA, seed_b: seedB, steps, format: "png" };
      if (label !== null) body.labels = label;
      if (truncation !== null) body.truncation = truncation;
      strip = await createImageBitmap(await postForImage("v1/interpolate", body));
    } else {
      const generator = await browserGenerator(entry);
      const result = await generator.interpolate(seedA, seedB, steps, label, "slerp", truncation);
      strip = canvasOf(makeGrid(result.pixels, result.shape, steps, 0));
      window.zooPage.walk = { model: entry.name, backend: generator.backend, truncation, ...result };
    }
    state.walk = { strip, steps, width, height };
    const scrub = $("scrub");
    scrub.max = String(steps - 1);
    scrub.value = "0";
    scrub.disabled = false;
    drawFrame();
    const ends = `seed ${seedA} to seed ${seedB}${truncationText(truncation)}`;
    setStatus($("walk-status"), `${steps} frames from ${ends}: drag the slider`);
  } catch (error) {
    setStatus($("walk-status"), error.message, true);
  } finally {
    button.disabled = false;
  }
}

function drawFrame() {
  const canvas = $("frame");
  const context = canvas.getContext("2d");
  const walk = state.walk;
  if (!walk) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    $("frame-label").textContent = "";
    return;
  }
  const scale = Math.max(1, Math.floor(256 / walk.width));
  if (canvas.width !== walk.width * scale) {
    canvas.width = walk.width * scale;
    canvas.height = walk.height * scale;
  }
  const index = Number($("scrub").value);
  context.imageSmoothingEnabled = false;
  context.drawImage(walk.strip, index * walk.width, 0, walk.width, walk.height, 0, 0, canvas.width, canvas.height);
  $("frame-label").textContent = `${index + 1} / ${walk.steps}`;
}

// ------------------------------------------------------------------ start
function entriesFromQuery() {
  const urls = new URLSearchParams(window.location.search).getAll("model");
  return urls.map((url) => {
    const path = new URL(url, document.baseURI).pathname.split("/").filter(Boolean);
    const file = path.pop() || url;
    const name = file === "generator.onnx" && path.length ? path.pop() : file.replace(/\.onnx$/, "");
    return { name: decodeURIComponent(name), url };
  });
}

async function readIndex() {
  const response = await fetch("models.json");
  if (response.ok) return response.json();
  if (response.status === 404 && new URLSearchParams(window.location.search).has("model")) {
    return { format: 1, server: false, runtime: "ort/", models: [] };
  }
  throw new Error(`models.json: HTTP ${response.status}`);
}

async function start() {
  $("generate-form").addEventListener("submit", generate);
  $("walk-form").addEventListener("submit", loadWalk);
  $("model").addEventListener("change", showModel);
  $("runtime").addEventListener("change", showModel);
  $("scrub").addEventListener("input", drawFrame);
  $("random-seed").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
  });
  try {
    state.index = await readIndex();
    const fromQuery = entriesFromQuery();
    const entries = fromQuery.length ? fromQuery : state.index.models;
    if (!entries.length) throw new Error("no models are listed");
    for (const entry of entries) {
      state.entries[entry.name] = entry;
      $("model").append(new Option(`${entry.name}${entry.variant ? ` (${entry.variant})` : ""}`, entry.name));
    }
    const inBrowser = Boolean(state.index.runtime) && typeof WebAssembly === "object";
    const runtimeSelect = $("runtime");
    runtimeSelect.replaceChildren();
    if (inBrowser) runtimeSelect.append(new Option("this browser (onnxruntime-web)", "browser"));
    if (state.index.server) runtimeSelect.append(new Option("the server", "server"));
    if (!runtimeSelect.options.length) {
      throw new Error(typeof WebAssembly === "object" ? "no runtime is listed in models.json" : "this browser has no WebAssembly");
    }
    runtimeSelect.disabled = runtimeSelect.options.length < 2;
    $("docs-link").hidden = !state.index.server;
    if (!inBrowser) {
      const why = state.index.runtime ? "this browser has no WebAssembly" : "onnxruntime-web is not installed on this server (npm ci)";
      $("runtime-note").textContent = `The server computes the images: ${why}.`;
      $("runtime-note").hidden = false;
    } else if (state.index.latent && state.index.latent.algorithm !== LATENT_ALGORITHM) {
      $("runtime-note").textContent = `The server draws latents with ${state.index.latent.algorithm}, this page with `
        + `${LATENT_ALGORITHM}: the same seed may give other images here.`;
      $("runtime-note").hidden = false;
    }
    await showModel();
    document.body.dataset.ready = "true";
  } catch (error) {
    setStatus($("status"), `Cannot list the models: ${error.message}`, true);
  }
}

start();
