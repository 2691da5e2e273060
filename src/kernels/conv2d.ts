/**
 * 2-D convolution kernels (NHWC input, `[kh, kw, c, o]` filters): forward,
 * gradient with respect to the input, gradient with respect to the filter.
 * Each lowers a chunk of images to a column matrix (im2col) and calls the
 * GEMM; the input gradient scatters its columns back (col2im).
 *
 * @internal
 * @module
 */

import { gemmInto } from "./gemm.ts";

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
const CHUNK_FLOATS = 1 << 21;

let colsScratch = new Float32Array(0);

function scratch(size: number): Float32Array {
  if (colsScratch.length < size) colsScratch = new Float32Array(size);
  return colsScratch;
}

/** Whether the convolution is a plain matrix product (1x1, stride 1, no padding). */
function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 && g.padRight === 0;
}

/** Images per chunk so that the column matrix stays under the scratch budget. */
function imagesPerChunk(g: Conv2dGeometry): number {
  const perImage = g.outH * g.outW * g.kh * g.kw * g.c;
  return Math.max(
    1,
    Math.min(g.n, Math.floor(CHUNK_FLOATS / Math.max(1, perImage))),
  );
}

/**
 * Writes the column matrix of images `[b0, b0 + nb)` into `cols`:
 * one row per output position, `kh * kw * c` entries per row (zeros where the
 * window hangs over the padding).
 */
function im2col(
  x: Float32Array,
  g: Conv2dGeometry,
  b0: number,
  nb: number,
  cols: Float32Array,
): void {
  const {
    h,
    w,
    c,
    kh,
    kw,
    outH,
    outW,
    strideH,
    strideW,
    dilH,
    dilW,
    padTop,
    padLeft,
  } = g;
  const rowLen = kh * kw * c;
  let r = 0;
  for (let b = b0; b < b0 + nb; b++) {
    const imgBase = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        let dst = r * rowLen;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dilH;
          if (iy < 0 || iy >= h) {
            cols.fill(0, dst, dst + kw * c);
            dst += kw * c;
            continue;
          }
          const rowBase = imgBase + iy * w * c;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dilW;
            if (ix < 0 || ix >= w) {
              cols.fill(0, dst, dst + c);
            } else {
              const src = rowBase + ix * c;
              if (c === 1) cols[dst] = x[src]!;
              else for (let ci = 0; ci < c; ci++) cols[dst + ci] = x[src + ci]!;
            }
            dst += c;
          }
        }
        r++;
      }
    }
  }
}

/** Adds the column matrix of images `[b0, b0 + nb)` back into `dx` (the transpose of im2col). */
function col2im(
  cols: Float32Array,
  g: Conv2dGeometry,
  b0: number,
  nb: number,
  dx: Float32Array,
): void {
  const {
    h,
    w,
    c,
    kh,
    kw,
    outH,
    outW,
    strideH,
    strideW,
    dilH,
    dilW,
    padTop,
    padLeft,
  } = g;
  const rowLen = kh * kw * c;
  let r = 0;
  for (let b = b0; b < b0 + nb; b++) {
    const imgBase = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        let src = r * rowLen;
        for (let ky = 0; ky < kh; ky++) {
          const iy = iy0 + ky * dilH;
          if (iy < 0 || iy >= h) {
            src += kw * c;
            continue;
          }
          const rowBase = imgBase + iy * w * c;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx * dilW;
            if (ix >= 0 && ix < w) {
              const dst = rowBase + ix * c;
              for (let ci = 0; ci < c; ci++) dx[dst + ci]! += cols[src + ci]!;
            }
            src += c;
          }
        }
        r++;
      }
    }
  }
}

/**
 * The convolution of `x` `[n, h, w, c]` with `filter` `[kh, kw, c, o]`:
 * a fresh `[n, outH, outW, o]` array.
 *
 * @internal
 */
export function conv2dForward(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  const rowsPerImage = g.outH * g.outW;
  const rowLen = g.kh * g.kw * g.c;
  const y = new Float32Array(g.n * rowsPerImage * g.o);
  if (isPointwise(g)) {
    gemmInto(
      x,
      0,
      filter,
      0,
      y,
      0,
      g.n * rowsPerImage,
      g.c,
      g.o,
      false,
      false,
      false,
    );
    return y;
  }
  const per = imagesPerChunk(g);
  const cols = scratch(per * rowsPerImage * rowLen);
  for (let b0 = 0; b0 < g.n; b0 += per) {
    const nb = Math.min(per, g.n - b0);
    im2col(x, g, b0, nb, cols);
    gemmInto(
      cols,
      0,
      filter,
      0,
      y,
      b0 * rowsPerImage * g.o,
      nb * rowsPerImage,
      rowLen,
      g.o,
      false,
      false,
      false,
    );
  }
  return y;
}

/**
 * The gradient of {@linkcode conv2dForward} with respect to its input, given
 * the output gradient `dy` `[n, outH, outW, o]`: a fresh `[n, h, w, c]` array.
 *
 * @internal
 */
export function conv2dBackpropInput(
  dy: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  const rowsPerImage = g.outH * g.outW;
  const rowLen = g.kh * g.kw * g.c;
  const dx = new Float32Array(g.n * g.h * g.w * g.c);
  if (isPointwise(g)) {
    gemmInto(
      dy,
      0,
      filter,
      0,
      dx,
      0,
      g.n * rowsPerImage,
      g.o,
      g.c,
      false,
      true,
      false,
    );
    return dx;
  }
  const per = imagesPerChunk(g);
  const cols = scratch(per * rowsPerImage * rowLen);
  for (let b0 = 0; b0 < g.n; b0 += per) {
    const nb = Math.min(per, g.n - b0);
    // cols = dy_chunk [rows, o] @ filter^T [o, rowLen]
    gemmInto(
      dy,
      b0 * rowsPerImage * g.o,
      filter,
      0,
      cols,
      0,
      nb * rowsPerImage,
      g.o,
      rowLen,
      false,
      true,
      false,
    );
    col2im(cols, g, b0, nb, dx);
  }
  return dx;
}

/**
 * The gradient of {@linkcode conv2dForward} with respect to its filter, given
 * the input `x` and the output gradient `dy`: a fresh `[kh, kw, c, o]` array.
 *
 * @internal
 */
export function conv2dBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
): Float32Array {
  const rowsPerImage = g.outH * g.outW;
  const rowLen = g.kh * g.kw * g.c;
  const dw = new Float32Array(rowLen * g.o);
  if (isPointwise(g)) {
    gemmInto(
      x,
      0,
      dy,
      0,
      dw,
      0,
      g.c,
      g.n * rowsPerImage,
      g.o,
      true,
      false,
      false,
    );
    return dw;
  }
  const per = imagesPerChunk(g);
  const cols = scratch(per * rowsPerImage * rowLen);
  for (let b0 = 0; b0 < g.n; b0 += per) {
    const nb = Math.min(per, g.n - b0);
    im2col(x, g, b0, nb, cols);
    // dw += cols^T [rowLen, rows] @ dy_chunk [rows, o]
    gemmInto(
      cols,
      0,
      dy,
      b0 * rowsPerImage * g.o,
      dw,
      0,
      rowLen,
      nb * rowsPerImage,
      g.o,
      true,
      false,
      true,
    );
  }
  return dw;
}
