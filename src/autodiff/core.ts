/**
 * The interpreter stack (after JAX's Autodidax).
 *
 * Every primitive is applied through {@linkcode bind}. With no active
 * transformation it runs the primitive's forward (a kernel call). Inside
 * `jvp`, values are {@linkcode JvpTracer}s carrying a primal and a tangent;
 * inside `vjp`, values are {@linkcode VjpTracer}s that record a tape node.
 * Each tracer carries the level of its trace; `bind` hands the primitive to
 * the trace of the highest level among its inputs, which unwraps its own
 * tracers and binds again one level down. Because the rules are written with
 * the untyped core ops (which bind primitives too), they are traced by any
 * outer transformation: that is all higher-order differentiation needs.
 *
 * Every rule is checked where it is applied: a tangent must have its
 * output's shape and dtype, a cotangent its input's, or the trace throws an
 * internal error naming the primitive and both shapes.
 *
 * @module
 */

import { type AnyTensor, type DType, type Shape, Tensor } from "../tensor.ts";
import { sameShape } from "../ops/operand.ts";
import { showShape } from "../shape/errors.ts";

/** A primitive's inputs: any number of tensors, or a tuple fixing its arity. @internal */
export type Inputs = readonly AnyTensor[];

/** One `T` for each input of a primitive with inputs `In` (a tuple stays a tuple). @internal */
export type Each<In extends Inputs, T> = { readonly [K in keyof In]: T };

/**
 * A primitive operation: a name, the forward computation on concrete tensors,
 * and its differentiation and batching rules, written with the untyped core
 * ops (`src/ops/lax.ts`). `In` is the tuple of its inputs, so a rule
 * destructures `[a, b]` without non-null assertions; variadic primitives keep
 * the default (any number of tensors).
 *
 * @internal
 */
export interface Primitive<P, In extends Inputs = Inputs> {
  /** The name used in error messages. */
  readonly name: string;
  /**
   * Whose rules these are: the library's (the default; a wrong shape is an
   * internal error) or the user's (`customVjp`; a wrong shape is theirs).
   */
  readonly rules?: "library" | "user";
  /** The forward on concrete tensors (calls a kernel). */
  impl(inputs: In, params: P): AnyTensor;
  /**
   * The tangent of the output given the inputs' tangents (`null` for a zero
   * tangent). Returns `null` when the output's tangent is zero.
   */
  jvp(
    primals: In,
    tangents: Each<In, AnyTensor | null>,
    params: P,
    out: AnyTensor,
  ): AnyTensor | null;
  /**
   * The cotangent of each input given the output's cotangent (`null` for
   * inputs that get no gradient, such as integer indices). `needs[i]` says
   * whether input i's cotangent is wanted; a rule may skip the others.
   */
  vjp(
    cotangent: AnyTensor,
    primals: In,
    params: P,
    out: AnyTensor,
    needs: Each<In, boolean>,
  ): Each<In, AnyTensor | null>;
  /**
   * The batching rule (for `vmap`): given the inputs and, for each, the axis
   * it is batched along (`null` for an input shared by every example), the
   * output and the axis its batch runs along (`null` if it is shared).
   * `size` is the batch size.
   */
  batch(
    inputs: In,
    dims: Each<In, number | null>,
    params: P,
    size: number,
  ): [AnyTensor, number | null];
}

/** A transformation on the stack. @internal */
export abstract class Trace {
  /** The position on the stack, from 1; 0 is plain evaluation. */
  readonly level: number;
  #active = true;
  constructor(level: number) {
    this.level = level;
  }
  /** Whether the transformation is still running. */
  get active(): boolean {
    return this.#active;
  }
  /** Marks the end of the transformation. */
  finish(): void {
    this.#active = false;
  }
  /** Applies a primitive whose highest-level input belongs to this trace. */
  abstract process<P>(
    prim: Primitive<P>,
    inputs: readonly AnyTensor[],
    params: P,
  ): AnyTensor;
}

/** A tensor standing for a value inside a transformation. @internal */
export abstract class Tracer<S extends Shape = Shape, D extends DType = DType>
  extends Tensor<S, D> {
  /** The trace that owns this tracer. */
  readonly trace: Trace;
  /** The value this tracer stands for (possibly a tracer of a lower level). */
  readonly primal: Tensor<S, D>;
  /** `shape` differs from the primal's only for a batch tracer (see `vmap.ts`). */
  constructor(trace: Trace, primal: Tensor<S, D>, shape: S = primal.shape) {
    super(shape, primal.dtype);
    this.trace = trace;
    this.primal = primal;
  }
  protected override concrete(): Tensor<S, D> {
    const p = this.primal;
    return p instanceof Tracer ? p.concrete() : p;
  }
}

/**
 * Checks that a value a rule returned (a tangent or cotangent) has the shape
 * and dtype of the value it belongs to; only shapes and dtypes are compared.
 */
function checkRuleOutput(
  prim: { readonly name: string; readonly rules?: "library" | "user" },
  rule: "jvp" | "vjp",
  got: AnyTensor,
  want: AnyTensor,
  what: string,
): void {
  const kind = rule === "jvp" ? "tangent" : "cotangent";
  const user = prim.rules === "user";
  if (!sameShape(got.shape, want.shape)) {
    const [w, g] = [showShape(want.shape), showShape(got.shape)];
    throw new RangeError(
      user
        ? `Expected the ${rule} rule of ${prim.name} to return a ${kind} of shape ${w} for ${what} but found ${g}`
        : `Internal error: the ${rule} of ${prim.name} returned a ${kind} of shape ${g} for ${what} of shape ${w}`,
    );
  }
  if (got.dtype !== want.dtype) {
    throw new TypeError(
      user
        ? `Expected the ${rule} rule of ${prim.name} to return a ${kind} of dtype ${want.dtype} for ${what} but found ${got.dtype}`
        : `Internal error: the ${rule} of ${prim.name} returned a ${kind} of dtype ${got.dtype} for ${what} of dtype ${want.dtype} (shape ${
          showShape(want.shape)
        })`,
    );
  }
}

let depth = 0;

/** The number of transformations currently running. @internal */
export function currentDepth(): number {
  return depth;
}

/**
 * Runs `body` with a new trace pushed on the stack.
 *
 * @internal
 */
export function withTrace<T extends Trace, R>(
  make: (level: number) => T,
  body: (trace: T) => R,
): R {
  const trace = make(depth + 1);
  depth++;
  try {
    return body(trace);
  } finally {
    depth--;
    trace.finish();
  }
}

/**
 * Applies a primitive to its inputs through the current interpreter stack.
 *
 * @internal
 */
export function bind<P, In extends Inputs>(
  prim: Primitive<P, In>,
  inputs: NoInfer<In>,
  params: NoInfer<P>,
): AnyTensor {
  let top: Trace | undefined;
  for (const x of inputs) {
    if (x instanceof Tracer) {
      if (!x.trace.active) {
        throw new TypeError(
          `Expected a live value in ${prim.name} but found a tensor that escaped the transformation that traced it`,
        );
      }
      if (top === undefined || x.trace.level > top.level) top = x.trace;
    }
  }
  // A staging trace receives every primitive, even one on constants only.
  if (
    dynamic !== undefined && (top === undefined || dynamic.level > top.level)
  ) top = dynamic;
  if (top === undefined) return prim.impl(inputs, params);
  return top.process(prim, inputs, params);
}

let dynamic: Trace | undefined;

/**
 * Runs `body` with `trace` receiving every primitive bound at or below its
 * level, including those whose inputs are all constants (used by staging).
 *
 * @internal
 */
export function withDynamicTrace<R>(trace: Trace, body: () => R): R {
  const prev = dynamic;
  dynamic = trace;
  try {
    return body();
  } finally {
    dynamic = prev;
  }
}

/** A value inside `jvp`: a primal and its tangent. @internal */
export class JvpTracer<S extends Shape = Shape, D extends DType = DType>
  extends Tracer<S, D> {
  /** The tangent (same shape as the primal). */
  readonly tangent: Tensor<S, D>;
  constructor(trace: Trace, primal: Tensor<S, D>, tangent: Tensor<S, D>) {
    super(trace, primal);
    this.tangent = tangent;
  }
}

/** Forward mode. @internal */
export class JvpTrace extends Trace {
  process<P>(
    prim: Primitive<P>,
    inputs: readonly AnyTensor[],
    params: P,
  ): AnyTensor {
    const primals: AnyTensor[] = [];
    const tangents: (AnyTensor | null)[] = [];
    let any = false;
    for (const x of inputs) {
      if (x instanceof JvpTracer && x.trace === this) {
        primals.push(x.primal);
        tangents.push(x.tangent);
        any = true;
      } else {
        primals.push(x);
        tangents.push(null);
      }
    }
    const out = bind(prim, primals, params);
    if (!any) return out;
    const t = prim.jvp(primals, tangents, params, out);
    if (t === null) return out;
    checkRuleOutput(prim, "jvp", t, out, "its output");
    return new JvpTracer(this, out, t);
  }
}

/** One recorded primitive application on a reverse-mode tape. @internal */
export interface TapeNode {
  readonly prim: Primitive<unknown> | null;
  readonly params: unknown;
  readonly primals: readonly AnyTensor[];
  readonly parents: readonly number[];
  readonly out: AnyTensor;
}

/** A value inside `vjp`: a primal and its node on the tape. @internal */
export class VjpTracer<S extends Shape = Shape, D extends DType = DType>
  extends Tracer<S, D> {
  /** The index of the node that produced this value. */
  readonly node: number;
  constructor(trace: Trace, primal: Tensor<S, D>, node: number) {
    super(trace, primal);
    this.node = node;
  }
}

/** Reverse mode: records a tape, replayed backwards by {@linkcode VjpTrace.backward}. @internal */
export class VjpTrace extends Trace {
  readonly tape: TapeNode[] = [];

  /** Wraps an input of the differentiated function as a tape leaf. */
  input<S extends Shape, D extends DType>(x: Tensor<S, D>): VjpTracer<S, D> {
    this.tape.push({
      prim: null,
      params: undefined,
      primals: [],
      parents: [],
      out: x,
    });
    return new VjpTracer(this, x, this.tape.length - 1);
  }

  process<P>(
    prim: Primitive<P>,
    inputs: readonly AnyTensor[],
    params: P,
  ): AnyTensor {
    const primals: AnyTensor[] = [];
    const parents: number[] = [];
    let any = false;
    for (const x of inputs) {
      if (x instanceof VjpTracer && x.trace === this) {
        primals.push(x.primal);
        parents.push(x.node);
        any = true;
      } else {
        primals.push(x);
        parents.push(-1);
      }
    }
    const out = bind(prim, primals, params);
    if (!any) return out;
    this.tape.push({
      prim,
      params,
      primals,
      parents,
      out,
    });
    return new VjpTracer(this, out, this.tape.length - 1);
  }

  /**
   * Propagates the seed cotangents (node index and cotangent) back along the
   * tape, returning the cotangent reaching each of the given input nodes
   * (`null` if none does). The tape itself is left intact, so a pullback can
   * run many times.
   */
  backward(
    seeds: readonly (readonly [number, AnyTensor])[],
    inputs: readonly number[],
    add: (a: AnyTensor, b: AnyTensor) => AnyTensor,
  ): (AnyTensor | null)[] {
    let from = -1;
    const cts = new Map<number, AnyTensor>();
    for (const [i, c] of seeds) {
      const prev = cts.get(i);
      cts.set(i, prev === undefined ? c : add(prev, c));
      if (i > from) from = i;
    }
    const keep = new Set(inputs);
    for (let i = from; i >= 0; i--) {
      const ct = cts.get(i);
      if (ct === undefined) continue;
      const node = this.tape[i];
      if (node === undefined || node.prim === null) continue;
      const needs = node.parents.map((p) => p >= 0);
      const ins = node.prim.vjp(ct, node.primals, node.params, node.out, needs);
      for (const [j, p] of node.parents.entries()) {
        const c = ins[j];
        if (p < 0 || c === null || c === undefined) continue;
        const x = node.primals[j];
        if (x !== undefined) {
          checkRuleOutput(node.prim, "vjp", c, x, `input ${j}`);
        }
        const prev = cts.get(p);
        cts.set(p, prev === undefined ? c : add(prev, c));
      }
      if (!keep.has(i)) cts.delete(i);
    }
    return inputs.map((i) => cts.get(i) ?? null);
  }
}
