/**
 * 2-D convolution kernels (NHWC input `[n, h, w, c]`, filters
 * `[kh, kw, c, o]`, output `[n, outH, outW, o]`, zero padding): forward,
 * gradient with respect to the input, gradient with respect to the filter.
 *
 * Each lowers a chunk of output positions to a column matrix (im2col, one row
 * per output position, `kh * kw * c` columns in filter order) and multiplies
 * it with the filter by GEMM; the input gradient scatters its columns back
 * (col2im). Chunks bound the scratch memory. Narrow layers skip the column
 * matrix: the forward convolution of a filter that fits in cache, and the
 * filter gradient of an input with few channels, run the direct kernels of
 * `conv2d_direct.ts` instead (see `directForward` and `directFilter` for
 * the rule and the measurements behind it).
 *
 * On the WebAssembly path (see `wasm/runtime.ts`) the column matrix lives in
 * the thread's scratch arena in the shared memory and the GEMM and im2col are
 * WebAssembly SIMD; the forward convolution and, for inputs with few
 * channels, the filter gradient skip the column matrix altogether and feed
 * the GEMM's register tiles straight from the padded image
 * (`wasmForwardRange`, `wasmFilterRange`). The typed-array direct kernels
 * then serve the typed-array path only.
 *
 * Each kernel is also written over a range of its work (output rows, images,
 * filter rows, or fixed parts of the images) so that the thread pool can split it; the summation order
 * of every output element does not depend on the split, so the threaded and
 * single-thread results are bit-identical.
 *
 * @internal
 * @module
 */

import { gemmStrided, packedInput } from "./gemm.ts";
import {
  arenaMark,
  arenaRelease,
  arenaTake,
  copyOut,
  fitsWasm,
  kernelMode,
  onWasm,
  wasm,
  withInts,
} from "./wasm/runtime.ts";
import { reduce } from "./elementwise.ts";
import type { ElementwiseRange } from "./wasm_jobs.ts";
import { GEO_FIELDS } from "./wasm/conv_module.ts";
import { POOL_FIELDS } from "./wasm/pool_module.ts";
import type { Pool2dGeometry } from "./pool.ts";
import { packedFloats, workFloats } from "./wasm/gemm_module.ts";
import {
  directFilterRange,
  directForwardRange,
  padImages,
} from "./conv2d_direct.ts";
import {
  type InputWriter,
  JOB_CONV_BACKPROP_FILTER,
  JOB_CONV_BACKPROP_INPUT,
  JOB_CONV_FORWARD,
  JOB_CONV_POOL,
  JOB_DIRECT_FILTER,
  JOB_DIRECT_FORWARD,
  JOB_FILTER_PARTS,
  JOB_INPUT_GROUPS,
  JOB_WASM_FILTER,
  JOB_WASM_FORWARD,
  parallelRun,
} from "./threads.ts";

/** Everything the convolution kernels need to know about the shapes. @internal */
export interface Conv2dGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly kh: number;
  readonly kw: number;
  readonly o: number;
  readonly outH: number;
  readonly outW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilH: number;
  readonly dilW: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
}

/** Floats per column chunk: bounds the scratch memory of im2col. */
const CHUNK_FLOATS = 1 << 18;

let colsScratch = new Float32Array(0);

/**
 * The column matrix's storage: this thread's share of the job's scratch in
 * the WebAssembly memory when there is one (the GEMM then reads it in
 * place), else a reused typed array.
 */
function scratch(size: number): Float32Array {
  const shared = arenaTake(size);
  if (shared !== null) return shared;
  if (colsScratch.length < size) colsScratch = new Float32Array(size);
  return colsScratch;
}

/** Output rows per chunk; a function of the geometry only (it fixes summation order). */
function chunkRows(g: Conv2dGeometry): number {
  return Math.max(
    16,
    Math.floor(CHUNK_FLOATS / Math.max(1, g.kh * g.kw * g.c)),
  );
}

/** Whether the convolution is a plain matrix product (1x1, stride 1, no padding). */
function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 &&
    g.padRight === 0;
}

/** Which algorithm the convolution kernels use; see {@linkcode setConvPath}. @internal */
export type ConvPath = "auto" | "im2col" | "direct";

let path: ConvPath = "auto";

/**
 * Forces the algorithm of the forward convolution and the filter gradient
 * (tests run both on the same cases); `"auto"` restores the choice by shape.
 * A 1x1 convolution is always a GEMM and the input gradient always uses
 * im2col.
 *
 * @internal
 * @param p The algorithm.
 * @returns The previous setting.
 */
export function setConvPath(p: ConvPath): ConvPath {
  const before = path;
  path = p;
  return before;
}

/**
 * Whether the forward convolution runs the direct kernel: when the filter,
 * widened to float64, stays in the second-level cache (measured faster than
 * im2col + GEMM from 1 to 64 output channels; a 1x1 convolution is a GEMM).
 */
function directForward(g: Conv2dGeometry): boolean {
  if (path !== "auto" || isPointwise(g)) {
    return path === "direct" && !isPointwise(g);
  }
  // The WebAssembly GEMM is 2-5x faster than the typed-array direct loops
  // on every forward shape measured (small CNN conv1 2.6 vs 3.5-4.5 ms,
  // conv2 3.5 vs 15-17 ms, Keras conv2 93 vs 295-800 ms on two threads).
  if (kernelMode() === "wasm") return false;
  return g.kh * g.kw * g.c * g.o <= 32768;
}

/**
 * Whether the filter gradient runs the direct kernel: for inputs with few
 * channels, where the column matrix is long and thin (measured 1.4-1.6x
 * faster with 1 and 3 channels; 1.5x slower with 8 channels on an 8x8 map,
 * whose short rows the direct loops handle badly).
 */
function directFilter(g: Conv2dGeometry): boolean {
  if (path !== "auto" || isPointwise(g)) {
    return path === "direct" && !isPointwise(g);
  }
  // With the WebAssembly im2col and GEMM the column matrix wins here too
  // (small CNN conv1 filter gradient 2.1 vs 4.1 ms on one thread).
  if (kernelMode() === "wasm") return false;
  return g.c <= 4;
}

/**
 * Whether the filter gradient runs the WebAssembly kernel without a column
 * matrix: on the automatic path, for undilated widths and inputs with few
 * channels, whose filter rows make few row tiles. Measured against im2col
 * in one process, alternating (medians of 8): the small CNN's conv1 0.99
 * vs 2.64 ms on one thread, conv2 (8 channels) 1.03 vs 1.20 ms, 0.59 vs
 * 0.72 on two; with 32 channels (Keras conv2) im2col wins, 50 vs 56 ms, as
 * the output gradient is streamed once per row tile.
 */
function wasmFilter(g: Conv2dGeometry): boolean {
  const depth = g.n * g.outH * g.outW;
  return kernelMode() === "wasm" && path === "auto" && g.dilW === 1 &&
    g.c <= 8 && !isPointwise(g) &&
    fitsWasm(paddedSize(g) + 2 * depth * (g.o + 8) + 1e6);
}

/**
 * Whether the forward convolution runs the WebAssembly kernel without a
 * column matrix (`wasmForwardRange`). Measured on one thread: the small
 * CNN's conv1 (kw * c = 5) 1.05 vs 1.8 ms with im2col, conv2 0.92 vs
 * 1.12 ms, Keras conv2 80 vs 96 ms; shorter window rows (Keras conv1,
 * kw * c = 3) are faster by im2col (6.7 vs 13.6 ms): each tile's depth loop
 * is too short.
 */
function wasmForward(g: Conv2dGeometry): boolean {
  const size = g.n * g.outH * g.outW * g.o;
  return kernelMode() === "wasm" && path === "auto" && g.dilW === 1 &&
    g.kw * g.c >= 4 && !isPointwise(g) &&
    fitsWasm(
      paddedSize(g) + 2 * g.kh * g.kw * g.c * (g.o + 8) + size + 1e6,
    );
}

/**
 * Whether the input gradient runs the WebAssembly kernel without a column
 * matrix: on the automatic path, unpadded, with input channels a multiple
 * of 8 (a packed panel is then 8 channels of one tap) and not pointwise
 * (a 1x1 convolution is one GEMM already).
 */
function wasmInput(g: Conv2dGeometry): boolean {
  return kernelMode() === "wasm" && path === "auto" && g.c % 8 === 0 &&
    g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 &&
    g.padRight === 0 && !isPointwise(g) &&
    fitsWasm(
      g.n * g.outH * g.outW * g.o + 2 * g.o * g.kh * g.kw * g.c +
        g.n * g.h * g.w * g.c + 1e6,
    );
}

/** Floats of the input once padded. */
function paddedSize(g: Conv2dGeometry): number {
  return g.n * (g.h + g.padTop + g.padBottom) *
    (g.w + g.padLeft + g.padRight) * g.c;
}

/**
 * The input padded once, and the geometry of the convolution without
 * padding.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param g The geometry.
 * @returns The padded input and its geometry.
 */
export function padded(
  x: Float32Array,
  g: Conv2dGeometry,
): { xp: Float32Array; gp: Conv2dGeometry } {
  const { n, h, w, c, padTop, padBottom, padLeft, padRight } = g;
  const xp = padImages(x, n, h, w, c, padTop, padBottom, padLeft, padRight);
  const gp: Conv2dGeometry = {
    ...g,
    h: h + padTop + padBottom,
    w: w + padLeft + padRight,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
  };
  return { xp, gp };
}

/**
 * The whole-row case of {@linkcode im2col}: for each filter row, the `kw`
 * taps of an undilated window that lies inside the image are `kw * c`
 * contiguous floats, copied in one loop.
 */
function im2colFull(
  x: Float32Array,
  g: Conv2dGeometry,
  r0: number,
  rows: number,
  cols: Float32Array,
): void {
  const { h, w, c, kh, kw, outH, outW, strideH, strideW, dilH, dilW } = g;
  const rowLen = kh * kw * c, span = kw * c, rowStride = w * c;
  const perImage = outH * outW;
  let b = Math.floor(r0 / perImage);
  let oy = Math.floor((r0 - b * perImage) / outW);
  let ox = r0 - b * perImage - oy * outW;
  for (let r = 0; r < rows; r++) {
    const img = b * h * rowStride;
    const iy0 = oy * strideH - g.padTop;
    const ix0 = ox * strideW - g.padLeft;
    const inside = dilW === 1 && ix0 >= 0 && ix0 + kw <= w;
    let d = r * rowLen;
    for (let ky = 0; ky < kh; ky++) {
      const iy = iy0 + ky * dilH;
      if (iy < 0 || iy >= h) {
        for (let t = 0; t < span; t++) cols[d + t] = 0;
      } else if (inside) {
        const src = img + iy * rowStride + ix0 * c;
        for (let t = 0; t < span; t++) cols[d + t] = x[src + t]!;
      } else {
        for (let kx = 0; kx < kw; kx++) {
          const ix = ix0 + kx * dilW;
          const o = d + kx * c;
          if (ix < 0 || ix >= w) {
            for (let ci = 0; ci < c; ci++) cols[o + ci] = 0;
          } else {
            const src = img + iy * rowStride + ix * c;
            for (let ci = 0; ci < c; ci++) cols[o + ci] = x[src + ci]!;
          }
        }
      }
      d += span;
    }
    if (++ox === outW) {
      ox = 0;
      if (++oy === outH) {
        oy = 0;
        b++;
      }
    }
  }
}

/** The geometry words of the WebAssembly im2col and col2im. */
function geoWords(g: Conv2dGeometry): number[] {
  return GEO_FIELDS.map((f) => g[f]);
}

/**
 * Writes columns `[k0, k1)` of rows `[r0, r0 + rows)` of the column matrix
 * into `cols`, laid out `[rows, k1 - k0]` (zeros where a window hangs over
 * the padding). Row `r` is output position `(b, oy, ox)` in row-major order;
 * column `(ky * kw + kx) * c + ci` is filter tap `(ky, kx, ci)`.
 */
function im2col(
  x: Float32Array,
  g: Conv2dGeometry,
  r0: number,
  rows: number,
  k0: number,
  k1: number,
  cols: Float32Array,
): void {
  if (
    onWasm(x) && onWasm(cols) &&
    withInts(
      geoWords(g),
      (geo) =>
        wasm().im2col(x.byteOffset, geo, r0, rows, k0, k1, cols.byteOffset),
    )
  ) return;
  const { h, w, c, kw, outH, outW, strideH, strideW, dilH, dilW } = g;
  if (k0 === 0 && k1 === g.kh * kw * c) {
    im2colFull(x, g, r0, rows, cols);
    return;
  }
  const width = k1 - k0;
  const s0 = Math.floor(k0 / c), s1 = Math.ceil(k1 / c);
  const segs = s1 - s0;
  // Per filter tap (segment): row and column offsets and the channel range.
  const dy = new Int32Array(segs), dx = new Int32Array(segs);
  const lo = new Int32Array(segs), hi = new Int32Array(segs);
  const at = new Int32Array(segs);
  for (let s = s0; s < s1; s++) {
    const ky = Math.floor(s / kw), kx = s - ky * kw;
    dy[s - s0] = ky * dilH;
    dx[s - s0] = kx * dilW;
    lo[s - s0] = Math.max(0, k0 - s * c);
    hi[s - s0] = Math.min(c, k1 - s * c);
    at[s - s0] = s * c + Math.max(0, k0 - s * c) - k0;
  }
  const perImage = outH * outW;
  let b = Math.floor(r0 / perImage);
  let oy = Math.floor((r0 - b * perImage) / outW);
  let ox = r0 - b * perImage - oy * outW;
  const rowStride = w * c;
  if (c === 1) {
    // One channel: each tap is one element (segments are the columns).
    for (let r = 0; r < rows; r++) {
      const img = b * h * w;
      const iy0 = oy * strideH - g.padTop;
      const ix0 = ox * strideW - g.padLeft;
      const base = r * width;
      for (let s = 0; s < segs; s++) {
        const iy = iy0 + dy[s]!, ix = ix0 + dx[s]!;
        cols[base + s] = iy < 0 || iy >= h || ix < 0 || ix >= w
          ? 0
          : x[img + iy * w + ix]!;
      }
      if (++ox === outW) {
        ox = 0;
        if (++oy === outH) {
          oy = 0;
          b++;
        }
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const img = b * h * rowStride;
    const iy0 = oy * strideH - g.padTop;
    const ix0 = ox * strideW - g.padLeft;
    const base = r * width;
    for (let s = 0; s < segs; s++) {
      const iy = iy0 + dy[s]!, ix = ix0 + dx[s]!;
      const l = lo[s]!, e = hi[s]!;
      let d = base + at[s]!;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
        for (let ci = l; ci < e; ci++) cols[d++] = 0;
      } else {
        const src = img + iy * rowStride + ix * c;
        for (let ci = l; ci < e; ci++) cols[d++] = x[src + ci]!;
      }
    }
    if (++ox === outW) {
      ox = 0;
      if (++oy === outH) {
        oy = 0;
        b++;
      }
    }
  }
}

/**
 * Adds rows `[r0, r0 + rows)` of a full-width column matrix back into `dx`
 * (the transpose of im2col), rows in increasing order.
 */
function col2im(
  cols: Float32Array,
  g: Conv2dGeometry,
  r0: number,
  rows: number,
  dx: Float32Array,
): void {
  if (
    onWasm(cols) && onWasm(dx) &&
    withInts(
      geoWords(g),
      (geo) => wasm().col2im(cols.byteOffset, geo, r0, rows, dx.byteOffset),
    )
  ) return;
  const { h, w, c, kh, kw, outH, outW, strideH, strideW, dilH, dilW } = g;
  const rowLen = kh * kw * c;
  const perImage = outH * outW;
  let b = Math.floor(r0 / perImage);
  let oy = Math.floor((r0 - b * perImage) / outW);
  let ox = r0 - b * perImage - oy * outW;
  const rowStride = w * c;
  for (let r = 0; r < rows; r++) {
    const img = b * h * rowStride;
    const iy0 = oy * strideH - g.padTop;
    const ix0 = ox * strideW - g.padLeft;
    let src = r * rowLen;
    for (let ky = 0; ky < kh; ky++) {
      const iy = iy0 + ky * dilH;
      if (iy < 0 || iy >= h) {
        src += kw * c;
        continue;
      }
      const rowBase = img + iy * rowStride;
      for (let kx = 0; kx < kw; kx++) {
        const ix = ix0 + kx * dilW;
        if (ix >= 0 && ix < w) {
          const dst = rowBase + ix * c;
          for (let ci = 0; ci < c; ci++) dx[dst + ci]! += cols[src + ci]!;
        }
        src += c;
      }
    }
    if (++ox === outW) {
      ox = 0;
      if (++oy === outH) {
        oy = 0;
        b++;
      }
    }
  }
}

/**
 * Computes output rows `[r0, r1)` (output positions in `(b, oy, ox)` order)
 * of the forward convolution into `y`.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry.
 * @param y Output `[n, outH, outW, o]`, written in rows `[r0, r1)` only.
 * @param r0 First output row.
 * @param r1 End of the output rows.
 * @returns Nothing; `y` is written in place.
 */
export function conv2dForwardRange(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  y: Float32Array,
  r0: number,
  r1: number,
): void {
  const o = g.o;
  if (isPointwise(g)) {
    gemmStrided(
      x,
      r0 * g.c,
      g.c,
      filter,
      0,
      o,
      y,
      r0 * o,
      o,
      r1 - r0,
      g.c,
      o,
      false,
      false,
      false,
    );
    return;
  }
  const rowLen = g.kh * g.kw * g.c;
  const per = chunkRows(g);
  const cols = scratch(per * rowLen);
  for (let r = r0; r < r1; r += per) {
    const rows = Math.min(per, r1 - r);
    im2col(x, g, r, rows, 0, rowLen, cols);
    gemmStrided(
      cols,
      0,
      rowLen,
      filter,
      0,
      o,
      y,
      r * o,
      o,
      rows,
      rowLen,
      o,
      false,
      false,
      false,
    );
  }
}

/**
 * Accumulates the input gradient of images `[b0, b1)` into `dx`.
 *
 * @internal
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry.
 * @param dx Input gradient `[n, h, w, c]`, zero on entry in images `[b0, b1)`.
 * @param b0 First image.
 * @param b1 End of the images.
 * @returns Nothing; `dx` is written in place.
 */
export function conv2dBackpropInputRange(
  dy: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  dx: Float32Array,
  b0: number,
  b1: number,
): void {
  const o = g.o;
  const perImage = g.outH * g.outW;
  const start = b0 * perImage, end = b1 * perImage;
  if (isPointwise(g)) {
    gemmStrided(
      dy,
      start * o,
      o,
      filter,
      0,
      o,
      dx,
      start * g.c,
      g.c,
      end - start,
      o,
      g.c,
      false,
      true,
      false,
    );
    return;
  }
  const rowLen = g.kh * g.kw * g.c;
  const per = chunkRows(g);
  const cols = scratch(per * rowLen);
  for (let r = start; r < end; r += per) {
    const rows = Math.min(per, end - r);
    // cols = dy[rows, o] @ filter^T [o, rowLen]
    gemmStrided(
      dy,
      r * o,
      o,
      filter,
      0,
      o,
      cols,
      0,
      rowLen,
      rows,
      o,
      rowLen,
      false,
      true,
      false,
    );
    col2im(cols, g, r, rows, dx);
  }
}

/**
 * Computes filter-gradient rows `[k0, k1)` (flattened `(ky, kx, ci)`) into
 * `dw`.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param g The geometry.
 * @param dw Filter gradient `[kh * kw * c, o]`, written in rows `[k0, k1)` only.
 * @param k0 First filter row.
 * @param k1 End of the filter rows.
 * @returns Nothing; `dw` is written in place.
 */
export function conv2dBackpropFilterRange(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  dw: Float32Array,
  k0: number,
  k1: number,
): void {
  const o = g.o;
  const rowsTotal = g.n * g.outH * g.outW;
  const width = k1 - k0;
  if (width <= 0) return;
  if (isPointwise(g)) {
    gemmStrided(
      x,
      k0,
      g.c,
      dy,
      0,
      o,
      dw,
      k0 * o,
      o,
      width,
      rowsTotal,
      o,
      true,
      false,
      false,
    );
    return;
  }
  filterRows(x, dy, g, dw, k0 * o, k0, k1, 0, rowsTotal);
}

/**
 * Writes filter-gradient rows `[k0, k1)` summed over output positions
 * `[r0, r1)` to `dw` from offset `at`: column chunks of im2col, each
 * multiplied by the GEMM and added in order (zeros for no positions).
 */
function filterRows(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  dw: Float32Array,
  at: number,
  k0: number,
  k1: number,
  r0: number,
  r1: number,
): void {
  const o = g.o, width = k1 - k0;
  const per = chunkRows(g);
  const mark = arenaMark();
  const cols = scratch(per * width);
  if (r0 === r1) dw.fill(0, at, at + width * o);
  for (let r = r0; r < r1; r += per) {
    const rows = Math.min(per, r1 - r);
    im2col(x, g, r, rows, k0, k1, cols);
    // dw[k0:k1] (+)= cols^T [width, rows] @ dy[rows, o]
    gemmStrided(
      cols,
      0,
      width,
      dy,
      r * o,
      o,
      dw,
      at,
      o,
      width,
      rows,
      o,
      true,
      false,
      r > r0,
    );
  }
  arenaRelease(mark);
}

/** How many job integers a geometry takes. */
const GEOMETRY_INTS = 17;

function geometryInts(g: Conv2dGeometry): number[] {
  return [
    g.n,
    g.h,
    g.w,
    g.c,
    g.kh,
    g.kw,
    g.o,
    g.outH,
    g.outW,
    g.strideH,
    g.strideW,
    g.dilH,
    g.dilW,
    g.padTop,
    g.padBottom,
    g.padLeft,
    g.padRight,
  ];
}

/**
 * Rebuilds a geometry from the integers of a thread-pool job.
 *
 * @internal
 * @param v The integers, in {@linkcode Conv2dGeometry} field order.
 * @returns The geometry.
 */
export function geometryFromInts(v: ArrayLike<number>): Conv2dGeometry {
  return {
    n: v[0]!,
    h: v[1]!,
    w: v[2]!,
    c: v[3]!,
    kh: v[4]!,
    kw: v[5]!,
    o: v[6]!,
    outH: v[7]!,
    outW: v[8]!,
    strideH: v[9]!,
    strideW: v[10]!,
    dilH: v[11]!,
    dilW: v[12]!,
    padTop: v[13]!,
    padBottom: v[14]!,
    padLeft: v[15]!,
    padRight: v[16]!,
  };
}

/**
 * The floating-point operations of one convolution (or of either gradient).
 *
 * @internal
 * @param g The geometry.
 * @returns The count.
 */
export function flops(g: Conv2dGeometry): number {
  return 2 * g.n * g.outH * g.outW * g.o * g.kh * g.kw * g.c;
}

/** One range of a convolution job: the signature of every `...Range` kernel. @internal */
export type ConvRange = (
  in1: Float32Array,
  in2: Float32Array,
  g: Conv2dGeometry,
  out: Float32Array,
  start: number,
  end: number,
) => void;

/**
 * Computes output lines `[l0, l1)` (a line is `(b, oy)`) of the forward
 * convolution of the padded input with the WebAssembly kernel that needs
 * no column matrix (see `wasm/conv_module.ts`), the filter packed in
 * 8-column panels, everything in the shared memory.
 *
 * @internal
 * @param xp Input `[n, h, w, c]`, padded (the geometry has no padding).
 * @param bp The filter `[kh * kw * c, o]`, packed.
 * @param g The geometry (undilated along the width).
 * @param y Output `[n, outH, outW, o]`, written in lines `[l0, l1)` only.
 * @param l0 First output line.
 * @param l1 End of the output lines.
 * @returns Nothing; `y` is written in place.
 */
export function wasmForwardRange(
  xp: Float32Array,
  bp: Float32Array,
  g: Conv2dGeometry,
  y: Float32Array,
  l0: number,
  l1: number,
): void {
  columnFree("convForward", [g.o], xp, bp, g, y, l0, l1);
}

/**
 * How many fixed parts (ranges of images) the column-free filter gradient
 * sums apart: 8, or one an image when there are fewer. It depends on the
 * geometry alone, so the result does not depend on the number of threads.
 */
function filterParts(g: Conv2dGeometry): number {
  return Math.min(FILTER_PARTS, g.n);
}

/** Job integers of the column-free filter gradient after the geometry's. */
const FILTER_DENSE = 0, FILTER_SCATTERED = 1;

/**
 * Computes the partial filter gradients of parts `[p0, p1)` (see
 * {@linkcode filterParts}) with the WebAssembly kernel that needs no column
 * matrix (see `wasm/conv_module.ts`): each part's output gradient is
 * packed in 8-column panels in this thread's scratch (read in place when it
 * has 8 channels, whose panel layout is the row-major one), or made there
 * from a max pool's cotangent and argmax positions, zeros but for one value
 * a window (`ints` after the geometry: `FILTER_SCATTERED`, the parts and
 * the pooled length; `in2` then holds the pooled values, then their
 * positions as int32).
 *
 * @internal
 * @param xp Input `[n, h, w, c]`, padded (the geometry has no padding).
 * @param in2 The output gradient `[n, outH, outW, o]`, or the pooled
 * cotangent and its positions.
 * @param parts `[parts, kh * kw * c * o]`, zero on entry in parts
 * `[p0, p1)`.
 * @param ints The geometry's words (undilated along the width), then the
 * input's kind, the number of parts, the pooled length and whether the
 * pool's 2 x 2 windows tile the output gradient.
 * @param p0 First part.
 * @param p1 End of the parts.
 * @returns Nothing; `parts` is written in place.
 */
export function wasmFilterRange(
  xp: Float32Array,
  in2: Float32Array,
  parts: Float32Array,
  ints: ArrayLike<number>,
  p0: number,
  p1: number,
): void {
  const g = geometryFromInts(ints);
  const scattered = ints[GEOMETRY_INTS] === FILTER_SCATTERED;
  const count = ints[GEOMETRY_INTS + 1]!, pooled = ints[GEOMETRY_INTS + 2]!;
  const tiles = ints[GEOMETRY_INTS + 3] === 1;
  const per = g.outH * g.outW, o = g.o, rowLen = g.kh * g.kw * g.c;
  const image = g.h * g.w * g.c;
  for (let p = p0; p < p1; p++) {
    const b0 = Math.floor((g.n * p) / count);
    const b1 = Math.floor((g.n * (p + 1)) / count);
    if (b1 === b0) continue;
    const depth = (b1 - b0) * per;
    const mark = arenaMark();
    let bp: Float32Array | null;
    if (scattered) {
      bp = arenaTake(packedFloats(depth, o));
      if (bp !== null) {
        // An image's windows hold positions of that image only.
        const each = pooled / g.n;
        if (tiles && o === 8) {
          // 2 x 2 windows tiling the image, one panel (the row-major
          // layout): written window by window in WebAssembly.
          wasm().unpool2x2(
            in2.byteOffset + 4 * b0 * each,
            in2.byteOffset + 4 * (pooled + b0 * each),
            bp.byteOffset,
            b1 - b0,
            g.outH / 2,
            g.outW / 2,
            o,
            b0 * per * o,
          );
        } else {
          scatterPacked(in2, pooled, b0 * each, b1 * each, bp, b0 * per, o);
        }
      }
    } else if (o === 8) {
      bp = in2.subarray(b0 * per * 8, b1 * per * 8);
    } else {
      bp = arenaTake(packedFloats(depth, o));
      if (bp !== null) {
        wasm().packB(
          in2.byteOffset + 4 * b0 * per * o,
          o,
          0,
          depth,
          o,
          bp.byteOffset,
        );
      }
    }
    if (bp === null) {
      throw new RangeError(
        `Expected ${
          packedFloats(depth, o)
        } floats of scratch for a part of the filter gradient but the arena had less`,
      );
    }
    columnFree(
      "convFilter",
      [o, b1 - b0],
      xp.subarray(b0 * image, b1 * image),
      bp,
      { ...g, n: b1 - b0 },
      parts.subarray(p * rowLen * o, (p + 1) * rowLen * o),
      0,
      rowLen,
    );
    arenaRelease(mark);
  }
}

/**
 * Makes the output gradient of a part, output positions from `first` on
 * (`o` channels each), in 8-column panels at `bp` from a max pool's
 * cotangent: `src` holds the `pooled` values, then their flat positions as
 * int32 (-1: none), of which `[i0, i1)` are this part's; values at the same
 * position add up in order, as the scatter's loop adds them.
 */
function scatterPacked(
  src: Float32Array,
  pooled: number,
  i0: number,
  i1: number,
  bp: Float32Array,
  first: number,
  o: number,
): void {
  bp.fill(0);
  const at = new Int32Array(src.buffer, src.byteOffset + 4 * pooled, pooled);
  // Panels of 8 columns: as many rows as the part has positions.
  const panel = (8 * bp.length) / (Math.ceil(o / 8) * 8);
  const start = first * o;
  if (o === 8) {
    // One panel: the packed layout is the row-major one (2x faster).
    for (let i = i0; i < i1; i++) {
      const j = at[i]! - start;
      if (j >= 0) bp[j]! += src[i]!;
    }
    return;
  }
  for (let i = i0; i < i1; i++) {
    const j = at[i]! - start;
    if (j < 0) continue;
    const d = (j / o) | 0, ch = j - d * o;
    bp[(ch >> 3) * panel + d * 8 + (ch & 7)]! += src[i]!;
  }
}

/**
 * Adds the input gradient of images `[b0, b1)` into `dx` with the
 * WebAssembly kernel that needs no column matrix (see
 * `wasm/conv_module.ts`; unpadded, input channels a multiple of 8, the
 * filter transposed and packed in 8-column panels), 8 images a call: from
 * a dense output gradient read where it is, or from a max pool's cotangent
 * scattered back, whose images are
 * made in this thread's scratch from the pooled values and their positions
 * (`src`: the pooled values, then their flat positions as int32, -1 for
 * none). When masked, relu's mask is applied to each group in place once
 * its gradient is whole.
 *
 * @internal
 * @param src The pooled values and their positions, or (`ints` saying
 * 0 pooled values) the dense output gradient `[n, outH, outW, o]`.
 * @param in2 The filter transposed, `[o, kh * kw * c]`, packed; then, when
 * masked, relu's input `[n, h, w, c]`.
 * @param dx Input gradient `[n, h, w, c]`, zero on entry in images `[b0, b1)`.
 * @param ints The geometry's words (no padding), then the pooled length,
 * whether the pool's 2 x 2 windows tile the output gradient, the packed
 * filter's length and whether relu's mask follows.
 * @param b0 First image.
 * @param b1 End of the images.
 * @returns Nothing; `dx` is written in place.
 */
export function inputGroupsRange(
  src: Float32Array,
  in2: Float32Array,
  dx: Float32Array,
  ints: ArrayLike<number>,
  b0: number,
  b1: number,
): void {
  const g = geometryFromInts(ints);
  const pooled = ints[GEOMETRY_INTS]!, each = pooled / g.n;
  const tiles = ints[GEOMETRY_INTS + 1] === 1 && g.o % 4 === 0;
  // The packed filter, then (when masked) relu's input `[n, h, w, c]`.
  const packed = ints[GEOMETRY_INTS + 2]!;
  const masked = ints[GEOMETRY_INTS + 3] === 1;
  const bp = in2.subarray(0, packed), mask = in2.subarray(packed);
  const per = g.outH * g.outW * g.o, image = g.h * g.w * g.c;
  const at = new Int32Array(src.buffer, src.byteOffset + 4 * pooled, pooled);
  const mark = arenaMark();
  // A dense output gradient (no pooled values) is read where it is.
  const dense = pooled === 0;
  const dy = dense ? src : arenaTake(SCATTER_IMAGES * per);
  if (dy === null) {
    throw new RangeError(
      `Expected ${
        SCATTER_IMAGES * per
      } floats of scratch for the output gradient of ${SCATTER_IMAGES} images but the arena had less`,
    );
  }
  try {
    // A few images at a time: made, then one kernel call.
    for (let c0 = b0; c0 < b1; c0 += SCATTER_IMAGES) {
      const c1 = Math.min(b1, c0 + SCATTER_IMAGES);
      // An image's windows hold positions of that image only; values at
      // the same position add up in order, as the scatter's loop adds them.
      const start = c0 * per, len = (c1 - c0) * per;
      if (!dense && tiles) {
        // 2 x 2 windows tiling the image: window by window in WebAssembly.
        wasm().unpool2x2(
          src.byteOffset + 4 * c0 * each,
          at.byteOffset + 4 * c0 * each,
          dy.byteOffset,
          c1 - c0,
          g.outH / 2,
          g.outW / 2,
          g.o,
          start,
        );
      } else if (!dense) {
        dy.fill(0, 0, len);
        for (let i = c0 * each; i < c1 * each; i++) {
          const j = at[i]! - start;
          if (j >= 0) dy[j]! += src[i]!;
        }
      }
      const part = dx.subarray(c0 * image, c1 * image);
      const from = dense ? dy.subarray(start, start + len) : dy;
      columnFree("convInput", [g.o], from, bp, g, part, 0, c1 - c0);
      if (masked) {
        // relu's mask, in place: the images' gradients are whole now.
        const at = mask.byteOffset + 4 * c0 * image;
        wasm().reluMask(part.byteOffset, at, part.byteOffset, part.length);
      }
    }
  } finally {
    arenaRelease(mark);
  }
}

/** Images whose scattered output gradient the input gradient makes at once. */
const SCATTER_IMAGES = 8;

/**
 * Calls a column-free WebAssembly convolution kernel on range `[s, e)`,
 * with the geometry words (and `extra` after them) and an edge tile taken
 * from this thread's arena.
 */
function columnFree(
  kernel: "convForward" | "convFilter" | "convInput",
  extra: readonly number[],
  xp: Float32Array,
  bp: Float32Array,
  g: Conv2dGeometry,
  out: Float32Array,
  s: number,
  e: number,
): void {
  const mark = arenaMark();
  const tmp = arenaTake(workFloats);
  if (tmp === null) {
    throw new RangeError(
      `Expected ${workFloats} floats of convolution scratch but the arena had less`,
    );
  }
  try {
    const ok = withInts([...geoWords(g), ...extra], (geo) => {
      wasm()[kernel](
        xp.byteOffset,
        geo,
        bp.byteOffset,
        out.byteOffset,
        s,
        e,
        tmp.byteOffset,
      );
    });
    if (!ok) throw new RangeError("Expected room for the geometry words");
  } finally {
    arenaRelease(mark);
  }
}

/**
 * How many fixed ranges of output positions the WebAssembly filter gradient
 * sums separately (whatever the number of threads, so the result is too).
 */
const FILTER_PARTS = 8;

/**
 * Computes partial filter gradients `[p0, p1)` into `parts`
 * `[FILTER_PARTS, kh * kw * c * o]`: part `p` sums the output positions of
 * its fixed range, by full-width column chunks and the GEMM (zeros for an
 * empty range). Splitting by output positions keeps each thread's im2col
 * whole-row and contiguous.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param g The geometry.
 * @param parts The partial gradients, written in parts `[p0, p1)` only.
 * @param p0 First part.
 * @param p1 End of the parts.
 * @returns Nothing; `parts` is written in place.
 */
export function filterPartsRange(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  parts: Float32Array,
  p0: number,
  p1: number,
): void {
  const rowLen = g.kh * g.kw * g.c, size = rowLen * g.o;
  const rowsTotal = g.n * g.outH * g.outW;
  for (let p = p0; p < p1; p++) {
    const r0 = Math.floor((rowsTotal * p) / FILTER_PARTS);
    const r1 = Math.floor((rowsTotal * (p + 1)) / FILTER_PARTS);
    filterRows(x, dy, g, parts, p * size, 0, rowLen, r0, r1);
  }
}

/**
 * The convolution jobs whose ranges read the job's integers themselves (a
 * geometry and more words after it), for the worker threads.
 *
 * @internal
 */
export const CONV_INT_JOBS: Readonly<Record<number, ElementwiseRange>> = {
  [JOB_CONV_POOL]: convPoolRange,
  [JOB_WASM_FILTER]: wasmFilterRange,
  [JOB_INPUT_GROUPS]: inputGroupsRange,
};

/**
 * The kernel of each convolution job kind, for this module and the worker
 * threads alike.
 *
 * @internal
 */
export const CONV_JOBS: Readonly<Record<number, ConvRange>> = {
  [JOB_CONV_FORWARD]: conv2dForwardRange,
  [JOB_CONV_BACKPROP_INPUT]: conv2dBackpropInputRange,
  [JOB_CONV_BACKPROP_FILTER]: conv2dBackpropFilterRange,
  [JOB_DIRECT_FORWARD]: directForwardRange,
  [JOB_DIRECT_FILTER]: directFilterRange,
  [JOB_WASM_FORWARD]: wasmForwardRange,
  [JOB_FILTER_PARTS]: filterPartsRange,
};

/**
 * Floats of scratch one thread needs for a convolution job on the
 * WebAssembly path: the column matrix and the GEMM's packed op(B) and work.
 *
 * @internal
 * @param kind The job kind.
 * @param g The geometry.
 * @returns The floats.
 */
export function convScratch(kind: number, g: Conv2dGeometry): number {
  const rowLen = g.kh * g.kw * g.c;
  const per = chunkRows(g);
  const o = g.o;
  switch (kind) {
    case JOB_CONV_FORWARD:
      return per * rowLen + packedFloats(rowLen, o) + workFloats + 32;
    case JOB_CONV_BACKPROP_INPUT:
      return per * rowLen + packedFloats(o, rowLen) + workFloats + 32;
    case JOB_CONV_BACKPROP_FILTER:
    case JOB_FILTER_PARTS:
      return per * rowLen + packedFloats(per, o) + workFloats + 32;
    case JOB_WASM_FORWARD:
    case JOB_INPUT_GROUPS:
      return workFloats + 32;
    case JOB_WASM_FILTER:
      return packedFloats(
        Math.ceil(g.n / filterParts(g)) * g.outH * g.outW,
        o,
      ) +
        workFloats + 32;
    default:
      return 0;
  }
}

/**
 * Runs a convolution job of `total` units over the thread pool, or on this
 * thread when the pool declines it (small job, one thread, no workers): a
 * fresh output array of `size` floats either way.
 */
function runConv(
  kind: number,
  g: Conv2dGeometry,
  in1: Float32Array,
  in2: Float32Array | InputWriter,
  size: number,
  total: number,
  grain: number,
  init: "zeros" | "written",
): Float32Array {
  return runConvJob(
    kind,
    CONV_JOBS[kind]!,
    g,
    in1,
    in2,
    size,
    total,
    grain,
    init,
    convScratch(kind, g),
    flops(g),
  );
}

/**
 * Runs a job whose units `range` computes (a convolution job, or a batch of
 * them) over the thread pool, or on this thread: a fresh output array of
 * `size` floats. The workers find `range` by `kind`.
 *
 * @internal
 * @param kind The job kind.
 * @param range Computes units `[start, end)`.
 * @param g The geometry the job integers carry.
 * @param in1 The first input.
 * @param in2 The second input, or its writer.
 * @param size The output length.
 * @param total The units of work.
 * @param grain The split granularity.
 * @param init The output's start: zeros, or written in full by the job.
 * @param scratch Floats of WebAssembly scratch per thread.
 * @param work The job's floating-point operation count.
 * @returns The output.
 */
export function runConvJob(
  kind: number,
  range: ConvRange,
  g: Conv2dGeometry,
  in1: Float32Array,
  in2: Float32Array | InputWriter,
  size: number,
  total: number,
  grain: number,
  init: "zeros" | "written",
  scratch: number,
  work: number,
): Float32Array {
  const shared = parallelRun(
    kind,
    geometryInts(g),
    in1,
    in2,
    size,
    total,
    grain,
    work,
    (a, b, out, s, e) => range(a, b, g, out, s, e),
    init,
    scratch,
  );
  if (shared !== null) {
    return copyOut(shared);
  }
  if (!(in2 instanceof Float32Array)) {
    throw new RangeError(
      `Expected room in the WebAssembly memory for job ${kind}`,
    );
  }
  const out = new Float32Array(size);
  range(in1, in2, g, out, 0, total);
  return out;
}

/**
 * The convolution of `x` `[n, h, w, c]` with `filter` `[kh, kw, c, o]`:
 * a fresh `[n, outH, outW, o]` array.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry.
 * @returns The output `[n, outH, outW, o]`.
 */
export function conv2dForward(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  const size = g.n * g.outH * g.outW * g.o;
  if (directForward(g)) {
    // Whole output rows (b, oy) at a time.
    const { xp, gp } = padded(x, g);
    const lines = g.n * g.outH;
    return runConv(
      JOB_DIRECT_FORWARD,
      gp,
      xp,
      filter,
      size,
      lines,
      1,
      "written",
    );
  }
  if (wasmForward(g)) {
    // No column matrix: the filter packed once for every thread (copied
    // behind its panels and packed there), whole output lines at a time.
    const { xp, gp } = padded(x, g);
    return runConv(
      JOB_WASM_FORWARD,
      gp,
      xp,
      packedInput(filter, g.kh * g.kw * g.c, g.o, false),
      size,
      g.n * g.outH,
      1,
      "written",
    );
  }
  // Output positions, 4 at a time.
  const rows = g.n * g.outH * g.outW;
  return runConv(JOB_CONV_FORWARD, g, x, filter, size, rows, 4, "written");
}

/**
 * Whether {@linkcode conv2dMaxPool} can run the convolution of geometry `g`
 * fused with a max pool: when {@linkcode conv2dForward} would run it by the
 * column-free WebAssembly kernel, so that the fused values are its values.
 *
 * @internal
 * @param g The convolution's geometry.
 * @returns Whether the fused job applies (the pool must fit too).
 */
export function poolFusable(g: Conv2dGeometry): boolean {
  return !directForward(g) && wasmForward(g) && g.o % 4 === 0;
}

/**
 * The max pool (geometry `pg`, over images of the convolution's output) of
 * the convolution of `x` with `filter`, as one thread-pool job: each range
 * of images is convolved into the shared memory and pooled there while it
 * is in cache, so the convolution's output is never copied out. The values
 * and argmax positions are those of `maxPoolForward(conv2dForward(x,
 * filter, g), pg)`, bit for bit. `null` when the fused job does not apply
 * (see {@linkcode poolFusable}) or finds no room; the caller then runs the
 * two kernels.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The convolution's geometry.
 * @param pg The pool's geometry (its input is the convolution's output).
 * @returns The pooled values and their argmax positions in the
 * convolution's output, or `null`.
 */
export function conv2dMaxPool(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  pg: Pool2dGeometry,
): { out: Float32Array; argmax: Int32Array } | null {
  if (
    !poolFusable(g) || pg.n !== g.n || pg.h !== g.outH || pg.w !== g.outW ||
    pg.c !== g.o
  ) return null;
  const zLen = g.n * g.outH * g.outW * g.o;
  const size = pg.n * pg.outH * pg.outW * pg.c;
  const { xp, gp } = padded(x, g);
  const ints = [...geometryInts(gp), ...POOL_FIELDS.map((f) => pg[f])];
  const shared = parallelRun(
    JOB_CONV_POOL,
    ints,
    xp,
    packedInput(filter, g.kh * g.kw * g.c, g.o, false),
    zLen + 2 * size,
    g.n,
    1,
    flops(g),
    (a, b, out, s, e) => convPoolRange(a, b, out, ints, s, e),
    "written",
    convScratch(JOB_WASM_FORWARD, g) + POOL_FIELDS.length,
  );
  if (shared === null) return null;
  // Only the pooled values and their positions leave the shared memory.
  const r = copyOut(shared.subarray(zLen));
  return {
    out: r.subarray(0, size),
    argmax: new Int32Array(r.buffer, r.byteOffset + 4 * size, size),
  };
}

/**
 * Images `[b0, b1)` of the fused convolution and max pool: their
 * convolution into the front of `out` (the whole output's layout), then
 * their pooled values and argmax positions behind it.
 *
 * @internal
 * @param xp Input `[n, h, w, c]`, padded.
 * @param bp The filter, packed.
 * @param out The convolution's output, then the pooled values, then their
 * argmax positions (int32).
 * @param ints The convolution's geometry words, then the pool's.
 * @param b0 First image.
 * @param b1 End of the images.
 * @returns Nothing; `out` is written in place.
 */
export function convPoolRange(
  xp: Float32Array,
  bp: Float32Array,
  out: Float32Array,
  ints: ArrayLike<number>,
  b0: number,
  b1: number,
): void {
  const g = geometryFromInts(ints);
  const zLen = g.n * g.outH * g.outW * g.o;
  const poolWords = Array.from(
    { length: POOL_FIELDS.length },
    (_, i) => ints[GEOMETRY_INTS + i]!,
  );
  const size = poolWords[0]! * poolWords[6]! * poolWords[7]! * poolWords[3]!;
  columnFree("convForward", [g.o], xp, bp, g, out, b0 * g.outH, b1 * g.outH);
  const ok = withInts(poolWords, (geo) => {
    const pooled = out.byteOffset + 4 * zLen;
    wasm().maxPool(out.byteOffset, geo, pooled, pooled + 4 * size, b0, b1);
  });
  if (!ok) throw new RangeError("Expected room for the pool's geometry words");
}

/**
 * The gradient of {@linkcode conv2dForward} with respect to its input, given
 * the output gradient `dy` `[n, outH, outW, o]`: a fresh `[n, h, w, c]` array.
 *
 * @internal
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry.
 * @returns The input gradient `[n, h, w, c]`.
 */
export function conv2dBackpropInput(
  dy: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  // Images; their gradients are accumulated, so the output starts at zero.
  const size = g.n * g.h * g.w * g.c;
  if (wasmInput(g)) {
    // No column matrix: the filter, transposed, packed once for every thread.
    const dx = inputJob(dy, 0, false, filter, g, null);
    if (dx === null) {
      throw new RangeError(
        `Expected room in the WebAssembly memory for job ${JOB_INPUT_GROUPS}`,
      );
    }
    return dx;
  }
  return runConv(JOB_CONV_BACKPROP_INPUT, g, dy, filter, size, g.n, 1, "zeros");
}

/**
 * The input gradient of {@linkcode conv2dBackpropInput} for an output
 * gradient that is a max pool's cotangent scattered back to its argmax
 * positions (`dy` pooled, `argmax` flat positions in `[n, outH, outW, o]`,
 * -1 for none), without making the scattered array: each image's share is
 * made in the scratch of the thread that computes it. The same bits as
 * `conv2dBackpropInput(scatterAddByIndex(dy, argmax, size), filter, g)`;
 * `null` when that runs another kernel (the caller then makes the array).
 *
 * @internal
 * @param dy The pooled cotangent.
 * @param argmax Its flat positions in the output gradient.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry.
 * @param tiles Whether the pool is 2 x 2 of stride 2 without padding and its
 * windows cover the output gradient exactly (each part is then written
 * window by window, no clearing first).
 * @param mask When given, relu's input `[n, h, w, c]` at the convolution's
 * input: the result is then the input gradient masked where it is not
 * positive, as `reluMask` would mask it (applied to each image's gradient
 * while it is in cache).
 * @returns The input gradient `[n, h, w, c]`, or `null`.
 */
export function conv2dBackpropInputScattered(
  dy: Float32Array,
  argmax: Int32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  tiles = false,
  mask: Float32Array | null = null,
): Float32Array | null {
  const size = g.n * g.h * g.w * g.c;
  if (
    !inputScattered(g, dy, argmax) || (mask !== null && mask.length !== size)
  ) return null;
  return inputJob(pooledInput(dy, argmax), dy.length, tiles, filter, g, mask);
}

/**
 * {@linkcode conv2dBackpropInput} with relu's mask applied to each group of
 * images as soon as its gradient is whole (`mask` is relu's input at the
 * convolution's input, `[n, h, w, c]`): the same bits as
 * `reluMask(conv2dBackpropInput(dy, filter, g), mask)`; `null` when the
 * input gradient runs another kernel than the column-free one.
 *
 * @internal
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry.
 * @param mask relu's input `[n, h, w, c]`.
 * @returns The masked input gradient `[n, h, w, c]`, or `null`.
 */
export function conv2dBackpropInputMasked(
  dy: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  mask: Float32Array,
): Float32Array | null {
  if (
    !wasmInput(g) || dy.length !== g.n * g.outH * g.outW * g.o ||
    mask.length !== g.n * g.h * g.w * g.c
  ) return null;
  return inputJob(dy, 0, false, filter, g, mask);
}

/**
 * Runs the input-gradient job of {@linkcode inputGroupsRange}: on a
 * dense output gradient (`pooled` 0) or on pooled values and positions,
 * masked by relu's input when `mask` is given.
 */
function inputJob(
  in1: Float32Array | InputWriter,
  pooled: number,
  tiles: boolean,
  filter: Float32Array,
  g: Conv2dGeometry,
  mask: Float32Array | null,
): Float32Array | null {
  const size = g.n * g.h * g.w * g.c;
  const filterIn = packedInput(filter, g.o, g.kh * g.kw * g.c, true);
  const ints = [
    ...geometryInts(g),
    pooled,
    tiles ? 1 : 0,
    filterIn.length,
    mask === null ? 0 : 1,
  ];
  const shared = parallelRun(
    JOB_INPUT_GROUPS,
    ints,
    in1,
    mask === null ? filterIn : {
      length: filterIn.length + size,
      write(dst: Float32Array): void {
        filterIn.write(dst.subarray(0, filterIn.length));
        dst.set(mask, filterIn.length);
      },
    },
    size,
    g.n,
    1,
    flops(g),
    (a, b, out, s, e) => inputGroupsRange(a, b, out, ints, s, e),
    "zeros",
    convScratch(JOB_INPUT_GROUPS, g) +
      (pooled === 0 ? 0 : SCATTER_IMAGES * g.outH * g.outW * g.o),
  );
  return shared === null ? null : copyOut(shared);
}

/**
 * Whether {@linkcode conv2dBackpropInputScattered} runs for geometry `g`
 * and this pooled cotangent.
 *
 * @internal
 * @param g The geometry.
 * @param dy The pooled cotangent.
 * @param argmax Its positions.
 * @returns Whether the scattered input gradient applies.
 */
export function inputScattered(
  g: Conv2dGeometry,
  dy: Float32Array,
  argmax: Int32Array,
): boolean {
  return wasmInput(g) && dy.length === argmax.length && dy.length % g.n === 0;
}

/**
 * Whether {@linkcode conv2dBackpropInputMasked} runs for geometry `g`.
 *
 * @internal
 * @param g The geometry.
 * @returns Whether the input gradient can take relu's mask.
 */
export function inputMaskable(g: Conv2dGeometry): boolean {
  return wasmInput(g);
}

/** The pooled values, then their positions as int32: one job input. */
function pooledInput(dy: Float32Array, argmax: Int32Array): InputWriter {
  return {
    length: 2 * dy.length,
    write(dst: Float32Array): void {
      dst.set(dy);
      new Int32Array(dst.buffer, dst.byteOffset + 4 * dy.length, dy.length)
        .set(argmax);
    },
  };
}

/**
 * The gradient of {@linkcode conv2dForward} with respect to its filter, given
 * the input `x` and the output gradient `dy`: a fresh `[kh, kw, c, o]` array.
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param g The geometry.
 * @returns The filter gradient `[kh, kw, c, o]`.
 */
export function conv2dBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  // Filter rows (taps), 4 at a time.
  const rowLen = g.kh * g.kw * g.c;
  const size = rowLen * g.o;
  if (wasmFilter(g)) return wasmFilterParts(x, dy, null, g);
  if (directFilter(g)) {
    const { xp, gp } = padded(x, g);
    return runConv(JOB_DIRECT_FILTER, gp, xp, dy, size, rowLen, 4, "written");
  }
  if (kernelMode() === "wasm" && !isPointwise(g)) {
    // Fixed ranges of output positions summed apart, then added in order:
    // each thread's im2col stays whole-row (Keras conv2 measured 31-56 ms
    // on two threads split by filter rows).
    const parts = runConv(
      JOB_FILTER_PARTS,
      g,
      x,
      dy,
      FILTER_PARTS * size,
      FILTER_PARTS,
      1,
      "written",
    );
    // The float64 sums over the parts axis, rounded once.
    return reduce("sum", parts, 1, FILTER_PARTS, size);
  }
  return runConv(
    JOB_CONV_BACKPROP_FILTER,
    g,
    x,
    dy,
    size,
    rowLen,
    4,
    "written",
  );
}

/**
 * The filter gradient of {@linkcode conv2dBackpropFilter} for an output
 * gradient that is a max pool's cotangent scattered back to its argmax
 * positions (`dy` pooled, `argmax` flat positions in `[n, outH, outW, o]`,
 * -1 for none), without making the scattered array: each part of the
 * column-free job makes its images' share in its scratch. The same bits as
 * `conv2dBackpropFilter(x, scatterAddByIndex(dy, argmax, size), g)`;
 * `null` when that runs another kernel (the caller then makes the array).
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param dy The pooled cotangent.
 * @param argmax Its flat positions in the output gradient.
 * @param g The geometry.
 * @param tiles Whether the pool is 2 x 2 of stride 2 without padding and its
 * windows cover the output gradient exactly (each part is then written
 * window by window, no clearing first).
 * @returns The filter gradient `[kh, kw, c, o]`, or `null`.
 */
export function conv2dBackpropFilterScattered(
  x: Float32Array,
  dy: Float32Array,
  argmax: Int32Array,
  g: Conv2dGeometry,
  tiles = false,
): Float32Array | null {
  if (!wasmFilter(g) || dy.length !== argmax.length) return null;
  return wasmFilterParts(x, dy, argmax, g, tiles);
}

/**
 * Runs the column-free filter gradient by parts (see
 * {@linkcode wasmFilterRange}) and sums the parts in order.
 */
function wasmFilterParts(
  x: Float32Array,
  dy: Float32Array,
  argmax: Int32Array | null,
  g: Conv2dGeometry,
  tiles = false,
): Float32Array {
  const { xp, gp } = padded(x, g);
  const count = filterParts(g), size = g.kh * g.kw * g.c * g.o;
  const ints = [
    ...geometryInts(gp),
    argmax === null ? FILTER_DENSE : FILTER_SCATTERED,
    count,
    dy.length,
    tiles ? 1 : 0,
  ];
  const in2 = argmax === null ? dy : pooledInput(dy, argmax);
  const shared = parallelRun(
    JOB_WASM_FILTER,
    ints,
    xp,
    in2,
    count * size,
    count,
    1,
    flops(g),
    (a, b, out, s, e) => wasmFilterRange(a, b, out, ints, s, e),
    "zeros",
    convScratch(JOB_WASM_FILTER, g),
  );
  if (shared === null) {
    throw new RangeError(
      `Expected room in the WebAssembly memory for job ${JOB_WASM_FILTER}`,
    );
  }
  // The float64 sums over the parts, in order, rounded once (read where
  // they are: a few thousand floats).
  const dw = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let sum = 0;
    for (let p = 0; p < count; p++) sum += shared[p * size + i]!;
    dw[i] = sum;
  }
  return dw;
}
