/**
 * Classification and regularization ops: softmax, logSoftmax and dropout,
 * composed from the primitives (their gradients come from the primitives'
 * rules), and crossEntropy, one primitive (`softmaxCrossEntropy`) whose
 * gradient is another (`softmaxCrossEntropyGrad`), with rules written from
 * the composites so that every order of derivative, vmap and staging work.
 *
 * @module
 */

import {
  type AnyTensor,
  dimOf,
  type DType,
  floatsOf,
  fromData,
  type Shape,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { toFront } from "./batching.ts";
import { type Key, scaledBernoulli } from "../random.ts";
import * as lax from "./elementary.ts";
import {
  type Arg,
  type CrossEntropyShape,
  crossEntropyShape,
  normalizeAxis,
} from "../shape/mod.ts";

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
): Tensor<S, "float32">;
export function logSoftmax(x: AnyTensor, options?: SoftmaxOptions): AnyTensor {
  return logSoftmaxAny(x, options);
}

/** The untyped form of {@linkcode logSoftmax}, for rules, layers and optimizers. @internal */
export function logSoftmaxAny(
  x: AnyTensor,
  options?: SoftmaxOptions,
): AnyTensor {
  const axis = normalizeAxis(x.shape, options?.axis ?? -1);
  return lax.sub(x, lax.logSumExp(x, { axis, keepDims: true }));
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
): Tensor<S, "float32">;
export function softmax(x: AnyTensor, options?: SoftmaxOptions): AnyTensor {
  return softmaxAny(x, options);
}

/** The untyped form of {@linkcode softmax}, for rules, layers and optimizers. @internal */
export function softmaxAny(x: AnyTensor, options?: SoftmaxOptions): AnyTensor {
  return lax.exp(logSoftmaxAny(x, options));
}

/**
 * Mean softmax cross-entropy between logits `[B, C]` and labels: int32 class
 * indices `[B]`, or float32 probabilities `[B, C]` (one-hot or soft). Stable
 * for any logits; its gradient with respect to the logits is
 * `(softmax(logits) - onehot) / B`.
 *
 * For literal shapes the compiler checks the labels against the logits
 * (41 logits with 43 labels do not compile); shapes known only at run time
 * (`Tensor<number[]>`, `[number, 10]`) are checked when called, with the
 * same sentence.
 *
 * @param logits Unnormalized scores `[B, C]`.
 * @param labels int32 classes `[B]` in `[0, C)`, or float32 targets `[B, C]`.
 * @returns The mean loss, a scalar.
 * @throws {RangeError} If the shapes do not fit or a class index is out of range.
 *
 * @example
 * ```ts
 * import { crossEntropy, tensor, type Tensor } from "@tensa/tensa";
 * import { assertAlmostEquals, assertThrows } from "@std/assert";
 *
 * const logits = tensor([[0, 0], [0, 0]]);
 * const labels = tensor(new Int32Array([0, 1]), [2]);
 * assertAlmostEquals(crossEntropy(logits, labels).item(), Math.LN2, 1e-6);
 *
 * // A shape known only at run time is checked when called.
 * const dynamic: Tensor<number[]> = logits;
 * const three = tensor(new Int32Array([0, 1, 1]), [3]);
 * assertThrows(
 *   () => crossEntropy(dynamic, three),
 *   RangeError,
 *   "Expected labels of shape [2] for logits [2, 2] but found [3]",
 * );
 * ```
 */
export function crossEntropy<
  Z extends Shape,
  Y extends Shape,
  D extends DType,
>(
  logits: Tensor<Z, "float32">,
  labels: Arg<CrossEntropyShape<Z, Y, D>, Tensor<Y, D>>,
): Tensor<[], "float32">;
export function crossEntropy(logits: AnyTensor, labels: AnyTensor): AnyTensor {
  return crossEntropyAny(logits, labels);
}

/** The untyped form of {@linkcode crossEntropy}, for rules, layers and optimizers. @internal */
export function crossEntropyAny(
  logits: AnyTensor,
  labels: AnyTensor,
): AnyTensor {
  crossEntropyShape(logits.shape, labels.shape, labels.dtype);
  const targets = labels.dtype === "int32"
    ? lax.oneHot(labels, dimOf(logits.shape, 1))
    : labels;
  return bind(xentPrim, [logits, targets], undefined);
}

type Pair = readonly [AnyTensor, AnyTensor];

/**
 * The loss of logits `z` `[..., B, C]` against targets `t` (same shape)
 * composed from the primitives: `-sum(t * logSoftmax(z)) / B` over the last
 * two axes. What the primitive computes, for its batching rule.
 */
function xentComposite(z: AnyTensor, t: AnyTensor): AnyTensor {
  const r = z.shape.length, b = dimOf(z.shape, r - 2);
  const s = lax.sum(lax.mul(logSoftmaxAny(z), t), { axis: [r - 2, r - 1] });
  return lax.neg(lax.div(s, b));
}

/**
 * The gradient of the loss with respect to the logits composed from the
 * primitives: `(softmax(z) * sum(t) - t) / B` (sums over the classes).
 */
function xentGradComposite(z: AnyTensor, t: AnyTensor): AnyTensor {
  const r = z.shape.length, b = dimOf(z.shape, r - 2);
  const total = lax.sum(t, { axis: -1, keepDims: true });
  return lax.div(lax.sub(lax.mul(softmaxAny(z), total), t), b);
}

/**
 * `(z [B, C], t [B, C]) -> -sum(t * logSoftmax(z)) / B`, in one pass
 * (float64 sums per row). Its derivative with respect to `z` is
 * {@linkcode xentGradPrim}, with respect to `t` `-logSoftmax(z) / B`.
 */
const xentPrim: Primitive<void, Pair> = {
  name: "softmaxCrossEntropy",
  impl([z, t]) {
    const zs = floatsOf(z), ts = floatsOf(t);
    const b = dimOf(z.shape, 0), c = dimOf(z.shape, 1);
    let loss = 0;
    for (let i = 0; i < b; i++) {
      const o = i * c;
      let m = -Infinity;
      for (let j = 0; j < c; j++) m = Math.max(m, zs[o + j]!);
      let e = 0, tz = 0, tt = 0;
      for (let j = 0; j < c; j++) {
        e += Math.exp(zs[o + j]! - m);
        tz += ts[o + j]! * zs[o + j]!;
        tt += ts[o + j]!;
      }
      // sum_j t_j (lse - z_j), lse = m + log(sum exp(z - m))
      loss += (m + Math.log(e)) * tt - tz;
    }
    return fromData([], "float32", new Float32Array([loss / b]));
  },
  jvp([z, t], [dz, dt]) {
    const b = dimOf(z.shape, 0);
    const parts: AnyTensor[] = [];
    if (dz !== null) {
      parts.push(lax.sum(lax.mul(bind(xentGradPrim, [z, t], undefined), dz)));
    }
    if (dt !== null) {
      parts.push(lax.neg(lax.div(lax.sum(lax.mul(logSoftmaxAny(z), dt)), b)));
    }
    const [first, second] = parts;
    if (first === undefined) return null;
    return second === undefined ? first : lax.add(first, second);
  },
  vjp(ct, [z, t], _p, _o, needs) {
    const b = dimOf(z.shape, 0);
    return [
      needs[0] ? lax.mul(bind(xentGradPrim, [z, t], undefined), ct) : null,
      needs[1] ? lax.mul(lax.neg(lax.div(logSoftmaxAny(z), b)), ct) : null,
    ];
  },
  batch([z, t], [dz, dt], _p, size) {
    return [xentComposite(toFront(z, dz, size), toFront(t, dt, size)), 0];
  },
};

/**
 * `(z [B, C], t [B, C]) -> (softmax(z) * sum(t) - t) / B` (sums over the
 * classes), in one pass: the gradient of {@linkcode xentPrim} with respect
 * to the logits. Its own derivatives are written from the composite.
 */
const xentGradPrim: Primitive<void, Pair> = {
  name: "softmaxCrossEntropyGrad",
  impl([z, t]) {
    const zs = floatsOf(z), ts = floatsOf(t);
    const b = dimOf(z.shape, 0), c = dimOf(z.shape, 1);
    const out = new Float32Array(b * c), row = new Float64Array(c);
    for (let i = 0; i < b; i++) {
      const o = i * c;
      let m = -Infinity;
      for (let j = 0; j < c; j++) m = Math.max(m, zs[o + j]!);
      let e = 0, tt = 0;
      for (let j = 0; j < c; j++) {
        const x = Math.exp(zs[o + j]! - m);
        row[j] = x;
        e += x;
        tt += ts[o + j]!;
      }
      for (let j = 0; j < c; j++) {
        out[o + j] = (row[j]! / e * tt - ts[o + j]!) / b;
      }
    }
    return fromData(z.shape, "float32", out);
  },
  jvp([z, t], [dz, dt]) {
    // d[(s T - t) / B] = (ds T + s dT - dt) / B, ds = s (dz - sum(s dz)).
    const b = dimOf(z.shape, 0);
    const s = softmaxAny(z);
    const parts: AnyTensor[] = [];
    if (dz !== null) {
      const sdz = lax.sum(lax.mul(s, dz), { axis: -1, keepDims: true });
      const total = lax.sum(t, { axis: -1, keepDims: true });
      parts.push(lax.mul(lax.mul(s, lax.sub(dz, sdz)), total));
    }
    if (dt !== null) {
      const dtotal = lax.sum(dt, { axis: -1, keepDims: true });
      parts.push(lax.sub(lax.mul(s, dtotal), dt));
    }
    const [first, second] = parts;
    if (first === undefined) return null;
    return lax.div(second === undefined ? first : lax.add(first, second), b);
  },
  vjp(u, [z, t], _p, _o, needs) {
    // The transposes of the two terms above.
    const b = dimOf(z.shape, 0);
    const s = softmaxAny(z);
    const su = lax.sum(lax.mul(s, u), { axis: -1, keepDims: true });
    const total = lax.sum(t, { axis: -1, keepDims: true });
    return [
      needs[0] ? lax.div(lax.mul(lax.mul(s, lax.sub(u, su)), total), b) : null,
      needs[1] ? lax.div(lax.sub(su, u), b) : null,
    ];
  },
  batch([z, t], [dz, dt], _p, size) {
    return [xentGradComposite(toFront(z, dz, size), toFront(t, dt, size)), 0];
  },
};

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
): Tensor<S, "float32">;
export function dropout(x: AnyTensor, options: DropoutOptions): AnyTensor {
  return dropoutAny(x, options);
}

/** The untyped form of {@linkcode dropout}, for rules, layers and optimizers. @internal */
export function dropoutAny(x: AnyTensor, options: DropoutOptions): AnyTensor {
  const { rate } = options;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`Expected rate to be in [0, 1) but found ${rate}`);
  }
  if (rate === 0) return x;
  // The kept elements scaled by 1 / (1 - rate), the division as a float32
  // tensor op rounds it: one pass makes the mask.
  const scale = Math.fround(1 / Math.fround(1 - rate));
  return lax.mul(x, scaledBernoulli(options.key, 1 - rate, x.shape, scale));
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  xentPrim,
  xentGradPrim,
];
