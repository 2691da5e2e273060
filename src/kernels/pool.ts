/**
 * Pooling kernels over NHWC images: max pooling (with the argmax positions
 * that route its derivatives), the gather and scatter-add through those
 * positions, average pooling and its transpose.
 *
 * A window is clipped to the image: padding never wins a max and is not
 * counted in an average (TensorFlow's convention).
 *
 * @internal
 * @module
 */

import { POOL_FIELDS } from "./wasm/pool_module.ts";
import { runElementwiseJob } from "./wasm_jobs.ts";
import { JOB_MAX_POOL } from "./threads.ts";

/** Everything the pooling kernels need to know about the shapes. @internal */
export interface Pool2dGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly kh: number;
  readonly kw: number;
  readonly outH: number;
  readonly outW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
}

/**
 * Max pooling: `out[i]` is the largest input in window `i` and `argmax[i]`
 * its flat index in `x` (the first in row-major window order on ties;
 * padding never wins; 0 and -1 for a window made only of padding).
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param g The geometry.
 * @returns The pooled values `[n, outH, outW, c]` and their argmax indices.
 */
export function maxPoolForward(
  x: Float32Array,
  g: Pool2dGeometry,
): { out: Float32Array; argmax: Int32Array } {
  const { n, h, w, c, kh, outH, outW, strideH } = g;
  const size = n * outH * outW * c;
  if (c % 4 === 0 && size >= 1024) {
    const geo = new Float32Array(
      Int32Array.from(POOL_FIELDS, (f) => g[f]).buffer,
    );
    const r = runElementwiseJob(
      JOB_MAX_POOL,
      [size],
      x,
      geo,
      2 * size,
      n,
      1,
      4 * x.length,
    );
    if (r !== null) {
      return {
        out: r.subarray(0, size),
        argmax: new Int32Array(r.buffer, r.byteOffset + 4 * size, size),
      };
    }
  }
  const out = new Float32Array(size);
  const argmax = new Int32Array(size);
  // Branch-free selection (a data-dependent branch costs 5x here): `at`
  // moves to a later position only where its value is strictly larger, by
  // masking; the value is copied by its bits. One call per output row keeps
  // the loops short enough for V8 to optimise whole (see conv2d_direct.ts).
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length);
  const oi = new Int32Array(out.buffer);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - g.padTop;
      const ya = y0 < 0 ? 0 : y0, yb = y0 + kh > h ? h : y0 + kh;
      const o = ((b * outH + oy) * outW) * c;
      maxPoolRow(x, xi, g, b * h * w * c, ya, yb, oi, argmax, o);
    }
  }
  return { out, argmax };
}

/** One output row of max pooling: image rows `[ya, yb)`, output from `o`. */
function maxPoolRow(
  x: Float32Array,
  xi: Int32Array,
  g: Pool2dGeometry,
  img: number,
  ya: number,
  yb: number,
  oi: Int32Array,
  argmax: Int32Array,
  o: number,
): void {
  const { w, c, kw, outW, strideW } = g;
  const rowStride = w * c;
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * strideW - g.padLeft;
    const xa = x0 < 0 ? 0 : x0, xb = x0 + kw > w ? w : x0 + kw;
    if (ya >= yb || xa >= xb) {
      for (let ci = 0; ci < c; ci++) {
        oi[o] = 0;
        argmax[o++] = -1;
      }
      continue;
    }
    const first = img + ya * rowStride + xa * c;
    if (yb - ya === 2 && xb - xa === 2) {
      // The common 2 x 2 window, unrolled.
      for (let ci = 0; ci < c; ci++) {
        let at = first + ci, cand = at + c;
        at ^= (at ^ cand) & -(x[cand]! > x[at]!);
        cand = first + ci + rowStride;
        at ^= (at ^ cand) & -(x[cand]! > x[at]!);
        cand += c;
        at ^= (at ^ cand) & -(x[cand]! > x[at]!);
        oi[o] = xi[at]!;
        argmax[o++] = at;
      }
      continue;
    }
    for (let ci = 0; ci < c; ci++) {
      let at = first + ci;
      for (let y = ya; y < yb; y++) {
        let cand = img + y * rowStride + xa * c + ci;
        for (let xx = xa; xx < xb; xx++) {
          at ^= (at ^ cand) & -(x[cand]! > x[at]!);
          cand += c;
        }
      }
      oi[o] = xi[at]!;
      argmax[o++] = at;
    }
  }
}

/**
 * Gathers `t` at the argmax positions: `out[i] = t[argmax[i]]`, or 0 where
 * `argmax[i]` is negative. The forward-mode derivative of max pooling.
 *
 * @internal
 * @param t The values to gather from (same size as the pooled input).
 * @param argmax Flat indices into `t`, -1 for none.
 * @returns The gathered values, one per argmax entry.
 */
export function gatherByIndex(
  t: Float32Array,
  argmax: Int32Array,
): Float32Array {
  const size = argmax.length;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const j = argmax[i]!;
    out[i] = j < 0 ? 0 : t[j]!;
  }
  return out;
}

/**
 * Scatters `dy` back to the argmax positions, adding where they repeat:
 * `dx[argmax[i]] += dy[i]`. The transpose of {@linkcode gatherByIndex} and
 * the reverse-mode derivative of max pooling.
 *
 * @internal
 * @param dy The values to scatter, one per argmax entry.
 * @param argmax Flat indices into the result, -1 for none.
 * @param size The size of the result.
 * @returns A fresh array of `size` elements.
 */
export function scatterAddByIndex(
  dy: Float32Array,
  argmax: Int32Array,
  size: number,
): Float32Array {
  // A loop straight into the fresh array on every path: the WebAssembly
  // scatter measured slower at every size (dy of 73,728 floats 0.36 vs
  // 0.25 ms on one thread, 0.54 vs 0.43 on two; 1.4 million 1.8 vs 1.2
  // ms), as it copied dy and argmax in and the whole result out.
  const m = argmax.length;
  const dx = new Float32Array(size);
  for (let i = 0; i < m; i++) {
    const j = argmax[i]!;
    if (j >= 0) dx[j]! += dy[i]!;
  }
  return dx;
}

/**
 * Visits every output position whose window holds at least one input, in
 * output order: `img` is the offset of its image in the input, `[ya, yb)`
 * and `[xa, xb)` the window's rows and columns clipped to the image, `o` the
 * offset of its first channel in the output and `count` the inputs it holds.
 */
function eachWindow(
  g: Pool2dGeometry,
  visit: (
    img: number,
    ya: number,
    yb: number,
    xa: number,
    xb: number,
    o: number,
    count: number,
  ) => void,
): void {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW } = g;
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - g.padTop;
      const ya = y0 < 0 ? 0 : y0, yb = y0 + kh > h ? h : y0 + kh;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - g.padLeft;
        const xa = x0 < 0 ? 0 : x0, xb = x0 + kw > w ? w : x0 + kw;
        if (ya < yb && xa < xb) {
          const o = ((b * outH + oy) * outW + ox) * c;
          visit(img, ya, yb, xa, xb, o, (yb - ya) * (xb - xa));
        }
      }
    }
  }
}

/**
 * Average pooling: each output is the mean of the non-padding inputs of its
 * window (0 for a window made only of padding).
 *
 * @internal
 * @param x Input `[n, h, w, c]`.
 * @param g The geometry.
 * @returns The pooled values `[n, outH, outW, c]`.
 */
export function avgPoolForward(
  x: Float32Array,
  g: Pool2dGeometry,
): Float32Array {
  const { n, w, c, outH, outW } = g;
  const out = new Float32Array(n * outH * outW * c);
  const acc = new Float64Array(c);
  const rowStride = w * c;
  eachWindow(g, (img, ya, yb, xa, xb, o, count) => {
    acc.fill(0);
    for (let y = ya; y < yb; y++) {
      for (let xx = xa; xx < xb; xx++) {
        const src = img + y * rowStride + xx * c;
        for (let ci = 0; ci < c; ci++) acc[ci]! += x[src + ci]!;
      }
    }
    for (let ci = 0; ci < c; ci++) out[o + ci] = acc[ci]! / count;
  });
  return out;
}

/**
 * The transpose of {@linkcode avgPoolForward}: spreads each output gradient
 * evenly over the non-padding inputs of its window.
 *
 * @internal
 * @param dy Output gradient `[n, outH, outW, c]`.
 * @param g The geometry.
 * @returns The input gradient `[n, h, w, c]`.
 */
export function avgPoolBackward(
  dy: Float32Array,
  g: Pool2dGeometry,
): Float32Array {
  const { n, h, w, c } = g;
  const dx = new Float32Array(n * h * w * c);
  const share = new Float64Array(c);
  const rowStride = w * c;
  eachWindow(g, (img, ya, yb, xa, xb, o, count) => {
    for (let ci = 0; ci < c; ci++) share[ci] = dy[o + ci]! / count;
    for (let y = ya; y < yb; y++) {
      for (let xx = xa; xx < xb; xx++) {
        const dst = img + y * rowStride + xx * c;
        for (let ci = 0; ci < c; ci++) dx[dst + ci]! += share[ci]!;
      }
    }
  });
  return dx;
}
