/**
 * Comparisons (not differentiable: they give no gradient), `where`, and `clip`.
 *
 * Comparisons return int32 tensors of 0 and 1, usable as masks in
 * {@linkcode where}.
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  type DType,
  fromData,
  type Shape,
  type Tensor,
  zeros,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import {
  binary as binaryKernel,
  type BinaryOp,
  broadcastTo as broadcastKernel,
  select,
} from "../kernels/elementwise.ts";
import {
  type Arg,
  type BroadcastShapes,
  broadcastShapes,
  type Result,
} from "../shape/mod.ts";
import {
  commonDType,
  type DTypeOf,
  lift,
  type Operand,
  type ShapeOf,
} from "./operand.ts";
import { maximum, minimum, unbroadcast } from "./binary.ts";
import type { BroadcastArg } from "./binary.ts";
import { broadcastBatch } from "./batching.ts";

/** The result type of a comparison: int32 of the broadcast shape. */
export type Comparison<X, Y> = Tensor<
  Result<BroadcastShapes<ShapeOf<X>, ShapeOf<Y>>>,
  "int32"
>;

function comparePrim(op: BinaryOp): Primitive<void> {
  const prim: Primitive<void> = {
    name: op,
    impl([a, b]) {
      const x = a as AnyTensor, y = b as AnyTensor;
      const shape = broadcastShapes(x.shape, y.shape);
      const data = binaryKernel(
        op,
        dataOf(x),
        x.shape,
        dataOf(y),
        y.shape,
        shape,
        true,
      );
      return fromData(shape, "int32", data as Int32Array) as AnyTensor;
    },
    jvp: () => null,
    vjp: () => [null, null],
    batch: (xs, dims, p, n) => broadcastBatch(prim, xs, dims, p, n),
  };
  return prim;
}

const prims = {
  eq: comparePrim("eq"),
  ne: comparePrim("ne"),
  gt: comparePrim("gt"),
  ge: comparePrim("ge"),
  lt: comparePrim("lt"),
  le: comparePrim("le"),
};

function compare(
  op: keyof typeof prims,
  name: string,
  a: Operand,
  b: Operand,
): AnyTensor {
  const dtype = commonDType(name, a, b);
  const x = lift(a, dtype), y = lift(b, dtype);
  broadcastShapes(x.shape, y.shape);
  return bind(prims[op], [x, y], undefined);
}

/**
 * Elementwise `a == b` as int32 0/1, with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number broadcasting with `a`.
 * @returns 1 where equal, else 0.
 *
 * @example
 * ```ts
 * import { equal, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(equal(tensor([1, 2]), 2).toArray(), [0, 1]);
 * ```
 */
export function equal<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Comparison<X, Y> {
  return compare("eq", "equal", a, b as Operand) as Comparison<X, Y>;
}

/**
 * Elementwise `a != b` as int32 0/1, with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number broadcasting with `a`.
 * @returns 1 where different, else 0.
 *
 * @example
 * ```ts
 * import { notEqual, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(notEqual(tensor([1, 2]), 2).toArray(), [1, 0]);
 * ```
 */
export function notEqual<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Comparison<X, Y> {
  return compare("ne", "notEqual", a, b as Operand) as Comparison<X, Y>;
}

/**
 * Elementwise `a > b` as int32 0/1, with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number broadcasting with `a`.
 * @returns 1 where greater, else 0.
 *
 * @example
 * ```ts
 * import { greater, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(greater(tensor([1, 2, 3]), 2).toArray(), [0, 0, 1]);
 * ```
 */
export function greater<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Comparison<X, Y> {
  return compare("gt", "greater", a, b as Operand) as Comparison<X, Y>;
}

/**
 * Elementwise `a >= b` as int32 0/1, with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number broadcasting with `a`.
 * @returns 1 where greater or equal, else 0.
 *
 * @example
 * ```ts
 * import { greaterEqual, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(greaterEqual(tensor([1, 2, 3]), 2).toArray(), [0, 1, 1]);
 * ```
 */
export function greaterEqual<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Comparison<X, Y> {
  return compare("ge", "greaterEqual", a, b as Operand) as Comparison<X, Y>;
}

/**
 * Elementwise `a < b` as int32 0/1, with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number broadcasting with `a`.
 * @returns 1 where less, else 0.
 *
 * @example
 * ```ts
 * import { less, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(less(tensor([1, 2, 3]), 2).toArray(), [1, 0, 0]);
 * ```
 */
export function less<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Comparison<X, Y> {
  return compare("lt", "less", a, b as Operand) as Comparison<X, Y>;
}

/**
 * Elementwise `a <= b` as int32 0/1, with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number broadcasting with `a`.
 * @returns 1 where less or equal, else 0.
 *
 * @example
 * ```ts
 * import { lessEqual, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(lessEqual(tensor([1, 2, 3]), 2).toArray(), [1, 1, 0]);
 * ```
 */
export function lessEqual<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Comparison<X, Y> {
  return compare("le", "lessEqual", a, b as Operand) as Comparison<X, Y>;
}

const wherePrim: Primitive<void> = {
  name: "where",
  impl([c, a, b]) {
    const cond = c as AnyTensor, x = a as AnyTensor, y = b as AnyTensor;
    const shape = broadcastShapes(
      broadcastShapes(cond.shape, x.shape),
      y.shape,
    );
    const n = shape.reduce((p, d) => p * d, 1);
    const full = (t: AnyTensor) =>
      t.size === n ? dataOf(t) : broadcastKernel(dataOf(t), t.shape, shape);
    const data = select(full(cond), full(x), full(y));
    return fromData(shape, x.dtype, data as Float32Array) as AnyTensor;
  },
  jvp([c, a, b], [, ta, tb]) {
    if (!ta && !tb) return null;
    const t = where(c!, ta ?? zerosLike(a!), tb ?? zerosLike(b!));
    return t as AnyTensor;
  },
  vjp(ct, [c, a, b], _p, _o, needs) {
    return [
      null,
      needs[1] ? unbroadcast(where(c!, ct, 0) as AnyTensor, a!.shape) : null,
      needs[2] ? unbroadcast(where(c!, 0, ct) as AnyTensor, b!.shape) : null,
    ];
  },
  batch: (xs, dims, p, n) => broadcastBatch(wherePrim, xs, dims, p, n),
};

function zerosLike(t: AnyTensor): AnyTensor {
  return zeros(t.shape, { dtype: t.dtype }) as AnyTensor;
}

/** The result type of {@linkcode where}. */
export type Where<C, X, Y> = Tensor<
  Result<
    BroadcastShapes<Result<BroadcastShapes<ShapeOf<C>, ShapeOf<X>>>, ShapeOf<Y>>
  >,
  DTypeOf<X, Y>
>;

/**
 * Picks `a` where `cond` is nonzero and `b` elsewhere, broadcasting all three.
 * The gradient flows to the branch that was picked; `cond` gets none.
 *
 * @param cond The condition (any dtype; nonzero is true).
 * @param a Values where true.
 * @param b Values where false.
 * @returns The picked values.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { greater, tensor, where } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([-1, 2, -3]);
 * assertEquals(where(greater(x, 0), x, 0).toArray(), [0, 2, 0]);
 * ```
 */
export function where<
  C extends AnyTensor,
  X extends Operand,
  Y extends Operand,
>(
  cond: C,
  a: X,
  b: Y,
): Where<C, X, Y> {
  const dtype = commonDType("where", a, b);
  const x = lift(a, dtype), y = lift(b, dtype);
  broadcastShapes(broadcastShapes(cond.shape, x.shape), y.shape);
  return bind(wherePrim, [cond, x, y], undefined) as Where<C, X, Y>;
}

/**
 * Limits values to `[lo, hi]`. The gradient is 1 inside and 0 outside.
 *
 * @param x The input.
 * @param lo The lower bound.
 * @param hi The upper bound.
 * @returns The clipped values.
 *
 * @example
 * ```ts
 * import { clip, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(clip(tensor([-5, 0.5, 5]), 0, 1).toArray(), [0, 0.5, 1]);
 * ```
 */
export function clip<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
  lo: number,
  hi: number,
): Tensor<S, D> {
  if (!(lo <= hi)) {
    throw new RangeError(
      `Expected lo <= hi in clip but found lo ${lo} and hi ${hi}`,
    );
  }
  const t = x as unknown as AnyTensor;
  return minimum(maximum(t, lo) as AnyTensor, hi) as unknown as Tensor<S, D>;
}

/** Internal: the type a comparison's second operand must have. */
export type CompareArg<X, Y> = Arg<BroadcastShapes<ShapeOf<X>, ShapeOf<Y>>, Y>;

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  ...Object.values(prims),
  wherePrim,
];
