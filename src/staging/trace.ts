/**
 * Staging: a trace on the interpreter stack that records equations instead
 * of computing. Its tracers hold only a shape and a dtype.
 *
 * @module
 */

import { type AnyTensor, type DType, type Shape, Tensor } from "../tensor.ts";
import {
  type Primitive,
  Trace,
  Tracer,
  withDynamicTrace,
  withTrace,
} from "../autodiff/core.ts";
import { type TreeDef, treeFlatten, treeUnflatten } from "../pytree.ts";
import { abstractEval } from "./shapes.ts";
import {
  type Constant,
  type Equation,
  printProgram,
  type Program,
  type Var,
} from "./ir.ts";

/** A shape and dtype with no values: what a staged tensor stands for. */
class AbstractValue extends Tensor<Shape, DType> {
  constructor(shape: Shape, dtype: DType) {
    super(shape, dtype);
  }
}

/** A value inside staging: a variable of the program being built. @internal */
export class StagingTracer extends Tracer<Shape, DType> {
  /** The variable it stands for. */
  readonly v: Var;
  constructor(trace: StagingTrace, v: Var) {
    super(trace, new AbstractValue(v.shape, v.dtype));
    this.v = v;
  }
  protected override concrete(): AnyTensor {
    throw new TypeError(
      `Cannot read the values of a staged tensor of shape [${
        this.shape.join(", ")
      }] (${this.dtype}): inside trace or jit only shapes and dtypes are known; read values outside the staged function`,
    );
  }
}

/** The trace that builds a {@linkcode Program}. @internal */
export class StagingTrace extends Trace {
  readonly equations: Equation[] = [];
  readonly constants: Constant[] = [];
  readonly #constVars = new Map<AnyTensor, Var>();
  #next = 0;

  newVar(shape: Shape, dtype: DType): Var {
    return { id: this.#next++, shape: [...shape], dtype };
  }

  /** The variable of an input value: a tracer of this trace, or a constant. */
  varOf(x: AnyTensor, where: string): Var {
    if (x instanceof StagingTracer && x.trace === this) return x.v;
    if (x instanceof Tracer) {
      throw new TypeError(
        `Cannot stage ${where}: it uses a value traced by another transformation (for example one that f closes over); pass that value as an argument of the staged function`,
      );
    }
    let v = this.#constVars.get(x);
    if (v === undefined) {
      v = this.newVar(x.shape, x.dtype);
      this.#constVars.set(x, v);
      this.constants.push({ v, value: x });
    }
    return v;
  }

  process<P>(
    prim: Primitive<P>,
    inputs: readonly AnyTensor[],
    params: P,
  ): AnyTensor {
    const ins = inputs.map((x) => this.varOf(x, prim.name));
    let aval = abstractEval(prim.name, ins, params);
    let body: Program | undefined;
    if (aval === undefined && prim.name.startsWith("customVjp(")) {
      // A customVjp's forward is written with public ops: its body is staged
      // for its shape (and for exporters), and the equation keeps the
      // primitive so that replaying it keeps the custom rule.
      const tree: TreeDef<AnyTensor[]> = {
        kind: "array",
        children: ins.map(() => ({ kind: "leaf" })),
      };
      body = stage((...xs: AnyTensor[]) => prim.impl(xs, params), {
        leaves: ins,
        tree,
      });
      aval = body.outputs[0];
    }
    if (aval === undefined) {
      throw new TypeError(
        `Cannot stage the primitive ${prim.name}: it has no shape rule in src/staging/shapes.ts`,
      );
    }
    const out = this.newVar(aval.shape, aval.dtype);
    this.equations.push({
      primitive: prim.name,
      params,
      inputs: ins,
      outputs: [out],
      prim,
      ...(body === undefined ? {} : { body }),
    });
    return new StagingTracer(this, out);
  }
}

/** The shape and dtype of each leaf of an argument list `A`, and its structure. */
export interface Signature<A extends readonly unknown[] = readonly unknown[]> {
  readonly leaves: readonly { shape: Shape; dtype: DType }[];
  readonly tree: TreeDef<A>;
}

/**
 * Stages `f` on arguments of the given signature.
 *
 * @internal
 */
export function stage<A extends readonly unknown[], R>(
  f: (...args: A) => R,
  sig: Signature<A>,
): Program<A, R> {
  return withTrace(
    (l) => new StagingTrace(l),
    (trace) =>
      withDynamicTrace(trace, () => {
        const inputs = sig.leaves.map((a) => trace.newVar(a.shape, a.dtype));
        const tracers = inputs.map((v) => new StagingTracer(trace, v));
        const out = f(...treeUnflatten(sig.tree, tracers));
        const [leaves, outTree] = treeFlatten(out);
        const outputs = leaves.map((o, i) => trace.varOf(o, `output ${i}`));
        // Number the variables in print order: constants, inputs, equations.
        const ids = new Map<Var, Var>();
        const rename = (v: Var): Var => {
          let w = ids.get(v);
          if (w === undefined) {
            w = { id: ids.size, shape: v.shape, dtype: v.dtype };
            ids.set(v, w);
          }
          return w;
        };
        const constants = trace.constants.map((c) => ({
          v: rename(c.v),
          value: c.value,
        }));
        const ins = inputs.map(rename);
        const equations = trace.equations.map((e): Equation => ({
          ...e,
          inputs: e.inputs.map(rename),
          outputs: [rename(e.outputs[0])],
        }));
        const program: Program<A, R> = {
          inputs: ins,
          constants,
          equations,
          outputs: outputs.map(rename),
          inTree: sig.tree,
          outTree,
          toString: () => printProgram(program),
        };
        return program;
      }),
  );
}

/** The signature of concrete arguments (their leaves' shapes and dtypes). @internal */
export function signatureOf<A extends readonly unknown[]>(
  args: A,
): Signature<A> {
  const [leaves, tree] = treeFlatten(args);
  return {
    leaves: leaves.map((l) => ({ shape: l.shape, dtype: l.dtype })),
    tree,
  };
}

/**
 * Stages `f`: returns a function that, given example arguments (only their
 * shapes, dtypes and tree structure matter), returns the program `f`
 * computes, with every primitive applied inside `f` as an equation, even
 * those that do not depend on the arguments. Tensors `f` uses from outside
 * become constants of the program. Non-tensor leaves of the arguments
 * (numbers, strings) are fixed at their example values.
 *
 * @param f A function of tensors or pytrees of tensors.
 * @returns A function of example arguments returning the {@linkcode Program}.
 * @throws {TypeError} If `f` reads a staged tensor's values, or applies a primitive that cannot be staged.
 *
 * @example Printing a program
 * ```ts
 * import { add, mul, sum, tensor, trace } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const w = tensor([1, 2, 3]);
 * const program = trace((x: typeof w) => sum(mul(add(x, w), 2)))(tensor([0, 0, 0]));
 * assertEquals(program.equations.map((e) => e.primitive), ["add", "mul", "sum"]);
 * assertEquals(
 *   program.toString(),
 *   [
 *     "{ lambda a:f32[3] b:f32[] ; c:f32[3]. let",
 *     "    d:f32[3] = add c a",
 *     "    e:f32[3] = mul d b",
 *     "    f:f32[] = sum[axes=(0) keepDims=false] e",
 *     "  in (f) }",
 *   ].join("\n"),
 * );
 * ```
 */
export function trace<A extends readonly unknown[], R>(
  f: (...args: A) => R,
): (...args: A) => Program {
  return (...args: A) => stage(f, signatureOf(args));
}
