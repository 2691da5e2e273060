/**
 * Single-precision matrix multiplication: packed panels and a 4x4 register
 * tile, blocked over k for the cache.
 *
 * @internal
 * @module
 */

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;

// Scratch for packed panels, grown on demand and reused between calls.
// Never the caller's arrays.
let packA = new Float32Array(MC * KC);
let packB = new Float32Array(KC * 256);

/**
 * `c[cOff..] (+)= op(a) @ op(b)` for row-major matrices, where `op(a)` is
 * `[m, k]` (stored `[k, m]` when `transA`) and `op(b)` is `[k, n]` (stored
 * `[n, k]` when `transB`). Writes only the `m * n` block of `c` at `cOff`,
 * an output buffer the caller owns; with `accumulate` it adds to it.
 *
 * @internal
 */
export function gemmInto(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, cOff, cOff + m * n);
  if (m === 0 || n === 0 || k === 0) return;
  const nPanels = Math.ceil(n / NR);
  const needB = nPanels * NR * Math.min(k, KC);
  if (packB.length < needB) packB = new Float32Array(needB);
  const needA = Math.ceil(Math.min(m, MC) / MR) * MR * Math.min(k, KC);
  if (packA.length < needA) packA = new Float32Array(needA);
  const pa = packA, pb = packB;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = Math.min(KC, k - p0);
    // Pack B[p0:p0+kc, :] into column panels of width NR: pb[(jp*kc + p)*NR + jj].
    for (let jp = 0; jp < nPanels; jp++) {
      const j0 = jp * NR;
      const base = jp * kc * NR;
      for (let p = 0; p < kc; p++) {
        const dst = base + p * NR;
        for (let jj = 0; jj < NR; jj++) {
          const j = j0 + jj;
          pb[dst + jj] = j < n
            ? (transB ? b[bOff + j * k + p0 + p]! : b[bOff + (p0 + p) * n + j]!)
            : 0;
        }
      }
    }
    for (let i0 = 0; i0 < m; i0 += MC) {
      const mc = Math.min(MC, m - i0);
      const mPanels = Math.ceil(mc / MR);
      // Pack A[i0:i0+mc, p0:p0+kc] into row panels of height MR: pa[(ip*kc + p)*MR + r].
      for (let ip = 0; ip < mPanels; ip++) {
        const base = ip * kc * MR;
        for (let r = 0; r < MR; r++) {
          const i = i0 + ip * MR + r;
          if (i >= m) {
            for (let p = 0; p < kc; p++) pa[base + p * MR + r] = 0;
          } else if (transA) {
            for (let p = 0; p < kc; p++) {
              pa[base + p * MR + r] = a[aOff + (p0 + p) * m + i]!;
            }
          } else {
            const row = aOff + i * k + p0;
            for (let p = 0; p < kc; p++) pa[base + p * MR + r] = a[row + p]!;
          }
        }
      }
      for (let ip = 0; ip < mPanels; ip++) {
        const ia = ip * kc * MR;
        const i = i0 + ip * MR;
        const rows = Math.min(MR, m - i);
        for (let jp = 0; jp < nPanels; jp++) {
          let ib = jp * kc * NR;
          let ao = ia;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let p = 0; p < kc; p++) {
            const a0 = pa[ao]!,
              a1 = pa[ao + 1]!,
              a2 = pa[ao + 2]!,
              a3 = pa[ao + 3]!;
            const b0 = pb[ib]!,
              b1 = pb[ib + 1]!,
              b2 = pb[ib + 2]!,
              b3 = pb[ib + 3]!;
            c00 += a0 * b0;
            c01 += a0 * b1;
            c02 += a0 * b2;
            c03 += a0 * b3;
            c10 += a1 * b0;
            c11 += a1 * b1;
            c12 += a1 * b2;
            c13 += a1 * b3;
            c20 += a2 * b0;
            c21 += a2 * b1;
            c22 += a2 * b2;
            c23 += a2 * b3;
            c30 += a3 * b0;
            c31 += a3 * b1;
            c32 += a3 * b2;
            c33 += a3 * b3;
            ao += MR;
            ib += NR;
          }
          const j = jp * NR;
          const cols = Math.min(NR, n - j);
          let o = cOff + i * n + j;
          if (rows === MR && cols === NR) {
            c[o]! += c00;
            c[o + 1]! += c01;
            c[o + 2]! += c02;
            c[o + 3]! += c03;
            o += n;
            c[o]! += c10;
            c[o + 1]! += c11;
            c[o + 2]! += c12;
            c[o + 3]! += c13;
            o += n;
            c[o]! += c20;
            c[o + 1]! += c21;
            c[o + 2]! += c22;
            c[o + 3]! += c23;
            o += n;
            c[o]! += c30;
            c[o + 1]! += c31;
            c[o + 2]! += c32;
            c[o + 3]! += c33;
          } else {
            const t = [
              c00,
              c01,
              c02,
              c03,
              c10,
              c11,
              c12,
              c13,
              c20,
              c21,
              c22,
              c23,
              c30,
              c31,
              c32,
              c33,
            ];
            for (let r = 0; r < rows; r++) {
              for (let q = 0; q < cols; q++) c[o + r * n + q]! += t[r * 4 + q]!;
            }
          }
        }
      }
    }
  }
}

/**
 * `op(a) @ op(b)` as a fresh `[m, n]` array (see {@linkcode gemmInto}).
 *
 * @internal
 */
export function gemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): Float32Array {
  const c = new Float32Array(m * n);
  gemmInto(a, 0, b, 0, c, 0, m, k, n, transA, transB, true);
  return c;
}
