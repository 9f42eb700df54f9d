// The keras-gan-zoo page: plain JS over the service's own API, no build step, no
// outside resources. GET /v1/models fills the menus; Generate posts to
// /v1/generate and shows the PNG grid; "Load walk" fetches a /v1/interpolate strip
// (frames side by side, no padding) once and the slider draws one frame of it.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: {}, gridUrl: null, walk: null };

function currentModel() {
  return state.models[$("model").value];
}

function setStatus(element, text, isError) {
  element.textContent = text;
  element.classList.toggle("error", Boolean(isError));
}

async function postForImage(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
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

function readSeed(input) {
  const value = Number(input.value);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`seed must be a non-negative integer, got "${input.value}"`);
  }
  return value;
}

function selectedLabel() {
  const model = currentModel();
  if (!model || !model.conditional || $("label").value === "") return undefined;
  return Number($("label").value);
}

function showModel() {
  const model = currentModel();
  const select = $("label");
  select.replaceChildren();
  if (model.conditional) {
    select.append(new Option("all classes in turn", ""));
    for (let k = 0; k < model.num_classes; k += 1) {
      const name = model.class_names ? `${k}: ${model.class_names[k]}` : String(k);
      select.append(new Option(name, String(k)));
    }
    select.disabled = false;
  } else {
    select.append(new Option("unconditional", ""));
    select.disabled = true;
  }
  const info = $("model-info");
  info.replaceChildren();
  const facts = {
    variant: model.variant || "?",
    "latent dim": model.latent_dim,
    classes: model.conditional ? model.num_classes : "none (unconditional)",
    "image shape": model.image_shape.join(" × "),
  };
  for (const [key, value] of Object.entries(facts)) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    info.append(dt, dd);
  }
  state.walk = null;
  $("scrub").disabled = true;
  drawFrame();
}

async function generate(event) {
  event.preventDefault();
  const model = currentModel();
  const button = $("generate");
  button.disabled = true;
  try {
    const body = { model: model.name, n: Number($("count").value), seed: readSeed($("seed")), format: "png" };
    const label = selectedLabel();
    if (label !== undefined) body.labels = label;
    const started = performance.now();
    const blob = await postForImage("/v1/generate", body);
    const url = URL.createObjectURL(blob);
    const image = $("grid");
    await new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new Error("the server sent an image the browser cannot show"));
      image.src = url;
    });
    if (state.gridUrl) URL.revokeObjectURL(state.gridUrl);
    state.gridUrl = url;
    const scale = Math.max(1, Math.floor(512 / image.naturalWidth));
    image.style.width = `${image.naturalWidth * scale}px`;
    image.hidden = false;
    image.dataset.seed = String(body.seed);
    image.alt = `${body.n} images from ${model.name}, seed ${body.seed}`;
    const ms = Math.round(performance.now() - started);
    setStatus($("status"), `${body.n} image${body.n > 1 ? "s" : ""} from ${model.name}, seed ${body.seed} (${ms} ms)`);
  } catch (error) {
    setStatus($("status"), error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function loadWalk(event) {
  event.preventDefault();
  const model = currentModel();
  const button = $("load-walk");
  button.disabled = true;
  try {
    const steps = Number($("steps").value);
    const body = {
      model: model.name, seed_a: readSeed($("seed-a")), seed_b: readSeed($("seed-b")), steps, format: "png",
    };
    const label = selectedLabel();
    if (label !== undefined) body.labels = label;
    const blob = await postForImage("/v1/interpolate", body);
    const strip = await createImageBitmap(blob);
    const [height, width] = model.image_shape;
    state.walk = { strip, steps, width, height };
    const scrub = $("scrub");
    scrub.max = String(steps - 1);
    scrub.value = "0";
    scrub.disabled = false;
    drawFrame();
    setStatus($("walk-status"), `${steps} frames from seed ${body.seed_a} to seed ${body.seed_b}: drag the slider`);
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

async function start() {
  $("generate-form").addEventListener("submit", generate);
  $("walk-form").addEventListener("submit", loadWalk);
  $("model").addEventListener("change", showModel);
  $("scrub").addEventListener("input", drawFrame);
  $("random-seed").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
  });
  try {
    const response = await fetch("/v1/models");
    const payload = await response.json();
    for (const model of payload.models) {
      state.models[model.name] = model;
      $("model").append(new Option(`${model.name}${model.variant ? ` (${model.variant})` : ""}`, model.name));
    }
    showModel();
    setStatus($("status"), "Pick a model, a class and a seed, then press Generate.");
    document.body.dataset.ready = "true";
  } catch (error) {
    setStatus($("status"), `Cannot list the models: ${error.message}`, true);
  }
}

start();
