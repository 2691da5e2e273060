/**
 * The untyped core: every op as `AnyTensor` in, `AnyTensor` out, with the
 * same run-time checks and error sentences as the typed ops users call.
 * Differentiation and batching rules, layers, optimizers and transforms use
 * these (`import * as lax from "../ops/lax.ts"`), the way `jax.lax` sits
 * under `jax.numpy`; the typed signatures of `mod.ts` sit on top of them.
 *
 * @module
 * @internal
 */

// ---- binary.ts, unary.ts, compare.ts, broadcasting.ts ----
export {
  addAny as add,
  divAny as div,
  maximumAny as maximum,
  minimumAny as minimum,
  mulAny as mul,
  powAny as pow,
  subAny as sub,
} from "./binary.ts";
export {
  absAny as abs,
  expAny as exp,
  logAny as log,
  negAny as neg,
  reluAny as relu,
  reluMaskOf,
  sigmoidAny as sigmoid,
  signAny as sign,
  sqrtAny as sqrt,
  squareAny as square,
  stepAny as step,
  tanhAny as tanh,
} from "./unary.ts";
export {
  clipAny as clip,
  equalAny as equal,
  greaterAny as greater,
  greaterEqualAny as greaterEqual,
  lessAny as less,
  lessEqualAny as lessEqual,
  notEqualAny as notEqual,
  whereAny as where,
} from "./compare.ts";
export { unbroadcast } from "./broadcasting.ts";

// ---- reduce.ts ----
export {
  argmaxAny as argmax,
  type AxisOptions,
  logSumExpAny as logSumExp,
  maxAny as max,
  meanAny as mean,
  minAny as min,
  sumAny as sum,
} from "./reduce.ts";

// ---- layout.ts ----
export {
  broadcastToAny as broadcastTo,
  castAny as cast,
  concatAny as concat,
  expandDimsAny as expandDims,
  flattenAny as flatten,
  gatherAny as gather,
  oneHotAny as oneHot,
  reshapeAny as reshape,
  sliceAlong,
  sliceAny as slice,
  squeezeAny as squeeze,
  stopGradientAny as stopGradient,
  transposeAny as transpose,
} from "./layout.ts";

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
