/**
 * Parameter initializers: functions from a key and a shape to a float32
 * tensor, scaled by the fan-in and fan-out of the shape.
 *
 * Fans follow the Keras convention: for a dense kernel `[in, out]`,
 * `fanIn = in` and `fanOut = out`; for a conv kernel `[kh, kw, in, out]`
 * (and in general for rank 3 and up) the leading dims form the receptive
 * field, `fanIn = in * kh * kw` and `fanOut = out * kh * kw`; for a rank-1
 * shape `[n]`, `fanIn = fanOut = n`; for a scalar both are 1.
 *
 * @module
 */

import { type Key, normal, uniform } from "./random.ts";
import {
  dimOf,
  full,
  type Mutable,
  type Shape,
  type Tensor,
} from "./tensor.ts";

/**
 * A parameter initializer: makes a float32 tensor of the given shape from a
 * key. Initializers that are not random ignore the key.
 */
export type Initializer = <const S extends Shape>(
  key: Key,
  shape: S,
) => Tensor<Mutable<S>, "float32">;

/** The fan-in and fan-out of a weight shape, as described in the module doc. */
function fans(shape: Shape): { fanIn: number; fanOut: number } {
  const rank = shape.length;
  if (rank === 0) return { fanIn: 1, fanOut: 1 };
  if (rank === 1) return { fanIn: dimOf(shape, 0), fanOut: dimOf(shape, 0) };
  let receptive = 1;
  for (const d of shape.slice(0, rank - 2)) receptive *= d;
  return {
    fanIn: dimOf(shape, rank - 2) * receptive,
    fanOut: dimOf(shape, rank - 1) * receptive,
  };
}

/**
 * The Glorot (Xavier) uniform initializer: `U(-l, l)` with
 * `l = sqrt(6 / (fanIn + fanOut))`, so the variance is
 * `2 / (fanIn + fanOut)`.
 *
 * @param key The key.
 * @param shape The weight shape.
 * @returns A float32 tensor of that shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer.
 *
 * @example A dense kernel
 * ```ts
 * import { glorotUniform, key } from "@tensa/tensa";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const w = glorotUniform(key(0), [784, 10]); // Tensor<[784, 10]>
 * assertEquals(w.shape, [784, 10]);
 * const limit = Math.sqrt(6 / (784 + 10));
 * assert(w.toFlat().every((x) => Math.abs(x) <= limit));
 * ```
 */
export function glorotUniform<const S extends Shape>(
  key: Key,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  const { fanIn, fanOut } = fans(shape);
  return symmetricUniform(key, shape, Math.sqrt(6 / (fanIn + fanOut)));
}

/**
 * The He (Kaiming) normal initializer, for layers followed by ReLU:
 * `N(0, 2 / fanIn)`, a normal with standard deviation `sqrt(2 / fanIn)`.
 *
 * @param key The key.
 * @param shape The weight shape.
 * @returns A float32 tensor of that shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer.
 *
 * @example A conv kernel with fan-in 3 * 3 * 16
 * ```ts
 * import { heNormal, key } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const w = heNormal(key(0), [3, 3, 16, 64]).toFlat();
 * const variance = w.reduce((a, x) => a + x * x, 0) / w.length;
 * assertAlmostEquals(variance, 2 / (3 * 3 * 16), 0.002);
 * ```
 */
export function heNormal<const S extends Shape>(
  key: Key,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  const { fanIn } = fans(shape);
  return normal(key, shape, { std: safeSqrt(2, fanIn) });
}

/**
 * The He (Kaiming) uniform initializer: `U(-l, l)` with
 * `l = sqrt(6 / fanIn)`, so the variance is `2 / fanIn`.
 *
 * @param key The key.
 * @param shape The weight shape.
 * @returns A float32 tensor of that shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { heUniform, key } from "@tensa/tensa";
 * import { assert } from "@std/assert";
 *
 * const w = heUniform(key(1), [24, 8]).toFlat();
 * assert(w.every((x) => Math.abs(x) <= Math.sqrt(6 / 24)));
 * ```
 */
export function heUniform<const S extends Shape>(
  key: Key,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  const { fanIn } = fans(shape);
  return symmetricUniform(key, shape, safeSqrt(6, fanIn));
}

/**
 * The LeCun normal initializer, for self-normalizing layers:
 * `N(0, 1 / fanIn)`.
 *
 * @param key The key.
 * @param shape The weight shape.
 * @returns A float32 tensor of that shape.
 * @throws {TypeError} If `key` is not a {@linkcode Key}.
 * @throws {RangeError} If a dim is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { key, lecunNormal } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const w = lecunNormal(key(2), [100, 400]).toFlat();
 * const variance = w.reduce((a, x) => a + x * x, 0) / w.length;
 * assertAlmostEquals(variance, 1 / 100, 0.0005);
 * ```
 */
export function lecunNormal<const S extends Shape>(
  key: Key,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  const { fanIn } = fans(shape);
  return normal(key, shape, { std: safeSqrt(1, fanIn) });
}

/**
 * The zeros initializer, for biases; the key is ignored.
 *
 * @param _key Ignored.
 * @param shape The shape.
 * @returns A float32 tensor of zeros.
 * @throws {RangeError} If a dim is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { key, zerosInit } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(zerosInit(key(0), [3]).toArray(), [0, 0, 0]);
 * ```
 */
export function zerosInit<const S extends Shape>(
  _key: Key,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  return constant(shape, 0);
}

/**
 * The ones initializer, for scales such as batch-norm gammas; the key is
 * ignored.
 *
 * @param _key Ignored.
 * @param shape The shape.
 * @returns A float32 tensor of ones.
 * @throws {RangeError} If a dim is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { key, onesInit } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(onesInit(key(0), [2, 2]).toArray(), [[1, 1], [1, 1]]);
 * ```
 */
export function onesInit<const S extends Shape>(
  _key: Key,
  shape: S,
): Tensor<Mutable<S>, "float32"> {
  return constant(shape, 1);
}

/** `sqrt(numerator / fan)`, or 0 for an empty shape (fan 0, nothing drawn). */
function safeSqrt(numerator: number, fan: number): number {
  return fan > 0 ? Math.sqrt(numerator / fan) : 0;
}

function symmetricUniform<S extends Shape>(
  key: Key,
  shape: S,
  limit: number,
): Tensor<Mutable<S>, "float32"> {
  // An empty shape has a zero fan and an infinite limit; nothing is drawn.
  const l = Number.isFinite(limit) && limit > 0 ? limit : 1;
  return uniform(key, shape, { min: -l, max: l });
}

function constant<S extends Shape>(
  shape: S,
  value: number,
): Tensor<Mutable<S>, "float32"> {
  return full(shape, value);
}
