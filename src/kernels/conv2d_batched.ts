/**
 * Batched (grouped) 2-D convolution kernels: `groups` independent
 * convolutions, each with its own images and its own filter, laid out one
 * after the other. This is what a convolution becomes under `vmap` when both
 * the images and the filters (or the output gradient) are batched, as for
 * per-example filter gradients.
 *
 * One call computes every group into one output array, with the range
 * kernels of `conv2d.ts` (im2col and GEMM) and `conv2d_direct.ts` on views of
 * each group's slices, on the calling thread (the thread pool knows only the
 * unbatched job kinds). As in `conv2d.ts`, the filter gradient of an input
 * with few channels takes the direct kernel (measured 11.8 ms down to
 * 5.8 ms for the small CNN's first layer, 64 groups, single thread, on a
 * loaded 2-core machine).
 *
 * @internal
 * @module
 */

import {
  conv2dBackpropFilterRange,
  conv2dBackpropInputRange,
  conv2dForwardRange,
  type Conv2dGeometry,
} from "./conv2d.ts";
import { directFilterRange, padImages } from "./conv2d_direct.ts";

function sizes(g: Conv2dGeometry): { x: number; w: number; y: number } {
  return {
    x: g.n * g.h * g.w * g.c,
    w: g.kh * g.kw * g.c * g.o,
    y: g.n * g.outH * g.outW * g.o,
  };
}

/**
 * `groups` convolutions: `x` `[groups, n, h, w, c]` with `filter`
 * `[groups, kh, kw, c, o]` gives a fresh `[groups, n, outH, outW, o]` array.
 *
 * @internal
 * @param x The images of every group.
 * @param filter The filters of every group.
 * @param g The geometry of one group.
 * @param groups The number of groups.
 * @returns The outputs of every group.
 */
export function batchedConv2dForward(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  groups: number,
): Float32Array {
  const s = sizes(g);
  const out = new Float32Array(groups * s.y);
  const rows = g.n * g.outH * g.outW;
  for (let b = 0; b < groups; b++) {
    conv2dForwardRange(
      x.subarray(b * s.x, (b + 1) * s.x),
      filter.subarray(b * s.w, (b + 1) * s.w),
      g,
      out.subarray(b * s.y, (b + 1) * s.y),
      0,
      rows,
    );
  }
  return out;
}

/**
 * The input gradients of `groups` convolutions: `dy`
 * `[groups, n, outH, outW, o]` with `filter` `[groups, kh, kw, c, o]` gives
 * a fresh `[groups, n, h, w, c]` array.
 *
 * @internal
 * @param dy The output gradients of every group.
 * @param filter The filters of every group.
 * @param g The geometry of one group.
 * @param groups The number of groups.
 * @returns The input gradients of every group.
 */
export function batchedConv2dBackpropInput(
  dy: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  groups: number,
): Float32Array {
  const s = sizes(g);
  const out = new Float32Array(groups * s.x);
  for (let b = 0; b < groups; b++) {
    conv2dBackpropInputRange(
      dy.subarray(b * s.y, (b + 1) * s.y),
      filter.subarray(b * s.w, (b + 1) * s.w),
      g,
      out.subarray(b * s.x, (b + 1) * s.x),
      0,
      g.n,
    );
  }
  return out;
}

/**
 * The filter gradients of `groups` convolutions: `x` `[groups, n, h, w, c]`
 * with `dy` `[groups, n, outH, outW, o]` gives a fresh
 * `[groups, kh, kw, c, o]` array (per-example filter gradients when each
 * group is one example).
 *
 * @internal
 * @param x The images of every group.
 * @param dy The output gradients of every group.
 * @param g The geometry of one group.
 * @param groups The number of groups.
 * @returns The filter gradients of every group.
 */
export function batchedConv2dBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  groups: number,
): Float32Array {
  const s = sizes(g);
  const out = new Float32Array(groups * s.w);
  const rowLen = g.kh * g.kw * g.c;
  if (g.c <= 4 && !(g.kh === 1 && g.kw === 1)) {
    // Pad every image once, then the direct kernel on the unpadded geometry.
    const { padTop: t, padBottom: bo, padLeft: l, padRight: r } = g;
    const xp = padImages(x, groups * g.n, g.h, g.w, g.c, t, bo, l, r);
    const gp: Conv2dGeometry = {
      ...g,
      h: g.h + t + bo,
      w: g.w + l + r,
      padTop: 0,
      padBottom: 0,
      padLeft: 0,
      padRight: 0,
    };
    const px = g.n * gp.h * gp.w * g.c;
    for (let b = 0; b < groups; b++) {
      directFilterRange(
        xp.subarray(b * px, (b + 1) * px),
        dy.subarray(b * s.y, (b + 1) * s.y),
        gp,
        out.subarray(b * s.w, (b + 1) * s.w),
        0,
        rowLen,
      );
    }
    return out;
  }
  for (let b = 0; b < groups; b++) {
    conv2dBackpropFilterRange(
      x.subarray(b * s.x, (b + 1) * s.x),
      dy.subarray(b * s.y, (b + 1) * s.y),
      g,
      out.subarray(b * s.w, (b + 1) * s.w),
      0,
      rowLen,
    );
  }
  return out;
}
