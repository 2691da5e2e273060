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
  dataOf,
  fromData,
  type Shape,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
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
  pool2dGeometry,
  type Pool2dOptions,
  type Pool2dShape,
  type Result,
} from "../shape/mod.ts";
import { mean } from "./reduce.ts";
import { mergeFront, splitFront, toFront } from "./batching.ts";

const mergedCache = new WeakMap<AnyTensor, AnyTensor>();

/**
 * The batching rule of every pooling primitive: the examples become more
 * images (`[B, n, ...]` is `B * n` images); a shared input is repeated.
 */
function poolBatch(
  prim: Primitive<Pool2dGeometry>,
  xs: readonly AnyTensor[],
  dims: readonly (number | null)[],
  g: Pool2dGeometry,
  size: number,
): [AnyTensor, number] {
  const ins = xs.map((x, i) => {
    const d = dims[i] ?? null;
    if (i > 0 || d !== 0) return mergeFront(toFront(x, d, size));
    // The same batch gives the same images, so that the argmax positions
    // cached by the forward max pool serve its gather and scatter.
    let m = mergedCache.get(x);
    if (m === undefined) mergedCache.set(x, m = mergeFront(x));
    return m;
  });
  return [splitFront(bind(prim, ins, { ...g, n: g.n * size }), size), 0];
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
  const r = maxPoolForward(dataOf(x) as Float32Array, g);
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

const maxPoolPrim: Primitive<Pool2dGeometry> = {
  name: "maxPool2d",
  impl([x], g) {
    return fromData(outShape(g), "float32", runMaxPool(x!, g).out) as AnyTensor;
  },
  jvp: ([x], [t], g) => (t ? bind(gatherPrim, [x!, t], g) : null),
  vjp: (ct, [x], g) => [bind(scatterPrim, [x!, ct], g)],
  batch: (xs, dims, g, n) => poolBatch(maxPoolPrim, xs, dims, g, n),
};

/** (x, t) -> t at the argmax positions of x's windows; linear in t. */
const gatherPrim: Primitive<Pool2dGeometry> = {
  name: "maxPoolGather",
  impl([x, t], g) {
    const out = gatherByIndex(dataOf(t!) as Float32Array, argmaxOf(x!, g));
    return fromData(outShape(g), "float32", out) as AnyTensor;
  },
  jvp: ([x], [, t], g) => (t ? bind(gatherPrim, [x!, t], g) : null),
  vjp: (
    ct,
    [x],
    g,
    _o,
    needs,
  ) => [null, needs[1] ? bind(scatterPrim, [x!, ct], g) : null],
  batch: (xs, dims, g, n) => poolBatch(gatherPrim, xs, dims, g, n),
};

/** (x, dy) -> dy added at the argmax positions of x's windows; linear in dy. */
const scatterPrim: Primitive<Pool2dGeometry> = {
  name: "maxPoolScatter",
  impl([x, dy], g) {
    const out = scatterAddByIndex(
      dataOf(dy!) as Float32Array,
      argmaxOf(x!, g),
      x!.size,
      g.n,
    );
    return fromData(inShape(g), "float32", out) as AnyTensor;
  },
  jvp: ([x], [, t], g) => (t ? bind(scatterPrim, [x!, t], g) : null),
  vjp: (
    ct,
    [x],
    g,
    _o,
    needs,
  ) => [null, needs[1] ? bind(gatherPrim, [x!, ct], g) : null],
  batch: (xs, dims, g, n) => poolBatch(scatterPrim, xs, dims, g, n),
};

const avgPoolPrim: Primitive<Pool2dGeometry> = {
  name: "avgPool2d",
  impl([x], g) {
    return fromData(
      outShape(g),
      "float32",
      avgPoolForward(dataOf(x!) as Float32Array, g),
    ) as AnyTensor;
  },
  jvp: (_x, [t], g) => (t ? bind(avgPoolPrim, [t], g) : null),
  vjp: (ct, _x, g) => [bind(avgPoolBackPrim, [ct], g)],
  batch: (xs, dims, g, n) => poolBatch(avgPoolPrim, xs, dims, g, n),
};

const avgPoolBackPrim: Primitive<Pool2dGeometry> = {
  name: "avgPoolBackward",
  impl([dy], g) {
    return fromData(
      inShape(g),
      "float32",
      avgPoolBackward(dataOf(dy!) as Float32Array, g),
    ) as AnyTensor;
  },
  jvp: (_x, [t], g) => (t ? bind(avgPoolBackPrim, [t], g) : null),
  vjp: (ct, _x, g) => [bind(avgPoolPrim, [ct], g)],
  batch: (xs, dims, g, n) => poolBatch(avgPoolBackPrim, xs, dims, g, n),
};

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
): Pool2d<X, O> {
  const xs = x as unknown as AnyTensor;
  checkFloat(xs, "maxPool2d");
  const g = pool2dGeometry(xs.shape, options);
  return bind(maxPoolPrim, [xs], g) as unknown as Pool2d<X, O>;
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
): Pool2d<X, O> {
  const xs = x as unknown as AnyTensor;
  checkFloat(xs, "avgPool2d");
  const g = pool2dGeometry(xs.shape, options);
  return bind(avgPoolPrim, [xs], g) as unknown as Pool2d<X, O>;
}

/** The output type of {@linkcode globalAvgPool2d}: `[N, C]`. */
export type GlobalPool<X extends Shape> = X extends
  readonly [infer N extends number, number, number, infer C extends number]
  ? Tensor<[N, C], "float32">
  : Tensor<[number, number], "float32">;

/**
 * The mean of each feature map over its height and width: `[N, H, W, C]` to `[N, C]`.
 *
 * @param x Images `[N, H, W, C]`.
 * @returns The per-channel means.
 * @throws {RangeError} If `x` is not of rank 4.
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
  x: Tensor<X, "float32">,
): GlobalPool<X> {
  const xs = x as unknown as AnyTensor;
  if (xs.shape.length !== 4) {
    throw new RangeError(
      `Cannot pool input [${
        xs.shape.join(", ")
      }]: input must have rank 4 (NHWC)`,
    );
  }
  return mean(xs as Tensor<Shape, "float32">, {
    axis: [1, 2],
  }) as unknown as GlobalPool<X>;
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  maxPoolPrim,
  gatherPrim,
  scatterPrim,
  avgPoolPrim,
  avgPoolBackPrim,
];
