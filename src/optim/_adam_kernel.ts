/**
 * The fused Adam kernel: one pass over typed arrays instead of eleven tensor
 * ops. Arrays in, fresh arrays out; inputs are never mutated.
 *
 * @internal
 * @module
 */

import { stageRun, wasm } from "../kernels/wasm/runtime.ts";

/**
 * One Adam step for one leaf: the new moments `m = beta1 m + (1 - beta1) g`,
 * `v = beta2 v + (1 - beta2) g^2` and the update `scale * m / (sqrt(v) + epsHat)`,
 * or with parameters `p` the new parameters `p + update` (one rounding).
 *
 * @internal
 */
export function adamKernel(
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  beta1: number,
  beta2: number,
  scale: number,
  epsHat: number,
  p?: Float32Array,
): [m: Float32Array, v: Float32Array, update: Float32Array] {
  const n = g.length;
  if (n >= 1024 && n % 4 === 0) {
    // WebAssembly SIMD in float64 lanes: the same bits as the loop below.
    const ins = p === undefined ? [g, m, v] : [g, m, v, p];
    const r = stageRun(ins, 3 * n, ([pg, pm, pv, pp], po) => {
      if (pg === undefined || pm === undefined || pv === undefined) {
        throw new RangeError("Internal error: expected 3 input pointers");
      }
      wasm().adam(pg, pm, pv, n, beta1, beta2, scale, epsHat, pp ?? 0, po);
    });
    if (r !== null) {
      return [r.subarray(0, n), r.subarray(n, 2 * n), r.subarray(2 * n)];
    }
  }
  const mo = new Float32Array(n), vo = new Float32Array(n);
  const uo = new Float32Array(n);
  const a1 = 1 - beta1, a2 = 1 - beta2;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    const mi = beta1 * m[i]! + a1 * gi;
    const vi = beta2 * v[i]! + a2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    const u = scale * mi / (Math.sqrt(vi) + epsHat);
    uo[i] = p === undefined ? u : p[i]! + u;
  }
  return [mo, vo, uo];
}
