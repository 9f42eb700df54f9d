// Calls the page's pure functions (zoo/serving/static/*.js) for the Python tests.
// stdin: JSON {"call": NAME, ...arguments}; stdout: JSON, or raw float64 for "math".
import fs from "node:fs";
import { makeGrid, toUint8, walkLatents } from "../../zoo/serving/static/generator.js";
import { log, sinCos } from "../../zoo/serving/static/latent.js";
import { generatorMetadata, readOnnxModelInfo } from "../../zoo/serving/static/onnx_metadata.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const json = (value) => process.stdout.write(JSON.stringify(value));

const calls = {
  // [ln u, cos 2 pi a, sin 2 pi a] for each pair of the given u in (0, 1] and a in [0, 1), as float64.
  math({ uniforms, angles }) {
    const out = new Float64Array(3 * uniforms.length);
    uniforms.forEach((u, i) => {
      const [cosine, sine] = sinCos(angles[i]);
      out.set([log(u), cosine, sine], 3 * i);
    });
    process.stdout.write(Buffer.from(out.buffer));
  },
  metadata({ files }) {
    json(files.map(([path, name]) => {
      try {
        const info = readOnnxModelInfo(fs.readFileSync(path));
        return { info, metadata: generatorMetadata(info.properties, name) };
      } catch (error) {
        return { error: error.message };
      }
    }));
  },
  uint8({ values, range }) {
    json(Array.from(toUint8(Float32Array.from(values), range)));
  },
  grid({ pixels, shape, columns, padding }) {
    const grid = makeGrid(Uint8Array.from(pixels), shape, columns, padding);
    json({ width: grid.width, height: grid.height, rgba: Array.from(grid.rgba) });
  },
  walk({ a, b, steps, method }) {
    json(Array.from(walkLatents(Float32Array.from(a), Float32Array.from(b), steps, method)));
  },
};
calls[request.call](request);
