// Shared checks of differentiation rules: finite differences for forward mode,
// the dot-product test for reverse mode, and a second-order check. Also a
// recording transformation that tells which primitives a function applies
// (for the tests that must cover every primitive), without touching them.
import { type AnyTensor, grad, jvp, mul, sum, tensor, vjp } from "../mod.ts";
import {
  bind,
  JvpTracer,
  type Primitive,
  Trace,
  Tracer,
  VjpTracer,
  withTrace,
} from "../src/autodiff/core.ts";

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
  return tensor(d, shape);
}

/** Throws unless `got` has the shape and dtype of `want` (a rule's output). */
function sameLayout(what: string, got: AnyTensor, want: AnyTensor): void {
  const show = (t: AnyTensor) => `[${t.shape.join(", ")}] ${t.dtype}`;
  if (show(got) !== show(want)) {
    throw new Error(
      `Expected the ${what} to be ${show(want)} but found ${show(got)}`,
    );
  }
}

function dot(a: AnyTensor, b: AnyTensor): number {
  const x = a.toFlat(), y = b.toFlat();
  if (x.length !== y.length) {
    throw new Error(`dot of ${x.length} and ${y.length} values`);
  }
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

function axpy(x: AnyTensor, t: AnyTensor, h: number): AnyTensor {
  const a = x.toFlat(), b = t.toFlat();
  const o = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = a[i]! + h * b[i]!;
  return tensor(o, x.shape);
}

export type Fn = (...xs: AnyTensor[]) => AnyTensor;

/** Called for each primitive applied by a recorded function, with its inputs one level down. */
export type OnBind = (
  prim: Primitive<never>,
  inputs: readonly AnyTensor[],
) => void;

class RecordTracer extends Tracer {}

/**
 * A transformation that changes nothing: it reports each primitive applied
 * to its values and applies it one level down. Placed innermost (just around
 * `f`), it sees exactly the primitives whose rules the enclosing
 * transformation runs, given their inputs as that transformation sees them.
 */
class RecordTrace extends Trace {
  readonly onBind: OnBind;
  constructor(level: number, onBind: OnBind) {
    super(level);
    this.onBind = onBind;
  }
  process<P>(
    prim: Primitive<P>,
    inputs: readonly AnyTensor[],
    params: P,
  ): AnyTensor {
    const below = inputs.map((x) =>
      x instanceof RecordTracer && x.trace === this ? x.primal : x
    );
    this.onBind(prim, below);
    return new RecordTracer(this, bind(prim, below, params));
  }
}

/** `f`, reporting to `onBind` every primitive it applies to its arguments (or values computed from them). */
export function recording(f: Fn, onBind: OnBind): Fn {
  return (...xs) =>
    withTrace((level) => new RecordTrace(level, onBind), (trace) => {
      const out = f(...xs.map((x) => new RecordTracer(trace, x)));
      return out instanceof RecordTracer && out.trace === trace
        ? out.primal
        : out;
    });
}

export interface CheckOptions {
  /** The central-difference step. */
  eps?: number;
  /** Whether to run the second-order check (default true). */
  second?: boolean;
  /**
   * The inputs that get a tangent (and a cotangent); the others are held
   * constant, so the one-sided branches of the rules run. Default: all.
   */
  vary?: readonly number[];
}

export interface CheckResult {
  fdError: number;
  dotError: number;
  secondError: number;
  /** The primitives whose jvp rule ran (applied to a tangent-carrying value). */
  jvpRan: ReadonlySet<Primitive<never>>;
  /** The primitives recorded on the tape for reverse mode (their vjp rule ran). */
  vjpRan: ReadonlySet<Primitive<never>>;
}

/**
 * Runs the three checks of a rule on random inputs and returns the relative
 * errors: forward mode against central differences, reverse against forward
 * (dot-product test), and a Hessian-vector product against differences of
 * the gradient. Throws if a tangent or cotangent has the wrong shape or
 * dtype (a rule that forgets to sum out a broadcast, say).
 */
export function checkRule(
  f: Fn,
  inputs: AnyTensor[],
  rnd: () => number,
  options: CheckOptions = {},
): CheckResult {
  const eps = options.eps ?? 1e-2;
  const vary = options.vary ?? inputs.map((_, i) => i);
  // `g` takes the varying inputs only; the others are constants inside it.
  const xs = vary.map((i) => inputs[i]!);
  const g: Fn = (...vs) =>
    f(...inputs.map((x, i) => vary.includes(i) ? vs[vary.indexOf(i)]! : x));
  const jvpRan = new Set<Primitive<never>>();
  const vjpRan = new Set<Primitive<never>>();
  const seenWith =
    (set: Set<Primitive<never>>, is: (x: AnyTensor) => boolean): OnBind =>
    (prim, ins) => {
      if (ins.some(is)) set.add(prim);
    };
  const ts = xs.map((x) => rand(x.shape, rnd));
  const [y, ty] = jvp(
    recording(g, seenWith(jvpRan, (x) => x instanceof JvpTracer)),
    xs,
    ts,
  );
  sameLayout("tangent of the output", ty, y);
  // Central differences; with float32 evaluation the step cannot be tiny.
  const plus = g(...xs.map((x, i) => axpy(x, ts[i]!, eps)));
  const minus = g(...xs.map((x, i) => axpy(x, ts[i]!, -eps)));
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
  const [, pullback] = vjp(
    recording(g, seenWith(vjpRan, (x) => x instanceof VjpTracer)),
    ...xs,
  );
  const cts = pullback(c);
  cts.forEach((ct, i) =>
    sameLayout(`cotangent of input ${vary[i]}`, ct, xs[i]!)
  );
  const lhs = dot(ty, c);
  let rhs = 0;
  cts.forEach((ct, i) => (rhs += dot(ts[i]!, ct)));
  const dotError = Math.abs(lhs - rhs) /
    Math.max(1e-3, Math.abs(lhs), Math.abs(rhs));
  // Second order: jvp of the gradient of <g, c> (w.r.t. the first varying
  // input) against central differences of that gradient.
  let secondError = 0;
  if (options.second !== false) {
    const rest = xs.slice(1);
    const gr = (x: AnyTensor): AnyTensor =>
      grad((z: AnyTensor): AnyTensor => sum(mul(g(z, ...rest), c)))(x);
    const [, hv] = jvp(gr, [xs[0]!], [ts[0]!]);
    sameLayout("Hessian-vector product", hv, xs[0]!);
    const gp = gr(axpy(xs[0]!, ts[0]!, eps)).toFlat();
    const gm = gr(axpy(xs[0]!, ts[0]!, -eps)).toFlat();
    const h = hv.toFlat();
    let s2 = 1e-3;
    for (let i = 0; i < h.length; i++) {
      const fd = (gp[i]! - gm[i]!) / (2 * eps);
      secondError = Math.max(secondError, Math.abs(fd - h[i]!));
      s2 = Math.max(s2, Math.abs(fd));
    }
    secondError /= s2;
  }
  return { fdError, dotError, secondError, jvpRan, vjpRan };
}

function isPrimitive(x: unknown): x is Primitive<never> {
  return typeof x === "object" && x !== null && "name" in x &&
    typeof x.name === "string" && "impl" in x &&
    typeof x.impl === "function" && "jvp" in x &&
    typeof x.jvp === "function" && "vjp" in x &&
    typeof x.vjp === "function" && "batch" in x &&
    typeof x.batch === "function";
}

/** One primitive of a module, found by name. */
export function prim(
  module: { readonly primitives: readonly Primitive<never>[] },
  name: string,
): Primitive<never> {
  const found = module.primitives.find((p) => p.name === name);
  if (found === undefined) throw new Error(`no primitive named ${name}`);
  return found;
}

/**
 * The `primitives` list of every module of src/ops that has one, by file
 * name: found by listing the directory, so a new ops file is covered by the
 * tables without being named in them.
 */
export async function opsPrimitives(): Promise<
  Map<string, readonly Primitive<never>[]>
> {
  const dir = new URL("../src/ops/", import.meta.url);
  const files = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => e.name)
    .sort();
  const out = new Map<string, readonly Primitive<never>[]>();
  for (const file of files) {
    const m: Record<string, unknown> = await import(new URL(file, dir).href);
    const list = m["primitives"];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every(isPrimitive)) {
      throw new TypeError(
        `Expected src/ops/${file} to export a list of primitives`,
      );
    }
    out.set(file, list);
  }
  return out;
}
