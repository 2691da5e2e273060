/**
 * 2-D convolution: three primitives that are each other's transposes.
 *
 * `conv2d(x, w)` is bilinear. Its transpose with respect to `x` is
 * `conv2dBackpropInput(dy, w)`, and with respect to `w` is
 * `conv2dBackpropFilter(x, dy)`. Those two are bilinear as well, and their
 * transposes are again members of the trio, so every derivative of every
 * order is one of these three kernels.
 *
 * @module
 */

import {
  type AnyTensor,
  deferredTensor,
  dimOf,
  floatsOf,
  fromData,
  recipeOf,
  type Shape,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import {
  conv2dBackpropFilter as bpfKernel,
  conv2dBackpropFilterScattered as bpfScattered,
  conv2dBackpropInput as bpiKernel,
  conv2dBackpropInputScattered as bpiScattered,
  conv2dForward,
  type Conv2dGeometry,
  inputMaskable,
  inputScattered,
  poolFusable,
} from "../kernels/conv2d.ts";
import {
  type Arg,
  conv2dGeometry,
  type Conv2dOptions,
  type Conv2dShape,
  type Result,
} from "../shape/mod.ts";
import * as lax from "./elementary.ts";
import { mergeFront, moveAxis, splitFront } from "./batching.ts";
import { batchedConvPrims, productRule } from "./conv_batched.ts";
import { ConvRecipe, InputGradRecipe, ScatterRecipe } from "./recipes.ts";

type Pair = readonly [AnyTensor, AnyTensor];
type Prim = Primitive<Conv2dGeometry, Pair>;

/**
 * Folds the batch of `t` (on axis `d`) into its axis `axis`: the batch goes
 * just before that axis and the two merge, `[..., B * k, ...]`.
 */
function foldInto(t: AnyTensor, d: number, axis: number): AnyTensor {
  const m = moveAxis(t, d, axis);
  const s = m.shape;
  return lax.reshape(m, [
    ...s.slice(0, axis),
    dimOf(s, axis) * dimOf(s, axis + 1),
    ...s.slice(axis + 2),
  ]);
}

/** Splits axis `axis` of `t` into `[size, rest]`: the batch comes back out. */
function unfold(t: AnyTensor, axis: number, size: number): AnyTensor {
  const s = t.shape;
  return lax.reshape(t, [
    ...s.slice(0, axis),
    size,
    dimOf(s, axis) / size,
    ...s.slice(axis + 1),
  ]);
}

/** Batch on the images only: the examples become more images. */
function moreImages(
  p: Prim,
  x: AnyTensor,
  d: number,
  other: AnyTensor,
  g: Conv2dGeometry,
  size: number,
): [AnyTensor, number] {
  const f = mergeFront(moveAxis(x, d, 0));
  return [splitFront(bind(p, [f, other], { ...g, n: g.n * size }), size), 0];
}

function float32(name: string, ...ts: AnyTensor[]): void {
  for (const t of ts) {
    if (t.dtype !== "float32") {
      throw new TypeError(
        `Expected float32 tensors in ${name} but found ${t.dtype}`,
      );
    }
  }
}

const convPrim: Prim = {
  name: "conv2d",
  impl([x, w], g) {
    float32("conv2d", x, w);
    const xs = floatsOf(x), ws = floatsOf(w);
    const shape = [g.n, g.outH, g.outW, g.o];
    if (poolFusable(g)) {
      // Made on first read, unless a max pool fuses with it first.
      return deferredTensor(
        shape,
        "float32",
        () => conv2dForward(xs, ws, g),
        new ConvRecipe(xs, ws, g),
      );
    }
    return fromData(shape, "float32", conv2dForward(xs, ws, g));
  },
  jvp: (primals, tangents, g) => productRule(convPrim, primals, tangents, g),
  vjp(ct, [x, w], g, _o, needs) {
    // The filter gradient first: the input gradient's output is then the
    // last kernel output, which the next kernel of the backward pass (the
    // previous layer's, e.g. relu's mask) reads in place, uncopied.
    const dw = needs[1] ? bind(bpfPrim, [x, ct], g) : null;
    return [needs[0] ? bind(bpiPrim, [ct, w], g) : null, dw];
  },
  batch([x, w], [dx, dw], g, size) {
    if (dx !== null && dw !== null) {
      const ins: Pair = [moveAxis(x, dx, 0), moveAxis(w, dw, 0)];
      return [bind(batchedConvPrims.convB, ins, { g, groups: size }), 0];
    }
    if (dx !== null) return moreImages(convPrim, x, dx, w, g, size);
    if (dw !== null) {
      // Per-example filters on shared images: more output channels.
      const f = foldInto(w, dw, 3);
      const y = bind(convPrim, [x, f], { ...g, o: g.o * size });
      return [unfold(y, 3, size), 3];
    }
    return [bind(convPrim, [x, w], g), null];
  },
};

/** dy [n, outH, outW, o], w [kh, kw, c, o] -> dx [n, h, w, c] */
const bpiPrim: Prim = {
  name: "conv2dBackpropInput",
  impl([dy, w], g) {
    // A max pool's cotangent scattered back, not made yet: the kernel makes
    // each image's share where it works, or it is made here.
    const r = recipeOf(dy);
    const ws = floatsOf(w);
    const shape = [g.n, g.h, g.w, g.c];
    // Made on first read, unless a relu mask (the previous layer's
    // activation) fuses with it first.
    if (r instanceof ScatterRecipe && inputScattered(g, r.dy, r.argmax)) {
      return deferredTensor(
        shape,
        "float32",
        () =>
          bpiScattered(r.dy, r.argmax, ws, g, r.tiles()) ??
            bpiKernel(floatsOf(dy), ws, g),
        new InputGradRecipe(r, ws, g),
      );
    }
    const ds = floatsOf(dy);
    if (inputMaskable(g)) {
      return deferredTensor(
        shape,
        "float32",
        () => bpiKernel(ds, ws, g),
        new InputGradRecipe(ds, ws, g),
      );
    }
    return fromData(shape, "float32", bpiKernel(ds, ws, g));
  },
  jvp: (primals, tangents, g) => productRule(bpiPrim, primals, tangents, g),
  vjp(ct, [dy, w], g, _o, needs) {
    // <x', bpi(dy, w)> = <conv(x', w), dy> = <w, bpf(x', dy)>
    return [
      needs[0] ? bind(convPrim, [ct, w], g) : null,
      needs[1] ? bind(bpfPrim, [ct, dy], g) : null,
    ];
  },
  batch([dy, w], [ddy, dw], g, size) {
    if (ddy !== null && dw !== null) {
      const ins: Pair = [moveAxis(dy, ddy, 0), moveAxis(w, dw, 0)];
      return [bind(batchedConvPrims.bpiB, ins, { g, groups: size }), 0];
    }
    if (ddy !== null) return moreImages(bpiPrim, dy, ddy, w, g, size);
    if (dw !== null) {
      // Per-example filters: more input channels.
      const f = foldInto(w, dw, 2);
      const dx = bind(bpiPrim, [dy, f], { ...g, c: g.c * size });
      return [unfold(dx, 3, size), 3];
    }
    return [bind(bpiPrim, [dy, w], g), null];
  },
};

/** x [n, h, w, c], dy [n, outH, outW, o] -> dw [kh, kw, c, o] */
const bpfPrim: Prim = {
  name: "conv2dBackpropFilter",
  impl([x, dy], g) {
    // A max pool's cotangent scattered back, not made yet: the kernel makes
    // each part of it where it works, or it is made here.
    const r = recipeOf(dy);
    const xs = floatsOf(x);
    const out =
      (r instanceof ScatterRecipe
        ? bpfScattered(xs, r.dy, r.argmax, g, r.tiles())
        : null) ?? bpfKernel(xs, floatsOf(dy), g);
    return fromData([g.kh, g.kw, g.c, g.o], "float32", out);
  },
  jvp: (primals, tangents, g) => productRule(bpfPrim, primals, tangents, g),
  vjp(ct, [x, dy], g, _o, needs) {
    // <w', bpf(x, dy)> = <conv(x, w'), dy> = <x, bpi(dy, w')>
    return [
      needs[0] ? bind(bpiPrim, [dy, ct], g) : null,
      needs[1] ? bind(convPrim, [x, ct], g) : null,
    ];
  },
  batch([x, dy], [dx, ddy], g, size) {
    if (dx !== null && ddy !== null) {
      // Per-example filter gradients: one batched kernel call.
      const ins: Pair = [moveAxis(x, dx, 0), moveAxis(dy, ddy, 0)];
      return [bind(batchedConvPrims.bpfB, ins, { g, groups: size }), 0];
    }
    if (dx !== null) {
      // Per-example images, shared output gradient: more input channels.
      const f = foldInto(x, dx, 3);
      const dw = bind(bpfPrim, [f, dy], { ...g, c: g.c * size });
      return [unfold(dw, 2, size), 2];
    }
    if (ddy !== null) {
      // Shared images, per-example output gradient: more output channels.
      const f = foldInto(dy, ddy, 3);
      const dw = bind(bpfPrim, [x, f], { ...g, o: g.o * size });
      return [unfold(dw, 3, size), 3];
    }
    return [bind(bpfPrim, [x, dy], g), null];
  },
};

/** The output type of {@linkcode conv2d}. */
export type Conv2d<X extends Shape, W extends Shape, O extends Conv2dOptions> =
  Tensor<
    Result<Conv2dShape<X, W, O>>,
    "float32"
  >;

/**
 * 2-D convolution (cross-correlation, as in TensorFlow and PyTorch) of NHWC
 * images with `[kH, kW, inChannels, outChannels]` filters: each filter slides
 * over the image, multiplies and sums, and makes one feature map.
 *
 * Output size per spatial axis: `floor((H + padTop + padBottom - dilation*(kH-1) - 1) / stride) + 1`;
 * with `"same"` padding it is `ceil(H / stride)`. For literal dims the
 * compiler computes the output shape and rejects a channel mismatch.
 *
 * @param x Images `[N, H, W, C]`.
 * @param w Filters `[kH, kW, C, O]`.
 * @param options `stride` (default 1), `padding` (`"valid"` default, `"same"`, a number, or `[[top, bottom], [left, right]]`), `dilation` (default 1).
 * @returns Feature maps `[N, outH, outW, O]`.
 * @throws {RangeError} If the channels differ, the kernel exceeds the padded input, or an option is invalid.
 *
 * @example A vertical-edge filter
 * ```ts
 * import { conv2d, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * // A 1x3x3x1 image, dark on the left, bright on the right.
 * const img = tensor([0, 1, 1, 0, 1, 1, 0, 1, 1], [1, 3, 3, 1]);
 * const edge = tensor([-1, 1, -1, 1], [2, 2, 1, 1]); // [2, 2, 1, 1]
 * const y = conv2d(img, edge); // Tensor<[1, 2, 2, 1]>
 * assertEquals(y.toArray(), [[[[2], [0]], [[2], [0]]]]);
 * ```
 */
export function conv2d<
  X extends Shape,
  W extends Shape,
  const O extends Conv2dOptions = Record<never, never>,
>(
  x: Tensor<X, "float32">,
  w: Arg<Conv2dShape<X, W, O>, Tensor<W, "float32">>,
  options?: O,
): Conv2d<X, W, O>;
export function conv2d(
  x: AnyTensor,
  w: AnyTensor,
  options?: Conv2dOptions,
): AnyTensor {
  return conv2dAny(x, w, options);
}

/** The untyped form of {@linkcode conv2d}, for rules, layers and optimizers. @internal */
export function conv2dAny(
  x: AnyTensor,
  w: AnyTensor,
  options?: Conv2dOptions,
): AnyTensor {
  const g = conv2dGeometry(x.shape, w.shape, options ?? {});
  return bind(convPrim, [x, w], g);
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  convPrim,
  bpiPrim,
  bpfPrim,
];
