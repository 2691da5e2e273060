/**
 * Mini-batches of a data set, in a given (shuffled) order.
 *
 * @module
 */

import {
  type AnyTensor,
  dimOf,
  floatsOf,
  fromData,
  intsOf,
  type Shape,
  type Tensor,
} from "../tensor.ts";

/** One mini-batch. */
export interface Batch<S extends Shape> {
  /** The inputs, `[batch, ...]`. */
  x: Tensor<[number, ...S], "float32">;
  /** The labels, `[batch]`. */
  y: Tensor<[number], "int32">;
  /** The batch's position, from 0. */
  index: number;
}

/** Options of {@linkcode batches}. */
export interface BatchOptions {
  /** The order of the examples (a permutation, e.g. from `permutation(key, n)`); in order when omitted. */
  order?: Int32Array | Tensor<[number], "int32">;
  /** Drop a last batch smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /**
   * The index of the first batch to yield (default 0): earlier batches are
   * skipped without copying, and indices keep counting from the start, so a
   * resumed epoch sees the same batches under the same indices.
   */
  start?: number;
}

/**
 * Splits examples into mini-batches of `batchSize` rows, following `order`.
 * The rows are copied; the inputs are not changed. The arguments are checked
 * when `batches` is called, not when the first batch is taken, and `order`
 * is copied then, so changing it afterwards does not change the batches.
 *
 * @param x The inputs, `[N, ...]`.
 * @param y The labels, `[N]`.
 * @param batchSize The rows per batch, a positive integer.
 * @param options `order`, `dropLast` and `start`.
 * @returns A generator of batches.
 * @throws {RangeError} If the sizes disagree, `batchSize` is not a positive integer, `start` is not a non-negative integer, or `order` is not a permutation of `0..N-1`.
 * @throws {TypeError} If `order` is a tensor whose dtype is not int32.
 *
 * @example
 * ```ts
 * import { batches, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([[1], [2], [3]]);
 * const y = tensor(new Int32Array([10, 20, 30]), [3]);
 * const order = new Int32Array([2, 0, 1]);
 * const got = [...batches(x, y, 2, { order })].map((b) => b.y.toArray());
 * assertEquals(got, [[30, 10], [20]]);
 * const rest = [...batches(x, y, 2, { order, start: 1 })];
 * assertEquals(rest.map((b) => [b.index, b.y.toArray()]), [[1, [20]]]);
 * ```
 */
export function batches<S extends Shape>(
  x: Tensor<readonly [number, ...S], "float32">,
  y: Tensor<readonly [number], "int32">,
  batchSize: number,
  options: BatchOptions = {},
): Generator<Batch<S>, void, undefined> {
  const n = dimOf(x.shape, 0);
  if (y.shape[0] !== n) {
    throw new RangeError(
      `Expected as many labels as inputs but found ${n} inputs and ${
        y.shape[0]
      } labels`,
    );
  }
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(
      `Expected batchSize to be a positive integer but found ${batchSize}`,
    );
  }
  const first = options.start ?? 0;
  if (!(Number.isInteger(first) && first >= 0)) {
    throw new RangeError(
      `Expected start to be a non-negative integer but found ${first}`,
    );
  }
  let order: Int32Array;
  const given = options.order;
  if (given === undefined) {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  } else {
    if (!(given instanceof Int32Array) && given.dtype !== "int32") {
      throw new TypeError(
        `Expected order to have dtype int32 but found ${given.dtype}`,
      );
    }
    order = given instanceof Int32Array ? given.slice() : intsOf(given).slice();
    if (order.length !== n) {
      throw new RangeError(
        `Expected an order of length ${n} but found ${order.length}`,
      );
    }
    const seen = new Uint8Array(n);
    for (const [i, v] of order.entries()) {
      if (!(v >= 0 && v < n) || seen[v]) {
        throw new RangeError(
          `Expected order to be a permutation of 0..${
            n - 1
          } but found ${v} at position ${i}`,
        );
      }
      seen[v] = 1;
    }
  }
  return generate(
    x,
    y,
    batchSize,
    order,
    options.dropLast ?? false,
    first,
  );
}

function* generate<S extends Shape>(
  xs: Tensor<readonly [number, ...S], "float32">,
  ys: AnyTensor,
  batchSize: number,
  order: Int32Array,
  dropLast: boolean,
  first: number,
): Generator<Batch<S>, void, undefined> {
  const n = order.length;
  const [, ...rowShape] = xs.shape;
  const row = rowShape.reduce((a: number, b: number) => a * b, 1);
  const xd = floatsOf(xs), yd = intsOf(ys);
  let index = first;
  for (let start = first * batchSize; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    if (m < batchSize && dropLast) break;
    const bx = new Float32Array(m * row), by = new Int32Array(m);
    for (const [i, r] of order.subarray(start, start + m).entries()) {
      const label = yd[r];
      if (label === undefined) {
        throw new RangeError(
          `Internal error: row ${r} is past the ${yd.length} labels`,
        );
      }
      bx.set(xd.subarray(r * row, (r + 1) * row), i * row);
      by[i] = label;
    }
    yield {
      x: fromData([m, ...rowShape], "float32", bx),
      y: fromData<[number], "int32">([m], "int32", by),
      index: index++,
    };
  }
}
