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
  sizeOf,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { linear } from "../autodiff/linear.ts";
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
import type { BroadcastArg } from "./binary.ts";
import * as lax from "./elementary.ts";
import { unbroadcast } from "./broadcasting.ts";
import { broadcastBatch } from "./batching.ts";

/** The result type of a comparison: int32 of the broadcast shape. */
export type Comparison<X, Y> = Tensor<
  Result<BroadcastShapes<ShapeOf<X>, ShapeOf<Y>>>,
  "int32"
>;

type Pair = readonly [AnyTensor, AnyTensor];

function comparePrim(op: BinaryOp): Primitive<void, Pair> {
  const prim: Primitive<void, Pair> = {
    name: op,
    impl([x, y]) {
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
      // The kernel gives int32 when asked to (its last argument).
      if (!(data instanceof Int32Array)) {
        throw new TypeError(
          `Expected int32 values from the ${op} kernel but found ${data.constructor.name}`,
        );
      }
      return fromData(shape, "int32", data);
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
): Comparison<X, Y>;
export function equal(a: Operand, b: Operand): AnyTensor {
  return equalAny(a, b);
}

/** The untyped form of {@linkcode equal}, for rules, layers and optimizers. @internal */
export function equalAny(a: Operand, b: Operand): AnyTensor {
  return compare("eq", "equal", a, b);
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
): Comparison<X, Y>;
export function notEqual(a: Operand, b: Operand): AnyTensor {
  return notEqualAny(a, b);
}

/** The untyped form of {@linkcode notEqual}, for rules, layers and optimizers. @internal */
export function notEqualAny(a: Operand, b: Operand): AnyTensor {
  return compare("ne", "notEqual", a, b);
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
): Comparison<X, Y>;
export function greater(a: Operand, b: Operand): AnyTensor {
  return greaterAny(a, b);
}

/** The untyped form of {@linkcode greater}, for rules, layers and optimizers. @internal */
export function greaterAny(a: Operand, b: Operand): AnyTensor {
  return compare("gt", "greater", a, b);
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
): Comparison<X, Y>;
export function greaterEqual(a: Operand, b: Operand): AnyTensor {
  return greaterEqualAny(a, b);
}

/** The untyped form of {@linkcode greaterEqual}, for rules, layers and optimizers. @internal */
export function greaterEqualAny(a: Operand, b: Operand): AnyTensor {
  return compare("ge", "greaterEqual", a, b);
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
): Comparison<X, Y>;
export function less(a: Operand, b: Operand): AnyTensor {
  return lessAny(a, b);
}

/** The untyped form of {@linkcode less}, for rules, layers and optimizers. @internal */
export function lessAny(a: Operand, b: Operand): AnyTensor {
  return compare("lt", "less", a, b);
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
): Comparison<X, Y>;
export function lessEqual(a: Operand, b: Operand): AnyTensor {
  return lessEqualAny(a, b);
}

/** The untyped form of {@linkcode lessEqual}, for rules, layers and optimizers. @internal */
export function lessEqualAny(a: Operand, b: Operand): AnyTensor {
  return compare("le", "lessEqual", a, b);
}

type Triple = readonly [AnyTensor, AnyTensor, AnyTensor];

const wherePrim: Primitive<void, Triple> = linear({
  name: "where",
  impl([cond, x, y]) {
    const shape = broadcastShapes(
      broadcastShapes(cond.shape, x.shape),
      y.shape,
    );
    const n = sizeOf(shape);
    const full = (t: AnyTensor) =>
      t.size === n ? dataOf(t) : broadcastKernel(dataOf(t), t.shape, shape);
    const data = select(full(cond), full(x), full(y));
    return fromData(shape, x.dtype, data);
  },
  vjp(ct, [c, a, b], _p, _o, needs) {
    return [
      null,
      needs[1] ? unbroadcast(lax.where(c, ct, 0), a.shape) : null,
      needs[2] ? unbroadcast(lax.where(c, 0, ct), b.shape) : null,
    ];
  },
  batch: (xs, dims, p, n) => broadcastBatch(wherePrim, xs, dims, p, n),
}, { fixed: [0] });

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
): Where<C, X, Y>;
export function where(cond: AnyTensor, a: Operand, b: Operand): AnyTensor {
  return whereAny(cond, a, b);
}

/** The untyped form of {@linkcode where}, for rules, layers and optimizers. @internal */
export function whereAny(cond: AnyTensor, a: Operand, b: Operand): AnyTensor {
  const dtype = commonDType("where", a, b);
  const x = lift(a, dtype), y = lift(b, dtype);
  broadcastShapes(broadcastShapes(cond.shape, x.shape), y.shape);
  return bind(wherePrim, [cond, x, y], undefined);
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
): Tensor<S, D>;
export function clip(x: AnyTensor, lo: number, hi: number): AnyTensor {
  return clipAny(x, lo, hi);
}

/** The untyped form of {@linkcode clip}, for rules, layers and optimizers. @internal */
export function clipAny(x: AnyTensor, lo: number, hi: number): AnyTensor {
  if (!(lo <= hi)) {
    throw new RangeError(
      `Expected lo <= hi in clip but found lo ${lo} and hi ${hi}`,
    );
  }
  return lax.minimum(lax.maximum(x, lo), hi);
}

/** Internal: the type a comparison's second operand must have. */
export type CompareArg<X, Y> = Arg<BroadcastShapes<ShapeOf<X>, ShapeOf<Y>>, Y>;

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  ...Object.values(prims),
  wherePrim,
];
