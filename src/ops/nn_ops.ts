/**
 * Classification and regularization ops composed from the primitives:
 * softmax, logSoftmax, crossEntropy and dropout. Their gradients come from
 * the primitives' rules.
 *
 * @module
 */

import type { AnyTensor, Shape, Tensor } from "../tensor.ts";
import { bernoulli, type Key } from "../random.ts";
import { div, mul, sub } from "./binary.ts";
import { logSumExp, sum } from "./reduce.ts";
import { oneHot } from "./layout.ts";
import { exp, neg } from "./unary.ts";
import { normalizeAxis } from "../shape/mod.ts";

/** Options of {@linkcode softmax} and {@linkcode logSoftmax}. */
export interface SoftmaxOptions {
  /** The axis that sums to one (default -1, the last). */
  axis?: number;
}

/**
 * `x - logSumExp(x)` along an axis: log-probabilities, computed stably (inputs
 * of 1000 and -1000 give exact, finite results).
 *
 * @param x Logits.
 * @param options `axis` (default -1).
 * @returns Log-probabilities of the same shape.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(logSoftmax(tensor([1000, -1000])).toArray(), [0, -2000]);
 * ```
 */
export function logSoftmax<S extends Shape>(
  x: Tensor<S, "float32">,
  options?: SoftmaxOptions,
): Tensor<S, "float32"> {
  const t = x as unknown as AnyTensor;
  const axis = normalizeAxis(t.shape, options?.axis ?? -1);
  const lse = logSumExp(t as Tensor<Shape, "float32">, {
    axis,
    keepDims: true,
  }) as AnyTensor;
  return sub(t, lse) as unknown as Tensor<S, "float32">;
}

/**
 * `exp(x) / sum(exp(x))` along an axis, computed stably.
 *
 * @param x Logits.
 * @param options `axis` (default -1).
 * @returns Probabilities of the same shape, summing to one along the axis.
 *
 * @example
 * ```ts
 * import { softmax, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(softmax(tensor([1000, -1000])).toArray(), [1, 0]);
 * assertEquals(softmax(tensor([0, 0])).toArray(), [0.5, 0.5]);
 * ```
 */
export function softmax<S extends Shape>(
  x: Tensor<S, "float32">,
  options?: SoftmaxOptions,
): Tensor<S, "float32"> {
  return exp(logSoftmax(x, options));
}

/**
 * Mean softmax cross-entropy between logits `[B, C]` and labels: int32 class
 * indices `[B]`, or float32 probabilities `[B, C]` (one-hot or soft). Stable
 * for any logits; its gradient with respect to the logits is
 * `(softmax(logits) - onehot) / B`.
 *
 * @param logits Unnormalized scores `[B, C]`.
 * @param labels int32 classes `[B]` in `[0, C)`, or float32 targets `[B, C]`.
 * @returns The mean loss, a scalar.
 * @throws {RangeError} If the shapes do not fit or a class index is out of range.
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const logits = tensor([[0, 0], [0, 0]]);
 * const labels = tensor(new Int32Array([0, 1]), [2]);
 * assertAlmostEquals(crossEntropy(logits, labels).item(), Math.LN2, 1e-6);
 * ```
 */
export function crossEntropy<B extends number, C extends number>(
  logits: Tensor<readonly [B, C], "float32">,
  labels: Tensor<readonly [B], "int32"> | Tensor<readonly [B, C], "float32">,
): Tensor<[], "float32"> {
  const z = logits as unknown as AnyTensor;
  const y = labels as unknown as AnyTensor;
  if (z.shape.length !== 2) {
    throw new RangeError(
      `Expected logits of rank 2 [batch, classes] but found shape [${
        z.shape.join(", ")
      }]`,
    );
  }
  const [b, c] = z.shape as [number, number];
  const lp = logSoftmax(z as Tensor<Shape, "float32">) as AnyTensor;
  if (y.dtype === "int32") {
    if (y.shape.length !== 1 || y.shape[0] !== b) {
      throw new RangeError(
        `Expected labels of shape [${b}] for logits [${b}, ${c}] but found [${
          y.shape.join(", ")
        }]`,
      );
    }
    const picked = mul(lp, oneHot(y as Tensor<Shape, "int32">, c)) as AnyTensor;
    return neg(div(sum(picked), b) as AnyTensor) as unknown as Tensor<
      [],
      "float32"
    >;
  }
  if (y.shape.length !== 2 || y.shape[0] !== b || y.shape[1] !== c) {
    throw new RangeError(
      `Expected targets of shape [${b}, ${c}] for logits [${b}, ${c}] but found [${
        y.shape.join(", ")
      }]`,
    );
  }
  return neg(
    div(sum(mul(lp, y) as AnyTensor), b) as AnyTensor,
  ) as unknown as Tensor<[], "float32">;
}

/** Options of {@linkcode dropout}. */
export interface DropoutOptions {
  /** The probability of dropping each element, in [0, 1). */
  rate: number;
  /** The random key that decides which elements drop. */
  key: Key;
}

/**
 * Drops each element with probability `rate` (sets it to zero) and scales the
 * rest by `1 / (1 - rate)`, so the expected value is unchanged. The identity
 * when `rate` is 0. Use it in training only.
 *
 * @param x The activations.
 * @param options `rate` (what is dropped) and `key`.
 * @returns The thinned activations.
 * @throws {RangeError} If `rate` is outside [0, 1).
 *
 * @example
 * ```ts
 * import { dropout, key, ones } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const y = dropout(ones([1000]), { rate: 0.5, key: key(0) });
 * const values = new Set(y.toFlat());
 * assertEquals([...values].sort(), [0, 2]);
 * ```
 */
export function dropout<S extends Shape>(
  x: Tensor<S, "float32">,
  options: DropoutOptions,
): Tensor<S, "float32"> {
  const { rate } = options;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`Expected rate to be in [0, 1) but found ${rate}`);
  }
  if (rate === 0) return x;
  const t = x as unknown as AnyTensor;
  const keep = bernoulli(options.key, 1 - rate, t.shape) as AnyTensor;
  return mul(t, div(keep, 1 - rate) as AnyTensor) as unknown as Tensor<
    S,
    "float32"
  >;
}
