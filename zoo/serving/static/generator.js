// Exported generators run in the browser by onnxruntime-web: the page's
// counterpart of zoo.serving.OnnxGenerator. WebGPU when the browser gives a
// hardware adapter, else WebAssembly on the CPU. Latents come from latent.js (the same
// values as zoo.latent.sample_latent), pixels from the same rounding as
// zoo.images.to_uint8, grids as zoo.images.make_grid.
"use strict";

import { sampleLatent } from "./latent.js";
import { generatorMetadata, readOnnxModelInfo } from "./onnx_metadata.js";

const BUILDS = { webgpu: "ort.webgpu.min.mjs", wasm: "ort.wasm.min.mjs" };
let runtimePromise = null;

/** The WebGPU adapter this browser gives: `{software: bool, name}`, or null. */
async function webgpuAdapter() {
  if (!globalThis.navigator || !navigator.gpu) return null;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info || {};
    const name = [info.vendor, info.architecture].filter(Boolean).join(" ");
    // A software adapter (SwiftShader) is correct but far slower than WebAssembly.
    const software = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || /swiftshader/i.test(name);
    return { software, name };
  } catch (_) {
    return null;
  }
}

/**
 * Loads onnxruntime-web once from the folder `runtimeUrl` (absolute, ending in /):
 * `{ort, backend: "webgpu" | "wasm", adapter, version}`.
 *
 * `prefer`: "auto" (WebGPU on a hardware adapter, else WebAssembly), "webgpu"
 * (any adapter, software ones too) or "wasm".
 */
export function loadRuntime(runtimeUrl, prefer = "auto") {
  if (!runtimePromise) {
    runtimePromise = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      const adapter = prefer === "wasm" ? null : await webgpuAdapter();
      const backend = adapter && (prefer === "webgpu" || !adapter.software) ? "webgpu" : "wasm";
      const ort = await import(new URL(BUILDS[backend], runtimeUrl).href);
      ort.env.wasm.wasmPaths = runtimeUrl;
      // Threads need a cross-origin isolated page; asking for them elsewhere only warns.
      ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
      ort.env.logLevel = "error";
      return { ort, backend, adapter: backend === "webgpu" ? adapter.name : null, version: ort.env.versions?.web || "" };
    })();
    runtimePromise.catch(() => { runtimePromise = null; });
  }
  return runtimePromise;
}

/** Float outputs -> uint8 pixels, as zoo.images.to_uint8 (float32 arithmetic, ties to even). */
export function toUint8(values, outputRange = [-1, 1]) {
  const [low, high] = outputRange;
  const out = new Uint8Array(values.length);
  const shift = Math.fround(-low);
  const scale = Math.fround(low === -1 && high === 1 ? 127.5 : 255 / (high - low));
  for (let i = 0; i < values.length; i += 1) {
    const v = Math.fround(Math.fround(values[i] + shift) * scale);
    let r = Math.round(v);
    if (r - v === 0.5 && r % 2 !== 0) r -= 1; // np.rint rounds halves to even
    out[i] = r < 0 ? 0 : r > 255 ? 255 : r; // NaN -> 0
  }
  return out;
}

/**
 * Tiles uint8 images [n, H, W, C] into RGBA pixels, as zoo.images.make_grid
 * (columns = ceil(sqrt(n)), 2 px black padding): `{width, height, rgba}`.
 */
export function makeGrid(pixels, [n, height, width, channels], columns = null, padding = 2) {
  columns = columns || Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.ceil(n / columns);
  const gridWidth = columns * (width + padding) + padding;
  const gridHeight = rows * (height + padding) + padding;
  const rgba = new Uint8ClampedArray(gridWidth * gridHeight * 4);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  for (let index = 0; index < n; index += 1) {
    const top = padding + Math.floor(index / columns) * (height + padding);
    const left = padding + (index % columns) * (width + padding);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const source = ((index * height + y) * width + x) * channels;
        const target = ((top + y) * gridWidth + left + x) * 4;
        for (let c = 0; c < 3; c += 1) rgba[target + c] = pixels[source + (channels === 1 ? 0 : c)];
      }
    }
  }
  return { width: gridWidth, height: gridHeight, rgba };
}

/** Spherical (or linear) path between the latents a and b, as OnnxGenerator.walk. */
export function walkLatents(a, b, steps, method = "slerp") {
  const d = a.length;
  const out = new Float32Array(steps * d);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let j = 0; j < d; j += 1) {
    dot += a[j] * b[j];
    aa += a[j] * a[j];
    bb += b[j] * b[j];
  }
  const cosine = dot / Math.max(Math.sqrt(aa) * Math.sqrt(bb), 1e-12);
  const omega = Math.acos(Math.min(1, Math.max(-1, cosine)));
  const linear = method !== "slerp" || omega < 1e-6;
  const step = 1 / (steps - 1);
  for (let i = 0; i < steps; i += 1) {
    const t = i === steps - 1 ? 1 : i * step; // np.linspace(0, 1, steps)
    const wa = linear ? 1 - t : Math.sin((1 - t) * omega);
    const wb = linear ? t : Math.sin(t * omega);
    const norm = linear ? 1 : Math.sin(omega);
    for (let j = 0; j < d; j += 1) out[i * d + j] = (wa * a[j] + wb * b[j]) / norm;
  }
  out.set(a, 0); // the ends are exactly the seeds' latents
  out.set(b, (steps - 1) * d);
  return out;
}

/** One exported generator in an onnxruntime-web session. */
export class BrowserGenerator {
  /**
   * Fetches `url` (a generator.onnx), reads its metadata and opens a session.
   * `runtime` is what `loadRuntime` gives.
   */
  static async open(name, url, runtime) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const info = readOnnxModelInfo(bytes);
    const { ort } = runtime;
    let session;
    let backend = runtime.backend;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: [backend], logSeverityLevel: 3 });
    } catch (error) {
      if (backend === "wasm") throw error;
      backend = "wasm"; // the WebGPU provider failed on this model or device: the CPU runs it
      session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], logSeverityLevel: 3 });
    }
    const ports = { inputs: session.inputNames };
    const metadata = generatorMetadata(info.properties, name, ports);
    return new BrowserGenerator(name, metadata, session, backend, ort);
  }

  constructor(name, metadata, session, backend, ort) {
    Object.assign(this, { name, metadata, session, backend, ort });
    this.output = session.outputNames.includes("image") ? "image" : session.outputNames[0];
  }

  /** `n` latents for `seed` and truncation psi (null: none), as OnnxGenerator.latents. */
  latents(n, seed, truncation = null) {
    return sampleLatent(n, this.metadata.latent_dim, seed, truncation);
  }

  /** Labels for n images: one class for all, or 0, 1, 2, ... in turn (`null`); unconditional: none. */
  labels(label, n) {
    if (!this.metadata.conditional) return null;
    return Array.from({ length: n }, (_, i) => (label === null || label === undefined ? i % this.metadata.num_classes : label));
  }

  /** Runs the graph: z Float32Array [n * latent_dim], labels ints or null -> float32 [n, H, W, C]. */
  async run(z, labels) {
    const n = z.length / this.metadata.latent_dim;
    const feeds = { z: new this.ort.Tensor("float32", z, [n, this.metadata.latent_dim]) };
    if (labels) feeds.label = new this.ort.Tensor("int64", BigInt64Array.from(labels, BigInt), [n]);
    const results = await this.session.run(feeds, [this.output]);
    const output = results[this.output];
    const data = output.data instanceof Float32Array ? output.data : Float32Array.from(output.data);
    output.dispose?.();
    return { images: data, shape: [n, ...this.metadata.image_shape] };
  }

  /** n images for `seed` (and truncation psi): `{z, labels, images (float32), pixels (uint8), shape}`. */
  async generate(n, label, seed, truncation = null) {
    const z = this.latents(n, seed, truncation);
    const labels = this.labels(label, n);
    const { images, shape } = await this.run(z, labels);
    return { z, labels, images, pixels: toUint8(images, this.metadata.output_range), shape };
  }

  /** A latent walk from seed a to seed b (as OnnxGenerator.interpolate), both ends truncated by psi. */
  async interpolate(seedA, seedB, steps, label, method = "slerp", truncation = null) {
    const a = this.latents(1, seedA, truncation);
    const b = this.latents(1, seedB, truncation);
    const z = walkLatents(a, b, steps, method);
    const labels = this.labels(label, steps);
    const { images, shape } = await this.run(z, labels);
    return { z, labels, images, pixels: toUint8(images, this.metadata.output_range), shape };
  }
}
