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
import type { Conv2dOptions, Pool2dOptions } from "../shape/mod.ts";
import type { Key } from "../random.ts";
export { addAny as add } from "./binary.ts";
import * as reduce from "./reduce.ts";
import * as layout from "./layout.ts";
import * as mm from "./matmul.ts";
import * as conv from "./conv.ts";
import * as pool from "./pool.ts";
import * as nn from "./nn_ops.ts";

/** Axes of an untyped reduction. */
export interface AxisOptions {
  readonly axis?: number | readonly number[] | undefined;
  readonly keepDims?: boolean | undefined;
}

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
