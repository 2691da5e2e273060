/**
 * The untyped core: every op as `AnyTensor` in, `AnyTensor` out, with the
 * same run-time checks and error sentences as the typed ops users call.
 * Differentiation and batching rules, layers, optimizers and transforms use
 * these (`import * as lax from "../ops/lax.ts"`), the way `jax.lax` sits
 * under `jax.numpy`; the typed signatures of `mod.ts` sit on top of them.
 * The elementary ops come from `elementary.ts` (which the op modules' own
 * rules import, see there why).
 *
 * @module
 * @internal
 */

export * from "./elementary.ts";

// ---- matmul.ts, conv.ts, pool.ts, fused.ts, nn_ops.ts ----
export { matmulAny as matmul } from "./matmul.ts";
export { conv2dAny as conv2d } from "./conv.ts";
export {
  avgPool2dAny as avgPool2d,
  globalAvgPool2dAny as globalAvgPool2d,
  maxPool2dAny as maxPool2d,
} from "./pool.ts";
export { biasRelu } from "./fused.ts";
export {
  crossEntropyAny as crossEntropy,
  dropoutAny as dropout,
  logSoftmaxAny as logSoftmax,
  softmaxAny as softmax,
} from "./nn_ops.ts";
