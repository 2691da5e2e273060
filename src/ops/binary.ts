/**
 * Binary elementwise primitives with NumPy broadcasting: add, sub, mul, div,
 * pow, maximum, minimum. Each primitive sits with its jvp and vjp rules; the
 * vjp sums the cotangent back over broadcast axes ({@linkcode unbroadcast}).
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  fromData,
  type Shape,
  type Tensor,
} from "../tensor.ts";
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
  type F32,
  lift,
  type Operand,
  sameShape,
  type ShapeOf,
} from "./operand.ts";
import { sum } from "./reduce.ts";
import { broadcastTo, reshape } from "./layout.ts";
import { greaterEqual, where } from "./compare.ts";
import { log, neg } from "./unary.ts";
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

/**
 * Sums `t` over the axes that broadcasting added or stretched, so that the
 * result has `shape`. The transpose of broadcasting; written with public ops.
 *
 * @internal
 */
export function unbroadcast(t: AnyTensor, shape: Shape): AnyTensor {
  if (sameShape(t.shape, shape)) return t;
  const lead = t.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < t.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && t.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? sum(t, { axis: axes }) : t;
  return reshape(summed, shape) as AnyTensor;
}

/** Internal: a tangent stretched to the output's shape. */
function stretch(t: AnyTensor, shape: Shape): AnyTensor {
  return sameShape(t.shape, shape) ? t : broadcastTo(t, shape) as AnyTensor;
}

type Pair = readonly [AnyTensor, AnyTensor];

function binaryPrim(
  op: BinaryOp,
  jvp: Primitive<void, Pair>["jvp"],
  vjp: Primitive<void, Pair>["vjp"],
): Primitive<void, Pair> {
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
      return fromData(shape, x.dtype, data as Float32Array) as AnyTensor;
    },
    jvp,
    vjp,
    batch: (xs, dims, p, n) => broadcastBatch(prim, xs, dims, p, n),
  };
  return prim;
}

const addPrim = binaryPrim(
  "add",
  (_x, [ta, tb], _p, out) => {
    if (ta && tb) return add(ta, tb) as AnyTensor;
    return stretch((ta ?? tb) as AnyTensor, out.shape);
  },
  (ct, [a, b], _p, _o, needs) => [
    needs[0] ? unbroadcast(ct, a!.shape) : null,
    needs[1] ? unbroadcast(ct, b!.shape) : null,
  ],
);

const subPrim = binaryPrim(
  "sub",
  (_x, [ta, tb], _p, out) => {
    if (ta && tb) return sub(ta, tb) as AnyTensor;
    return ta ? stretch(ta, out.shape) : stretch(neg(tb!), out.shape);
  },
  (ct, [a, b], _p, _o, needs) => [
    needs[0] ? unbroadcast(ct, a!.shape) : null,
    needs[1] ? unbroadcast(neg(ct), b!.shape) : null,
  ],
);

const mulPrim = binaryPrim(
  "mul",
  ([a, b], [ta, tb], _p, out) => {
    const l = ta ? mul(ta, b!) as AnyTensor : null;
    const r = tb ? mul(a!, tb) as AnyTensor : null;
    if (l && r) return add(l, r) as AnyTensor;
    return stretch((l ?? r) as AnyTensor, out.shape);
  },
  (ct, [a, b], _p, _o, needs) => [
    needs[0] ? unbroadcast(mul(ct, b!) as AnyTensor, a!.shape) : null,
    needs[1] ? unbroadcast(mul(ct, a!) as AnyTensor, b!.shape) : null,
  ],
);

const divPrim = binaryPrim(
  "div",
  ([, b], [ta, tb], _p, out) => {
    // d(a/b) = (da - out * db) / b
    const num = ta && tb
      ? sub(ta, mul(out, tb) as AnyTensor) as AnyTensor
      : ta ?? neg(mul(out, tb!) as AnyTensor);
    return stretch(div(num, b!) as AnyTensor, out.shape);
  },
  (ct, [a, b], _p, out, needs) => [
    needs[0] ? unbroadcast(div(ct, b!) as AnyTensor, a!.shape) : null,
    needs[1]
      ? unbroadcast(neg(div(mul(ct, out), b!) as AnyTensor), b!.shape)
      : null,
  ],
);

const powPrim = binaryPrim(
  "pow",
  ([a, b], [ta, tb], _p, out) => {
    // d(a^b) = b a^(b-1) da + log(a) a^b db
    const l = ta ? mul(mul(ta, b!), pow(a!, sub(b!, 1))) as AnyTensor : null;
    const r = tb ? mul(mul(tb, log(a! as F32)), out) as AnyTensor : null;
    if (l && r) return add(l, r) as AnyTensor;
    return stretch((l ?? r) as AnyTensor, out.shape);
  },
  (ct, [a, b], _p, out, needs) => [
    needs[0]
      ? unbroadcast(
        mul(mul(ct, b!), pow(a!, sub(b!, 1))) as AnyTensor,
        a!.shape,
      )
      : null,
    needs[1]
      ? unbroadcast(mul(mul(ct, out), log(a! as F32)) as AnyTensor, b!.shape)
      : null,
  ],
);

function pickRules(first: (a: AnyTensor, b: AnyTensor) => AnyTensor) {
  // The derivative flows to `a` where `first(a, b)` holds, else to `b`.
  const jvp: Primitive<void, Pair>["jvp"] = ([a, b], [ta, tb], _p, out) => {
    const m = first(a!, b!);
    const za = ta ? stretch(ta, out.shape) : 0;
    const zb = tb ? stretch(tb, out.shape) : 0;
    return where(m, za, zb) as AnyTensor;
  };
  const vjp: Primitive<void, Pair>["vjp"] = (ct, [a, b], _p, _o, needs) => {
    const m = first(a!, b!);
    return [
      needs[0] ? unbroadcast(where(m, ct, 0) as AnyTensor, a!.shape) : null,
      needs[1] ? unbroadcast(where(m, 0, ct) as AnyTensor, b!.shape) : null,
    ];
  };
  return [jvp, vjp] as const;
}

const maximumPrim = binaryPrim(
  "max",
  ...pickRules((a, b) => greaterEqual(a, b) as AnyTensor),
);
const minimumPrim = binaryPrim(
  "min",
  ...pickRules((a, b) => greaterEqual(b, a) as AnyTensor),
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
): Broadcast<X, Y> {
  return apply(subPrim, "sub", a, b as Operand) as Broadcast<X, Y>;
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
): Broadcast<X, Y> {
  return apply(mulPrim, "mul", a, b as Operand) as Broadcast<X, Y>;
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
): Broadcast<X, Y> {
  return apply(divPrim, "div", a, b as Operand) as Broadcast<X, Y>;
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
): Broadcast<X, Y> {
  return apply(powPrim, "pow", a, b as Operand) as Broadcast<X, Y>;
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
): Broadcast<X, Y> {
  return apply(maximumPrim, "maximum", a, b as Operand) as Broadcast<X, Y>;
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
): Broadcast<X, Y> {
  return apply(minimumPrim, "minimum", a, b as Operand) as Broadcast<X, Y>;
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
