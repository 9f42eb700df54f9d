// The facts of an exported generator, read in the browser from its ONNX file's
// bytes: onnxruntime-web does not expose `metadata_props`, so this reads the
// protobuf itself. Only the top level of ModelProto is walked (the graph, field 7,
// is skipped without being decoded):
//   ModelProto.metadata_props = field 14, repeated StringStringEntryProto {key = 1, value = 2}
//   ModelProto.producer_name = field 2, producer_version = field 3
// The interpretation follows zoo/serving/metadata.py (`GeneratorMetadata.from_session`).
"use strict";

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class Reader {
  constructor(bytes, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  varint() {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= this.end) throw new Error("not an ONNX file: a number runs past the end");
      const byte = this.bytes[this.pos];
      this.pos += 1;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new Error("not an ONNX file: a length is too large");
        return value;
      }
      scale *= 128;
    }
    throw new Error("not an ONNX file: a number is longer than 10 bytes");
  }

  /** The [start, end) of the next length-delimited field. */
  span() {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) throw new Error("not an ONNX file: a field runs past the end");
    this.pos = start + length;
    return [start, start + length];
  }

  skip(wireType) {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.advance(8);
    else if (wireType === LENGTH_DELIMITED) this.span();
    else if (wireType === FIXED32) this.advance(4);
    else throw new Error(`not an ONNX file: unknown protobuf wire type ${wireType}`);
  }

  advance(count) {
    if (count > this.end - this.pos) throw new Error("not an ONNX file: a field runs past the end");
    this.pos += count;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The top-level facts of an ONNX ModelProto: `{properties, producerName, producerVersion}`.
 *
 * `bytes` is a Uint8Array or ArrayBuffer of the whole .onnx file; `properties` maps
 * every `metadata_props` key to its value (a later duplicate wins, as in onnxruntime).
 */
export function readOnnxModelInfo(bytes) {
  bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const reader = new Reader(bytes);
  const properties = {};
  let producerName = "";
  let producerVersion = "";
  const text = ([start, end]) => utf8.decode(bytes.subarray(start, end));
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 14 && wireType === LENGTH_DELIMITED) {
      const [start, end] = reader.span();
      const entry = new Reader(bytes, start, end);
      let key = "";
      let value = "";
      while (entry.pos < entry.end) {
        const entryTag = entry.varint();
        const entryField = Math.floor(entryTag / 8);
        if (entryField === 1 && entryTag % 8 === LENGTH_DELIMITED) key = text(entry.span());
        else if (entryField === 2 && entryTag % 8 === LENGTH_DELIMITED) value = text(entry.span());
        else entry.skip(entryTag % 8);
      }
      properties[key] = value;
    } else if (field === 2 && wireType === LENGTH_DELIMITED) {
      producerName = text(reader.span());
    } else if (field === 3 && wireType === LENGTH_DELIMITED) {
      producerVersion = text(reader.span());
    } else if (field === 0) {
      throw new Error("not an ONNX file: field number 0");
    } else {
      reader.skip(wireType);
    }
  }
  return { properties, producerName, producerVersion };
}

const NONE_STRINGS = ["", "none", "null"];

function isNone(text) {
  return text === undefined || NONE_STRINGS.includes(text.trim().toLowerCase());
}

function intProperty(properties, key, name) {
  const text = properties[key];
  if (isNone(text)) return null;
  if (!/^\s*[+-]?\d+\s*$/.test(text)) {
    throw new Error(`Bad metadata in the ONNX generator '${name}': ${key} must be an integer. Received: ${key}=${JSON.stringify(text)}.`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`Bad metadata in the ONNX generator '${name}': ${key} must be positive. Received: ${key}=${JSON.stringify(text)}.`);
  }
  return value;
}

function listProperty(properties, key, name) {
  const text = properties[key];
  if (isNone(text)) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch (_) {
    value = undefined;
  }
  if (!Array.isArray(value)) {
    throw new Error(`Bad metadata in the ONNX generator '${name}': ${key} must be a JSON list. Received: ${key}=${JSON.stringify(text.slice(0, 80))}.`);
  }
  return value;
}

/**
 * The generator's facts, shaped like `GET /v1/models/{name}` (`GeneratorMetadata.to_dict`).
 *
 * `ports` (optional) gives what the graph itself says, for files whose metadata
 * lacks a key: `{inputs: [names], latentShape: [..], imageShape: [..]}`.
 * Throws an Error naming the key when a fact is missing or contradictory.
 */
export function generatorMetadata(properties, name, ports = {}) {
  const inputs = ports.inputs || (isNone(properties.inputs) ? null : properties.inputs.split(",").map((s) => s.trim()));
  let latentDim = intProperty(properties, "latent_dim", name);
  if (latentDim === null) latentDim = staticDims((ports.latentShape || []).slice(1), name, "latent_dim")[0];
  const numClasses = intProperty(properties, "num_classes", name);
  if (inputs) {
    const hasLabel = inputs.includes("label");
    if (hasLabel && numClasses === null) {
      throw new Error(`The ONNX generator '${name}' takes labels but its metadata has no num_classes. Re-export it with \`zoo export\`.`);
    }
    if (numClasses !== null && !hasLabel) {
      throw new Error(`The ONNX generator '${name}' says num_classes=${numClasses} but has no 'label' input. Received: inputs=${inputs.join(",")}.`);
    }
  }
  let imageShape = listProperty(properties, "image_shape", name);
  if (imageShape === null) imageShape = staticDims((ports.imageShape || []).slice(1), name, "image_shape");
  imageShape = imageShape.map(Number);
  if (imageShape.length !== 3 || !imageShape.every((dim) => Number.isSafeInteger(dim) && dim > 0)) {
    throw new Error(`Expected image_shape [H, W, C] for '${name}'. Received: image_shape=${JSON.stringify(imageShape)}.`);
  }
  let classNames = listProperty(properties, "class_names", name);
  if (classNames !== null) {
    classNames = classNames.map(String);
    if (classNames.length !== numClasses) {
      throw new Error(`The ONNX generator '${name}' lists ${classNames.length} class_names for num_classes=${numClasses}.`);
    }
  }
  const outputRange = (listProperty(properties, "output_range", name) || [-1.0, 1.0]).map(Number);
  if (outputRange.length !== 2 || !(outputRange[0] < outputRange[1])) {
    throw new Error(`Expected output_range [low, high] for '${name}'. Received: output_range=${JSON.stringify(outputRange)}.`);
  }
  return {
    name,
    variant: isNone(properties.variant) ? null : properties.variant,
    latent_dim: latentDim,
    conditional: numClasses !== null,
    num_classes: numClasses,
    class_names: classNames,
    image_shape: imageShape,
    output_range: outputRange,
    properties: { ...properties },
  };
}

function staticDims(dims, name, key) {
  if (!dims.length || !dims.every((dim) => Number.isSafeInteger(dim) && dim > 0)) {
    throw new Error(`The ONNX generator '${name}' stores no ${key} and its graph does not fix it. Re-export it with \`zoo export\`.`);
  }
  return dims;
}
