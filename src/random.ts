/**
 * Counter-based random numbers with explicit keys.
 *
 * A {@linkcode Key} is two 32-bit words. Every random function takes a key
 * and returns the same numbers for the same key on every machine: the bits
 * come from the Threefry-2x32 block cipher with 20 rounds (Salmon, Moraes,
 * Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11; the
 * Random123 library), computed with exact uint32 integer arithmetic.
 *
 * Keys are never consumed or mutated: to get independent streams, derive new
 * keys with {@linkcode split} or {@linkcode foldIn}. Drawing twice with the
 * same key gives the same numbers.
 *
 * ## The counter scheme
 *
 * Every output is `threefry2x32(key, counter)` for a 64-bit counter
 * `(c0, c1)`; the high word `c0` separates three domains that never meet:
 *
 * - draws: block `b` of a draw uses counter `(floor(b / 2^32), b mod 2^32)`,
 *   so `c0 < 2^21` for any draw that fits in memory;
 * - {@linkcode split}: child `i` is the block at counter `(0x40000000, i)`;
 * - {@linkcode foldIn}: the key for `data` is the block at counter
 *   `(0x80000000 | floor(data / 2^32), data mod 2^32)`.
 *
 * Within a draw, each block gives two 32-bit words and both are used:
 * {@linkcode uniform} and {@linkcode bernoulli} take element `2b` from the
 * first word of block `b` and element `2b + 1` from the second;
 * {@linkcode normal} turns block `b` into elements `2b` and `2b + 1` with one
 * Box-Muller step; {@linkcode randint} and {@linkcode permutation} take one
 * block per number and combine its words into a 53-bit fraction.
 *
 * @module
 */

import {
  type AnyTensor,
  fromData,
  type Mutable,
  type Shape,
  sizeOf,
  Tensor,
} from "./tensor.ts";
import { stageRun, wasm } from "./kernels/wasm/runtime.ts";

const TWO_32 = 4294967296;
const TWO_M24 = 1 / 16777216;
const TWO_M32 = 1 / TWO_32;
const TWO_M53 = 1 / 9007199254740992;
/** Skein's key-schedule parity constant, as Threefry uses it. */
const PARITY = 0x1bd11bda;
/** The rotation distances of Threefry-2x32 for rounds 0-3 (mod 8). */
const ROTATIONS_ODD = [13, 15, 26, 6] as const;
/** The rotation distances of Threefry-2x32 for rounds 4-7 (mod 8). */
const ROTATIONS_EVEN = [17, 29, 16, 24] as const;
const SPLIT_DOMAIN = 0x40000000;
const FOLD_DOMAIN = 0x80000000;

/**
 * The Threefry-2x32-20 block function without allocation: encrypts counter
 * `(c0, c1)` under key `(k0, k1)` and writes the two words to `out[at]` and
 * `out[at + 1]`.
 */
function encryptInto(
  k0: number,
  k1: number,
  c0: number,
  c1: number,
  out: Uint32Array,
  at: number,
): void {
  const k2 = (PARITY ^ k0 ^ k1) >>> 0;
  let x0 = (c0 + k0) >>> 0;
  let x1 = (c1 + k1) >>> 0;
  // Five groups of four rounds; odd groups rotate by the first four
  // distances, even groups by the last four.
  for (let s = 1; s <= 5; s++) {
    for (const r of s & 1 ? ROTATIONS_ODD : ROTATIONS_EVEN) {
      x0 = (x0 + x1) >>> 0;
      x1 = ((x1 << r) | (x1 >>> (32 - r))) ^ x0;
    }
    // Key injection s after rounds 4s - 1: words s, s + 1 (mod 3) and s.
    const m = s % 3;
    x0 = (x0 + (m === 0 ? k0 : m === 1 ? k1 : k2)) >>> 0;
    x1 = (x1 + (m === 0 ? k1 : m === 1 ? k2 : k0) + s) >>> 0;
  }
  out[at] = x0;
  out[at + 1] = x1;
}

/**
 * Encrypts one 64-bit counter with the Threefry-2x32 block cipher, 20 rounds.
 *
 * This is the raw block function that every other function of this module is
 * built on; most code wants {@linkcode uniform} and friends instead. Words
 * are unsigned 32-bit integers; other numbers are reduced modulo 2^32.
 *
 * @param key The two key words `[k0, k1]`.
 * @param counter The two counter words `[c0, c1]`.
 * @returns The two output words `[x0, x1]`, each in `[0, 2^32)`.
 *
 * @example Random123's known answer for an all-zero key and counter
 * ```ts
 * import { threefry2x32 } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(threefry2x32([0, 0], [0, 0]), [0x6b200159, 0x99ba4efe]);
 * ```
 */
export function threefry2x32(
  key: readonly [number, number],
  counter: readonly [number, number],
): [number, number] {
  const out = new Uint32Array(2);
  encryptInto(
    key[0] >>> 0,
    key[1] >>> 0,
    counter[0] >>> 0,
    counter[1] >>> 0,
    out,
    0,
  );
  return [out[0]!, out[1]!];
}

/** Token that only this module holds, so `new Key(...)` fails elsewhere. */
const KEY_TOKEN = Symbol("Key");
let makeKey: (k0: number, k1: number) => Key;
let isKey: (x: unknown) => x is Key;
let wordsOf: (k: Key) => readonly [number, number];

function hex(word: number): string {
  return `0x${word.toString(16).padStart(8, "0")}`;
}

/**
 * An immutable random key: two 32-bit words, opaque to the type system.
 *
 * Make one with {@linkcode key}, derive more with {@linkcode split} and
 * {@linkcode foldIn}. A plain number, array or tensor is not a key, neither to
 * the compiler (the class has a private field, so only real keys match the
 * type) nor at run time (every random function checks and throws a
 * `TypeError`). There is no public constructor.
 *
 * @example Keys print their words
 * ```ts
 * import { key } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(String(key(42)), "Key(0x00000000, 0x0000002a)");
 * ```
 */
export class Key {
  readonly #words: readonly [number, number];

  static {
    makeKey = (k0, k1) => new Key(KEY_TOKEN, k0, k1);
    isKey = (x): x is Key => typeof x === "object" && x !== null && #words in x;
    wordsOf = (k) => k.#words;
  }

  /**
   * Not callable: keys come from {@linkcode key}, {@linkcode split} and
   * {@linkcode foldIn}.
   *
   * @param token The module's private token.
   * @param k0 The first word.
   * @param k1 The second word.
   */
  private constructor(token: symbol, k0: number, k1: number) {
    if (token !== KEY_TOKEN) {
      throw new TypeError(
        "Expected a Key to be made by key, split or foldIn but found a direct constructor call",
      );
    }
    this.#words = Object.freeze([k0 >>> 0, k1 >>> 0] as const);
    Object.freeze(this);
  }

  /**
   * The key's words in hexadecimal.
   *
   * @returns Text such as `Key(0x00000000, 0x0000002a)`.
   */
  toString(): string {
    return `Key(${hex(this.#words[0])}, ${hex(this.#words[1])})`;
  }
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (x instanceof Tensor) return `a tensor of shape [${x.shape.join(", ")}]`;
  switch (typeof x) {
    case "string":
      return JSON.stringify(x);
    case "function":
      return "a function";
    case "object": {
      // Objects without a prototype have no constructor.
      const ctor: unknown = x.constructor;
      const name = (typeof ctor === "function" || typeof ctor === "object") &&
          ctor !== null && "name" in ctor
        ? ctor.name
        : undefined;
      return typeof name === "string" && name !== "Object"
        ? `an instance of ${name}`
        : "an object";
    }
    default:
      return String(x);
  }
}

function checkKey(k: unknown): readonly [number, number] {
  if (!isKey(k)) throw new TypeError(`Expected a Key but found ${describe(k)}`);
  return wordsOf(k);
}

function checkShape(shape: Shape): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      `Expected shape to be an array of dims but found ${describe(shape)}`,
    );
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `Expected shape dims to be non-negative integers but found [${
          shape.join(", ")
        }]`,
      );
    }
  }
  return sizeOf(shape);
}

function checkIndex(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Expected ${name} to be a non-negative safe integer but found ${value}`,
    );
  }
}

/** The tuple of `N` keys that {@linkcode split} returns; `Key[]` when `N` is not a literal up to 64. */
export type KeyTuple<N extends number> = number extends N ? Key[]
  : BuildKeyTuple<N, []>;

/** Builds {@linkcode KeyTuple} by appending keys to `Acc` until it has `N` of them (or 64). */
export type BuildKeyTuple<N extends number, Acc extends Key[]> =
  Acc["length"] extends N ? Acc
    : Acc["length"] extends 64 ? Key[]
    : BuildKeyTuple<N, [...Acc, Key]>;

/**
 * Makes a key from an integer seed.
 *
 * The seed's high and low 32 bits become the key's two words, so
 * `key(42)` is `Key(0x00000000, 0x0000002a)`, as in JAX.
 *
 * @param seed An integer with `0 <= seed < 2^53`.
 * @returns The key.
 * @throws {RangeError} If `seed` is not a non-negative safe integer.
 *
 * @example Same seed, same numbers
 * ```ts
 * import { key, uniform } from "@tensa/tensa";
 * import { assertEquals, assertNotEquals } from "@std/assert";
 *
 * const a = uniform(key(0), [4]).toArray();
 * assertEquals(uniform(key(0), [4]).toArray(), a);
 * assertNotEquals(uniform(key(1), [4]).toArray(), a);
 * ```
 */
export function key(seed: number): Key {
  if (
    typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0
  ) {
    throw new RangeError(
      `Expected seed to be a non-negative safe integer but found ${
        describe(seed)
      }`,
    );
  }
  return makeKey(Math.floor(seed / TWO_32), seed % TWO_32);
}

/**
 * The two 32-bit words of a key, for saving or printing it.
 *
 * @param key The key.
 * @returns A fresh `[k0, k1]` pair of unsigned 32-bit integers.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 *
 * @example
 * ```ts
 * import { key, keyData } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(keyData(key(2 ** 32 + 7)), [1, 7]);
 * ```
 */
export function keyData(key: Key): [number, number] {
  const [k0, k1] = checkKey(key);
  return [k0, k1];
}

/**
 * Derives `n` new keys from one key.
 *
 * Child `i` is `threefry2x32(key, [0x40000000, i])`: a counter that no draw
 * and no {@linkcode foldIn} uses, so the children are independent of each
 * other, of the parent's draws and of the parent itself. Use each child for
 * one purpose and do not draw with the parent afterwards.
 *
 * With a literal `n` (up to 64) the result is a tuple, so
 * `const [a, b] = split(k)` gives two `Key`s.
 *
 * @param key The parent key.
 * @param n How many keys to make; 2 by default.
 * @returns `n` keys.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If `n` is not an integer in `[0, 2^32)`.
 *
 * @example Splitting a key for two uses
 * ```ts
 * import { key, normal, split, uniform } from "@tensa/tensa";
 * import { assertEquals, assertNotEquals } from "@std/assert";
 *
 * const [initKey, dropoutKey] = split(key(0));
 * assertNotEquals(String(initKey), String(dropoutKey));
 * assertEquals(normal(initKey, [3]).shape, [3]);
 * assertEquals(split(dropoutKey, 5).length, 5);
 * assertEquals(uniform(initKey, [2]).toArray(), uniform(initKey, [2]).toArray());
 * ```
 */
export function split<const N extends number = 2>(
  key: Key,
  n?: N,
): KeyTuple<N>;
export function split(key: Key, n?: number): Key[] {
  const words = checkKey(key);
  const count = n ?? 2;
  if (!Number.isInteger(count) || count < 0 || count >= TWO_32) {
    throw new RangeError(
      `Expected n to be an integer in [0, 2^32) but found ${describe(count)}`,
    );
  }
  const out: Key[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const [x0, x1] = threefry2x32(words, [SPLIT_DOMAIN, i]);
    out[i] = makeKey(x0, x1);
  }
  return out;
}

/**
 * Derives a key from a key and an integer, such as a step or layer number.
 *
 * `foldIn(k, data)` is `threefry2x32(k, [0x80000000 | hi, lo])` where `hi`
 * and `lo` are the high and low 32 bits of `data`. Different `data` give
 * independent keys; the same `data` always gives the same key.
 *
 * @param key The key to derive from.
 * @param data An integer with `0 <= data < 2^53`.
 * @returns The derived key.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If `data` is not a non-negative safe integer.
 *
 * @example A fresh key per training step
 * ```ts
 * import { foldIn, key } from "@tensa/tensa";
 * import { assertEquals, assertNotEquals } from "@std/assert";
 *
 * const base = key(7);
 * assertEquals(String(foldIn(base, 3)), String(foldIn(base, 3)));
 * assertNotEquals(String(foldIn(base, 3)), String(foldIn(base, 4)));
 * ```
 */
export function foldIn(key: Key, data: number): Key {
  const words = checkKey(key);
  checkIndex("data", data);
  const [x0, x1] = threefry2x32(words, [
    (FOLD_DOMAIN | Math.floor(data / TWO_32)) >>> 0,
    data % TWO_32,
  ]);
  return makeKey(x0, x1);
}

/**
 * Fills `out` with the words of blocks `0, 1, ...` of the key's draw stream:
 * `out[2b]` and `out[2b + 1]` are the two words of block `b`.
 */
function streamWords(words: readonly [number, number], n: number): Uint32Array {
  const [k0, k1] = words;
  const blocks = Math.ceil(n / 2);
  // Long streams: four blocks at a time in WebAssembly SIMD (the same
  // words), the last few blocks here.
  const simd = blocks >= 256 ? blocks & ~3 : 0;
  const fast = simd === 0 ? null : stageRun([], 2 * simd, (_, po) => {
    wasm().threefry(k0, k1, 0, simd, po);
  });
  let out: Uint32Array, b = 0;
  if (fast !== null && simd === blocks) {
    return new Uint32Array(fast.buffer, fast.byteOffset, 2 * blocks);
  } else if (fast !== null) {
    out = new Uint32Array(2 * blocks);
    out.set(new Uint32Array(fast.buffer, fast.byteOffset, 2 * simd));
    b = simd;
  } else out = new Uint32Array(2 * blocks);
  for (; 2 * b < n; b++) {
    encryptInto(k0, k1, Math.floor(b / TWO_32), b % TWO_32, out, 2 * b);
  }
  return out;
}

/**
 * The 53-bit fractions in [0, 1) of blocks `0 .. n - 1` of a draw stream:
 * 27 bits of the first word and 26 of the second.
 */
function fractions53(
  words: readonly [number, number],
  n: number,
): Float64Array {
  const bits = streamWords(words, 2 * n);
  const out = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    out[b] = ((bits[2 * b]! >>> 5) * 67108864 + (bits[2 * b + 1]! >>> 6)) *
      TWO_M53;
  }
  return out;
}

function checkFinite(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(
      `Expected ${name} to be a finite number but found ${describe(value)}`,
    );
  }
  return value;
}

/** The largest float32 below the finite float32 `x`. */
function float32Below(x: number): number {
  if (x === 0) return -1.401298464324817e-45;
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  const bits = view.getInt32(0);
  view.setInt32(0, x > 0 ? bits - 1 : bits + 1);
  return view.getFloat32(0);
}

/** Options of {@linkcode uniform}. */
export interface UniformOptions {
  /** The lower bound, included; 0 by default. */
  min?: number;
  /** The upper bound, excluded; 1 by default. */
  max?: number;
}

/**
 * Draws float32 numbers uniformly from `[min, max)`.
 *
 * Each number takes the top 24 bits of one 32-bit word as a fraction
 * `u = bits * 2^-24` in `[0, 1)` (every float32 multiple of `2^-24` is
 * equally likely) and returns `min + (max - min) * u`, rounded to float32 and
 * kept below `max`.
 *
 * @param key The key; the same key gives the same numbers.
 * @param shape The shape of the result.
 * @param options The bounds.
 * @returns A float32 tensor of the given shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer, or the bounds are not finite with `min < max`.
 *
 * @example Uniform numbers in [-1, 1)
 * ```ts
 * import { key, uniform } from "@tensa/tensa";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const u = uniform(key(0), [2, 3], { min: -1, max: 1 }); // Tensor<[2, 3]>
 * assertEquals(u.shape, [2, 3]);
 * assert(u.toFlat().every((x) => x >= -1 && x < 1));
 * ```
 */
export function uniform<const S extends Shape>(
  key: Key,
  shape: S,
  options: UniformOptions = {},
): Tensor<Mutable<S>, "float32"> {
  const words = checkKey(key);
  const n = checkShape(shape);
  const min = checkFinite("min", options.min ?? 0);
  const max = checkFinite("max", options.max ?? 1);
  if (!(min < max)) {
    throw new RangeError(
      `Expected min to be less than max but found min ${min} and max ${max}`,
    );
  }
  const bits = streamWords(words, n);
  const out = new Float32Array(n);
  const width = max - min;
  // Rounding to float32 can reach max; the largest float32 below it replaces it.
  const fmax = Math.fround(max);
  const cap = fmax < max ? fmax : float32Below(fmax);
  for (let i = 0; i < n; i++) {
    const v = Math.fround(min + width * ((bits[i]! >>> 8) * TWO_M24));
    out[i] = v < max ? v : cap;
  }
  return fromData<Mutable<S>, "float32">([...shape], "float32", out);
}

/** Options of {@linkcode normal}. */
export interface NormalOptions {
  /** The mean; 0 by default. */
  mean?: number;
  /** The standard deviation, not negative; 1 by default. */
  std?: number;
}

/**
 * Draws float32 numbers from a normal (Gaussian) distribution.
 *
 * Uses the Box-Muller transform: block `b` of the key's stream gives
 * `u1 = (w0 + 0.5) * 2^-32` in `(0, 1)` (never 0, so the logarithm is finite)
 * and `u2 = w1 * 2^-32`, and elements `2b` and `2b + 1` are
 * `sqrt(-2 ln u1) * cos(2 pi u2)` and `... * sin(2 pi u2)`, scaled by `std`
 * and shifted by `mean`. The integer part is exact everywhere; the result
 * relies on the platform's `Math.log`, `Math.sqrt`, `Math.cos` and
 * `Math.sin`, which may differ in the last bit between JavaScript engines.
 *
 * @param key The key; the same key gives the same numbers.
 * @param shape The shape of the result.
 * @param options The mean and standard deviation.
 * @returns A float32 tensor of the given shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer, `mean` is not finite, or `std` is negative or not finite.
 *
 * @example Normal numbers around 10
 * ```ts
 * import { key, normal } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const x = normal(key(0), [10000], { mean: 10, std: 2 }).toFlat();
 * const mean = x.reduce((a, b) => a + b, 0) / x.length;
 * assertAlmostEquals(mean, 10, 0.1);
 * ```
 */
export function normal<const S extends Shape>(
  key: Key,
  shape: S,
  options: NormalOptions = {},
): Tensor<Mutable<S>, "float32"> {
  const words = checkKey(key);
  const n = checkShape(shape);
  const mean = checkFinite("mean", options.mean ?? 0);
  const std = checkFinite("std", options.std ?? 1);
  if (std < 0) {
    throw new RangeError(
      `Expected std to be non-negative but found ${std}`,
    );
  }
  const bits = streamWords(words, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = (bits[i]! + 0.5) * TWO_M32;
    const theta = 2 * Math.PI * bits[i + 1]! * TWO_M32;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = mean + r * Math.sin(theta);
  }
  return fromData<Mutable<S>, "float32">([...shape], "float32", out);
}

/**
 * Draws float32 zeros and ones, each one with probability `p`.
 *
 * Element `i` is 1 when `w * 2^-32 < p` for its 32-bit word `w`, so `p = 0`
 * gives only zeros and `p = 1` only ones.
 *
 * @param key The key; the same key gives the same numbers.
 * @param p The probability of a one, in `[0, 1]`.
 * @param shape The shape of the result.
 * @returns A float32 tensor of zeros and ones.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If `p` is outside `[0, 1]` or a dim is not a non-negative integer.
 *
 * @example A dropout mask that keeps about 80%
 * ```ts
 * import { bernoulli, key } from "@tensa/tensa";
 * import { assert } from "@std/assert";
 *
 * const mask = bernoulli(key(3), 0.8, [1000]).toFlat();
 * const kept = mask.filter((m) => m === 1).length;
 * assert(kept > 750 && kept < 850);
 * assert(mask.every((m) => m === 0 || m === 1));
 * ```
 */
export function bernoulli<const S extends Shape>(
  key: Key,
  p: number,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  return fromData<Mutable<S>, "float32">(
    [...shape],
    "float32",
    bernoulliData(key, p, shape, 1),
  );
}

/**
 * The values of `bernoulli(key, p, shape)` times `value` (a float32):
 * `value` where it has a one, else 0; the key, `p` and the shape checked.
 */
function bernoulliData(
  key: Key,
  p: number,
  shape: Shape,
  value: number,
): Float32Array {
  const words = checkKey(key);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new RangeError(
      `Expected p to be a probability in [0, 1] but found ${describe(p)}`,
    );
  }
  const n = checkShape(shape);
  // w * 2^-32 < p exactly when the integer w is below ceil(p * 2^32).
  const threshold = Math.ceil(p * TWO_32);
  const blocks = n / 2;
  if (n % 8 === 0 && blocks >= 256 && threshold < TWO_32) {
    // The stream and the mask in WebAssembly SIMD, the words turned into
    // floats where they lie (the same values as the loop below).
    const [k0, k1] = words;
    const valueBits = new Int32Array(new Float32Array([value]).buffer)[0]!;
    const r = stageRun([], n, (_, po) => {
      wasm().threefry(k0, k1, 0, blocks, po);
      wasm().bernoulliMask(po, n, threshold | 0, valueBits, po);
    });
    if (r !== null) return r;
  }
  const bits = streamWords(words, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bits[i]! * TWO_M32 < p ? value : 0;
  return out;
}

/**
 * Internal: `bernoulli(key, p, shape)` times `value` in one pass (a
 * dropout mask scaled by the inverse of the keep rate); `value` is rounded
 * to float32. Not exported from mod.ts.
 *
 * @internal
 */
export function scaledBernoulli(
  key: Key,
  p: number,
  shape: Shape,
  value: number,
): AnyTensor {
  return fromData([...shape], "float32", bernoulliData(key, p, shape, value));
}

/** Options of {@linkcode randint}: the bounds are required. */
export interface RandintOptions {
  /** The lower bound, included; an int32. */
  min: number;
  /** The upper bound, excluded; at most 2^31. */
  max: number;
}

/**
 * Draws int32 integers uniformly from `[min, max)`.
 *
 * Element `i` is `min + floor(u * (max - min))` where `u` is the 53-bit
 * fraction of block `i` of the key's stream; the bias is below
 * `(max - min) / 2^53`, far beneath anything measurable.
 *
 * @param key The key; the same key gives the same numbers.
 * @param shape The shape of the result.
 * @param options The bounds `min` (included) and `max` (excluded).
 * @returns An int32 tensor of the given shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer, or the bounds are not integers with `-2^31 <= min < max <= 2^31`.
 *
 * @example Dice rolls
 * ```ts
 * import { key, randint } from "@tensa/tensa";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const rolls = randint(key(0), [100], { min: 1, max: 7 });
 * assertEquals(rolls.dtype, "int32");
 * assert(rolls.toFlat().every((r) => r >= 1 && r <= 6));
 * ```
 */
export function randint<const S extends Shape>(
  key: Key,
  shape: S,
  options: RandintOptions,
): Tensor<Mutable<S>, "int32"> {
  const words = checkKey(key);
  const n = checkShape(shape);
  const { min, max } = options;
  if (!Number.isInteger(min) || !Number.isInteger(max)) {
    throw new RangeError(
      `Expected min and max to be integers but found min ${
        describe(min)
      } and max ${describe(max)}`,
    );
  }
  if (!(min < max)) {
    throw new RangeError(
      `Expected min to be less than max but found min ${min} and max ${max}`,
    );
  }
  if (min < -2147483648 || max > 2147483648) {
    throw new RangeError(
      `Expected min and max to be within [-2^31, 2^31] but found min ${min} and max ${max}`,
    );
  }
  const width = max - min;
  const u = fractions53(words, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = min + Math.floor(u[i]! * width);
  return fromData<Mutable<S>, "int32">([...shape], "int32", out);
}

/**
 * A random ordering of `0, 1, ..., n - 1`.
 *
 * A Fisher-Yates shuffle: for `i` from `n - 1` down to 1, swap entry `i` with
 * entry `floor(u * (i + 1))`, where `u` is the 53-bit fraction of block
 * `n - 1 - i` of the key's stream. Every ordering is equally likely up to a
 * bias below `n / 2^53`.
 *
 * @param key The key; the same key gives the same ordering.
 * @param n The number of entries, an integer in `[0, 2^31)`.
 * @returns An int32 tensor of shape `[n]`.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If `n` is not an integer in `[0, 2^31)`.
 *
 * @example Shuffling indices
 * ```ts
 * import { key, permutation } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const order = permutation(key(0), 5); // Tensor<[5], "int32">
 * assertEquals([...order.toFlat()].sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export function permutation<const N extends number>(
  key: Key,
  n: N,
): Tensor<[N], "int32"> {
  const words = checkKey(key);
  if (!Number.isInteger(n) || n < 0 || n >= 2147483648) {
    throw new RangeError(
      `Expected n to be an integer in [0, 2^31) but found ${describe(n)}`,
    );
  }
  const u = fractions53(words, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[n - 1 - i]! * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return fromData<[N], "int32">([n], "int32", out);
}
