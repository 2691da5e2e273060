/**
 * `jit`: stage once per argument signature, plan the program (dead code
 * removed, constant subexpressions computed once, elementwise chains and the
 * reductions that consume them fused into single passes, intermediate
 * buffers recycled), and run the plan on every call.
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  type DType,
  fromData,
  type Shape,
  sizeOf,
} from "../tensor.ts";
import { currentDepth, type Primitive, Tracer } from "../autodiff/core.ts";
import { type TreeDef, treeFlatten, treeUnflatten } from "../pytree.ts";
import {
  type Equation,
  inputOf,
  lookup,
  type Program,
  type Var,
} from "./ir.ts";
import { stage } from "./trace.ts";
import { numbersParam } from "./params.ts";
import { evalProgram } from "./eval.ts";
import {
  compileFused,
  type FusedKernel,
  type FusedOp,
  type FusedSpec,
  FUSIBLE,
  interpretFused,
  type Operand,
} from "./fuse.ts";

type Arr = Float32Array | Int32Array;

/** Options of {@linkcode jit}. */
export interface JitOptions {
  /**
   * How elementwise chains run. `"tiles"` runs each op of a chain over
   * tiles of 1024 values that stay in cache, so the chain makes one pass
   * over memory. `"codegen"` generates one JavaScript function per chain
   * with every op inlined per element (it falls back to tiles where
   * `new Function` is forbidden). `"auto"` (default) takes tiles for chains
   * with data-dependent selections (relu, max, where, comparisons) or calls
   * to transcendental functions, where per-element code stalls on
   * mispredicted branches and long dependency chains, and generated code
   * for plain arithmetic (such as an Adam update), where it is the faster
   * (see bench/jit_bench.ts). `"none"` runs every primitive on its own
   * kernel.
   */
  fusion?: "auto" | "tiles" | "codegen" | "none";
}

interface PrimStep {
  readonly kind: "prim";
  readonly prim: Primitive<unknown>;
  readonly params: unknown;
  readonly ins: readonly number[];
  readonly out: number;
  release: number[];
  /** Values no later step reads: their references are dropped for the collector. */
  drop: number[];
}

interface Slot {
  readonly slot: number;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
}

interface FusedStep {
  readonly kind: "fused";
  readonly kernel: FusedKernel;
  readonly prims: readonly string[];
  readonly exts: readonly number[];
  readonly writes: readonly Slot[];
  readonly reduce: Slot | undefined;
  release: number[];
  /** Values no later step reads: their references are dropped for the collector. */
  drop: number[];
}

type Step = PrimStep | FusedStep;

interface Plan {
  readonly program: Program;
  readonly slots: number;
  readonly consts: readonly (readonly [number, AnyTensor])[];
  readonly inputs: readonly number[];
  readonly steps: readonly Step[];
  readonly outputs: readonly number[];
}

/** Branch-free primitives without calls: chains of only these run as generated code under "auto". */
const ARITHMETIC = new Set([
  "add",
  "sub",
  "mul",
  "div",
  "neg",
  "sqrt",
  "abs",
  "cast",
  "stopGradient",
]);

/** Primitives whose output shares its input's buffer. */
const ALIASING = new Set(["reshape", "stopGradient"]);

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

interface Cluster {
  readonly shape: Shape;
  readonly members: Equation[];
  reduce: Equation | undefined;
  open: boolean;
  /** The index of its last equation: where it runs. */
  at: number;
}

function isReduction(e: Equation): boolean {
  if (
    e.inputs.length !== 1 || (e.primitive !== "sum" && e.primitive !== "max")
  ) {
    return false;
  }
  const axes = numbersParam(e.params, "axes", e.primitive);
  // The max of nothing is an error of its own kernel.
  if (sizeOf(inputOf(e, 0).shape) === 0) return false;
  const [first] = axes;
  return first !== undefined && axes.every((a, i) => a === first + i);
}

function isFusible(
  e: Equation,
  producers: ReadonlyMap<Var, Equation>,
): boolean {
  if (!FUSIBLE.has(e.primitive)) return false;
  // A relu mask of a convolution's input gradient runs inside that
  // gradient's kernel when evaluated as a primitive (see ops/unary.ts): a
  // chain would make the unmasked gradient first.
  const first = e.inputs[0];
  if (
    e.primitive === "reluMask" && first !== undefined &&
    producers.get(first)?.primitive === "conv2dBackpropInput"
  ) return false;
  return e.primitive !== "max" || e.inputs.length === 2;
}

/** Builds the plan of a program. */
function plan(program: Program, fusion: JitOptions["fusion"]): Plan {
  // Dead code: keep what the outputs need.
  const needed = new Set<Var>(program.outputs);
  const live: Equation[] = [];
  for (const e of program.equations.slice().reverse()) {
    if (!e.outputs.some((v) => needed.has(v))) continue;
    live.push(e);
    for (const v of e.inputs) needed.add(v);
  }
  live.reverse();
  // Constant subexpressions: computed once, here.
  const consts = new Map<Var, AnyTensor>();
  for (const c of program.constants) consts.set(c.v, c.value);
  const eqns: Equation[] = [];
  for (const e of live) {
    if (e.inputs.every((v) => consts.has(v))) {
      consts.set(
        e.outputs[0],
        e.prim.impl(
          e.inputs.map((v) => lookup(consts, v, "constant")),
          e.params,
        ),
      );
    } else eqns.push(e);
  }
  // Clusters of elementwise equations over one iteration space.
  const clusterOf = new Map<Var, Cluster>();
  const clusters: Cluster[] = [];
  const close = (vs: readonly Var[], except?: Cluster) => {
    for (const v of vs) {
      const c = clusterOf.get(v);
      if (c !== undefined && c !== except) c.open = false;
    }
  };
  const fuse = fusion !== "none";
  const order = new Map(eqns.map((e, i) => [e, i]));
  const producers = new Map<Var, Equation>();
  for (const e of eqns) for (const v of e.outputs) producers.set(v, e);
  eqns.forEach((e, idx) => {
    const out = e.outputs[0];
    if (fuse && isFusible(e, producers)) {
      // Join the open chains of the same shape that feed e, merged into one.
      const cands = [
        ...new Set(
          e.inputs.map((v) => clusterOf.get(v)).filter((c): c is Cluster =>
            c !== undefined && c.open && sameShape(c.shape, out.shape)
          ),
        ),
      ];
      const c = cands[0] ?? {
        shape: out.shape,
        members: [],
        reduce: undefined,
        open: true,
        at: idx,
      };
      for (const other of cands.slice(1)) {
        for (const m of other.members) {
          c.members.push(m);
          clusterOf.set(m.outputs[0], c);
        }
        clusters.splice(clusters.indexOf(other), 1);
      }
      c.members.sort((a, b) =>
        lookup(order, a, "position") - lookup(order, b, "position")
      );
      close(e.inputs, c);
      if (cands.length === 0) clusters.push(c);
      c.members.push(e);
      c.at = idx;
      clusterOf.set(out, c);
      return;
    }
    if (fuse && isReduction(e)) {
      const x = inputOf(e, 0);
      const c = clusterOf.get(x);
      if (c !== undefined && c.open && sameShape(c.shape, x.shape)) {
        c.reduce = e;
        c.open = false;
        c.at = idx;
        clusterOf.set(out, c);
        return;
      }
    }
    close(e.inputs);
  });
  // Which values leave their cluster.
  const usedOutside = new Set<Var>(program.outputs);
  for (const e of eqns) {
    const c = clusterOf.get(e.outputs[0]);
    for (const v of e.inputs) {
      if (clusterOf.get(v) !== c || c === undefined) usedOutside.add(v);
    }
  }
  // Steps, each at the position of its last equation.
  const placed: { at: number; step: Step }[] = [];
  const primStep = (e: Equation): PrimStep => ({
    kind: "prim",
    prim: e.prim,
    params: e.params,
    ins: e.inputs.map((v) => v.id),
    out: e.outputs[0].id,
    release: [],
    drop: [],
  });
  const inCluster = new Set<Equation>();
  for (const c of clusters) {
    if (c.members.length === 1 && c.reduce === undefined) continue;
    for (const e of c.members) inCluster.add(e);
    if (c.reduce !== undefined) inCluster.add(c.reduce);
    placed.push({ at: c.at, step: fusedStep(c, usedOutside, fusion) });
  }
  eqns.forEach((e, idx) => {
    if (!inCluster.has(e)) placed.push({ at: idx, step: primStep(e) });
  });
  placed.sort((a, b) => a.at - b.at);
  const steps = placed.map((p) => p.step);
  // Recycling: a buffer from the pool goes back once every value sharing it is dead.
  const root = new Map<number, number>();
  const rootOf = (s: number): number => root.get(s) ?? s;
  const owned = new Set<number>();
  // The step that reads a buffer last; null for a program output (never released).
  const last = new Map<number, Step | null>();
  for (const st of steps) {
    const ins = st.kind === "prim" ? st.ins : st.exts;
    for (const s of ins) last.set(rootOf(s), st);
    if (st.kind === "prim") {
      if (ALIASING.has(st.prim.name)) {
        const [src] = st.ins;
        if (src === undefined) {
          throw new RangeError(`Internal error: ${st.prim.name} has no input`);
        }
        root.set(st.out, rootOf(src));
      }
    } else {
      for (const w of st.writes) owned.add(w.slot);
      if (st.reduce !== undefined) owned.add(st.reduce.slot);
    }
  }
  for (const v of program.outputs) last.set(rootOf(v.id), null);
  for (const r of owned) last.get(r)?.release.push(r);
  const keep = new Set<number>([
    ...program.outputs.map((v) => v.id),
    ...program.inputs.map((v) => v.id),
    ...[...consts.keys()].map((v) => v.id),
  ]);
  const lastRead = new Map<number, Step>();
  for (const st of steps) {
    for (const s of st.kind === "prim" ? st.ins : st.exts) lastRead.set(s, st);
  }
  for (const [s, st] of lastRead) {
    if (!keep.has(s) && !owned.has(s)) st.drop.push(s);
  }
  return {
    program,
    slots: Math.max(
      0,
      ...[...consts.keys(), ...program.inputs].map((v) => v.id + 1),
      ...eqns.map((e) => e.outputs[0].id + 1),
    ),
    consts: [...consts].map(([v, t]) => [v.id, t] as const),
    inputs: program.inputs.map((v) => v.id),
    steps,
    outputs: program.outputs.map((v) => v.id),
  };
}

function fusedStep(
  c: Cluster,
  usedOutside: ReadonlySet<Var>,
  fusion: JitOptions["fusion"],
): FusedStep {
  const produced = new Set<Var>(c.members.map((e) => e.outputs[0]));
  const exts: Var[] = [];
  const operand = (v: Var): Operand => {
    if (produced.has(v)) return { kind: "temp", id: v.id };
    let k = exts.indexOf(v);
    if (k < 0) k = exts.push(v) - 1;
    return { kind: "ext", index: k };
  };
  const ops: FusedOp[] = c.members.map((e) => ({
    prim: e.primitive,
    ins: e.inputs.map(operand),
    out: e.outputs[0].id,
    dtype: e.outputs[0].dtype,
  }));
  const writes = c.members.map((e) => e.outputs[0]).filter((v) =>
    usedOutside.has(v)
  );
  const red = c.reduce;
  const spec: FusedSpec = {
    shape: c.shape,
    exts: exts.map((v) => ({ shape: v.shape, dtype: v.dtype })),
    ops,
    writes: writes.map((v) => v.id),
    ...(red === undefined ? {} : {
      reduce: {
        op: reduceOp(red),
        temp: operandTemp(inputOf(red, 0), produced),
        axes: numbersParam(red.params, "axes", red.primitive),
      },
    }),
  };
  const slot = (v: Var): Slot => ({
    slot: v.id,
    shape: v.shape,
    dtype: v.dtype,
    size: sizeOf(v.shape),
  });
  const codegen = fusion === "codegen" ||
    (fusion === "auto" && ops.every((op) => ARITHMETIC.has(op.prim)));
  let kernel: FusedKernel;
  if (!codegen) kernel = interpretFused(spec);
  else {
    try {
      kernel = compileFused(spec);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      kernel = interpretFused(spec); // code generation forbidden here
    }
  }
  return {
    kind: "fused",
    kernel,
    prims: [
      ...c.members.map((e) => e.primitive),
      ...(red ? [red.primitive] : []),
    ],
    exts: exts.map((v) => v.id),
    writes: writes.map(slot),
    reduce: red === undefined ? undefined : slot(red.outputs[0]),
    release: [],
    drop: [],
  };
}

/** The reduction a fused chain ends with (checked: `isReduction` chose it). */
function reduceOp(e: Equation): "sum" | "max" {
  const op = e.primitive;
  if (op !== "sum" && op !== "max") {
    throw new Error(`Internal error: ${op} is not a fusible reduction`);
  }
  return op;
}

function operandTemp(v: Var, produced: ReadonlySet<Var>): number {
  if (!produced.has(v)) {
    throw new Error(
      `Internal error: reduction input ${v.id} is not in its chain`,
    );
  }
  return v.id;
}

/** Recycled buffers, by dtype and size. */
class Pool {
  readonly #free = new Map<string, Arr[]>();
  take(dtype: DType, size: number): Arr {
    const got = this.#free.get(`${dtype}:${size}`)?.pop();
    if (got !== undefined) return got;
    return dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
  }
  give(a: Arr): void {
    const k = `${a instanceof Int32Array ? "int32" : "float32"}:${a.length}`;
    let list = this.#free.get(k);
    if (list === undefined) this.#free.set(k, list = []);
    list.push(a);
  }
}

function execute(
  p: Plan,
  pool: Pool,
  leaves: readonly AnyTensor[],
): AnyTensor[] {
  const env = new Array<AnyTensor | undefined>(p.slots);
  for (const [s, t] of p.consts) env[s] = t;
  p.inputs.forEach((s, i) => (env[s] = leaves[i]));
  const get = (s: number): AnyTensor => {
    const t = env[s];
    if (t === undefined) {
      throw new Error(`Internal error: jit slot ${s} is read while empty`);
    }
    return t;
  };
  for (const st of p.steps) {
    if (st.kind === "prim") {
      env[st.out] = st.prim.impl(st.ins.map(get), st.params);
    } else {
      const exts = st.exts.map((s) => dataOf(get(s)));
      const writes = st.writes.map((w) => pool.take(w.dtype, w.size));
      const r = st.reduce;
      const red = r === undefined ? null : pool.take(r.dtype, r.size);
      st.kernel(exts, writes, red);
      writes.forEach((buf, i) => {
        const w = st.writes[i];
        if (w !== undefined) env[w.slot] = fromData(w.shape, w.dtype, buf);
      });
      if (r !== undefined && red !== null) {
        env[r.slot] = fromData(r.shape, r.dtype, red);
      }
    }
    for (const s of st.drop) env[s] = undefined;
    for (const s of st.release) {
      pool.give(dataOf(get(s)));
      env[s] = undefined;
    }
  }
  return p.outputs.map(get);
}

interface Entry {
  readonly plan: Plan;
  readonly pool: Pool;
}

interface Jitted {
  readonly cache: Map<string, Entry>;
  traces: number;
}

const registry = new WeakMap<object, Jitted>();

/** Tells apart the static values JSON would merge (NaN and null, -0 and 0, undefined). */
function staticValue(_key: string, v: unknown): unknown {
  if (typeof v === "number") return `n:${Object.is(v, -0) ? "-0" : v}`;
  if (typeof v === "string") return `s:${v}`;
  return v === undefined ? "u:" : v;
}

function keyOf(leaves: readonly AnyTensor[], tree: unknown): string {
  return `${JSON.stringify(tree, staticValue)}|${
    leaves.map((l) => `${l.dtype}[${l.shape.join(",")}]`).join(";")
  }`;
}

/**
 * Compiles `f`: the first call with a given signature (the shapes and dtypes
 * of the tensor leaves of the arguments, and their tree structure with its
 * non-tensor values) stages `f` and plans the program; later calls with the
 * same signature run the plan without calling `f`. The plan fuses chains of
 * elementwise primitives, and the sum or max consuming them, into single
 * passes over memory, computes the parts that depend on no argument once,
 * and recycles intermediate buffers between calls.
 *
 * Inside another transformation (`grad`, `jvp`, `vjp`, or an outer `jit`)
 * the staged program is replayed primitive by primitive, so the outer
 * transformation sees every primitive: `grad(jit(f))` and `jit(grad(f))`
 * both work.
 *
 * `f` must be a function of its arguments: tensors it uses from outside are
 * captured as constants at the first call, and random numbers drawn inside
 * it from a fixed key are drawn once. Pass anything that changes between
 * calls as an argument. A whole training step with Adam or SGD at a
 * constant learning rate can be jitted; learning-rate schedules and
 * `clipByGlobalNorm` read values as numbers, so they run outside.
 *
 * @param f A function of tensors or pytrees of tensors.
 * @param options How elementwise chains run.
 * @returns A function with the same signature as `f`.
 * @throws {TypeError} If `f` reads a staged tensor's values, or uses a value traced by an outer transformation without taking it as an argument.
 *
 * @example Compile once, run many times
 * ```ts
 * import { add, exp, grad, jit, mul, sum, tensor, type Tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * let traced = 0;
 * const f = jit((x: Tensor<[number]>) => {
 *   traced++;
 *   return sum(mul(exp(x), add(x, 1))); // one fused pass
 * });
 * const x = tensor([0, 1, 2]);
 * const eager = sum(mul(exp(x), add(x, 1))).item();
 * assertEquals(f(x).item(), eager);
 * assertEquals(f(tensor([0, 1, 2])).item(), eager);
 * assertEquals(traced, 1);
 * // Composes with grad in both orders: d/dx e^x (x + 1) = e^x (x + 2).
 * assertEquals(grad(f)(tensor([0])).toArray(), [2]);
 * assertEquals(jit(grad(f))(tensor([0])).toArray(), [2]);
 * ```
 */
export function jit<A extends readonly unknown[], R>(
  f: (...args: A) => R,
  options: JitOptions = {},
): (...args: A) => R {
  const fusion = options.fusion ?? "auto";
  const state: Jitted = { cache: new Map(), traces: 0 };
  // The cache entries with the structure of the result, typed (the same
  // objects as in `state.cache`, which jitInfo reads untyped).
  const entries = new Map<string, Entry & { readonly outTree: TreeDef<R> }>();
  const entryFor = (leaves: AnyTensor[], tree: TreeDef<A>) => {
    const key = keyOf(leaves, tree);
    let entry = entries.get(key);
    if (entry === undefined) {
      state.traces++;
      const program = stage(f, {
        leaves: leaves.map((l) => ({ shape: l.shape, dtype: l.dtype })),
        tree,
      });
      entry = {
        plan: plan(program, fusion),
        pool: new Pool(),
        outTree: program.outTree,
      };
      entries.set(key, entry);
      state.cache.set(key, entry);
    }
    return entry;
  };
  const jitted = (...args: A): R => {
    const [leaves, tree] = treeFlatten(args);
    const entry = entryFor(leaves, tree);
    const program = entry.plan.program;
    const nested = currentDepth() > 0 ||
      leaves.some((l) => l instanceof Tracer);
    const outs = nested
      ? evalProgram(program, leaves)
      : execute(entry.plan, entry.pool, leaves);
    return treeUnflatten(entry.outTree, outs);
  };
  registry.set(jitted, state);
  return jitted;
}

/**
 * What `jit` made of `f` for these arguments: the program, the primitives of
 * each fused chain, the number of steps, and how many times `f` was traced.
 *
 * @internal
 */
export function jitInfo(
  jitted: object,
  ...args: readonly unknown[]
): { program: Program; fused: string[][]; steps: number; traces: number } {
  const state = registry.get(jitted);
  if (state === undefined) {
    throw new TypeError("Expected a function returned by jit");
  }
  const [leaves, tree] = treeFlatten(args);
  const entry = state.cache.get(keyOf(leaves, tree));
  if (entry === undefined) {
    throw new RangeError(
      "Expected arguments the jitted function was called with",
    );
  }
  const p = entry.plan;
  return {
    program: p.program,
    fused: p.steps.filter((s): s is FusedStep => s.kind === "fused").map((
      s,
    ) => [...s.prims]),
    steps: p.steps.length,
    traces: state.traces,
  };
}
