/**
 * Reductions: the primitives sum, max and argmax, and the composites mean,
 * min and logSumExp.
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  type DType,
  fromData,
  type Shape,
  sizeOf,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import {
  argmax as argmaxKernel,
  reduce as reduceKernel,
  transpose as transposeKernel,
} from "../kernels/elementwise.ts";
import { type ReduceShape, reduceShape, type Result } from "../shape/mod.ts";
import { add, div, mul, sub } from "./binary.ts";
import { equal } from "./compare.ts";
import { broadcastTo, cast, reshape, stopGradient } from "./layout.ts";
import { exp, log, neg } from "./unary.ts";
import type { F32 } from "./operand.ts";

/** Which axes to reduce: one, several, or (undefined) all. */
export type Axes = number | readonly number[] | undefined;

/** Options of the reductions. */
export interface ReduceOptions<A extends Axes, K extends boolean> {
  /** The axis or axes to reduce (negative counts from the end); all when omitted. */
  axis?: A;
  /** Keep reduced axes as dims of size 1 (default false). */
  keepDims?: K;
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

/** The parameters of a reduction of `t` with the user's options (validated). */
function params(
  t: AnyTensor,
  options: ReduceOptions<Axes, boolean> | undefined,
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
  prim: Primitive<ReduceParams>,
  x: AnyTensor,
  d: number,
  p: ReduceParams,
): [AnyTensor, number] {
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
    const mid = sizeOf(axes.map((a) => shape[a] as number));
    const inner = sizeOf(shape.slice(first + axes.length));
    return kernel(data, outer, mid, inner);
  }
  const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...keep, ...axes];
  data = transposeKernel(data, shape, perm);
  const outer = sizeOf(keep.map((a) => shape[a] as number));
  return kernel(data, outer, sizeOf(axes.map((a) => shape[a] as number)), 1);
}

const sumPrim: Primitive<ReduceParams> = {
  name: "sum",
  impl([x], p) {
    const t = x as AnyTensor;
    const data = runReduce(
      t,
      p.axes,
      (d, o, m, i) => reduceKernel("sum", d, o, m, i),
    );
    return fromData(
      outShape(t.shape, p),
      t.dtype,
      data as Float32Array,
    ) as AnyTensor;
  },
  jvp: (_x, [t], p) => (t ? bind(sumPrim, [t], p) : null),
  vjp(ct, [x], p) {
    const kept = reshape(ct, keptShape(x!.shape, p.axes)) as AnyTensor;
    return [broadcastTo(kept, x!.shape) as AnyTensor];
  },
  batch: ([x], [d], p) => reduceBatch(sumPrim, x!, d!, p),
};

/** The positions that attain the maximum, as float 0/1 divided by their count. */
function maxWeights(x: AnyTensor, out: AnyTensor, p: ReduceParams): AnyTensor {
  const kept = reshape(out, keptShape(x.shape, p.axes)) as AnyTensor;
  const hit = cast(
    equal(x, stopGradient(kept)) as AnyTensor,
    "float32",
  ) as AnyTensor;
  const count = bind(sumPrim, [hit], { axes: p.axes, keepDims: true });
  return div(hit, count) as AnyTensor;
}

const maxPrim: Primitive<ReduceParams> = {
  name: "max",
  impl([x], p) {
    const t = x as AnyTensor;
    if (t.size === 0) {
      throw new RangeError(
        `Cannot take the max of an empty tensor of shape [${
          t.shape.join(", ")
        }]`,
      );
    }
    const data = runReduce(
      t,
      p.axes,
      (d, o, m, i) => reduceKernel("max", d, o, m, i),
    );
    return fromData(
      outShape(t.shape, p),
      t.dtype,
      data as Float32Array,
    ) as AnyTensor;
  },
  jvp([x], [t], p, out) {
    if (!t) return null;
    // Ties share the derivative evenly.
    return bind(sumPrim, [mul(t, maxWeights(x!, out, p)) as AnyTensor], p);
  },
  vjp(ct, [x], p, out) {
    const kept = reshape(ct, keptShape(x!.shape, p.axes)) as AnyTensor;
    return [mul(kept, maxWeights(x!, out, p)) as AnyTensor];
  },
  batch: ([x], [d], p) => reduceBatch(maxPrim, x!, d!, p),
};

interface ArgmaxParams {
  readonly axis: number;
  readonly keepDims: boolean;
}

const argmaxPrim: Primitive<ArgmaxParams> = {
  name: "argmax",
  impl([x], p) {
    const t = x as AnyTensor;
    const shape = t.shape;
    const outer = sizeOf(shape.slice(0, p.axis));
    const mid = shape[p.axis] as number;
    const inner = sizeOf(shape.slice(p.axis + 1));
    if (mid === 0) {
      throw new RangeError(
        `Cannot take the argmax over axis ${p.axis} of size 0 in shape [${
          shape.join(", ")
        }]`,
      );
    }
    const data = argmaxKernel(dataOf(t), outer, mid, inner);
    const o = outShape(shape, { axes: [p.axis], keepDims: p.keepDims });
    return fromData(o, "int32", data) as AnyTensor;
  },
  jvp: () => null,
  vjp: () => [null],
  batch([x], [d], p) {
    const axis = p.axis < d! ? p.axis : p.axis + 1;
    const out = p.keepDims || axis > d! ? d! : d! - 1;
    return [bind(argmaxPrim, [x!], { axis, keepDims: p.keepDims }), out];
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
>(x: Tensor<S, D>, options?: ReduceOptions<A, K>): Reduced<S, A, K, D> {
  const t = x as unknown as AnyTensor;
  return bind(sumPrim, [t], params(t, options)) as unknown as Reduced<
    S,
    A,
    K,
    D
  >;
}

/**
 * Mean over the given axes (all by default).
 *
 * @param x The input.
 * @param options `axis` and `keepDims` as in {@linkcode sum}.
 * @returns The means.
 * @throws {RangeError} If an axis is out of range or listed twice.
 *
 * @example
 * ```ts
 * import { mean, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(mean(tensor([[1, 2], [3, 4]]), { axis: 1 }).toArray(), [1.5, 3.5]);
 * ```
 */
export function mean<
  S extends Shape,
  const A extends Axes = undefined,
  const K extends boolean = false,
>(
  x: Tensor<S, "float32">,
  options?: ReduceOptions<A, K>,
): Reduced<S, A, K, "float32"> {
  const t = x as unknown as AnyTensor;
  const p = params(t, options);
  const count = sizeOf(p.axes.map((a) => t.shape[a] as number));
  const s = bind(sumPrim, [t], p);
  return div(s, count) as unknown as Reduced<S, A, K, "float32">;
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
>(x: Tensor<S, D>, options?: ReduceOptions<A, K>): Reduced<S, A, K, D> {
  const t = x as unknown as AnyTensor;
  return bind(maxPrim, [t], params(t, options)) as unknown as Reduced<
    S,
    A,
    K,
    D
  >;
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
>(x: Tensor<S, D>, options?: ReduceOptions<A, K>): Reduced<S, A, K, D> {
  const t = x as unknown as AnyTensor;
  const m = bind(maxPrim, [neg(t)], params(t, options));
  return neg(m) as unknown as Reduced<S, A, K, D>;
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
>(x: Tensor<S, D>, options?: ArgmaxOptions<A, K>): Reduced<S, A, K, "int32"> {
  const t = x as unknown as AnyTensor;
  const axis = normAxes(t.shape, options?.axis ?? -1)[0] as number;
  return bind(argmaxPrim, [t], {
    axis,
    keepDims: options?.keepDims ?? false,
  }) as unknown as Reduced<S, A, K, "int32">;
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
): Reduced<S, A, K, "float32"> {
  const t = x as unknown as AnyTensor;
  const axes = normAxes(t.shape, options?.axis);
  const keepDims = options?.keepDims ?? false;
  const m = stopGradient(
    bind(maxPrim, [t], { axes, keepDims: true }),
  ) as AnyTensor;
  const shifted = exp(sub(t, m) as F32) as AnyTensor;
  const s = log(
    bind(sumPrim, [shifted], { axes, keepDims: true }) as F32,
  ) as AnyTensor;
  const r = add(s, m) as AnyTensor;
  return (keepDims ? r : reshape(
    r,
    outShape(t.shape, { axes, keepDims: false }),
  )) as unknown as Reduced<S, A, K, "float32">;
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  sumPrim,
  maxPrim,
  argmaxPrim,
];
