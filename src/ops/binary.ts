/**
 * Binary elementwise primitives with NumPy broadcasting: add, sub, mul, div,
 * pow, maximum, minimum. Each primitive sits with its jvp and vjp rules; the
 * vjp sums the cotangent back over broadcast axes ({@linkcode unbroadcast}).
 *
 * @module
 */

import { type AnyTensor, dataOf, fromData, type Tensor } from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import {
  binary as binaryKernel,
  type BinaryOp,
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
import * as lax from "./elementary.ts";
import { unbroadcast } from "./broadcasting.ts";
import { broadcastBatch } from "./batching.ts";

/** The result type of a broadcasting binary op on operands `X` and `Y`. */
export type Broadcast<X, Y> = Tensor<
  Result<BroadcastShapes<ShapeOf<X>, ShapeOf<Y>>>,
  DTypeOf<X, Y>
>;

/** The type a second operand must have: `Y`, or the rule's error sentence. */
export type BroadcastArg<X, Y> = Arg<
  BroadcastShapes<ShapeOf<X>, ShapeOf<Y>>,
  Y
>;

type Pair = readonly [AnyTensor, AnyTensor];
type Rules = Pick<Primitive<void, Pair>, "jvp" | "vjp">;

function binaryPrim(op: BinaryOp, rules: Rules): Primitive<void, Pair> {
  const prim: Primitive<void, Pair> = {
    name: op,
    impl([x, y]) {
      const shape = broadcastShapes(x.shape, y.shape);
      const isInt = x.dtype === "int32";
      const data = binaryKernel(
        op,
        dataOf(x),
        x.shape,
        dataOf(y),
        y.shape,
        shape,
        isInt,
      );
      return fromData(shape, x.dtype, data);
    },
    jvp: rules.jvp,
    vjp: rules.vjp,
    batch: (xs, dims, p, n) => broadcastBatch(prim, xs, dims, p, n),
  };
  return prim;
}

/** The sum of two tangents, either of which may be zero (`null`). */
function addTangents(
  l: AnyTensor | null,
  r: AnyTensor | null,
  out: AnyTensor,
): AnyTensor | null {
  if (l && r) return lax.add(l, r);
  const t = l ?? r;
  return t && lax.broadcastTo(t, out.shape);
}

const addPrim = binaryPrim("add", {
  jvp: (_x, [ta, tb], _p, out) => addTangents(ta, tb, out),
  vjp: (ct, [a, b], _p, _o, needs) => [
    needs[0] ? unbroadcast(ct, a.shape) : null,
    needs[1] ? unbroadcast(ct, b.shape) : null,
  ],
});

const subPrim = binaryPrim("sub", {
  jvp: (_x, [ta, tb], _p, out) =>
    ta && tb ? lax.sub(ta, tb) : addTangents(ta, tb && lax.neg(tb), out),
  vjp: (ct, [a, b], _p, _o, needs) => [
    needs[0] ? unbroadcast(ct, a.shape) : null,
    needs[1] ? unbroadcast(lax.neg(ct), b.shape) : null,
  ],
});

const mulPrim = binaryPrim("mul", {
  jvp: ([a, b], [ta, tb], _p, out) =>
    addTangents(ta && lax.mul(ta, b), tb && lax.mul(a, tb), out),
  vjp: (ct, [a, b], _p, _o, needs) => [
    needs[0] ? unbroadcast(lax.mul(ct, b), a.shape) : null,
    needs[1] ? unbroadcast(lax.mul(ct, a), b.shape) : null,
  ],
});

const divPrim = binaryPrim("div", {
  jvp: ([, b], [ta, tb], _p, out) => {
    // d(a/b) = (da - out * db) / b
    const num = ta && tb
      ? lax.sub(ta, lax.mul(out, tb))
      : ta ?? (tb && lax.neg(lax.mul(out, tb)));
    return num && lax.broadcastTo(lax.div(num, b), out.shape);
  },
  vjp: (ct, [a, b], _p, out, needs) => [
    needs[0] ? unbroadcast(lax.div(ct, b), a.shape) : null,
    needs[1]
      ? unbroadcast(lax.neg(lax.div(lax.mul(ct, out), b)), b.shape)
      : null,
  ],
});

const powPrim = binaryPrim("pow", {
  // d(a^b) = b a^(b-1) da + log(a) a^b db
  jvp: ([a, b], [ta, tb], _p, out) =>
    addTangents(
      ta && lax.mul(lax.mul(ta, b), lax.pow(a, lax.sub(b, 1))),
      tb && lax.mul(lax.mul(tb, lax.log(a)), out),
      out,
    ),
  vjp: (ct, [a, b], _p, out, needs) => [
    needs[0]
      ? unbroadcast(lax.mul(lax.mul(ct, b), lax.pow(a, lax.sub(b, 1))), a.shape)
      : null,
    needs[1]
      ? unbroadcast(lax.mul(lax.mul(ct, out), lax.log(a)), b.shape)
      : null,
  ],
});

/** The rules of a primitive that picks `a` where `first(a, b)` holds, else `b`. */
function pickRules(first: (a: AnyTensor, b: AnyTensor) => AnyTensor): Rules {
  // The derivative flows to the input that was picked.
  return {
    jvp: ([a, b], [ta, tb], _p, out) => {
      const m = first(a, b);
      const za = ta ? lax.broadcastTo(ta, out.shape) : 0;
      const zb = tb ? lax.broadcastTo(tb, out.shape) : 0;
      return lax.where(m, za, zb);
    },
    vjp: (ct, [a, b], _p, _o, needs) => {
      const m = first(a, b);
      return [
        needs[0] ? unbroadcast(lax.where(m, ct, 0), a.shape) : null,
        needs[1] ? unbroadcast(lax.where(m, 0, ct), b.shape) : null,
      ];
    },
  };
}

const maximumPrim = binaryPrim(
  "max",
  pickRules((a, b) => lax.greaterEqual(a, b)),
);
const minimumPrim = binaryPrim(
  "min",
  pickRules((a, b) => lax.greaterEqual(b, a)),
);

function apply(
  prim: Primitive<void, Pair>,
  name: string,
  a: Operand,
  b: Operand,
): AnyTensor {
  const dtype = commonDType(name, a, b);
  const x = lift(a, dtype), y = lift(b, dtype);
  broadcastShapes(x.shape, y.shape);
  return bind(prim, [x, y], undefined);
}

/**
 * Elementwise `a + b` with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number whose shape broadcasts with `a`'s.
 * @returns The sum, of the broadcast shape.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { add, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([[1, 2], [3, 4]]);
 * assertEquals(add(x, tensor([10, 20])).toArray(), [[11, 22], [13, 24]]);
 * assertEquals(add(x, 1).toArray(), [[2, 3], [4, 5]]);
 * ```
 */
export function add<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function add(a: Operand, b: Operand): AnyTensor {
  return addAny(a, b);
}

/** The untyped form of {@linkcode add}, for rules, layers and optimizers. @internal */
export function addAny(a: Operand, b: Operand): AnyTensor {
  return apply(addPrim, "add", a, b);
}

/**
 * Elementwise `a - b` with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number whose shape broadcasts with `a`'s.
 * @returns The difference, of the broadcast shape.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { sub, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(sub(tensor([5, 7]), 2).toArray(), [3, 5]);
 * ```
 */
export function sub<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function sub(a: Operand, b: Operand): AnyTensor {
  return subAny(a, b);
}

/** The untyped form of {@linkcode sub}, for rules, layers and optimizers. @internal */
export function subAny(a: Operand, b: Operand): AnyTensor {
  return apply(subPrim, "sub", a, b);
}

/**
 * Elementwise `a * b` with broadcasting.
 *
 * @param a A tensor or number.
 * @param b A tensor or number whose shape broadcasts with `a`'s.
 * @returns The product, of the broadcast shape.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { mul, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(mul(tensor([[1], [2]]), tensor([3, 4])).toArray(), [[3, 4], [6, 8]]);
 * ```
 */
export function mul<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function mul(a: Operand, b: Operand): AnyTensor {
  return mulAny(a, b);
}

/** The untyped form of {@linkcode mul}, for rules, layers and optimizers. @internal */
export function mulAny(a: Operand, b: Operand): AnyTensor {
  return apply(mulPrim, "mul", a, b);
}

/**
 * Elementwise `a / b` with broadcasting (int32 division truncates toward zero).
 *
 * @param a A tensor or number.
 * @param b A tensor or number whose shape broadcasts with `a`'s.
 * @returns The quotient, of the broadcast shape.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { div, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(div(tensor([3, 9]), 3).toArray(), [1, 3]);
 * ```
 */
export function div<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function div(a: Operand, b: Operand): AnyTensor {
  return divAny(a, b);
}

/** The untyped form of {@linkcode div}, for rules, layers and optimizers. @internal */
export function divAny(a: Operand, b: Operand): AnyTensor {
  return apply(divPrim, "div", a, b);
}

/**
 * Elementwise `a ** b` with broadcasting. The gradient with respect to the
 * exponent uses `log(a)`, defined for positive `a`.
 *
 * @param a The base.
 * @param b The exponent, broadcasting with `a`.
 * @returns The power, of the broadcast shape.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { pow, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(pow(tensor([2, 3]), 2).toArray(), [4, 9]);
 * ```
 */
export function pow<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function pow(a: Operand, b: Operand): AnyTensor {
  return powAny(a, b);
}

/** The untyped form of {@linkcode pow}, for rules, layers and optimizers. @internal */
export function powAny(a: Operand, b: Operand): AnyTensor {
  return apply(powPrim, "pow", a, b);
}

/**
 * Elementwise maximum with broadcasting. On ties the gradient goes to `a`.
 *
 * @param a A tensor or number.
 * @param b A tensor or number whose shape broadcasts with `a`'s.
 * @returns The larger of each pair.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { maximum, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(maximum(tensor([-1, 2]), 0).toArray(), [0, 2]);
 * ```
 */
export function maximum<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function maximum(a: Operand, b: Operand): AnyTensor {
  return maximumAny(a, b);
}

/** The untyped form of {@linkcode maximum}, for rules, layers and optimizers. @internal */
export function maximumAny(a: Operand, b: Operand): AnyTensor {
  return apply(maximumPrim, "maximum", a, b);
}

/**
 * Elementwise minimum with broadcasting. On ties the gradient goes to `a`.
 *
 * @param a A tensor or number.
 * @param b A tensor or number whose shape broadcasts with `a`'s.
 * @returns The smaller of each pair.
 * @throws {RangeError} If the shapes do not broadcast.
 *
 * @example
 * ```ts
 * import { minimum, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(minimum(tensor([-1, 2]), 0).toArray(), [-1, 0]);
 * ```
 */
export function minimum<X extends Operand, Y extends Operand>(
  a: X,
  b: BroadcastArg<X, Y>,
): Broadcast<X, Y>;
export function minimum(a: Operand, b: Operand): AnyTensor {
  return minimumAny(a, b);
}

/** The untyped form of {@linkcode minimum}, for rules, layers and optimizers. @internal */
export function minimumAny(a: Operand, b: Operand): AnyTensor {
  return apply(minimumPrim, "minimum", a, b);
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  addPrim,
  subPrim,
  mulPrim,
  divPrim,
  powPrim,
  maximumPrim,
  minimumPrim,
];
