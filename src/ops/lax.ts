/**
 * The untyped core: every op as `AnyTensor` in, `AnyTensor` out, with the
 * same run-time checks and error sentences as the typed ops users call.
 * Differentiation and batching rules, layers, optimizers and transforms use
 * these (`import * as lax from "../ops/lax.ts"`), the way `jax.lax` sits
 * under `jax.numpy`; the typed signatures of `mod.ts` sit on top of them.
 *
 * TRANSITION: sections marked `TEMPORARY` still wrap the typed op with a
 * cast; each is replaced by a re-export of the ops file's untyped form.
 *
 * @module
 * @internal
 */

import type { AnyTensor } from "../tensor.ts";
import type { Operand } from "./operand.ts";
import type { Conv2dOptions, Pool2dOptions } from "../shape/mod.ts";
import type { Key } from "../random.ts";
export { addAny as add } from "./binary.ts";
import * as mm from "./matmul.ts";
import * as conv from "./conv.ts";
import * as pool from "./pool.ts";
import * as nn from "./nn_ops.ts";

// ---- casting helpers of the TEMPORARY sections below (go with the last) ----
type Bin = (a: Operand, b: Operand) => AnyTensor;
const bin = (f: unknown): Bin => f as Bin;
type Un = (x: AnyTensor) => AnyTensor;
const un = (f: unknown): Un => f as Un;

// ---- binary.ts, unary.ts, compare.ts, broadcasting.ts ----
export {
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

// ---- matmul.ts, conv.ts, pool.ts, nn_ops.ts (TEMPORARY) ----
/** Untyped `matmul`. */
export const matmul: (a: AnyTensor, b: AnyTensor) => AnyTensor = bin(
  mm.matmul,
);
/** Untyped `conv2d`. */
export const conv2d = conv.conv2d as unknown as (
  x: AnyTensor,
  w: AnyTensor,
  options?: Conv2dOptions,
) => AnyTensor;
/** Untyped `maxPool2d`. */
export const maxPool2d = pool.maxPool2d as unknown as (
  x: AnyTensor,
  options: Pool2dOptions,
) => AnyTensor;
/** Untyped `avgPool2d`. */
export const avgPool2d = pool.avgPool2d as unknown as (
  x: AnyTensor,
  options: Pool2dOptions,
) => AnyTensor;
/** Untyped `globalAvgPool2d`. */
export const globalAvgPool2d: Un = un(pool.globalAvgPool2d);
/** Untyped `logSoftmax`. */
export const logSoftmax = nn.logSoftmax as unknown as (
  x: AnyTensor,
  options?: { readonly axis?: number },
) => AnyTensor;
/** Untyped `softmax`. */
export const softmax = nn.softmax as unknown as (
  x: AnyTensor,
  options?: { readonly axis?: number },
) => AnyTensor;
/** Untyped `crossEntropy`. */
export const crossEntropy = nn.crossEntropy as unknown as (
  logits: AnyTensor,
  labels: AnyTensor,
) => AnyTensor;
/** Untyped `dropout`. */
export const dropout = nn.dropout as unknown as (
  x: AnyTensor,
  options: { readonly rate: number; readonly key: Key },
) => AnyTensor;
