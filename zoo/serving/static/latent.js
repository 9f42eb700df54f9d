// Latent draws in the browser that equal `zoo.latent.sample_latent` bit for bit
// (the algorithm "pcg64-box-muller-v1", specified in zoo/latent.py's docstring):
// NumPy's SeedSequence(seed) -> PCG64 (128-bit LCG, XSL-RR output) 64-bit words ->
// two uniforms per pair -> Box & Muller with a logarithm, sine and cosine made of
// IEEE-754 double + - * / and sqrt only, which round the same way everywhere ->
// times the truncation psi (a double multiply, when psi is given) -> float32
// (Math.fround). The tests (tests/test_latent_js.py) compare this file's
// draws with zoo.latent's. Plain ES module, no DOM: it runs in Node and in the page.
"use strict";

/** The name of this draw, as `zoo.latent.LATENT_ALGORITHM` and models.json say it. */
export const LATENT_ALGORITHM = "pcg64-box-muller-v1";

const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;

// ---------------------------------------------------------------- SeedSequence
// numpy.random.SeedSequence: the entropy's 32-bit words are hashed into a pool of
// 4 words, which is hashed again to give the generator's state words.
const POOL_SIZE = 4;
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;

/** A non-negative integer seed (Number or BigInt) as a BigInt; TypeError/RangeError otherwise. */
export function checkSeed(seed) {
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`seed must be an integer. Received: seed=${seed}.`);
    seed = BigInt(seed);
  }
  if (typeof seed !== "bigint") throw new TypeError(`seed must be an integer. Received: seed of type ${typeof seed}.`);
  if (seed < 0n) throw new RangeError(`seed must be non-negative. Received: seed=${seed}.`);
  return seed;
}

/** The seed's 32-bit words, lowest first (`[0]` for 0), as SeedSequence splits an int. */
function entropyWords(seed) {
  const words = [];
  for (let rest = seed; rest > 0n; rest >>= 32n) words.push(Number(rest & 0xffffffffn));
  return words.length ? words : [0];
}

function mix(x, y) {
  let result = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
  result = (result ^ (result >>> XSHIFT)) >>> 0;
  return result;
}

/** `SeedSequence(seed).generate_state(nWords, np.uint32)` as a Uint32Array. */
export function seedSequenceState(seed, nWords) {
  const entropy = entropyWords(checkSeed(seed));
  let hashConst = INIT_A;
  const hashmix = (value) => {
    value = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> XSHIFT)) >>> 0;
  };
  const pool = new Uint32Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i += 1) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  for (let src = 0; src < POOL_SIZE; src += 1) {
    for (let dst = 0; dst < POOL_SIZE; dst += 1) {
      if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src += 1) {
    for (let dst = 0; dst < POOL_SIZE; dst += 1) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  const state = new Uint32Array(nWords);
  let constB = INIT_B;
  for (let i = 0; i < nWords; i += 1) {
    let value = (pool[i % POOL_SIZE] ^ constB) >>> 0;
    constB = Math.imul(constB, MULT_B) >>> 0;
    value = Math.imul(value, constB) >>> 0;
    state[i] = (value ^ (value >>> XSHIFT)) >>> 0;
  }
  return state;
}

// ---------------------------------------------------------------- PCG64
// O'Neill's PCG XSL-RR 128/64: state <- state * A + inc (mod 2**128); the output is
// the xor of the state's halves rotated right by the state's top 6 bits.
const PCG_MULTIPLIER = (2549297995355413924n << 64n) | 4865540595714422341n;

/** numpy.random.PCG64 seeded through SeedSequence, as `default_rng(seed)` makes it. */
export class PCG64 {
  constructor(seed) {
    const words = seedSequenceState(seed, 8);
    // generate_state(4, np.uint64): little-endian pairs of 32-bit words.
    const u64 = [0, 1, 2, 3].map((k) => BigInt(words[2 * k]) | (BigInt(words[2 * k + 1]) << 32n));
    const initState = (u64[0] << 64n) | u64[1];
    const initSeq = (u64[2] << 64n) | u64[3];
    this.inc = ((initSeq << 1n) | 1n) & MASK128;
    this.state = 0n;
    this.step();
    this.state = (this.state + initState) & MASK128;
    this.step();
  }

  step() {
    this.state = (this.state * PCG_MULTIPLIER + this.inc) & MASK128;
  }

  /** The next 64-bit output as a BigInt. */
  nextUint64() {
    this.step();
    const high = this.state >> 64n;
    const value = high ^ (this.state & MASK64);
    const rot = high >> 58n;
    return ((value >> rot) | (value << ((64n - rot) & 63n))) & MASK64;
  }
}

// ---------------------------------------------------------------- Box-Muller
// The same literals as zoo/latent.py: 1 / (2k + 1), (-1)**k / (2k + 1)!, (-1)**k / (2k)!.
const TWO_POW_MINUS_53 = 2 ** -53;
const LN2 = 0.6931471805599453;
const SQRT_HALF = 0.7071067811865476;
const HALF_PI = 1.5707963267948966;
const ATANH = [
  0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111, 0.09090909090909091,
  0.07692307692307693, 0.06666666666666667, 0.058823529411764705, 0.05263157894736842,
  0.047619047619047616, 0.043478260869565216,
];
const SIN = [
  -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984, 2.7557319223985893e-06,
  -2.505210838544172e-08, 1.6059043836821613e-10, -7.647163731819816e-13, 2.8114572543455206e-15,
  -8.22063524662433e-18, 1.9572941063391263e-20, -3.868170170630684e-23,
];
const COS = [
  -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05, -2.755731922398589e-07,
  2.08767569878681e-09, -1.1470745597729725e-11, 4.779477332387385e-14, -1.5619206968586225e-16,
  4.110317623312165e-19, -8.896791392450574e-22, 1.6117375710961184e-24,
];

const bits = new DataView(new ArrayBuffer(8));

/** `[mantissa, exponent]` with u = mantissa * 2**exponent, mantissa in [0.5, 1), as numpy.frexp (u normal, > 0). */
function frexp(u) {
  bits.setFloat64(0, u);
  const high = bits.getUint32(0);
  const exponent = ((high >>> 20) & 0x7ff) - 1022;
  bits.setUint32(0, (high & 0x800fffff) | (1022 << 20));
  return [bits.getFloat64(0), exponent];
}

/** ln u for u in (0, 1], the steps of ln u1 in zoo.latent._log_cos_sin. */
export function log(u) {
  let [mantissa, exponent] = frexp(u);
  if (mantissa < SQRT_HALF) {
    mantissa *= 2;
    exponent -= 1;
  }
  const s = (mantissa - 1) / (mantissa + 1);
  const s2 = s * s;
  let series = ATANH[ATANH.length - 1];
  for (let k = ATANH.length - 2; k >= 0; k -= 1) series = series * s2 + ATANH[k];
  return exponent * LN2 + 2 * (s + s * (s2 * series));
}

/** [cos, sin] of 2 pi u for u in [0, 1), the steps of cos and sin in zoo.latent._log_cos_sin. */
export function sinCos(u) {
  const quarter = u * 4;
  const quadrant = Math.floor(quarter);
  const phi = (quarter - quadrant) * HALF_PI;
  const p2 = phi * phi;
  let sinSeries = SIN[SIN.length - 1];
  for (let k = SIN.length - 2; k >= 0; k -= 1) sinSeries = sinSeries * p2 + SIN[k];
  let cosSeries = COS[COS.length - 1];
  for (let k = COS.length - 2; k >= 0; k -= 1) cosSeries = cosSeries * p2 + COS[k];
  const sinPhi = phi + phi * (p2 * sinSeries);
  const cosPhi = 1 + p2 * cosSeries;
  return [
    [cosPhi, -sinPhi, -cosPhi, sinPhi][quadrant],
    [sinPhi, cosPhi, -sinPhi, -cosPhi][quadrant],
  ];
}

/**
 * The truncation psi as a Number (`null` for none) after checking it is a number in
 * (0, 1], as `zoo.latent.check_truncation`; RangeError/TypeError otherwise.
 */
export function checkTruncation(truncation) {
  if (truncation === null || truncation === undefined) return null;
  if (typeof truncation !== "number") {
    throw new TypeError(`truncation must be a number in (0, 1]. Received: truncation of type ${typeof truncation}.`);
  }
  if (!(truncation > 0 && truncation <= 1)) { // also refuses NaN
    throw new RangeError(`truncation must be a number in (0, 1]. Received: truncation=${truncation}.`);
  }
  return truncation;
}

/**
 * `n` latent vectors of size `latentDim` for `seed`, row after row, as a Float32Array:
 * the values of `zoo.latent.sample_latent(n, latentDim, seed, truncation)`.
 *
 * Args: `n`, `latentDim` positive integers; `seed` a non-negative integer (BigInt
 * or safe Number); `truncation` the psi in (0, 1] of the truncation trick (each
 * value times psi, in double precision before the rounding to float32), or
 * null/undefined for none.
 *
 * Example: `sampleLatent(16, 64, 7n)` -> Float32Array(1024); `sampleLatent(16, 64, 7n, 0.7)`.
 */
export function sampleLatent(n, latentDim, seed, truncation = null) {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer. Received: n=${n}.`);
  if (!Number.isSafeInteger(latentDim) || latentDim < 1) {
    throw new RangeError(`latentDim must be a positive integer. Received: latentDim=${latentDim}.`);
  }
  const psi = checkTruncation(truncation) ?? 1; // x * 1 is x: no truncation, the same bits
  const rng = new PCG64(seed);
  const out = new Float32Array(n * latentDim);
  for (let i = 0; i < out.length; i += 2) {
    const u1 = Number((rng.nextUint64() >> 11n) + 1n) * TWO_POW_MINUS_53;
    const u2 = Number(rng.nextUint64() >> 11n) * TWO_POW_MINUS_53;
    const radius = Math.sqrt(-2 * log(u1));
    const [cosine, sine] = sinCos(u2);
    out[i] = radius * cosine * psi; // Float32Array stores round to nearest, ties to even
    if (i + 1 < out.length) out[i + 1] = radius * sine * psi;
  }
  return out;
}
