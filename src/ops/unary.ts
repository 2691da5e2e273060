/**
 * Unary elementwise primitives: neg, exp, log, sqrt, abs, sign, relu, step,
 * sigmoid, tanh, each with its jvp and vjp rule.
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
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import {
  reluMask,
  unary as unaryKernel,
  type UnaryOp,
} from "../kernels/elementwise.ts";
import { div, mul, sub } from "./binary.ts";
import { sameShapeBatch, unaryBatch } from "./batching.ts";

/** Builds a unary primitive whose rules scale the incoming (co)tangent. */
function unaryPrim(
  op: UnaryOp,
  /** The local derivative, or null for a piecewise-constant function. */
  deriv: ((x: AnyTensor, out: AnyTensor) => AnyTensor) | null,
): Primitive<void> {
  const prim: Primitive<void> = {
    name: op,
    impl([x]) {
      const t = x as AnyTensor;
      return fromData(
        t.shape,
        t.dtype,
        unaryKernel(op, dataOf(t)) as Float32Array,
      ) as AnyTensor;
    },
    jvp([x], [t], _p, out) {
      if (deriv === null || t === null) return null;
      return mul(t as AnyTensor, deriv(x!, out)) as AnyTensor;
    },
    vjp(ct, [x], _p, out) {
      if (deriv === null) return [null];
      return [mul(ct, deriv(x!, out)) as AnyTensor];
    },
    batch: (xs, dims, p) => unaryBatch(prim, xs, dims, p),
  };
  return prim;
}

const negPrim: Primitive<void> = {
  name: "neg",
  impl([x]) {
    const t = x as AnyTensor;
    return fromData(
      t.shape,
      t.dtype,
      unaryKernel("neg", dataOf(t)) as Float32Array,
    ) as AnyTensor;
  },
  jvp: (_x, [t]) => (t ? neg(t) as AnyTensor : null),
  vjp: (ct) => [neg(ct) as AnyTensor],
  batch: (xs, dims, p) => unaryBatch(negPrim, xs, dims, p),
};
const expPrim = unaryPrim("exp", (_x, out) => out);
const logPrim = unaryPrim("log", (x) => div(1, x) as AnyTensor);
const sqrtPrim = unaryPrim("sqrt", (_x, out) => div(0.5, out) as AnyTensor);
const absPrim = unaryPrim("abs", (x) => sign(x) as AnyTensor);
const signPrim = unaryPrim("sign", null);
const stepPrim = unaryPrim("step", null);
/**
 * (g, x) -> g * (x > 0): relu's derivative applied to g in one pass. Linear
 * in g; x only selects, so it gets no derivative.
 */
const reluMaskPrim: Primitive<void> = {
  name: "reluMask",
  impl([g, x]) {
    const t = g as AnyTensor;
    return fromData(
      t.shape,
      "float32",
      reluMask(
        dataOf(t) as Float32Array,
        dataOf(x as AnyTensor) as Float32Array,
      ),
    ) as AnyTensor;
  },
  jvp: ([, x], [tg]) => (tg ? bind(reluMaskPrim, [tg, x!], undefined) : null),
  vjp: (ct, [, x]) => [bind(reluMaskPrim, [ct, x!], undefined), null],
  batch: (xs, dims, p, n) => sameShapeBatch(reluMaskPrim, xs, dims, p, n),
};

/**
 * `g * (x > 0)`: relu's derivative at `x` applied to `g`, as a primitive
 * (linear in `g`). For the rules of fused ops whose output is a relu.
 *
 * @internal
 */
export function reluMaskOf(g: AnyTensor, x: AnyTensor): AnyTensor {
  return bind(reluMaskPrim, [g, x], undefined);
}

const reluPrim: Primitive<void> = {
  name: "relu",
  impl([x]) {
    const t = x as AnyTensor;
    return fromData(
      t.shape,
      t.dtype,
      unaryKernel("relu", dataOf(t)) as Float32Array,
    ) as AnyTensor;
  },
  // Integer tensors carry no derivatives.
  jvp: (
    [x],
    [t],
  ) => (t && x!.dtype === "float32"
    ? bind(reluMaskPrim, [t, x!], undefined)
    : null),
  vjp: (
    ct,
    [x],
  ) => [
    x!.dtype === "float32" ? bind(reluMaskPrim, [ct, x!], undefined) : null,
  ],
  batch: (xs, dims, p) => unaryBatch(reluPrim, xs, dims, p),
};
const sigmoidPrim = unaryPrim(
  "sigmoid",
  (_x, out) => mul(out, sub(1, out)) as AnyTensor,
);
const tanhPrim = unaryPrim(
  "tanh",
  (_x, out) => sub(1, mul(out, out)) as AnyTensor,
);

function run<S extends Shape, D extends DType>(
  prim: Primitive<void>,
  x: Tensor<S, D>,
): Tensor<S, D> {
  return bind(
    prim,
    [x as unknown as AnyTensor],
    undefined,
  ) as unknown as Tensor<S, D>;
}

/**
 * Elementwise negation.
 *
 * @param x The input.
 * @returns `-x`.
 *
 * @example
 * ```ts
 * import { neg, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(neg(tensor([1, -2])).toArray(), [-1, 2]);
 * ```
 */
export function neg<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D> {
  return run(negPrim, x);
}

/**
 * Elementwise `e ** x`.
 *
 * @param x The input.
 * @returns The exponential.
 *
 * @example
 * ```ts
 * import { exp, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * assertAlmostEquals(exp(tensor([1])).item(), Math.E, 1e-6);
 * ```
 */
export function exp<S extends Shape>(
  x: Tensor<S, "float32">,
): Tensor<S, "float32"> {
  return run(expPrim, x);
}

/**
 * Elementwise natural logarithm.
 *
 * @param x The input (positive for a finite result).
 * @returns `ln(x)`.
 *
 * @example
 * ```ts
 * import { log, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * assertAlmostEquals(log(tensor([Math.E])).item(), 1, 1e-6);
 * ```
 */
export function log<S extends Shape>(
  x: Tensor<S, "float32">,
): Tensor<S, "float32"> {
  return run(logPrim, x);
}

/**
 * Elementwise square root.
 *
 * @param x The input.
 * @returns `sqrt(x)`.
 *
 * @example
 * ```ts
 * import { sqrt, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(sqrt(tensor([4, 9])).toArray(), [2, 3]);
 * ```
 */
export function sqrt<S extends Shape>(
  x: Tensor<S, "float32">,
): Tensor<S, "float32"> {
  return run(sqrtPrim, x);
}

/**
 * Elementwise absolute value (its derivative at 0 is taken as 0).
 *
 * @param x The input.
 * @returns `|x|`.
 *
 * @example
 * ```ts
 * import { abs, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(abs(tensor([-3, 2])).toArray(), [3, 2]);
 * ```
 */
export function abs<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D> {
  return run(absPrim, x);
}

/**
 * Elementwise sign: -1, 0 or 1. Piecewise constant: its gradient is zero.
 *
 * @param x The input.
 * @returns The signs.
 *
 * @example
 * ```ts
 * import { sign, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(sign(tensor([-3, 0, 2])).toArray(), [-1, 0, 1]);
 * ```
 */
export function sign<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D> {
  return run(signPrim, x);
}

/**
 * Elementwise Heaviside step: 1 where `x > 0`, else 0. Its gradient is zero.
 *
 * @param x The input.
 * @returns The step values.
 *
 * @example
 * ```ts
 * import { step, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(step(tensor([-1, 0, 2])).toArray(), [0, 0, 1]);
 * ```
 */
export function step<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D> {
  return run(stepPrim, x);
}

/**
 * Rectified linear unit `max(x, 0)`; its derivative at 0 is taken as 0.
 *
 * @param x The input.
 * @returns The activations.
 *
 * @example
 * ```ts
 * import { relu, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(relu(tensor([-1, 0, 2])).toArray(), [0, 0, 2]);
 * ```
 */
export function relu<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D> {
  return run(reluPrim, x);
}

/**
 * The logistic function `1 / (1 + e ** -x)`, computed without overflow.
 *
 * @param x The input.
 * @returns Values in (0, 1).
 *
 * @example
 * ```ts
 * import { sigmoid, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(sigmoid(tensor([0, -1000, 1000])).toArray(), [0.5, 0, 1]);
 * ```
 */
export function sigmoid<S extends Shape>(
  x: Tensor<S, "float32">,
): Tensor<S, "float32"> {
  return run(sigmoidPrim, x);
}

/**
 * Elementwise hyperbolic tangent.
 *
 * @param x The input.
 * @returns Values in (-1, 1).
 *
 * @example
 * ```ts
 * import { tanh, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(tanh(tensor([0])).toArray(), [0]);
 * ```
 */
export function tanh<S extends Shape>(
  x: Tensor<S, "float32">,
): Tensor<S, "float32"> {
  return run(tanhPrim, x);
}

/**
 * Elementwise `x * x`.
 *
 * @param x The input.
 * @returns The squares.
 *
 * @example
 * ```ts
 * import { square, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(square(tensor([-3, 2])).toArray(), [9, 4]);
 * ```
 */
export function square<S extends Shape, D extends DType>(
  x: Tensor<S, D>,
): Tensor<S, D> {
  return mul(
    x as unknown as AnyTensor,
    x as unknown as AnyTensor,
  ) as unknown as Tensor<S, D>;
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  negPrim,
  expPrim,
  logPrim,
  sqrtPrim,
  absPrim,
  signPrim,
  stepPrim,
  reluMaskPrim,
  reluPrim,
  sigmoidPrim,
  tanhPrim,
];
