/**
 * Batched (grouped) 2-D convolution kernels: `groups` independent
 * convolutions, each with its own images and its own filter, laid out one
 * after the other. This is what a convolution becomes under `vmap` when both
 * the images and the filters (or the output gradient) are batched, as for
 * per-example filter gradients.
 *
 * One call computes every group into one output array: a thread-pool job
 * whose units are groups, each computed by the range kernels of `conv2d.ts`
 * (im2col and GEMM, in the WebAssembly memory on that path) on views of the
 * group's slices; a group's result does not depend on the thread that
 * computes it. On the typed-array path the filter gradient of an input with
 * few channels takes the direct kernel of `conv2d_direct.ts`, as in
 * `conv2d.ts` (measured 11.8 ms down to 5.8 ms for the small CNN's first
 * layer, 64 groups, single thread, on a loaded 2-core machine).
 *
 * @internal
 * @module
 */

import {
  conv2dBackpropFilterRange,
  conv2dBackpropInputRange,
  conv2dForwardRange,
  type Conv2dGeometry,
  type ConvRange,
  convScratch,
  flops,
  padded,
  runConvJob,
} from "./conv2d.ts";
import { directFilterRange } from "./conv2d_direct.ts";
import {
  JOB_BATCHED_FILTER,
  JOB_BATCHED_FORWARD,
  JOB_BATCHED_INPUT,
  JOB_CONV_BACKPROP_FILTER,
  JOB_CONV_BACKPROP_INPUT,
  JOB_CONV_FORWARD,
} from "./threads.ts";
import { arenaMark, arenaRelease, kernelMode } from "./wasm/runtime.ts";

function sizes(g: Conv2dGeometry): { x: number; w: number; y: number } {
  return {
    x: g.n * g.h * g.w * g.c,
    w: g.kh * g.kw * g.c * g.o,
    y: g.n * g.outH * g.outW * g.o,
  };
}

/**
 * Runs `run` on groups `[b0, b1)`: each group's slices of the two inputs
 * (`len1` and `len2` floats a group) and of the output (`lenOut`), with its
 * scratch taken afresh from this thread's arena.
 */
function eachGroup(
  in1: Float32Array,
  len1: number,
  in2: Float32Array,
  len2: number,
  out: Float32Array,
  lenOut: number,
  b0: number,
  b1: number,
  run: (a: Float32Array, b: Float32Array, o: Float32Array) => void,
): void {
  const mark = arenaMark();
  for (let i = b0; i < b1; i++) {
    run(
      in1.subarray(i * len1, (i + 1) * len1),
      in2.subarray(i * len2, (i + 1) * len2),
      out.subarray(i * lenOut, (i + 1) * lenOut),
    );
    arenaRelease(mark);
  }
}

/** Groups `[b0, b1)` of a batched forward convolution. */
function forwardGroups(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  out: Float32Array,
  b0: number,
  b1: number,
): void {
  const s = sizes(g);
  const rows = g.n * g.outH * g.outW;
  eachGroup(x, s.x, filter, s.w, out, s.y, b0, b1, (xb, fb, yb) => {
    conv2dForwardRange(xb, fb, g, yb, 0, rows);
  });
}

/** Groups `[b0, b1)` of a batched input gradient (output zero on entry). */
function inputGroups(
  dy: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  out: Float32Array,
  b0: number,
  b1: number,
): void {
  const s = sizes(g);
  eachGroup(dy, s.y, filter, s.w, out, s.x, b0, b1, (dyb, fb, xb) => {
    conv2dBackpropInputRange(dyb, fb, g, xb, 0, g.n);
  });
}

/** Groups `[b0, b1)` of a batched filter gradient. */
function filterGroups(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  out: Float32Array,
  b0: number,
  b1: number,
): void {
  const s = sizes(g);
  const rowLen = g.kh * g.kw * g.c;
  const direct = kernelMode() === "js" && g.c <= 4 &&
    !(g.kh === 1 && g.kw === 1);
  eachGroup(x, s.x, dy, s.y, out, s.w, b0, b1, (xb, dyb, wb) => {
    if (direct) {
      // The group's images padded once, then the direct kernel.
      const { xp, gp } = padded(xb, g);
      directFilterRange(xp, dyb, gp, wb, 0, rowLen);
    } else conv2dBackpropFilterRange(xb, dyb, g, wb, 0, rowLen);
  });
}

/**
 * The kernel of each batched job kind, for this module and the worker
 * threads.
 *
 * @internal
 */
export const BATCHED_JOBS: Readonly<Record<number, ConvRange>> = {
  [JOB_BATCHED_FORWARD]: forwardGroups,
  [JOB_BATCHED_INPUT]: inputGroups,
  [JOB_BATCHED_FILTER]: filterGroups,
};

/** Runs a batched job, one group a unit. */
function runGroups(
  kind: number,
  unbatched: number,
  g: Conv2dGeometry,
  in1: Float32Array,
  in2: Float32Array,
  size: number,
  groups: number,
  init: "zeros" | "written",
): Float32Array {
  return runConvJob(
    kind,
    BATCHED_JOBS[kind]!,
    g,
    in1,
    in2,
    size,
    groups,
    1,
    init,
    convScratch(unbatched, g),
    flops(g) * groups,
  );
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
  return runGroups(
    JOB_BATCHED_FORWARD,
    JOB_CONV_FORWARD,
    g,
    x,
    filter,
    groups * sizes(g).y,
    groups,
    "written",
  );
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
  return runGroups(
    JOB_BATCHED_INPUT,
    JOB_CONV_BACKPROP_INPUT,
    g,
    dy,
    filter,
    groups * sizes(g).x,
    groups,
    "zeros",
  );
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
  return runGroups(
    JOB_BATCHED_FILTER,
    JOB_CONV_BACKPROP_FILTER,
    g,
    x,
    dy,
    groups * sizes(g).w,
    groups,
    "written",
  );
}
