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
  floatsOf,
  fromData,
  recipeOf,
  type Shape,
  type Tensor,
} from "../tensor.ts";
import {
  conv2dBackpropInputMasked,
  conv2dBackpropInputScattered,
} from "../kernels/conv2d.ts";
import { InputGradRecipe } from "./recipes.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { linear } from "../autodiff/linear.ts";
import {
  reluMask,
  unary as unaryKernel,
  type UnaryOp,
} from "../kernels/elementwise.ts";
import * as lax from "./elementary.ts";
import { sameShapeBatch, unaryBatch } from "./batching.ts";

type One = readonly [AnyTensor];
type Pair = readonly [AnyTensor, AnyTensor];

/** The forward of every unary primitive: the kernel on the input's values. */
function unaryImpl(op: UnaryOp, [x]: One): AnyTensor {
  return fromData(x.shape, x.dtype, unaryKernel(op, dataOf(x)));
}

/** Builds a unary primitive whose rules scale the incoming (co)tangent. */
function unaryPrim(
  op: UnaryOp,
  /** The local derivative, or null for a piecewise-constant function. */
  deriv: ((x: AnyTensor, out: AnyTensor) => AnyTensor) | null,
): Primitive<void, One> {
  const prim: Primitive<void, One> = {
    name: op,
    impl: (xs) => unaryImpl(op, xs),
    jvp([x], [t], _p, out) {
      if (deriv === null || t === null) return null;
      return lax.mul(t, deriv(x, out));
    },
    vjp(ct, [x], _p, out) {
      if (deriv === null) return [null];
      return [lax.mul(ct, deriv(x, out))];
    },
    batch: (xs, dims, p) => unaryBatch(prim, xs, dims, p),
  };
  return prim;
}

const negPrim: Primitive<void, One> = linear({
  name: "neg",
  impl: (xs) => unaryImpl("neg", xs),
  vjp: (ct) => [lax.neg(ct)],
  batch: (xs, dims, p) => unaryBatch(negPrim, xs, dims, p),
});
const expPrim = unaryPrim("exp", (_x, out) => out);
const logPrim = unaryPrim("log", (x) => lax.div(1, x));
const sqrtPrim = unaryPrim("sqrt", (_x, out) => lax.div(0.5, out));
const absPrim = unaryPrim("abs", (x) => lax.sign(x));
const signPrim = unaryPrim("sign", null);
const stepPrim = unaryPrim("step", null);
/**
 * (g, x) -> g * (x > 0): relu's derivative applied to g in one pass. Linear
 * in g; x only selects, so it gets no derivative.
 */
const reluMaskPrim: Primitive<void, Pair> = linear({
  name: "reluMask",
  impl([g, x]) {
    // A convolution's input gradient not made yet is masked as it is made.
    const r = recipeOf(g);
    let fused: Float32Array | null = null;
    if (r instanceof InputGradRecipe) {
      const { dy, filter, g: cg } = r;
      const xs = floatsOf(x);
      fused = dy instanceof Float32Array
        ? conv2dBackpropInputMasked(dy, filter, cg, xs)
        : conv2dBackpropInputScattered(
          dy.dy,
          dy.argmax,
          filter,
          cg,
          dy.tiles(),
          xs,
        );
    }
    return fromData(
      g.shape,
      "float32",
      fused ?? reluMask(floatsOf(g), floatsOf(x)),
    );
  },
  vjp: (ct, [, x]) => [bind(reluMaskPrim, [ct, x], undefined), null],
  batch: (xs, dims, p, n) => sameShapeBatch(reluMaskPrim, xs, dims, p, n),
}, { fixed: [1] });

/**
 * `g * (x > 0)`: relu's derivative at `x` applied to `g`, as a primitive
 * (linear in `g`). For the rules of fused ops whose output is a relu.
 *
 * @internal
 */
export function reluMaskOf(g: AnyTensor, x: AnyTensor): AnyTensor {
  return bind(reluMaskPrim, [g, x], undefined);
}

const reluPrim: Primitive<void, One> = {
  name: "relu",
  impl: (xs) => unaryImpl("relu", xs),
  // Integer tensors carry no derivatives.
  jvp: ([x], [t]) => (t && x.dtype === "float32" ? reluMaskOf(t, x) : null),
  vjp: (ct, [x]) => [x.dtype === "float32" ? reluMaskOf(ct, x) : null],
  batch: (xs, dims, p) => unaryBatch(reluPrim, xs, dims, p),
};
const sigmoidPrim = unaryPrim(
  "sigmoid",
  (_x, out) => lax.mul(out, lax.sub(1, out)),
);
const tanhPrim = unaryPrim(
  "tanh",
  (_x, out) => lax.sub(1, lax.mul(out, out)),
);

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
): Tensor<S, D>;
export function neg(x: AnyTensor): AnyTensor {
  return negAny(x);
}

/** The untyped form of {@linkcode neg}, for rules, layers and optimizers. @internal */
export function negAny(x: AnyTensor): AnyTensor {
  return bind(negPrim, [x], undefined);
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
): Tensor<S, "float32">;
export function exp(x: AnyTensor): AnyTensor {
  return expAny(x);
}

/** The untyped form of {@linkcode exp}, for rules, layers and optimizers. @internal */
export function expAny(x: AnyTensor): AnyTensor {
  return bind(expPrim, [x], undefined);
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
): Tensor<S, "float32">;
export function log(x: AnyTensor): AnyTensor {
  return logAny(x);
}

/** The untyped form of {@linkcode log}, for rules, layers and optimizers. @internal */
export function logAny(x: AnyTensor): AnyTensor {
  return bind(logPrim, [x], undefined);
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
): Tensor<S, "float32">;
export function sqrt(x: AnyTensor): AnyTensor {
  return sqrtAny(x);
}

/** The untyped form of {@linkcode sqrt}, for rules, layers and optimizers. @internal */
export function sqrtAny(x: AnyTensor): AnyTensor {
  return bind(sqrtPrim, [x], undefined);
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
): Tensor<S, D>;
export function abs(x: AnyTensor): AnyTensor {
  return absAny(x);
}

/** The untyped form of {@linkcode abs}, for rules, layers and optimizers. @internal */
export function absAny(x: AnyTensor): AnyTensor {
  return bind(absPrim, [x], undefined);
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
): Tensor<S, D>;
export function sign(x: AnyTensor): AnyTensor {
  return signAny(x);
}

/** The untyped form of {@linkcode sign}, for rules, layers and optimizers. @internal */
export function signAny(x: AnyTensor): AnyTensor {
  return bind(signPrim, [x], undefined);
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
): Tensor<S, D>;
export function step(x: AnyTensor): AnyTensor {
  return stepAny(x);
}

/** The untyped form of {@linkcode step}, for rules, layers and optimizers. @internal */
export function stepAny(x: AnyTensor): AnyTensor {
  return bind(stepPrim, [x], undefined);
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
): Tensor<S, D>;
export function relu(x: AnyTensor): AnyTensor {
  return reluAny(x);
}

/** The untyped form of {@linkcode relu}, for rules, layers and optimizers. @internal */
export function reluAny(x: AnyTensor): AnyTensor {
  return bind(reluPrim, [x], undefined);
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
): Tensor<S, "float32">;
export function sigmoid(x: AnyTensor): AnyTensor {
  return sigmoidAny(x);
}

/** The untyped form of {@linkcode sigmoid}, for rules, layers and optimizers. @internal */
export function sigmoidAny(x: AnyTensor): AnyTensor {
  return bind(sigmoidPrim, [x], undefined);
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
): Tensor<S, "float32">;
export function tanh(x: AnyTensor): AnyTensor {
  return tanhAny(x);
}

/** The untyped form of {@linkcode tanh}, for rules, layers and optimizers. @internal */
export function tanhAny(x: AnyTensor): AnyTensor {
  return bind(tanhPrim, [x], undefined);
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
): Tensor<S, D>;
export function square(x: AnyTensor): AnyTensor {
  return squareAny(x);
}

/** The untyped form of {@linkcode square}, for rules, layers and optimizers. @internal */
export function squareAny(x: AnyTensor): AnyTensor {
  return lax.mul(x, x);
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
