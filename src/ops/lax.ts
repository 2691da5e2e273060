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

import type { AnyTensor, DType, Shape } from "../tensor.ts";
import type { Operand } from "./operand.ts";
import * as binary from "./binary.ts";
export { addAny as add } from "./binary.ts";
import * as unary from "./unary.ts";
import * as compare from "./compare.ts";
import * as reduce from "./reduce.ts";
import * as layout from "./layout.ts";

/** Axes of an untyped reduction. */
export interface AxisOptions {
  readonly axis?: number | readonly number[] | undefined;
  readonly keepDims?: boolean | undefined;
}

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

// ---- reduce.ts (TEMPORARY) ----
type Red = (x: AnyTensor, options?: AxisOptions) => AnyTensor;
const red = (f: unknown): Red => f as Red;
/** Untyped `sum`. */
export const sum: Red = red(reduce.sum);
/** Untyped `mean`. */
export const mean: Red = red(reduce.mean);
/** Untyped `max`. */
export const max: Red = red(reduce.max);
/** Untyped `min`. */
export const min: Red = red(reduce.min);
/** Untyped `logSumExp`. */
export const logSumExp: Red = red(reduce.logSumExp);
/** Untyped `argmax`. */
export const argmax = reduce.argmax as unknown as (
  x: AnyTensor,
  options?: { readonly axis?: number; readonly keepDims?: boolean },
) => AnyTensor;

// ---- layout.ts (TEMPORARY) ----
/** Untyped `reshape`. */
export const reshape = layout.reshape as unknown as (
  x: AnyTensor,
  shape: Shape,
) => AnyTensor;
/** Untyped `flatten`. */
export const flatten: Un = un(layout.flatten);
/** Untyped `squeeze`. */
export const squeeze = layout.squeeze as unknown as (
  x: AnyTensor,
  axis: number,
) => AnyTensor;
/** Untyped `expandDims`. */
export const expandDims = layout.expandDims as unknown as (
  x: AnyTensor,
  axis: number,
) => AnyTensor;
/** Untyped `transpose`. */
export const transpose = layout.transpose as unknown as (
  x: AnyTensor,
  perm?: readonly number[],
) => AnyTensor;
/** Untyped `broadcastTo`. */
export const broadcastTo = layout.broadcastTo as unknown as (
  x: AnyTensor,
  shape: Shape,
) => AnyTensor;
/** Untyped `slice`. */
export const slice = layout.slice as unknown as (
  x: AnyTensor,
  start: number,
  end: number,
) => AnyTensor;
/** Untyped `sliceAlong`. */
export const sliceAlong: (
  x: AnyTensor,
  axis: number,
  start: number,
  len: number,
) => AnyTensor = layout.sliceAlong;
/** Untyped `concat`. */
export const concat = layout.concat as unknown as (
  xs: readonly AnyTensor[],
  axis?: number,
) => AnyTensor;
/** Untyped `gather`. */
export const gather = layout.gather as unknown as (
  x: AnyTensor,
  indices: AnyTensor,
) => AnyTensor;
/** Untyped `oneHot`. */
export const oneHot = layout.oneHot as unknown as (
  labels: AnyTensor,
  depth: number,
) => AnyTensor;
/** Untyped `cast`. */
export const cast = layout.cast as unknown as (
  x: AnyTensor,
  dtype: DType,
) => AnyTensor;
/** Untyped `stopGradient`. */
export const stopGradient: Un = un(layout.stopGradient);

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
