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

import type { AnyTensor, Shape } from "../tensor.ts";
import type { Operand } from "./operand.ts";
import type { Conv2dOptions, Pool2dOptions } from "../shape/mod.ts";
import type { Key } from "../random.ts";
import * as binary from "./binary.ts";
export { addAny as add } from "./binary.ts";
import * as unary from "./unary.ts";
import * as compare from "./compare.ts";
import * as mm from "./matmul.ts";
import * as conv from "./conv.ts";
import * as pool from "./pool.ts";
import * as nn from "./nn_ops.ts";

// ---- binary.ts (TEMPORARY) ----
type Bin = (a: Operand, b: Operand) => AnyTensor;
const bin = (f: unknown): Bin => f as Bin;
/** Untyped `sub`. */
export const sub: Bin = bin(binary.sub);
/** Untyped `mul`. */
export const mul: Bin = bin(binary.mul);
/** Untyped `div`. */
export const div: Bin = bin(binary.div);
/** Untyped `pow`. */
export const pow: Bin = bin(binary.pow);
/** Untyped `maximum`. */
export const maximum: Bin = bin(binary.maximum);
/** Untyped `minimum`. */
export const minimum: Bin = bin(binary.minimum);
/** Sums `t` over broadcast axes back to `shape`. */
export const unbroadcast: (t: AnyTensor, shape: Shape) => AnyTensor =
  binary.unbroadcast;

// ---- unary.ts (TEMPORARY) ----
type Un = (x: AnyTensor) => AnyTensor;
const un = (f: unknown): Un => f as Un;
/** Untyped `neg`. */
export const neg: Un = un(unary.neg);
/** Untyped `exp`. */
export const exp: Un = un(unary.exp);
/** Untyped `log`. */
export const log: Un = un(unary.log);
/** Untyped `sqrt`. */
export const sqrt: Un = un(unary.sqrt);
/** Untyped `abs`. */
export const abs: Un = un(unary.abs);
/** Untyped `sign`. */
export const sign: Un = un(unary.sign);
/** Untyped `step`. */
export const step: Un = un(unary.step);
/** Untyped `relu`. */
export const relu: Un = un(unary.relu);
/** Untyped `sigmoid`. */
export const sigmoid: Un = un(unary.sigmoid);
/** Untyped `tanh`. */
export const tanh: Un = un(unary.tanh);
/** Untyped `square`. */
export const square: Un = un(unary.square);
/** `g * (x > 0)`. */
export const reluMaskOf: (g: AnyTensor, x: AnyTensor) => AnyTensor =
  unary.reluMaskOf;

// ---- compare.ts (TEMPORARY) ----
/** Untyped `equal`. */
export const equal: Bin = bin(compare.equal);
/** Untyped `notEqual`. */
export const notEqual: Bin = bin(compare.notEqual);
/** Untyped `greater`. */
export const greater: Bin = bin(compare.greater);
/** Untyped `greaterEqual`. */
export const greaterEqual: Bin = bin(compare.greaterEqual);
/** Untyped `less`. */
export const less: Bin = bin(compare.less);
/** Untyped `lessEqual`. */
export const lessEqual: Bin = bin(compare.lessEqual);
/** Untyped `where`. */
export const where = compare.where as unknown as (
  cond: AnyTensor,
  a: Operand,
  b: Operand,
) => AnyTensor;
/** Untyped `clip`. */
export const clip = compare.clip as unknown as (
  x: AnyTensor,
  lo: number,
  hi: number,
) => AnyTensor;

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
