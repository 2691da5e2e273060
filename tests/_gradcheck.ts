// Shared checks of differentiation rules: finite differences for forward mode,
// the dot-product test for reverse mode, and a second-order check.
import { type AnyTensor, grad, jvp, mul, sum, tensor, vjp } from "../mod.ts";

/** A tiny deterministic generator for test data (not the library's PRNG). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Random float32 tensor with values in [lo, hi). */
export function rand(
  shape: readonly number[],
  rnd: () => number,
  lo = -1,
  hi = 1,
): AnyTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * rnd();
  return tensor(d, shape) as AnyTensor;
}

function dot(a: AnyTensor, b: AnyTensor): number {
  const x = a.toFlat(), y = b.toFlat();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

function axpy(x: AnyTensor, t: AnyTensor, h: number): AnyTensor {
  const a = x.toFlat(), b = t.toFlat();
  const o = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = a[i]! + h * b[i]!;
  return tensor(o, x.shape) as AnyTensor;
}

export type Fn = (...xs: AnyTensor[]) => AnyTensor;

export interface CheckResult {
  fdError: number;
  dotError: number;
  secondError: number;
}

/**
 * Runs the three checks of a rule on random inputs and returns the relative
 * errors: forward mode against central differences, reverse against forward
 * (dot-product test), and a Hessian-vector product against differences of
 * the gradient.
 */
export function checkRule(
  f: Fn,
  inputs: AnyTensor[],
  rnd: () => number,
  options: { eps?: number; second?: boolean } = {},
): CheckResult {
  const eps = options.eps ?? 1e-2;
  const ts = inputs.map((x) => rand(x.shape, rnd));
  const [y, ty] = jvp(f, inputs, ts);
  // Central differences; with float32 evaluation the step cannot be tiny.
  const plus = f(...inputs.map((x, i) => axpy(x, ts[i]!, eps)));
  const minus = f(...inputs.map((x, i) => axpy(x, ts[i]!, -eps)));
  const p = plus.toFlat(), m = minus.toFlat(), t = ty.toFlat();
  let fdError = 0, scale = 1e-3;
  for (let i = 0; i < t.length; i++) {
    const fd = (p[i]! - m[i]!) / (2 * eps);
    fdError = Math.max(fdError, Math.abs(fd - t[i]!));
    scale = Math.max(scale, Math.abs(fd));
  }
  fdError /= scale;
  // Dot-product test: <J t, c> == <t, J^T c>.
  const c = rand(y.shape, rnd);
  const [, pullback] = vjp(f, ...inputs);
  const cts = pullback(c) as AnyTensor[];
  const lhs = dot(ty, c);
  let rhs = 0;
  cts.forEach((g, i) => (rhs += dot(ts[i]!, g)));
  const dotError = Math.abs(lhs - rhs) /
    Math.max(1e-3, Math.abs(lhs), Math.abs(rhs));
  // Second order: jvp of the gradient of <f, c> (w.r.t. the first input)
  // against central differences of that gradient.
  let secondError = 0;
  if (options.second !== false) {
    const rest = inputs.slice(1);
    const g = (x: AnyTensor): AnyTensor =>
      grad((z: AnyTensor) => sum(mul(f(z, ...rest), c)) as AnyTensor)(x);
    const [, hv] = jvp(g, [inputs[0]!], [ts[0]!]);
    const gp = g(axpy(inputs[0]!, ts[0]!, eps)).toFlat();
    const gm = g(axpy(inputs[0]!, ts[0]!, -eps)).toFlat();
    const h = hv.toFlat();
    let s2 = 1e-3;
    for (let i = 0; i < h.length; i++) {
      const fd = (gp[i]! - gm[i]!) / (2 * eps);
      secondError = Math.max(secondError, Math.abs(fd - h[i]!));
      s2 = Math.max(s2, Math.abs(fd));
    }
    secondError /= s2;
  }
  return { fdError, dotError, secondError };
}
