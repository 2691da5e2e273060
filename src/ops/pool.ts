/**
 * Pooling primitives.
 *
 * Max pooling keeps the largest value of each window. Its derivative routes
 * through the position of that maximum (ties go to the first in window
 * order): forward mode gathers the tangent at those positions
 * (`poolGather`), reverse mode scatters the cotangent back to them
 * (`poolScatter`); the two are each other's transposes, so max pooling can
 * be differentiated to any order. Average pooling is linear; its transpose
 * spreads each cotangent evenly over its window (`avgPoolBackward`).
 *
 * @module
 */

import {
  type AnyTensor,
  deferredTensor,
  floatsOf,
  fromData,
  recipeOf,
  type Shape,
  type Tensor,
} from "../tensor.ts";
import { conv2dMaxPool } from "../kernels/conv2d.ts";
import { ConvRecipe, ScatterRecipe } from "./recipes.ts";
import { bind, type Each, type Primitive } from "../autodiff/core.ts";
import { linear } from "../autodiff/linear.ts";
import {
  avgPoolBackward,
  avgPoolForward,
  gatherByIndex,
  maxPoolForward,
  type Pool2dGeometry,
  scatterAddByIndex,
} from "../kernels/pool.ts";
import {
  type Arg,
  type GlobalPool2dShape,
  globalPool2dShape,
  pool2dGeometry,
  type Pool2dOptions,
  type Pool2dShape,
  type Result,
} from "../shape/mod.ts";
import * as lax from "./elementary.ts";
import { mergeFront, splitFront, toFront } from "./batching.ts";

type One = readonly [AnyTensor];
type Pair = readonly [AnyTensor, AnyTensor];

const mergedCache = new WeakMap<AnyTensor, AnyTensor>();

/**
 * The images of a batched pooling input: the examples become more images
 * (`[B, n, ...]` is `B * n` images); a shared input is repeated.
 */
function images(x: AnyTensor, d: number | null, size: number): AnyTensor {
  return mergeFront(toFront(x, d, size));
}

/**
 * The images of a pooled input `x` batched along axis 0. The same batch
 * gives the same images, so that the argmax positions cached by the forward
 * max pool serve its gather and scatter.
 */
function pooledImages(x: AnyTensor, d: number | null, size: number): AnyTensor {
  if (d !== 0) return images(x, d, size);
  let m = mergedCache.get(x);
  if (m === undefined) mergedCache.set(x, m = mergeFront(x));
  return m;
}

const moreImages = (g: Pool2dGeometry, size: number): Pool2dGeometry => ({
  ...g,
  n: g.n * size,
});

/** The batching rule of the one-input pooling primitives. */
function poolBatch(
  prim: Primitive<Pool2dGeometry, One>,
  [x]: One,
  [d]: Each<One, number | null>,
  g: Pool2dGeometry,
  size: number,
): [AnyTensor, number] {
  const ins: One = [pooledImages(x, d, size)];
  return [splitFront(bind(prim, ins, moreImages(g, size)), size), 0];
}

/** The batching rule of the two-input (gather and scatter) primitives. */
function poolBatch2(
  prim: Primitive<Pool2dGeometry, Pair>,
  [x, t]: Pair,
  [dx, dt]: Each<Pair, number | null>,
  g: Pool2dGeometry,
  size: number,
): [AnyTensor, number] {
  const ins: Pair = [pooledImages(x, dx, size), images(t, dt, size)];
  return [splitFront(bind(prim, ins, moreImages(g, size)), size), 0];
}

/** The argmax positions of a max pool, cached per input tensor and geometry. */
const argmaxCache = new WeakMap<AnyTensor, Map<string, Int32Array>>();

function geomKey(g: Pool2dGeometry): string {
  return `${g.kh},${g.kw},${g.strideH},${g.strideW},${g.padTop},${g.padBottom},${g.padLeft},${g.padRight}`;
}

function runMaxPool(
  x: AnyTensor,
  g: Pool2dGeometry,
): { out: Float32Array; argmax: Int32Array } {
  // A convolution's output not made yet is pooled as it is made, and stays
  // unmade: the gradients need only its argmax positions and its shape.
  const recipe = recipeOf(x);
  const fused = recipe instanceof ConvRecipe
    ? conv2dMaxPool(recipe.x, recipe.filter, recipe.g, g)
    : null;
  const r = fused ?? maxPoolForward(floatsOf(x), g);
  let m = argmaxCache.get(x);
  if (m === undefined) argmaxCache.set(x, m = new Map());
  m.set(geomKey(g), r.argmax);
  return r;
}

function argmaxOf(x: AnyTensor, g: Pool2dGeometry): Int32Array {
  return argmaxCache.get(x)?.get(geomKey(g)) ?? runMaxPool(x, g).argmax;
}

const outShape = (g: Pool2dGeometry): number[] => [g.n, g.outH, g.outW, g.c];
const inShape = (g: Pool2dGeometry): number[] => [g.n, g.h, g.w, g.c];

const maxPoolPrim: Primitive<Pool2dGeometry, One> = {
  name: "maxPool2d",
  impl([x], g) {
    return fromData(outShape(g), "float32", runMaxPool(x, g).out);
  },
  jvp: ([x], [t], g) => (t ? bind(gatherPrim, [x, t], g) : null),
  vjp: (ct, [x], g) => [bind(scatterPrim, [x, ct], g)],
  batch: (xs, dims, g, n) => poolBatch(maxPoolPrim, xs, dims, g, n),
};

/** (x, t) -> t at the argmax positions of x's windows; linear in t. */
const gatherPrim: Primitive<Pool2dGeometry, Pair> = linear({
  name: "maxPoolGather",
  impl([x, t], g) {
    const out = gatherByIndex(floatsOf(t), argmaxOf(x, g));
    return fromData(outShape(g), "float32", out);
  },
  vjp: (
    ct,
    [x],
    g,
    _o,
    needs,
  ) => [null, needs[1] ? bind(scatterPrim, [x, ct], g) : null],
  batch: (xs, dims, g, n) => poolBatch2(gatherPrim, xs, dims, g, n),
}, { fixed: [0] });

/** (x, dy) -> dy added at the argmax positions of x's windows; linear in dy. */
const scatterPrim: Primitive<Pool2dGeometry, Pair> = linear({
  name: "maxPoolScatter",
  impl([x, dy], g) {
    const d = floatsOf(dy), argmax = argmaxOf(x, g), size = x.size;
    // Made on first read, unless a filter gradient takes it as it is.
    return deferredTensor(
      inShape(g),
      "float32",
      () => scatterAddByIndex(d, argmax, size),
      new ScatterRecipe(d, argmax, g),
    );
  },
  vjp: (
    ct,
    [x],
    g,
    _o,
    needs,
  ) => [null, needs[1] ? bind(gatherPrim, [x, ct], g) : null],
  batch: (xs, dims, g, n) => poolBatch2(scatterPrim, xs, dims, g, n),
}, { fixed: [0] });

const avgPoolPrim: Primitive<Pool2dGeometry, One> = linear({
  name: "avgPool2d",
  impl([x], g) {
    return fromData(outShape(g), "float32", avgPoolForward(floatsOf(x), g));
  },
  vjp: (ct, _x, g) => [bind(avgPoolBackPrim, [ct], g)],
  batch: (xs, dims, g, n) => poolBatch(avgPoolPrim, xs, dims, g, n),
});

const avgPoolBackPrim: Primitive<Pool2dGeometry, One> = linear({
  name: "avgPoolBackward",
  impl([dy], g) {
    return fromData(inShape(g), "float32", avgPoolBackward(floatsOf(dy), g));
  },
  vjp: (ct, _x, g) => [bind(avgPoolPrim, [ct], g)],
  batch: (xs, dims, g, n) => poolBatch(avgPoolBackPrim, xs, dims, g, n),
});

/** The output type of the pooling ops. */
export type Pool2d<X extends Shape, O extends Pool2dOptions> = Tensor<
  Result<Pool2dShape<X, O>>,
  "float32"
>;

function checkFloat(x: AnyTensor, name: string): void {
  if (x.dtype !== "float32") {
    throw new TypeError(
      `Expected a float32 tensor in ${name} but found ${x.dtype}`,
    );
  }
}

/**
 * Max pooling over NHWC images: the largest value of each `size` window,
 * moving by `stride` (default: the window size). The gradient goes to the
 * position of each maximum (the first one on ties).
 *
 * @param x Images `[N, H, W, C]`.
 * @param options `size` (number or `[h, w]`), `stride`, `padding` (`"valid"` default, `"same"`, number or explicit).
 * @returns Pooled maps `[N, outH, outW, C]`.
 * @throws {RangeError} If the window exceeds the padded input or an option is invalid.
 *
 * @example
 * ```ts
 * import { maxPool2d, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([1, 2, 5, 6, 3, 4, 7, 8, 9, 1, 2, 0, 1, 1, 3, 4], [1, 4, 4, 1]);
 * const y = maxPool2d(x, { size: 2 }); // Tensor<[1, 2, 2, 1]>
 * assertEquals(y.toFlat(), new Float32Array([4, 8, 9, 4]));
 * ```
 */
export function maxPool2d<X extends Shape, const O extends Pool2dOptions>(
  x: Arg<Pool2dShape<X, O>, Tensor<X, "float32">>,
  options: O,
): Pool2d<X, O>;
export function maxPool2d(x: AnyTensor, options: Pool2dOptions): AnyTensor {
  return maxPool2dAny(x, options);
}

/** The untyped form of {@linkcode maxPool2d}, for rules, layers and optimizers. @internal */
export function maxPool2dAny(x: AnyTensor, options: Pool2dOptions): AnyTensor {
  checkFloat(x, "maxPool2d");
  return bind(maxPoolPrim, [x], pool2dGeometry(x.shape, options));
}

/**
 * Average pooling over NHWC images. With padding, each window is divided by
 * the number of real (non-padding) elements in it, as in TensorFlow.
 *
 * @param x Images `[N, H, W, C]`.
 * @param options `size`, `stride` (default: size), `padding`.
 * @returns Pooled maps `[N, outH, outW, C]`.
 * @throws {RangeError} If the window exceeds the padded input or an option is invalid.
 *
 * @example
 * ```ts
 * import { avgPool2d, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([1, 2, 3, 4], [1, 2, 2, 1]);
 * assertEquals(avgPool2d(x, { size: 2 }).toFlat(), new Float32Array([2.5]));
 * ```
 */
export function avgPool2d<X extends Shape, const O extends Pool2dOptions>(
  x: Arg<Pool2dShape<X, O>, Tensor<X, "float32">>,
  options: O,
): Pool2d<X, O>;
export function avgPool2d(x: AnyTensor, options: Pool2dOptions): AnyTensor {
  return avgPool2dAny(x, options);
}

/** The untyped form of {@linkcode avgPool2d}, for rules, layers and optimizers. @internal */
export function avgPool2dAny(x: AnyTensor, options: Pool2dOptions): AnyTensor {
  checkFloat(x, "avgPool2d");
  return bind(avgPoolPrim, [x], pool2dGeometry(x.shape, options));
}

/** The output type of {@linkcode globalAvgPool2d}: `[N, C]`. */
export type GlobalPool<X extends Shape> = Tensor<
  Result<GlobalPool2dShape<X>>,
  "float32"
>;

/**
 * The mean of each feature map over its height and width: `[N, H, W, C]` to `[N, C]`.
 *
 * @param x Images `[N, H, W, C]`.
 * @returns The per-channel means.
 * @throws {RangeError} If `x` is not of rank 4 (the compiler reports this for a known rank).
 *
 * @example
 * ```ts
 * import { globalAvgPool2d, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([1, 10, 3, 30], [1, 2, 1, 2]);
 * assertEquals(globalAvgPool2d(x).toArray(), [[2, 20]]);
 * ```
 */
export function globalAvgPool2d<X extends Shape>(
  x: Arg<GlobalPool2dShape<X>, Tensor<X, "float32">>,
): GlobalPool<X>;
export function globalAvgPool2d(x: AnyTensor): AnyTensor {
  return globalAvgPool2dAny(x);
}

/** The untyped form of {@linkcode globalAvgPool2d}, for rules, layers and optimizers. @internal */
export function globalAvgPool2dAny(x: AnyTensor): AnyTensor {
  globalPool2dShape(x.shape);
  return lax.mean(x, { axis: [1, 2] });
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  maxPoolPrim,
  gatherPrim,
  scatterPrim,
  avgPoolPrim,
  avgPoolBackPrim,
];
