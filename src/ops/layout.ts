/**
 * Layout primitives: reshape, transpose, broadcastTo, slice and pad along an
 * axis, concat, gather and scatter-add of rows, oneHot, cast, stopGradient;
 * and the composites flatten, squeeze and expandDims.
 *
 * @module
 */

import {
  allocData,
  type AnyTensor,
  dataOf,
  dimOf,
  type DType,
  floatsOf,
  fromData,
  intsOf,
  type Shape,
  sizeOf,
  type Tensor,
} from "../tensor.ts";
import { bind, type Inputs, type Primitive } from "../autodiff/core.ts";
import { linear } from "../autodiff/linear.ts";
import {
  broadcastTo as broadcastKernel,
  cast as castKernel,
  gatherRows,
  oneHot as oneHotKernel,
  scatterAddRows,
  sliceAxis,
  transpose as transposeKernel,
} from "../kernels/elementwise.ts";
import {
  type Arg,
  type BroadcastShapes,
  broadcastShapes,
  type ConcatShape,
  concatShape,
  type ExpandDimsShape,
  expandDimsShape,
  type FlattenShape,
  flattenShape,
  type ReshapeShape,
  reshapeShape,
  type Result,
  showShape,
  type SliceShape,
  sliceShape,
  type SqueezeShape,
  squeezeShape,
  type TransposeShape,
  transposeShape,
} from "../shape/mod.ts";
import { sameShape } from "./operand.ts";
import * as lax from "./elementary.ts";
import {
  mergeFront,
  moveAxis,
  padFront,
  splitFront,
  toFront,
  unaryBatch,
} from "./batching.ts";

type One = readonly [AnyTensor];
type Two = readonly [AnyTensor, AnyTensor];

/** An axis of the per-example shape, numbered in the batched value whose batch axis is `d`. */
function around(axis: number, d: number): number {
  return axis < d ? axis : axis + 1;
}

// ---------------------------------------------------------------- reshape

const reshapePrim: Primitive<{ shape: Shape }, One> = linear({
  name: "reshape",
  // Tensors are immutable, so a reshape shares the buffer.
  impl: ([x], p) => fromData(p.shape, x.dtype, dataOf(x)),
  vjp: (ct, [x]) => [bind(reshapePrim, [ct], { shape: x.shape })],
  batch([x], [d], p, size) {
    if (d === null) return [bind(reshapePrim, [x], p), null];
    const shape = [size, ...p.shape];
    return [bind(reshapePrim, [moveAxis(x, d, 0)], { shape }), 0];
  },
});

/**
 * The same values with a new shape; one dim may be -1 (inferred). Shares the
 * underlying buffer: no copy.
 *
 * @param x The input.
 * @param shape The new shape; its element count must equal `x`'s.
 * @returns The reshaped tensor.
 * @throws {RangeError} If the element counts differ.
 *
 * @example
 * ```ts
 * import { arange, reshape } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(reshape(arange(6), [2, -1]).toArray(), [[0, 1, 2], [3, 4, 5]]);
 * ```
 */
export function reshape<
  S extends Shape,
  const T extends Shape,
  D extends DType,
>(
  x: Tensor<S, D>,
  shape: Arg<ReshapeShape<S, T>, T>,
): Tensor<Result<ReshapeShape<S, T>>, D>;
export function reshape(x: AnyTensor, shape: Shape): AnyTensor {
  return reshapeAny(x, shape);
}

/** The untyped form of {@linkcode reshape}, for rules, layers and optimizers. @internal */
export function reshapeAny(x: AnyTensor, shape: Shape): AnyTensor {
  const target = reshapeShape(x.shape, shape);
  if (sameShape(target, x.shape)) return x;
  return bind(reshapePrim, [x], { shape: target });
}

/**
 * Keeps the first axis and flattens the rest: `[B, H, W, C]` becomes `[B, H*W*C]`.
 *
 * @param x The input, rank 1 or more.
 * @returns The flattened tensor.
 * @throws {RangeError} If `x` is a scalar.
 *
 * @example
 * ```ts
 * import { flatten, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const f = flatten(zeros([2, 12, 12, 64])); // Tensor<[2, 9216]>
 * assertEquals(f.shape, [2, 9216]);
 * ```
 */
export function flatten<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<Result<FlattenShape<S>>, D>;
export function flatten(x: AnyTensor): AnyTensor {
  return flattenAny(x);
}

/** The untyped form of {@linkcode flatten}, for rules, layers and optimizers. @internal */
export function flattenAny(x: AnyTensor): AnyTensor {
  return bind(reshapePrim, [x], { shape: flattenShape(x.shape) });
}

/**
 * Removes an axis of size 1.
 *
 * @param x The input.
 * @param axis The axis to remove (negative counts from the end).
 * @returns The squeezed tensor.
 * @throws {RangeError} If the axis is out of range or its dim is not 1.
 *
 * @example
 * ```ts
 * import { squeeze, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(squeeze(zeros([3, 1]), 1).shape, [3]);
 * ```
 */
export function squeeze<
  S extends Shape,
  const A extends number,
  D extends DType,
>(
  x: Tensor<S, D>,
  axis: A,
): Tensor<Result<SqueezeShape<S, A>>, D>;
export function squeeze(x: AnyTensor, axis: number): AnyTensor {
  return squeezeAny(x, axis);
}

/** The untyped form of {@linkcode squeeze}, for rules, layers and optimizers. @internal */
export function squeezeAny(x: AnyTensor, axis: number): AnyTensor {
  return bind(reshapePrim, [x], { shape: squeezeShape(x.shape, axis) });
}

/**
 * Inserts an axis of size 1.
 *
 * @param x The input.
 * @param axis Where the new axis goes (from `-rank-1` to `rank`).
 * @returns The expanded tensor.
 * @throws {RangeError} If the axis is out of range.
 *
 * @example
 * ```ts
 * import { expandDims, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(expandDims(zeros([28, 28]), -1).shape, [28, 28, 1]);
 * ```
 */
export function expandDims<
  S extends Shape,
  const A extends number,
  D extends DType,
>(
  x: Tensor<S, D>,
  axis: A,
): Tensor<Result<ExpandDimsShape<S, A>>, D>;
export function expandDims(x: AnyTensor, axis: number): AnyTensor {
  return expandDimsAny(x, axis);
}

/** The untyped form of {@linkcode expandDims}, for rules, layers and optimizers. @internal */
export function expandDimsAny(x: AnyTensor, axis: number): AnyTensor {
  return bind(reshapePrim, [x], { shape: expandDimsShape(x.shape, axis) });
}

// -------------------------------------------------------------- transpose

/** Whether the numbers increase strictly. */
function increasing(xs: readonly number[]): boolean {
  let prev = -Infinity;
  for (const a of xs) {
    if (a <= prev) return false;
    prev = a;
  }
  return true;
}

const transposePrim: Primitive<{ perm: readonly number[] }, One> = linear({
  name: "transpose",
  impl([x], p) {
    const shape = p.perm.map((a) => dimOf(x.shape, a));
    return fromData(
      shape,
      x.dtype,
      transposeKernel(dataOf(x), x.shape, p.perm),
    );
  },
  vjp(ct, _x, p) {
    const inv = new Array<number>(p.perm.length);
    p.perm.forEach((a, i) => (inv[a] = i));
    return [bind(transposePrim, [ct], { perm: inv })];
  },
  batch([x], [d], p) {
    if (d === null) return [bind(transposePrim, [x], p), null];
    const perm = [d, ...p.perm.map((a) => around(a, d))];
    if (increasing(perm.filter((a) => x.shape[a] !== 1))) {
      // Only unit axes move: the same buffer under a new shape.
      const shape = perm.map((a) => dimOf(x.shape, a));
      return [bind(reshapePrim, [x], { shape }), 0];
    }
    return [bind(transposePrim, [x], { perm }), 0];
  },
});

/**
 * Permutes the axes: `result.shape[i] = x.shape[perm[i]]`. Without `perm`,
 * reverses them (a matrix transpose for rank 2).
 *
 * @param x The input.
 * @param perm A permutation of `0 .. rank-1`.
 * @returns The transposed tensor.
 * @throws {RangeError} If `perm` is not a permutation of the axes.
 *
 * @example
 * ```ts
 * import { tensor, transpose } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(transpose(tensor([[1, 2, 3], [4, 5, 6]])).toArray(), [[1, 4], [2, 5], [3, 6]]);
 * ```
 */
export function transpose<
  S extends Shape,
  D extends DType,
  const P extends readonly number[] | undefined = undefined,
>(
  x: Tensor<S, D>,
  perm?: P,
): Tensor<Result<TransposeShape<S, P>>, D>;
export function transpose(x: AnyTensor, perm?: readonly number[]): AnyTensor {
  return transposeAny(x, perm);
}

/** The untyped form of {@linkcode transpose}, for rules, layers and optimizers. @internal */
export function transposeAny(
  x: AnyTensor,
  perm?: readonly number[],
): AnyTensor {
  transposeShape(x.shape, perm);
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  return bind(transposePrim, [x], { perm: [...p] });
}

// ------------------------------------------------------------ broadcastTo

const broadcastPrim: Primitive<{ shape: Shape }, One> = linear({
  name: "broadcastTo",
  impl: ([x], p) =>
    fromData(p.shape, x.dtype, broadcastKernel(dataOf(x), x.shape, p.shape)),
  vjp: (ct, [x]) => [lax.unbroadcast(ct, x.shape)],
  batch([x], [d], p, size) {
    if (d === null) return [bind(broadcastPrim, [x], p), null];
    const f = moveAxis(x, d, 0);
    const lead = p.shape.length - (f.shape.length - 1);
    const r = bind(reshapePrim, [f], {
      shape: [size, ...padFront(f.shape.slice(1), lead)],
    });
    return [bind(broadcastPrim, [r], { shape: [size, ...p.shape] }), 0];
  },
});

/**
 * Repeats `x` along new leading axes and axes of size 1 to reach `shape`
 * (NumPy broadcasting). The gradient sums back over the repeated axes.
 *
 * @param x The input.
 * @param shape The target shape.
 * @returns The broadcast tensor.
 * @throws {RangeError} If `x`'s shape does not broadcast to `shape`.
 *
 * @example
 * ```ts
 * import { broadcastTo, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(broadcastTo(tensor([1, 2]), [2, 2]).toArray(), [[1, 2], [1, 2]]);
 * ```
 */
export function broadcastTo<
  S extends Shape,
  const T extends Shape,
  D extends DType,
>(
  x: Tensor<S, D>,
  shape: Arg<BroadcastShapes<S, T>, T>,
): Tensor<T, D>;
export function broadcastTo(x: AnyTensor, shape: Shape): AnyTensor {
  return broadcastToAny(x, shape);
}

/** The untyped form of {@linkcode broadcastTo}, for rules, layers and optimizers. @internal */
export function broadcastToAny(x: AnyTensor, shape: Shape): AnyTensor {
  const b = broadcastShapes(x.shape, shape);
  if (!sameShape(b, shape)) {
    throw new RangeError(
      `Cannot broadcast shape ${showShape(x.shape)} to ${
        showShape(shape)
      }: the result would be ${showShape(b)}`,
    );
  }
  if (sameShape(x.shape, shape)) return x;
  return bind(broadcastPrim, [x], { shape });
}

// ----------------------------------------------------------- slice and pad

interface SliceParams {
  readonly axis: number;
  readonly start: number;
  readonly len: number;
  /** The size of the axis in the larger (unsliced / padded) tensor. */
  readonly dim: number;
}

function splitAt(shape: Shape, axis: number): [number, number] {
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis + 1))];
}

/** Copies the slice out of `t`, or (pad) places `t` into zeros: one kernel both ways. */
function sliceOrPad(t: AnyTensor, p: SliceParams, pad: boolean): AnyTensor {
  const [outer, inner] = splitAt(t.shape, p.axis);
  const shape = t.shape.map((
    d,
    i,
  ) => (i === p.axis ? (pad ? p.dim : p.len) : d));
  const data = sliceAxis(dataOf(t), outer, p.dim, inner, p.start, p.len, pad);
  return fromData(shape, t.dtype, data);
}

const slicePrim: Primitive<SliceParams, One> = linear({
  name: "slice",
  impl: ([x], p) => sliceOrPad(x, p, false),
  vjp: (ct, _x, p) => [bind(padPrim, [ct], p)],
  batch: ([x], [d], p) => [
    bind(slicePrim, [x], d === null ? p : { ...p, axis: around(p.axis, d) }),
    d,
  ],
});

const padPrim: Primitive<SliceParams, One> = linear({
  name: "pad",
  impl: ([x], p) => sliceOrPad(x, p, true),
  vjp: (ct, _x, p) => [bind(slicePrim, [ct], p)],
  batch: ([x], [d], p) => [
    bind(padPrim, [x], d === null ? p : { ...p, axis: around(p.axis, d) }),
    d,
  ],
});

/**
 * Rows `start` (included) to `end` (excluded) of the first axis: a batch.
 *
 * @param x The input, rank 1 or more.
 * @param start The first row.
 * @param end The row after the last.
 * @returns The rows, shape `[end - start, ...rest]`.
 * @throws {RangeError} Unless `0 <= start <= end <= x.shape[0]`.
 *
 * @example
 * ```ts
 * import { slice, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * assertEquals(slice(x, 1, 3).toArray(), [[3, 4], [5, 6]]);
 * ```
 */
export function slice<
  S extends Shape,
  const B extends number,
  const E extends number,
  D extends DType,
>(
  x: Tensor<S, D>,
  start: B,
  end: E,
): Tensor<Result<SliceShape<S, B, E>>, D>;
export function slice(x: AnyTensor, start: number, end: number): AnyTensor {
  return sliceAny(x, start, end);
}

/** The untyped form of {@linkcode slice}, for rules, layers and optimizers. @internal */
export function sliceAny(x: AnyTensor, start: number, end: number): AnyTensor {
  sliceShape(x.shape, start, end);
  return bind(slicePrim, [x], {
    axis: 0,
    start,
    len: end - start,
    dim: dimOf(x.shape, 0),
  });
}

/**
 * Internal: `len` entries of axis `axis` from `start`, differentiable.
 *
 * @internal
 */
export function sliceAlong(
  x: AnyTensor,
  axis: number,
  start: number,
  len: number,
): AnyTensor {
  return bind(slicePrim, [x], { axis, start, len, dim: dimOf(x.shape, axis) });
}

// ----------------------------------------------------------------- concat

/** The first of the tensors to concatenate (there must be one). */
function firstOf(xs: readonly AnyTensor[]): AnyTensor {
  const [first] = xs;
  if (first === undefined) {
    throw new RangeError(
      "Expected at least one tensor to concatenate but found none",
    );
  }
  return first;
}

const concatPrim: Primitive<{ axis: number }, Inputs> = linear({
  name: "concat",
  impl(xs, p) {
    const dtype = firstOf(xs).dtype;
    const shape = concatShape(xs.map((x) => x.shape), p.axis);
    const [outer, inner] = splitAt(shape, p.axis);
    const dim = dimOf(shape, p.axis);
    const out = allocData(dtype, sizeOf(shape));
    let offset = 0;
    for (const x of xs) {
      const len = dimOf(x.shape, p.axis);
      const src = dataOf(x);
      for (let i = 0; i < outer; i++) {
        out.set(
          src.subarray(i * len * inner, (i + 1) * len * inner),
          (i * dim + offset) * inner,
        );
      }
      offset += len;
    }
    return fromData(shape, dtype, out);
  },
  vjp(ct, xs, p, _o, needs) {
    let offset = 0;
    return xs.map((x, i) => {
      const len = dimOf(x.shape, p.axis);
      const start = offset;
      offset += len;
      return needs[i] ? sliceAlong(ct, p.axis, start, len) : null;
    });
  },
  batch(xs, dims, p, size) {
    const d0 = dims[0] ?? null;
    if (d0 !== null && dims.every((d) => d === d0)) {
      return [bind(concatPrim, xs, { axis: around(p.axis, d0) }), d0];
    }
    const ins = xs.map((x, i) => toFront(x, dims[i] ?? null, size));
    return [bind(concatPrim, ins, { axis: p.axis + 1 }), 0];
  },
});

/**
 * Joins tensors along an axis; all other dims must agree.
 *
 * @param xs The tensors (at least one), all of the same dtype and rank.
 * @param axis The axis to join along (default 0; negative counts from the end).
 * @returns The joined tensor.
 * @throws {RangeError} If the ranks or the other dims differ.
 *
 * @example
 * ```ts
 * import { concat, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const c = concat([tensor([[1, 2]]), tensor([[3, 4], [5, 6]])]); // Tensor<[3, 2]>
 * assertEquals(c.toArray(), [[1, 2], [3, 4], [5, 6]]);
 * ```
 */
export function concat<
  const T extends readonly Tensor<Shape, DType>[],
  const A extends number = 0,
>(
  xs: T,
  axis?: A,
): Tensor<
  Result<ConcatShape<{ [K in keyof T]: T[K]["shape"] }, A>>,
  T[0]["dtype"]
>;
export function concat(xs: readonly AnyTensor[], axis?: number): AnyTensor {
  return concatAny(xs, axis);
}

/** The untyped form of {@linkcode concat}, for rules, layers and optimizers. @internal */
export function concatAny(xs: readonly AnyTensor[], axis = 0): AnyTensor {
  const first = firstOf(xs);
  const dtype = first.dtype;
  for (const x of xs) {
    if (x.dtype !== dtype) {
      throw new TypeError(
        `Expected tensors of the same dtype to concatenate but found ${dtype} and ${x.dtype}`,
      );
    }
  }
  concatShape(xs.map((x) => x.shape), axis);
  const r = first.shape.length;
  return bind(concatPrim, xs, { axis: axis < 0 ? axis + r : axis });
}

// ------------------------------------------------------- gather / scatter

const gatherPrim: Primitive<void, Two> = linear({
  name: "gather",
  impl([x, idx]) {
    const rowSize = sizeOf(x.shape.slice(1));
    const rows = dimOf(x.shape, 0);
    const ind = intsOf(idx);
    const k = ind.findIndex((v) => v < 0 || v >= rows);
    if (k >= 0) {
      throw new RangeError(
        `Expected gather indices in [0, ${rows}) but found ${
          ind[k]
        } at position ${k}`,
      );
    }
    const shape = [...idx.shape, ...x.shape.slice(1)];
    return fromData(shape, x.dtype, gatherRows(dataOf(x), rowSize, ind));
  },
  vjp: (ct, [x, idx]) => [
    bind(scatterAddPrim, [ct, idx], { rows: dimOf(x.shape, 0) }),
    null,
  ],
  batch([x, idx], [dx, di], _p, size) {
    if (dx === null) return [bind(gatherPrim, [x, idx], undefined), di];
    if (di === null) {
      // Rows of x for each example: [N, B, ...R] gives [...I, B, ...R].
      const t = moveAxis(x, dx, 1);
      return [bind(gatherPrim, [t, idx], undefined), idx.shape.length];
    }
    // Both batched: one table of B * N rows, each example's indices offset.
    const t = moveAxis(x, dx, 0);
    const i = offsetRows(moveAxis(idx, di, 0), dimOf(t.shape, 1), size);
    return [bind(gatherPrim, [mergeFront(t), i], undefined), 0];
  },
}, { fixed: [1] });

/** Adds `b * rows` to the indices of example `b` (batch on axis 0). */
function offsetRows(idx: AnyTensor, rows: number, size: number): AnyTensor {
  const off = new Int32Array(size);
  for (let b = 0; b < size; b++) off[b] = b * rows;
  const shape = [size, ...padFront([], idx.shape.length - 1)];
  return lax.add(idx, fromData(shape, "int32", off));
}

const scatterAddPrim: Primitive<{ rows: number }, Two> = linear({
  name: "scatterAdd",
  impl([y, idx], p) {
    const rest = y.shape.slice(idx.shape.length);
    const data = scatterAddRows(floatsOf(y), sizeOf(rest), intsOf(idx), p.rows);
    return fromData([p.rows, ...rest], y.dtype, data);
  },
  vjp: (ct, [, idx]) => [bind(gatherPrim, [ct, idx], undefined), null],
  batch([y, idx], [dy, di], p, size) {
    if (di === null) {
      if (dy === null) return [bind(scatterAddPrim, [y, idx], p), null];
      // [...I, B, ...R] scatters to [rows, B, ...R].
      const t = moveAxis(y, dy, idx.shape.length);
      return [bind(scatterAddPrim, [t, idx], p), 1];
    }
    const t = toFront(y, dy, size);
    const i = offsetRows(moveAxis(idx, di, 0), p.rows, size);
    const out = bind(scatterAddPrim, [t, i], { rows: p.rows * size });
    return [splitFront(out, size), 0];
  },
}, { fixed: [1] });

/**
 * Rows of `x` picked by int32 `indices`: `result[i] = x[indices[i]]`. The
 * gradient adds back into the picked rows (repeated rows accumulate).
 *
 * @param x The table, rank 1 or more.
 * @param indices int32 row indices of any shape.
 * @returns Shape `[...indices.shape, ...x.shape.slice(1)]`.
 * @throws {TypeError} If the indices are not int32.
 * @throws {RangeError} If an index is out of range.
 *
 * @example
 * ```ts
 * import { gather, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([[1, 2], [3, 4], [5, 6]]);
 * const rows = gather(x, tensor(new Int32Array([2, 0]), [2]));
 * assertEquals(rows.toArray(), [[5, 6], [1, 2]]);
 * ```
 */
export function gather<
  S extends readonly [number, ...number[]],
  I extends Shape,
  D extends DType,
>(
  x: Tensor<S, D>,
  indices: Tensor<I, "int32">,
): Tensor<
  S extends readonly [number, ...infer R extends Shape] ? [...I, ...R] : Shape,
  D
>;
export function gather(x: AnyTensor, indices: AnyTensor): AnyTensor {
  return gatherAny(x, indices);
}

/** The untyped form of {@linkcode gather}, for rules, layers and optimizers. @internal */
export function gatherAny(x: AnyTensor, indices: AnyTensor): AnyTensor {
  if (indices.dtype !== "int32") {
    throw new TypeError(
      `Expected int32 indices in gather but found ${indices.dtype}`,
    );
  }
  if (x.shape.length === 0) {
    throw new RangeError(
      "Cannot gather rows of a scalar: gather needs rank 1 or more",
    );
  }
  return bind(gatherPrim, [x, indices], undefined);
}

// ------------------------------------------------- oneHot, cast, stopGradient

const oneHotPrim: Primitive<{ depth: number }, One> = {
  name: "oneHot",
  impl([l], p) {
    // Checked here, where the labels are known (not at staging time).
    const d = dataOf(l);
    const i = d.findIndex((v) => v < 0 || v >= p.depth);
    if (i >= 0) {
      throw new RangeError(
        `Expected labels in [0, ${p.depth}) but found ${d[i]} at position ${i}`,
      );
    }
    return fromData([...l.shape, p.depth], "float32", oneHotKernel(d, p.depth));
  },
  jvp: () => null,
  vjp: () => [null],
  batch: (xs, dims, p) => unaryBatch(oneHotPrim, xs, dims, p),
};

/**
 * One-hot rows of int32 class indices: `result[..., k] = labels[...] == k ? 1 : 0`.
 *
 * @param labels int32 class indices.
 * @param depth The number of classes.
 * @returns A float32 tensor of shape `[...labels.shape, depth]`.
 * @throws {RangeError} If a label is outside `[0, depth)`.
 *
 * @example
 * ```ts
 * import { oneHot, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const y = oneHot(tensor(new Int32Array([0, 2]), [2]), 3);
 * assertEquals(y.toArray(), [[1, 0, 0], [0, 0, 1]]);
 * ```
 */
export function oneHot<S extends Shape, const N extends number>(
  labels: Tensor<S, "int32">,
  depth: N,
): Tensor<[...S, N], "float32">;
export function oneHot(labels: AnyTensor, depth: number): AnyTensor {
  return oneHotAny(labels, depth);
}

/** The untyped form of {@linkcode oneHot}, for rules, layers and optimizers. @internal */
export function oneHotAny(labels: AnyTensor, depth: number): AnyTensor {
  if (labels.dtype !== "int32") {
    throw new TypeError(
      `Expected int32 labels in oneHot but found ${labels.dtype}`,
    );
  }
  if (!Number.isInteger(depth) || depth <= 0) {
    throw new RangeError(
      `Expected depth to be a positive integer but found ${depth}`,
    );
  }
  return bind(oneHotPrim, [labels], { depth });
}

const castPrim: Primitive<{ dtype: DType }, One> = {
  name: "cast",
  impl: ([x], p) =>
    fromData(x.shape, p.dtype, castKernel(dataOf(x), p.dtype === "int32")),
  // Not linear: float to int truncates, and int values carry no tangent.
  jvp: () => null,
  vjp: () => [null],
  batch: (xs, dims, p) => unaryBatch(castPrim, xs, dims, p),
};

/**
 * Converts to another dtype (float to int truncates toward zero). A cast
 * between dtypes gives no gradient; a cast to the same dtype is the identity.
 *
 * @param x The input.
 * @param dtype The target dtype.
 * @returns The converted tensor.
 *
 * @example
 * ```ts
 * import { cast, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const i = cast(tensor([1.7, -1.7]), "int32");
 * assertEquals(i.dtype, "int32");
 * assertEquals(i.toArray(), [1, -1]);
 * ```
 */
export function cast<S extends Shape, D extends DType, T extends DType>(
  x: Tensor<S, D>,
  dtype: T,
): Tensor<S, T>;
export function cast(x: AnyTensor, dtype: DType): AnyTensor {
  return castAny(x, dtype);
}

/** The untyped form of {@linkcode cast}, for rules, layers and optimizers. @internal */
export function castAny(x: AnyTensor, dtype: DType): AnyTensor {
  if (x.dtype === dtype) return x;
  return bind(castPrim, [x], { dtype });
}

const stopPrim: Primitive<void, One> = {
  name: "stopGradient",
  impl: ([x]) => x,
  jvp: () => null,
  vjp: () => [null],
  batch: (xs, dims, p) => unaryBatch(stopPrim, xs, dims, p),
};

/**
 * The same value, seen as a constant by every differentiation: no gradient
 * flows through it.
 *
 * @param x The input.
 * @returns `x`, cut off from differentiation.
 *
 * @example
 * ```ts
 * import { grad, mul, stopGradient, sum, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const f = (x: typeof t) => sum(mul(x, stopGradient(x)));
 * const t = tensor([3]);
 * assertEquals(grad(f)(t).toArray(), [3]); // not 6
 * ```
 */
export function stopGradient<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D>;
export function stopGradient(x: AnyTensor): AnyTensor {
  return stopGradientAny(x);
}

/** The untyped form of {@linkcode stopGradient}, for rules, layers and optimizers. @internal */
export function stopGradientAny(x: AnyTensor): AnyTensor {
  return bind(stopPrim, [x], undefined);
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  reshapePrim,
  transposePrim,
  broadcastPrim,
  slicePrim,
  padPrim,
  concatPrim,
  gatherPrim,
  scatterAddPrim,
  oneHotPrim,
  castPrim,
  stopPrim,
];
