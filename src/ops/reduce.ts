/**
 * Reductions: the primitives sum, max and argmax, and the composites mean,
 * min and logSumExp.
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  dimOf,
  type DType,
  fromData,
  type Shape,
  sizeOf,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { linear } from "../autodiff/linear.ts";
import {
  argmax as argmaxKernel,
  reduce as reduceKernel,
  transpose as transposeKernel,
} from "../kernels/elementwise.ts";
import { type ReduceShape, reduceShape, type Result } from "../shape/mod.ts";
import * as lax from "./elementary.ts";

type One = readonly [AnyTensor];

/** Which axes to reduce: one, several, or (undefined) all. */
export type Axes = number | readonly number[] | undefined;

/** Options of the reductions. */
export interface ReduceOptions<A extends Axes, K extends boolean> {
  /** The axis or axes to reduce (negative counts from the end); all when omitted. */
  axis?: A;
  /** Keep reduced axes as dims of size 1 (default false). */
  keepDims?: K;
}

/** Axes of an untyped reduction (see {@linkcode sumAny}). @internal */
export interface AxisOptions {
  /** The axis or axes to reduce (negative counts from the end); all when omitted. */
  readonly axis?: Axes;
  /** Keep reduced axes as dims of size 1 (default false). */
  readonly keepDims?: boolean | undefined;
}

/** The result type of a reduction of `S` over `A`. */
export type Reduced<
  S extends Shape,
  A extends Axes,
  K extends boolean,
  D extends DType,
> = Tensor<Result<ReduceShape<S, A, K>>, D>;

interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

function normAxes(shape: Shape, axis: Axes): number[] {
  // reduceShape validates range and duplicates with the shared messages.
  reduceShape(shape, axis, false);
  const r = shape.length;
  if (axis === undefined) return [...Array(r).keys()];
  const list = typeof axis === "number" ? [axis] : [...axis];
  return list.map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
}

/** One axis, validated and made non-negative. */
function normAxis(shape: Shape, axis: number): number {
  reduceShape(shape, axis, false);
  return axis < 0 ? axis + shape.length : axis;
}

/** The parameters of a reduction of `t` with the user's options (validated). */
function params(
  t: AnyTensor,
  options: AxisOptions | undefined,
): ReduceParams {
  return {
    axes: normAxes(t.shape, options?.axis),
    keepDims: options?.keepDims ?? false,
  };
}

function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function outShape(shape: Shape, p: ReduceParams): number[] {
  return p.keepDims
    ? keptShape(shape, p.axes)
    : shape.filter((_, i) => !p.axes.includes(i));
}

/**
 * The batching rule of a reduction: the per-example axes, renumbered around
 * the batch axis `d`; the batch axis stays, shifted left by the reduced axes
 * before it (unless they are kept).
 */
function reduceBatch(
  prim: Primitive<ReduceParams, One>,
  x: AnyTensor,
  d: number | null,
  p: ReduceParams,
): [AnyTensor, number | null] {
  if (d === null) return [bind(prim, [x], p), null];
  const axes = p.axes.map((a) => (a < d ? a : a + 1));
  const before = p.keepDims ? 0 : axes.filter((a) => a < d).length;
  return [bind(prim, [x], { axes, keepDims: p.keepDims }), d - before];
}

/** Runs a reduction kernel over sorted axes, moving them last if needed. */
function runReduce(
  x: AnyTensor,
  axes: readonly number[],
  kernel: (
    data: Float32Array | Int32Array,
    outer: number,
    mid: number,
    inner: number,
  ) => Float32Array | Int32Array,
): Float32Array | Int32Array {
  const shape = x.shape;
  let data = dataOf(x);
  const first = axes[0] ?? 0;
  const contiguous = axes.every((a, i) => a === first + i);
  if (axes.length === 0) return kernel(data, sizeOf(shape), 1, 1);
  if (contiguous) {
    const outer = sizeOf(shape.slice(0, first));
    const mid = sizeOf(axes.map((a) => dimOf(shape, a)));
    const inner = sizeOf(shape.slice(first + axes.length));
    return kernel(data, outer, mid, inner);
  }
  const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keep, ...axes];
  data = transposeKernel(data, shape, perm);
  const outer = sizeOf(keep.map((a) => dimOf(shape, a)));
  return kernel(data, outer, sizeOf(axes.map((a) => dimOf(shape, a))), 1);
}

const sumPrim: Primitive<ReduceParams, One> = linear({
  name: "sum",
  impl([x], p) {
    const data = runReduce(
      x,
      p.axes,
      (d, o, m, i) => reduceKernel("sum", d, o, m, i),
    );
    return fromData(outShape(x.shape, p), x.dtype, data);
  },
  vjp(ct, [x], p) {
    const kept = lax.reshape(ct, keptShape(x.shape, p.axes));
    return [lax.broadcastTo(kept, x.shape)];
  },
  batch: ([x], [d], p) => reduceBatch(sumPrim, x, d, p),
});

/** The positions that attain the maximum, as float 0/1 divided by their count. */
function maxWeights(x: AnyTensor, out: AnyTensor, p: ReduceParams): AnyTensor {
  const kept = lax.reshape(out, keptShape(x.shape, p.axes));
  const hit = lax.cast(lax.equal(x, lax.stopGradient(kept)), "float32");
  const count = bind(sumPrim, [hit], { axes: p.axes, keepDims: true });
  return lax.div(hit, count);
}

const maxPrim: Primitive<ReduceParams, One> = {
  name: "max",
  impl([x], p) {
    if (x.size === 0) {
      throw new RangeError(
        `Cannot take the max of an empty tensor of shape [${
          x.shape.join(", ")
        }]`,
      );
    }
    const data = runReduce(
      x,
      p.axes,
      (d, o, m, i) => reduceKernel("max", d, o, m, i),
    );
    return fromData(outShape(x.shape, p), x.dtype, data);
  },
  jvp([x], [t], p, out) {
    if (t === null) return null;
    // Ties share the derivative evenly.
    return bind(sumPrim, [lax.mul(t, maxWeights(x, out, p))], p);
  },
  vjp(ct, [x], p, out) {
    const kept = lax.reshape(ct, keptShape(x.shape, p.axes));
    return [lax.mul(kept, maxWeights(x, out, p))];
  },
  batch: ([x], [d], p) => reduceBatch(maxPrim, x, d, p),
};

interface ArgmaxParams {
  readonly axis: number;
  readonly keepDims: boolean;
}

const argmaxPrim: Primitive<ArgmaxParams, One> = {
  name: "argmax",
  impl([x], p) {
    const shape = x.shape;
    const outer = sizeOf(shape.slice(0, p.axis));
    const mid = dimOf(shape, p.axis);
    const inner = sizeOf(shape.slice(p.axis + 1));
    if (mid === 0) {
      throw new RangeError(
        `Cannot take the argmax over axis ${p.axis} of size 0 in shape [${
          shape.join(", ")
        }]`,
      );
    }
    const data = argmaxKernel(dataOf(x), outer, mid, inner);
    const o = outShape(shape, { axes: [p.axis], keepDims: p.keepDims });
    return fromData(o, "int32", data);
  },
  jvp: () => null,
  vjp: () => [null],
  batch([x], [d], p) {
    if (d === null) return [bind(argmaxPrim, [x], p), null];
    const axis = p.axis < d ? p.axis : p.axis + 1;
    const out = p.keepDims || axis > d ? d : d - 1;
    return [bind(argmaxPrim, [x], { axis, keepDims: p.keepDims }), out];
  },
};

/**
 * Sum over the given axes (all by default).
 *
 * @param x The input.
 * @param options `axis` (number or list; all when omitted) and `keepDims`.
 * @returns The sums; the reduced axes are removed (or kept as 1 with `keepDims`).
 * @throws {RangeError} If an axis is out of range or listed twice.
 *
 * @example
 * ```ts
 * import { sum, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([[1, 2], [3, 4]]);
 * assertEquals(sum(x).item(), 10);
 * assertEquals(sum(x, { axis: 0 }).toArray(), [4, 6]);
 * assertEquals(sum(x, { axis: 1, keepDims: true }).toArray(), [[3], [7]]);
 * ```
 */
export function sum<
  S extends Shape,
  D extends DType,
  const A extends Axes = undefined,
  const K extends boolean = false,
>(x: Tensor<S, D>, options?: ReduceOptions<A, K>): Reduced<S, A, K, D>;
export function sum(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return sumAny(x, options);
}

/** The untyped form of {@linkcode sum}, for rules, layers and optimizers. @internal */
export function sumAny(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return bind(sumPrim, [x], params(x, options));
}

/**
 * Mean over the given axes (all by default). As in NumPy, the mean of an
 * int32 tensor is float32: the mean of 0/1 comparisons is a fraction, so
 * `mean(equal(argmax(logits, { axis: 1 }), labels))` is the accuracy.
 *
 * @param x The input, float32 or int32.
 * @param options `axis` and `keepDims` as in {@linkcode sum}.
 * @returns The means, float32.
 * @throws {RangeError} If an axis is out of range or listed twice.
 *
 * @example Means along an axis
 * ```ts
 * import { mean, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(mean(tensor([[1, 2], [3, 4]]), { axis: 1 }).toArray(), [1.5, 3.5]);
 * ```
 *
 * @example Accuracy: the mean of an int32 comparison is float32
 * ```ts
 * import { argmax, equal, mean, type Tensor, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const logits = tensor([[2, 0, 1], [0, 3, 1], [1, 0, 0], [0, 0, 5]]);
 * const labels = tensor(new Int32Array([0, 1, 2, 2]), [4]);
 * const accuracy: Tensor<[], "float32"> = mean(equal(argmax(logits, { axis: 1 }), labels));
 * assertEquals(accuracy.item(), 0.75); // 3 of 4 right
 * ```
 */
export function mean<
  S extends Shape,
  D extends DType,
  const A extends Axes = undefined,
  const K extends boolean = false,
>(
  x: Tensor<S, D>,
  options?: ReduceOptions<A, K>,
): Reduced<S, A, K, "float32">;
export function mean(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return meanAny(x, options);
}

/** The untyped form of {@linkcode mean}, for rules, layers and optimizers. @internal */
export function meanAny(x: AnyTensor, options?: AxisOptions): AnyTensor {
  const p = params(x, options);
  const count = sizeOf(p.axes.map((a) => dimOf(x.shape, a)));
  // int32 is summed as float32 (NumPy's rule: the mean of integers is a float).
  const s = bind(sumPrim, [lax.cast(x, "float32")], p);
  return lax.div(s, count);
}

/**
 * Maximum over the given axes (all by default). The gradient is shared
 * evenly among tied maxima.
 *
 * @param x The input (not empty).
 * @param options `axis` and `keepDims` as in {@linkcode sum}.
 * @returns The maxima.
 * @throws {RangeError} If an axis is out of range or the tensor is empty.
 *
 * @example
 * ```ts
 * import { max, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(max(tensor([[1, 5], [3, 4]]), { axis: 0 }).toArray(), [3, 5]);
 * ```
 */
export function max<
  S extends Shape,
  D extends DType,
  const A extends Axes = undefined,
  const K extends boolean = false,
>(x: Tensor<S, D>, options?: ReduceOptions<A, K>): Reduced<S, A, K, D>;
export function max(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return maxAny(x, options);
}

/** The untyped form of {@linkcode max}, for rules, layers and optimizers. @internal */
export function maxAny(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return bind(maxPrim, [x], params(x, options));
}

/**
 * Minimum over the given axes (all by default), as `-max(-x)`.
 *
 * @param x The input (not empty).
 * @param options `axis` and `keepDims` as in {@linkcode sum}.
 * @returns The minima.
 * @throws {RangeError} If an axis is out of range or the tensor is empty.
 *
 * @example
 * ```ts
 * import { min, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(min(tensor([[1, 5], [3, 4]]), { axis: 1 }).toArray(), [1, 3]);
 * ```
 */
export function min<
  S extends Shape,
  D extends DType,
  const A extends Axes = undefined,
  const K extends boolean = false,
>(x: Tensor<S, D>, options?: ReduceOptions<A, K>): Reduced<S, A, K, D>;
export function min(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return minAny(x, options);
}

/** The untyped form of {@linkcode min}, for rules, layers and optimizers. @internal */
export function minAny(x: AnyTensor, options?: AxisOptions): AnyTensor {
  const m = bind(maxPrim, [lax.neg(x)], params(x, options));
  return lax.neg(m);
}

/** Options of {@linkcode argmax}. */
export interface ArgmaxOptions<A extends number, K extends boolean> {
  /** The axis to search (default -1, the last). */
  axis?: A;
  /** Keep the axis as a dim of size 1 (default false). */
  keepDims?: K;
}

/**
 * Index of the largest value along an axis (the first one on ties), as int32.
 * Not differentiable: it gives no gradient.
 *
 * @param x The input.
 * @param options `axis` (default -1) and `keepDims`.
 * @returns The indices.
 * @throws {RangeError} If the axis is out of range or empty.
 *
 * @example
 * ```ts
 * import { argmax, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const logits = tensor([[0.1, 2, 0.3], [5, 1, 0]]);
 * assertEquals(argmax(logits).toArray(), [1, 0]);
 * ```
 */
export function argmax<
  S extends Shape,
  D extends DType,
  const A extends number = -1,
  const K extends boolean = false,
>(x: Tensor<S, D>, options?: ArgmaxOptions<A, K>): Reduced<S, A, K, "int32">;
export function argmax(
  x: AnyTensor,
  options?: ArgmaxOptions<number, boolean>,
): AnyTensor {
  return argmaxAny(x, options);
}

/** The untyped form of {@linkcode argmax}, for rules, layers and optimizers. @internal */
export function argmaxAny(
  x: AnyTensor,
  options?: ArgmaxOptions<number, boolean>,
): AnyTensor {
  return bind(argmaxPrim, [x], {
    axis: normAxis(x.shape, options?.axis ?? -1),
    keepDims: options?.keepDims ?? false,
  });
}

/**
 * `log(sum(exp(x)))` over the given axes, computed stably (the maximum is
 * subtracted first), so inputs of 1000 or -1000 give finite, exact results.
 * Its gradient is the softmax.
 *
 * @param x The input.
 * @param options `axis` and `keepDims` as in {@linkcode sum}.
 * @returns The log-sum-exp values.
 *
 * @example
 * ```ts
 * import { logSumExp, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * assertAlmostEquals(logSumExp(tensor([1000, 1000])).item(), 1000 + Math.LN2, 1e-3);
 * ```
 */
export function logSumExp<
  S extends Shape,
  const A extends Axes = undefined,
  const K extends boolean = false,
>(
  x: Tensor<S, "float32">,
  options?: ReduceOptions<A, K>,
): Reduced<S, A, K, "float32">;
export function logSumExp(x: AnyTensor, options?: AxisOptions): AnyTensor {
  return logSumExpAny(x, options);
}

/** The untyped form of {@linkcode logSumExp}, for rules, layers and optimizers. @internal */
export function logSumExpAny(x: AnyTensor, options?: AxisOptions): AnyTensor {
  const axes = normAxes(x.shape, options?.axis);
  const keepDims = options?.keepDims ?? false;
  const m = lax.stopGradient(bind(maxPrim, [x], { axes, keepDims: true }));
  const shifted = lax.exp(lax.sub(x, m));
  const s = lax.log(bind(sumPrim, [shifted], { axes, keepDims: true }));
  const r = lax.add(s, m);
  if (keepDims) return r;
  return lax.reshape(r, outShape(x.shape, { axes, keepDims: false }));
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  sumPrim,
  maxPrim,
  argmaxPrim,
];
