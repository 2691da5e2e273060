/**
 * Layout primitives: reshape, transpose, broadcastTo, slice and pad along an
 * axis, concat, gather and scatter-add of rows, oneHot, cast, stopGradient;
 * and the composites flatten, squeeze and expandDims.
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
import { unbroadcast } from "./binary.ts";
import { sameShape } from "./operand.ts";
import { add } from "./binary.ts";
import {
  mergeFront,
  moveAxis,
  padFront,
  splitFront,
  toFront,
  unaryBatch,
} from "./batching.ts";

/** An axis of the per-example shape, numbered in the batched value whose batch axis is `d`. */
function around(axis: number, d: number): number {
  return axis < d ? axis : axis + 1;
}

// ---------------------------------------------------------------- reshape

const reshapePrim: Primitive<{ shape: Shape }> = {
  name: "reshape",
  // Tensors are immutable, so a reshape shares the buffer.
  impl: ([x], p) =>
    fromData(p.shape, x!.dtype, dataOf(x!) as Float32Array) as AnyTensor,
  jvp: (_x, [t], p) => (t ? bind(reshapePrim, [t], p) : null),
  vjp: (ct, [x]) => [bind(reshapePrim, [ct], { shape: x!.shape })],
  batch: ([x], [d], p, size) => [
    bind(reshapePrim, [moveAxis(x!, d!, 0)], { shape: [size, ...p.shape] }),
    0,
  ],
};

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
): Tensor<Result<ReshapeShape<S, T>>, D> {
  const t = x as unknown as AnyTensor;
  const target = reshapeShape(t.shape, shape as Shape);
  if (sameShape(target, t.shape)) {
    return x as unknown as Tensor<Result<ReshapeShape<S, T>>, D>;
  }
  return bind(reshapePrim, [t], { shape: target }) as unknown as Tensor<
    Result<ReshapeShape<S, T>>,
    D
  >;
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
): Tensor<Result<FlattenShape<S>>, D> {
  const t = x as unknown as AnyTensor;
  const target = flattenShape(t.shape);
  return bind(reshapePrim, [t], { shape: target }) as unknown as Tensor<
    Result<FlattenShape<S>>,
    D
  >;
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
): Tensor<Result<SqueezeShape<S, A>>, D> {
  const t = x as unknown as AnyTensor;
  const target = squeezeShape(t.shape, axis);
  return bind(reshapePrim, [t], { shape: target }) as unknown as Tensor<
    Result<SqueezeShape<S, A>>,
    D
  >;
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
): Tensor<Result<ExpandDimsShape<S, A>>, D> {
  const t = x as unknown as AnyTensor;
  const target = expandDimsShape(t.shape, axis);
  return bind(reshapePrim, [t], { shape: target }) as unknown as Tensor<
    Result<ExpandDimsShape<S, A>>,
    D
  >;
}

// -------------------------------------------------------------- transpose

const transposePrim: Primitive<{ perm: readonly number[] }> = {
  name: "transpose",
  impl([x], p) {
    const t = x!;
    const shape = p.perm.map((a) => t.shape[a] as number);
    return fromData(
      shape,
      t.dtype,
      transposeKernel(dataOf(t), t.shape, p.perm) as Float32Array,
    ) as AnyTensor;
  },
  jvp: (_x, [t], p) => (t ? bind(transposePrim, [t], p) : null),
  vjp(ct, _x, p) {
    const inv = new Array<number>(p.perm.length);
    p.perm.forEach((a, i) => (inv[a] = i));
    return [bind(transposePrim, [ct], { perm: inv })];
  },
  batch([x], [d], p) {
    const perm = [d!, ...p.perm.map((a) => around(a, d!))];
    const nonUnit = perm.filter((a) => x!.shape[a] !== 1);
    if (nonUnit.every((a, i) => i === 0 || a > nonUnit[i - 1]!)) {
      // Only unit axes move: the same buffer under a new shape.
      const shape = perm.map((a) => x!.shape[a] as number);
      return [bind(reshapePrim, [x!], { shape }), 0];
    }
    return [bind(transposePrim, [x!], { perm }), 0];
  },
};

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
): Tensor<Result<TransposeShape<S, P>>, D> {
  const t = x as unknown as AnyTensor;
  transposeShape(t.shape, perm);
  const p = perm ?? t.shape.map((_, i) => t.shape.length - 1 - i);
  return bind(transposePrim, [t], { perm: [...p] }) as unknown as Tensor<
    Result<TransposeShape<S, P>>,
    D
  >;
}

// ------------------------------------------------------------ broadcastTo

const broadcastPrim: Primitive<{ shape: Shape }> = {
  name: "broadcastTo",
  impl([x], p) {
    const t = x!;
    return fromData(
      p.shape,
      t.dtype,
      broadcastKernel(dataOf(t), t.shape, p.shape) as Float32Array,
    ) as AnyTensor;
  },
  jvp: (_x, [t], p) => (t ? bind(broadcastPrim, [t], p) : null),
  vjp: (ct, [x]) => [unbroadcast(ct, x!.shape)],
  batch([x], [d], p, size) {
    const f = moveAxis(x!, d!, 0);
    const lead = p.shape.length - (f.shape.length - 1);
    const r = bind(reshapePrim, [f], {
      shape: [size, ...padFront(f.shape.slice(1), lead)],
    });
    return [bind(broadcastPrim, [r], { shape: [size, ...p.shape] }), 0];
  },
};

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
): Tensor<T, D> {
  const t = x as unknown as AnyTensor;
  const target = shape as Shape;
  const b = broadcastShapes(t.shape, target);
  if (!sameShape(b, target)) {
    throw new RangeError(
      `Cannot broadcast shape ${showShape(t.shape)} to ${
        showShape(target)
      }: the result would be ${showShape(b)}`,
    );
  }
  if (sameShape(t.shape, target)) return x as unknown as Tensor<T, D>;
  return bind(broadcastPrim, [t], { shape: target }) as unknown as Tensor<T, D>;
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
  return fromData(shape, t.dtype, data as Float32Array) as AnyTensor;
}

const slicePrim: Primitive<SliceParams> = {
  name: "slice",
  impl: ([x], p) => sliceOrPad(x!, p, false),
  jvp: (_x, [t], p) => (t ? bind(slicePrim, [t], p) : null),
  vjp: (ct, _x, p) => [bind(padPrim, [ct], p)],
  batch: ([x], [d], p) => [
    bind(slicePrim, [x!], { ...p, axis: around(p.axis, d!) }),
    d!,
  ],
};

const padPrim: Primitive<SliceParams> = {
  name: "pad",
  impl: ([x], p) => sliceOrPad(x!, p, true),
  jvp: (_x, [t], p) => (t ? bind(padPrim, [t], p) : null),
  vjp: (ct, _x, p) => [bind(slicePrim, [ct], p)],
  batch: ([x], [d], p) => [
    bind(padPrim, [x!], { ...p, axis: around(p.axis, d!) }),
    d!,
  ],
};

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
): Tensor<Result<SliceShape<S, B, E>>, D> {
  const t = x as unknown as AnyTensor;
  sliceShape(t.shape, start, end);
  return bind(slicePrim, [t], {
    axis: 0,
    start,
    len: end - start,
    dim: t.shape[0] as number,
  }) as unknown as Tensor<Result<SliceShape<S, B, E>>, D>;
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
  return bind(slicePrim, [x], {
    axis,
    start,
    len,
    dim: x.shape[axis] as number,
  });
}

// ----------------------------------------------------------------- concat

const concatPrim: Primitive<{ axis: number }> = {
  name: "concat",
  impl(xs, p) {
    const first = xs[0]!;
    const shapes = xs.map((x) => x.shape);
    const shape = concatShape(shapes, p.axis);
    const [outer, inner] = splitAt(shape, p.axis);
    const dim = shape[p.axis] as number;
    const out = first.dtype === "int32"
      ? new Int32Array(sizeOf(shape))
      : new Float32Array(sizeOf(shape));
    let offset = 0;
    for (const x of xs) {
      const len = x.shape[p.axis] as number;
      const src = dataOf(x);
      for (let i = 0; i < outer; i++) {
        out.set(
          src.subarray(i * len * inner, (i + 1) * len * inner),
          (i * dim + offset) * inner,
        );
      }
      offset += len;
    }
    return fromData(shape, first.dtype, out as Float32Array) as AnyTensor;
  },
  jvp(xs, ts, p) {
    if (ts.every((t) => t === null)) return null;
    const full = ts.map((t, i) =>
      t ??
        fromData(
          xs[i]!.shape,
          xs[i]!.dtype,
          new Float32Array(xs[i]!.size),
        ) as AnyTensor
    );
    return bind(concatPrim, full, p);
  },
  vjp(ct, xs, p, _o, needs) {
    let offset = 0;
    return xs.map((x, i) => {
      const len = x.shape[p.axis] as number;
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
};

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
> {
  if (xs.length === 0) {
    throw new RangeError(
      "Expected at least one tensor to concatenate but found none",
    );
  }
  const ts = xs as unknown as AnyTensor[];
  const shapes = ts.map((x) => x.shape);
  const dtype = ts[0]!.dtype;
  for (const x of ts) {
    if (x.dtype !== dtype) {
      throw new TypeError(
        `Expected tensors of the same dtype to concatenate but found ${dtype} and ${x.dtype}`,
      );
    }
  }
  concatShape(shapes, axis ?? 0);
  const r = ts[0]!.shape.length;
  const a = (axis ?? 0) < 0 ? (axis ?? 0) + r : (axis ?? 0);
  return bind(concatPrim, ts, { axis: a }) as unknown as Tensor<
    Result<ConcatShape<{ [K in keyof T]: T[K]["shape"] }, A>>,
    T[0]["dtype"]
  >;
}

// ------------------------------------------------------- gather / scatter

const gatherPrim: Primitive<void> = {
  name: "gather",
  impl([x, idx]) {
    const t = x!, i = idx!;
    const rowSize = sizeOf(t.shape.slice(1));
    const rows = t.shape[0] as number;
    const ind = dataOf(i) as Int32Array;
    for (let k = 0; k < ind.length; k++) {
      const v = ind[k]!;
      if (v < 0 || v >= rows) {
        throw new RangeError(
          `Expected gather indices in [0, ${rows}) but found ${v} at position ${k}`,
        );
      }
    }
    const shape = [...i.shape, ...t.shape.slice(1)];
    return fromData(
      shape,
      t.dtype,
      gatherRows(dataOf(t), rowSize, ind) as Float32Array,
    ) as AnyTensor;
  },
  jvp: ([, idx], [t]) => (t ? bind(gatherPrim, [t, idx!], undefined) : null),
  vjp: (
    ct,
    [x, idx],
  ) => [
    bind(scatterAddPrim, [ct, idx!], { rows: x!.shape[0] as number }),
    null,
  ],
  batch([x, idx], [dx, di], _p, size) {
    if (di === null) {
      // Rows of x for each example: [N, B, ...R] gives [...I, B, ...R].
      const t = moveAxis(x!, dx!, 1);
      return [bind(gatherPrim, [t, idx!], undefined), idx!.shape.length];
    }
    if (dx === null) return [bind(gatherPrim, [x!, idx!], undefined), di!];
    // Both batched: one table of B * N rows, each example's indices offset.
    const t = moveAxis(x!, dx!, 0);
    const i = offsetRows(moveAxis(idx!, di!, 0), t.shape[1] as number, size);
    return [bind(gatherPrim, [mergeFront(t), i], undefined), 0];
  },
};

/** Adds `b * rows` to the indices of example `b` (batch on axis 0). */
function offsetRows(idx: AnyTensor, rows: number, size: number): AnyTensor {
  const off = new Int32Array(size);
  for (let b = 0; b < size; b++) off[b] = b * rows;
  const shape = [size, ...padFront([], idx.shape.length - 1)];
  return add(idx, fromData(shape, "int32", off) as AnyTensor) as AnyTensor;
}

const scatterAddPrim: Primitive<{ rows: number }> = {
  name: "scatterAdd",
  impl([y, idx], p) {
    const t = y!, i = idx!;
    const rest = t.shape.slice(i.shape.length);
    const data = scatterAddRows(
      dataOf(t) as Float32Array,
      sizeOf(rest),
      dataOf(i) as Int32Array,
      p.rows,
    );
    return fromData([p.rows, ...rest], t.dtype, data) as AnyTensor;
  },
  jvp: ([, idx], [t], p) => (t ? bind(scatterAddPrim, [t, idx!], p) : null),
  vjp: (ct, [, idx]) => [bind(gatherPrim, [ct, idx!], undefined), null],
  batch([y, idx], [dy, di], p, size) {
    if (di === null) {
      // [...I, B, ...R] scatters to [rows, B, ...R].
      const t = moveAxis(y!, dy!, idx!.shape.length);
      return [bind(scatterAddPrim, [t, idx!], p), 1];
    }
    const t = toFront(y!, dy ?? null, size);
    const i = offsetRows(moveAxis(idx!, di!, 0), p.rows, size);
    const out = bind(scatterAddPrim, [t, i], { rows: p.rows * size });
    return [splitFront(out, size), 0];
  },
};

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
> {
  const t = x as unknown as AnyTensor, i = indices as unknown as AnyTensor;
  if (i.dtype !== "int32") {
    throw new TypeError(
      `Expected int32 indices in gather but found ${i.dtype}`,
    );
  }
  if (t.shape.length === 0) {
    throw new RangeError(
      "Cannot gather rows of a scalar: gather needs rank 1 or more",
    );
  }
  return bind(gatherPrim, [t, i], undefined) as unknown as Tensor<
    S extends readonly [number, ...infer R extends Shape] ? [...I, ...R]
      : Shape,
    D
  >;
}

// ------------------------------------------------- oneHot, cast, stopGradient

const oneHotPrim: Primitive<{ depth: number }> = {
  name: "oneHot",
  impl([l], p) {
    const t = l!;
    // Checked here, where the labels are known (not at staging time).
    const d = dataOf(t);
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < 0 || v >= p.depth) {
        throw new RangeError(
          `Expected labels in [0, ${p.depth}) but found ${v} at position ${i}`,
        );
      }
    }
    return fromData(
      [...t.shape, p.depth],
      "float32",
      oneHotKernel(dataOf(t), p.depth),
    ) as AnyTensor;
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
): Tensor<[...S, N], "float32"> {
  const t = labels as unknown as AnyTensor;
  if (t.dtype !== "int32") {
    throw new TypeError(`Expected int32 labels in oneHot but found ${t.dtype}`);
  }
  if (!Number.isInteger(depth) || depth <= 0) {
    throw new RangeError(
      `Expected depth to be a positive integer but found ${depth}`,
    );
  }
  return bind(oneHotPrim, [t], { depth }) as unknown as Tensor<
    [...S, N],
    "float32"
  >;
}

const castPrim: Primitive<{ dtype: DType }> = {
  name: "cast",
  impl([x], p) {
    const t = x!;
    return fromData(
      t.shape,
      p.dtype,
      castKernel(dataOf(t), p.dtype === "int32") as Float32Array,
    ) as AnyTensor;
  },
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
): Tensor<S, T> {
  const t = x as unknown as AnyTensor;
  if (t.dtype === dtype) return x as unknown as Tensor<S, T>;
  return bind(castPrim, [t], { dtype }) as unknown as Tensor<S, T>;
}

const stopPrim: Primitive<void> = {
  name: "stopGradient",
  impl: ([x]) => x!,
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
): Tensor<S, D> {
  return bind(
    stopPrim,
    [x as unknown as AnyTensor],
    undefined,
  ) as unknown as Tensor<S, D>;
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
