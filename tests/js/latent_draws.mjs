// Draws latents with zoo/serving/static/latent.js for tests/test_latent_js.py.
// stdin: JSON {"requests": [[seed as a decimal string, n, latent_dim, truncation or null], ...]}.
// stdout: the float32 values of every request, one after another (little-endian);
// stderr: one JSON line {"draws": N, "seconds": S}.
import { sampleLatent } from "../../zoo/serving/static/latent.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { requests } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const started = performance.now();
let draws = 0;
for (const [seed, n, latentDim, truncation] of requests) {
  const z = sampleLatent(n, latentDim, BigInt(seed), truncation);
  draws += z.length;
  process.stdout.write(Buffer.from(z.buffer, z.byteOffset, z.byteLength));
}
const seconds = (performance.now() - started) / 1000;
process.stderr.write(`${JSON.stringify({ draws, seconds })}\n`);
