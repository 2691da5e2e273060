/**
 * Pooling kernels over NHWC images: max pooling (with the argmax positions
 * that route its derivatives), average pooling and its transpose.
 *
 * @internal
 * @module
 */

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
 * its flat index in `x` (the first in window order on ties; padding never
 * wins; -1 and 0 for a window made only of padding).
 *
 * @internal
 */
export function maxPoolForward(
  x: Float32Array,
  g: Pool2dGeometry,
): { out: Float32Array; argmax: Int32Array } {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } =
    g;
  const size = n * outH * outW * c;
  const out = new Float32Array(size);
  const argmax = new Int32Array(size);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  let o = 0;
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const ya = Math.max(0, y0), yb = Math.min(h, y0 + kh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const xa = Math.max(0, x0), xb = Math.min(w, x0 + kw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let iy = ya; iy < yb; iy++) {
          for (let ix = xa; ix < xb; ix++) {
            const base = img + (iy * w + ix) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch]!;
              if (v > best[ch]! || (at[ch] === -1 && v === v)) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        }
        for (let ch = 0; ch < c; ch++) {
          const a = at[ch]!;
          argmax[o] = a;
          out[o] = a < 0 ? 0 : best[ch]!;
          o++;
        }
      }
    }
  }
  return { out, argmax };
}

/**
 * `out[i] = t[argmax[i]]` (0 where `argmax[i]` is -1): max pooling's
 * forward-mode derivative.
 *
 * @internal
 */
export function gatherByIndex(
  t: Float32Array,
  argmax: Int32Array,
): Float32Array {
  const out = new Float32Array(argmax.length);
  for (let i = 0; i < argmax.length; i++) {
    const a = argmax[i]!;
    if (a >= 0) out[i] = t[a]!;
  }
  return out;
}

/**
 * `dx[argmax[i]] += dy[i]` into a zero array of `size`: max pooling's
 * backward, the transpose of {@linkcode gatherByIndex}.
 *
 * @internal
 */
export function scatterAddByIndex(
  dy: Float32Array,
  argmax: Int32Array,
  size: number,
): Float32Array {
  const dx = new Float32Array(size);
  for (let i = 0; i < argmax.length; i++) {
    const a = argmax[i]!;
    if (a >= 0) dx[a]! += dy[i]!;
  }
  return dx;
}

/**
 * Average pooling; each window is divided by its number of real
 * (non-padding) elements, as TensorFlow does.
 *
 * @internal
 */
export function avgPoolForward(
  x: Float32Array,
  g: Pool2dGeometry,
): Float32Array {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } =
    g;
  const out = new Float32Array(n * outH * outW * c);
  let o = 0;
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const ya = Math.max(0, y0), yb = Math.min(h, y0 + kh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const xa = Math.max(0, x0), xb = Math.min(w, x0 + kw);
        const count = (yb - ya) * (xb - xa);
        for (let iy = ya; iy < yb; iy++) {
          for (let ix = xa; ix < xb; ix++) {
            const base = img + (iy * w + ix) * c;
            for (let ch = 0; ch < c; ch++) out[o + ch]! += x[base + ch]!;
          }
        }
        const inv = count > 0 ? 1 / count : 0;
        for (let ch = 0; ch < c; ch++) out[o + ch]! *= inv;
        o += c;
      }
    }
  }
  return out;
}

/**
 * The transpose of {@linkcode avgPoolForward}: spreads each output gradient
 * evenly over the real elements of its window. A fresh `[n, h, w, c]` array.
 *
 * @internal
 */
export function avgPoolBackward(
  dy: Float32Array,
  g: Pool2dGeometry,
): Float32Array {
  const { n, h, w, c, kh, kw, outH, outW, strideH, strideW, padTop, padLeft } =
    g;
  const dx = new Float32Array(n * h * w * c);
  let o = 0;
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const ya = Math.max(0, y0), yb = Math.min(h, y0 + kh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const xa = Math.max(0, x0), xb = Math.min(w, x0 + kw);
        const count = (yb - ya) * (xb - xa);
        const inv = count > 0 ? 1 / count : 0;
        for (let iy = ya; iy < yb; iy++) {
          for (let ix = xa; ix < xb; ix++) {
            const base = img + (iy * w + ix) * c;
            for (let ch = 0; ch < c; ch++) dx[base + ch]! += dy[o + ch]! * inv;
          }
        }
        o += c;
      }
    }
  }
  return dx;
}
