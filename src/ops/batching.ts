/**
 * Shared pieces of the batching rules (the `batch` member of every
 * primitive, used by `vmap`). A rule receives the inputs with, for each, the
 * axis its batch runs along (`null` for an input shared by every example),
 * and returns the output with its batch axis. Rules are written with the
 * untyped core ops (`lax.ts`), so any outer transformation traces them.
 *
 * @internal
 * @module
 */

import { type AnyTensor, dimOf, type Shape } from "../tensor.ts";
import { bind, type Inputs, type Primitive } from "../autodiff/core.ts";
import * as lax from "./elementary.ts";

/**
 * Moves axis `from` of `x` to position `to`. A reshape (no copy) when the
 * move only crosses axes of size 1 or moves an axis of size 1.
 *
 * @internal
 */
export function moveAxis(x: AnyTensor, from: number, to: number): AnyTensor {
  if (from === to) return x;
  const r = x.shape.length;
  const perm = [...Array(r).keys()].filter((i) => i !== from);
  perm.splice(to, 0, from);
  const shape = perm.map((a) => dimOf(x.shape, a));
  // Order of the non-unit axes unchanged: only a relabelling of the buffer.
  const nonUnit = perm.filter((a) => x.shape[a] !== 1);
  if (nonUnit.every((a, i, all) => i === 0 || a > dimOf(all, i - 1))) {
    return lax.reshape(x, shape);
  }
  return lax.transpose(x, perm);
}

/**
 * The input with its batch on axis 0: moved there, or (for a shared input)
 * repeated `size` times along a new leading axis.
 *
 * @internal
 */
export function toFront(
  x: AnyTensor,
  d: number | null,
  size: number,
): AnyTensor {
  if (d === null) return lax.broadcastTo(x, [size, ...x.shape]);
  return moveAxis(x, d, 0);
}

/** Merges the two leading axes: `[a, b, ...rest]` to `[a * b, ...rest]`. @internal */
export function mergeFront(x: AnyTensor): AnyTensor {
  const [a, b] = [dimOf(x.shape, 0), dimOf(x.shape, 1)];
  return lax.reshape(x, [a * b, ...x.shape.slice(2)]);
}

/** Splits the leading axis: `[a * b, ...rest]` to `[a, b, ...rest]`. @internal */
export function splitFront(x: AnyTensor, a: number): AnyTensor {
  return lax.reshape(x, [a, dimOf(x.shape, 0) / a, ...x.shape.slice(1)]);
}

/**
 * The rule of an elementwise primitive of one input: the batch axis stays
 * where it is.
 *
 * @internal
 */
export function unaryBatch<P>(
  prim: Primitive<P>,
  xs: Inputs,
  [d]: readonly (number | null)[],
  p: P,
): [AnyTensor, number | null] {
  return [bind(prim, xs, p), d ?? null];
}

/**
 * The rule of an elementwise primitive whose inputs broadcast (NumPy rules):
 * batched inputs get their batch on axis 0 and unit axes after it up to the
 * output's rank, so shared inputs broadcast against the per-example dims.
 * When every batched input has the same rank and batch axis and the shared
 * ones are short enough not to reach that axis, nothing moves.
 *
 * @internal
 */
export function broadcastBatch<P>(
  prim: Primitive<P>,
  xs: Inputs,
  dims: readonly (number | null)[],
  p: P,
  size: number,
): [AnyTensor, number | null] {
  const ins = xs.map((x, i) => {
    const d = dims[i] ?? null;
    return { x, d, rank: x.shape.length - (d === null ? 0 : 1) };
  });
  const rank = Math.max(...ins.map((a) => a.rank));
  // vmap calls a rule only when some input is batched.
  const d0 = dims.find((d) => d !== null) ?? 0;
  const still = ins.every(({ d, rank: r }) =>
    d === null ? r <= rank - d0 : d === d0 && r === rank
  );
  if (still) return [bind(prim, xs, p), d0];
  const moved = ins.map(({ x, d, rank: r }) => {
    if (d === null) return x;
    const f = moveAxis(x, d, 0);
    if (r === rank) return f;
    return lax.reshape(f, [size, ...padFront(f.shape.slice(1), rank - r)]);
  });
  return [bind(prim, moved, p), 0];
}

/**
 * The rule of an elementwise primitive whose inputs all have the same shape:
 * every input gets its batch on axis 0 (shared inputs are repeated).
 *
 * @internal
 */
export function sameShapeBatch<P>(
  prim: Primitive<P>,
  xs: Inputs,
  dims: readonly (number | null)[],
  p: P,
  size: number,
): [AnyTensor, number | null] {
  const d0 = dims[0] ?? null;
  if (d0 !== null && dims.every((d) => d === d0)) {
    return [bind(prim, xs, p), d0];
  }
  const ins = xs.map((x, i) => toFront(x, dims[i] ?? null, size));
  return [bind(prim, ins, p), 0];
}

/** `shape` with `n` unit axes put in front. @internal */
export function padFront(shape: Shape, n: number): number[] {
  return [...new Array<number>(n).fill(1), ...shape];
}
