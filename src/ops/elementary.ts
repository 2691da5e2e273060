/**
 * The untyped elementary ops: elementwise, comparisons, reductions and
 * layout, as `AnyTensor` in, `AnyTensor` out. Their rules call one another
 * (the transpose of a sum is a broadcast and that of a broadcast a sum), so
 * the modules that define them import each other through this file; no
 * top-level code in them runs an op, and `tests/load_order_test.ts` loads
 * each module first to keep it so. The network ops (matmul, convolution,
 * pooling, softmax, ...) use these in their rules without being imported back,
 * so they stay out of that cycle. Everything else imports `lax.ts`, which
 * re-exports these and adds the network ops.
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
