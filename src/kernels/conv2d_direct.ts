/**
 * Direct convolution kernels for narrow layers (few output channels): the
 * forward convolution and the filter gradient computed straight from the
 * image, without materialising a column matrix.
 *
 * Both work on an unpadded geometry (callers pad the input once with
 * {@linkcode padImages}) and keep a 4 x 4 tile of sums in local variables:
 * the forward tile is 4 output pixels x 4 output channels summed over the
 * filter taps, the filter-gradient tile is 4 taps x 4 output channels summed
 * over the output positions. Each output element is summed in a fixed order
 * that does not depend on how the work is split between threads, so the
 * threaded and single-thread results are bit-identical.
 *
 * The input gradient stays with im2col: written as a forward convolution of
 * the output gradient padded by the filter size, it multiplies mostly zeros
 * on small feature maps (measured 2x slower on the small CNN's second layer).
 *
 * @internal
 * @module
 */

import type { Conv2dGeometry } from "./conv2d.ts";

/**
 * Copies `x` `[n, h, w, c]` into a zero-bordered `[n, h + top + bottom,
 * w + left + right, c]` array (or returns `x` itself when nothing is added).
 *
 * @internal
 * @param x The images.
 * @param n Images.
 * @param h Rows.
 * @param w Columns.
 * @param c Channels.
 * @param top Rows of zeros above.
 * @param bottom Rows of zeros below.
 * @param left Columns of zeros on the left.
 * @param right Columns of zeros on the right.
 * @returns The padded images.
 */
export function padImages(
  x: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  top: number,
  bottom: number,
  left: number,
  right: number,
): Float32Array {
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  const hp = h + top + bottom, wp = w + left + right;
  const out = new Float32Array(n * hp * wp * c);
  const rowLen = w * c;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const src = (b * h + y) * rowLen;
      const dst = ((b * hp + y + top) * wp + left) * c;
      out.set(x.subarray(src, src + rowLen), dst);
    }
  }
  return out;
}

/** Offsets of the filter taps `(ky, kx, ci)` from a window's first element. */
function tapOffsets(g: Conv2dGeometry): Int32Array {
  const { w, c, kh, kw, dilH, dilW } = g;
  const off = new Int32Array(kh * kw * c);
  let t = 0;
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let ci = 0; ci < c; ci++) {
        off[t++] = ky * dilH * w * c + kx * dilW * c + ci;
      }
    }
  }
  return off;
}

/**
 * Forward convolution of output rows `[q0, q1)` (a row is one `(b, oy)`
 * pair) of an unpadded geometry into `y`.
 *
 * The loops are split into small functions that V8 optimises after a few
 * calls: a single long-running function with deep loops is compiled by
 * on-stack replacement of its inner loop, which deoptimises on every exit
 * from that loop (measured: 5x slower calls on the Keras layer).
 *
 * @internal
 * @param x Input `[n, h, w, c]` (already padded).
 * @param filter Filter `[kh, kw, c, o]`.
 * @param g The geometry (all padding 0).
 * @param y Output `[n, outH, outW, o]`, written in rows `[q0, q1)` only.
 * @param q0 First output row.
 * @param q1 End of the output rows.
 * @returns Nothing; `y` is written in place.
 */
export function directForwardRange(
  x: Float32Array,
  filter: Float32Array,
  g: Conv2dGeometry,
  y: Float32Array,
  q0: number,
  q1: number,
): void {
  const { h, w, c, o, outH, outW, strideH, strideW } = g;
  const off = tapOffsets(g);
  const wf = Float64Array.from(filter);
  const rowStride = w * c, step = strideW * c;
  const o4 = o - (o % 4), ox4 = outW - (outW % 4);
  for (let q = q0; q < q1; q++) {
    const b = Math.floor(q / outH), oy = q - b * outH;
    const base = (b * h + oy * strideH) * rowStride;
    const yRow = q * outW * o;
    for (let ox = 0; ox < ox4; ox += 4) {
      const p = base + ox * step, yo = yRow + ox * o;
      for (let oc = 0; oc < o4; oc += 4) {
        forwardTile(x, wf, off, p, step, o, oc, y, yo);
      }
      for (let oc = o4; oc < o; oc++) {
        forwardColumn(x, wf, off, p, step, o, oc, y, yo);
      }
    }
    for (let ox = ox4; ox < outW; ox++) {
      forwardPixel(x, wf, off, base + ox * step, o, y, yRow + ox * o);
    }
  }
}

/** Output pixels `p .. p + 3 step` x channels `oc .. oc + 3`, summed over the taps. */
function forwardTile(
  x: Float32Array,
  wf: Float64Array,
  off: Int32Array,
  p0: number,
  step: number,
  o: number,
  oc: number,
  y: Float32Array,
  y0: number,
): void {
  const p1 = p0 + step, p2 = p1 + step, p3 = p2 + step;
  const taps = off.length;
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0;
  let s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let s20 = 0, s21 = 0, s22 = 0, s23 = 0;
  let s30 = 0, s31 = 0, s32 = 0, s33 = 0;
  let iw = oc;
  for (let t = 0; t < taps; t++) {
    const d = off[t]!;
    const w0 = wf[iw]!, w1 = wf[iw + 1]!, w2 = wf[iw + 2]!;
    const w3 = wf[iw + 3]!;
    iw += o;
    const a0 = x[p0 + d]!;
    s00 += a0 * w0;
    s01 += a0 * w1;
    s02 += a0 * w2;
    s03 += a0 * w3;
    const a1 = x[p1 + d]!;
    s10 += a1 * w0;
    s11 += a1 * w1;
    s12 += a1 * w2;
    s13 += a1 * w3;
    const a2 = x[p2 + d]!;
    s20 += a2 * w0;
    s21 += a2 * w1;
    s22 += a2 * w2;
    s23 += a2 * w3;
    const a3 = x[p3 + d]!;
    s30 += a3 * w0;
    s31 += a3 * w1;
    s32 += a3 * w2;
    s33 += a3 * w3;
  }
  const z0 = y0 + oc, z1 = z0 + o, z2 = z1 + o, z3 = z2 + o;
  y[z0] = s00;
  y[z0 + 1] = s01;
  y[z0 + 2] = s02;
  y[z0 + 3] = s03;
  y[z1] = s10;
  y[z1 + 1] = s11;
  y[z1 + 2] = s12;
  y[z1 + 3] = s13;
  y[z2] = s20;
  y[z2 + 1] = s21;
  y[z2 + 2] = s22;
  y[z2 + 3] = s23;
  y[z3] = s30;
  y[z3 + 1] = s31;
  y[z3 + 2] = s32;
  y[z3 + 3] = s33;
}

/** Output pixels `p .. p + 3 step` x channel `oc`. */
function forwardColumn(
  x: Float32Array,
  wf: Float64Array,
  off: Int32Array,
  p0: number,
  step: number,
  o: number,
  oc: number,
  y: Float32Array,
  y0: number,
): void {
  const p1 = p0 + step, p2 = p1 + step, p3 = p2 + step;
  const taps = off.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let iw = oc;
  for (let t = 0; t < taps; t++) {
    const d = off[t]!, wt = wf[iw]!;
    iw += o;
    s0 += x[p0 + d]! * wt;
    s1 += x[p1 + d]! * wt;
    s2 += x[p2 + d]! * wt;
    s3 += x[p3 + d]! * wt;
  }
  y[y0 + oc] = s0;
  y[y0 + o + oc] = s1;
  y[y0 + 2 * o + oc] = s2;
  y[y0 + 3 * o + oc] = s3;
}

/** One output pixel, every channel. */
function forwardPixel(
  x: Float32Array,
  wf: Float64Array,
  off: Int32Array,
  p: number,
  o: number,
  y: Float32Array,
  y0: number,
): void {
  const taps = off.length;
  for (let oc = 0; oc < o; oc++) {
    let s = 0;
    let iw = oc;
    for (let t = 0; t < taps; t++) {
      s += x[p + off[t]!]! * wf[iw]!;
      iw += o;
    }
    y[y0 + oc] = s;
  }
}

/**
 * Filter gradient of taps `[t0, t1)` (flattened `(ky, kx, ci)`) of an
 * unpadded geometry into `dw`. Taps are taken four at a time; each output
 * element sums image by image, output positions in row-major order.
 *
 * @internal
 * @param x Input `[n, h, w, c]` (already padded).
 * @param dy Output gradient `[n, outH, outW, o]`.
 * @param g The geometry (all padding 0).
 * @param dw Filter gradient `[kh * kw * c, o]`, written in rows `[t0, t1)` only.
 * @param t0 First tap.
 * @param t1 End of the taps.
 * @returns Nothing; `dw` is written in place.
 */
export function directFilterRange(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  dw: Float32Array,
  t0: number,
  t1: number,
): void {
  const { n, h, w, c, o, outH, outW } = g;
  if (t1 <= t0) return;
  const all = tapOffsets(g);
  // Offsets of this range, padded to a multiple of 4 with offset 0 (the
  // padded taps are computed and thrown away).
  const span = t1 - t0, span4 = Math.ceil(span / 4) * 4;
  const off = new Int32Array(span4);
  off.set(all.subarray(t0, t1));
  const acc = new Float64Array(span4 * o);
  const o4 = o - (o % 4);
  const perImage = outH * outW * o;
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    const dyImg = b * perImage;
    for (let tt = 0; tt < span4; tt += 4) {
      for (let oc = 0; oc < o4; oc += 4) {
        filterTile(x, dy, g, off, tt, img, dyImg + oc, acc, tt * o + oc);
      }
      for (let oc = o4; oc < o; oc++) {
        filterColumn(x, dy, g, off, tt, img, dyImg + oc, acc, tt * o + oc);
      }
    }
  }
  const end = span * o;
  for (let i = 0; i < end; i++) dw[t0 * o + i] = acc[i]!;
}

/** Taps `tt .. tt + 3` x 4 output channels over one image, added to `acc`. */
function filterTile(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  off: Int32Array,
  tt: number,
  img: number,
  dy0: number,
  acc: Float64Array,
  a0: number,
): void {
  const { w, c, o, outH, outW, strideH, strideW } = g;
  const rowStride = w * c, step = strideW * c;
  const d0 = off[tt]!, d1 = off[tt + 1]!, d2 = off[tt + 2]!, d3 = off[tt + 3]!;
  const a1 = a0 + o, a2 = a1 + o, a3 = a2 + o;
  let s00 = acc[a0]!, s01 = acc[a0 + 1]!, s02 = acc[a0 + 2]!;
  let s03 = acc[a0 + 3]!;
  let s10 = acc[a1]!, s11 = acc[a1 + 1]!, s12 = acc[a1 + 2]!;
  let s13 = acc[a1 + 3]!;
  let s20 = acc[a2]!, s21 = acc[a2 + 1]!, s22 = acc[a2 + 2]!;
  let s23 = acc[a2 + 3]!;
  let s30 = acc[a3]!, s31 = acc[a3 + 1]!, s32 = acc[a3 + 2]!;
  let s33 = acc[a3 + 3]!;
  let id = dy0;
  for (let oy = 0; oy < outH; oy++) {
    let p = img + oy * strideH * rowStride;
    for (let ox = 0; ox < outW; ox++) {
      const e0 = dy[id]!, e1 = dy[id + 1]!, e2 = dy[id + 2]!;
      const e3 = dy[id + 3]!;
      id += o;
      const v0 = x[p + d0]!;
      s00 += v0 * e0;
      s01 += v0 * e1;
      s02 += v0 * e2;
      s03 += v0 * e3;
      const v1 = x[p + d1]!;
      s10 += v1 * e0;
      s11 += v1 * e1;
      s12 += v1 * e2;
      s13 += v1 * e3;
      const v2 = x[p + d2]!;
      s20 += v2 * e0;
      s21 += v2 * e1;
      s22 += v2 * e2;
      s23 += v2 * e3;
      const v3 = x[p + d3]!;
      s30 += v3 * e0;
      s31 += v3 * e1;
      s32 += v3 * e2;
      s33 += v3 * e3;
      p += step;
    }
  }
  acc[a0] = s00;
  acc[a0 + 1] = s01;
  acc[a0 + 2] = s02;
  acc[a0 + 3] = s03;
  acc[a1] = s10;
  acc[a1 + 1] = s11;
  acc[a1 + 2] = s12;
  acc[a1 + 3] = s13;
  acc[a2] = s20;
  acc[a2 + 1] = s21;
  acc[a2 + 2] = s22;
  acc[a2 + 3] = s23;
  acc[a3] = s30;
  acc[a3 + 1] = s31;
  acc[a3 + 2] = s32;
  acc[a3 + 3] = s33;
}

/** Taps `tt .. tt + 3` x one output channel over one image, added to `acc`. */
function filterColumn(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
  off: Int32Array,
  tt: number,
  img: number,
  dy0: number,
  acc: Float64Array,
  a0: number,
): void {
  const { w, c, o, outH, outW, strideH, strideW } = g;
  const rowStride = w * c, step = strideW * c;
  const d0 = off[tt]!, d1 = off[tt + 1]!, d2 = off[tt + 2]!, d3 = off[tt + 3]!;
  const a1 = a0 + o, a2 = a1 + o, a3 = a2 + o;
  let s0 = acc[a0]!, s1 = acc[a1]!, s2 = acc[a2]!, s3 = acc[a3]!;
  let id = dy0;
  for (let oy = 0; oy < outH; oy++) {
    let p = img + oy * strideH * rowStride;
    for (let ox = 0; ox < outW; ox++) {
      const e = dy[id]!;
      id += o;
      s0 += x[p + d0]! * e;
      s1 += x[p + d1]! * e;
      s2 += x[p + d2]! * e;
      s3 += x[p + d3]! * e;
      p += step;
    }
  }
  acc[a0] = s0;
  acc[a1] = s1;
  acc[a2] = s2;
  acc[a3] = s3;
}
