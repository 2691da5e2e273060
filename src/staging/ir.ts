/**
 * The staged program (IR): typed variables, equations and constants, after
 * JAX's jaxprs. Built by `trace`; run by `jit`; translated by `exportOnnx`.
 *
 * @module
 */

import type { AnyTensor, DType, Shape } from "../tensor.ts";
import type { Primitive } from "../autodiff/core.ts";
import type { TreeDef } from "../pytree.ts";

/** A typed variable of a staged program: an id, a shape and a dtype. */
export interface Var {
  /** Unique within its program; the printed name is derived from it. */
  readonly id: number;
  /** The dims. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
}

/** One primitive application: `outputs = primitive[params](inputs)`. */
export interface Equation {
  /** The primitive's name, such as `"add"` or `"conv2d"`. */
  readonly primitive: string;
  /** The primitive's parameters (axes, geometry, target shape, ...). */
  readonly params: unknown;
  /** The variables read. */
  readonly inputs: readonly Var[];
  /** The variable written (one for every primitive of tensa). */
  readonly outputs: readonly [Var];
  /** The primitive itself, to evaluate the equation. @internal */
  readonly prim: Primitive<unknown>;
  /** For a function with a custom derivative (`customVjp`): its forward, staged. */
  readonly body?: Program;
}

/** A constant of a staged program: a tensor captured while tracing. */
export interface Constant {
  /** The variable that stands for it. */
  readonly v: Var;
  /** Its value. */
  readonly value: AnyTensor;
}

/**
 * A staged program: what `trace(f)(...args)` returns. Its inputs are the
 * leaves of `f`'s arguments in flatten order, its outputs the leaves of
 * `f`'s result; `toString()` prints it like a jaxpr. `A` and `R` are the
 * types of `f`'s arguments and result, kept by the tree structures.
 */
export interface Program<
  A extends readonly unknown[] = readonly unknown[],
  R = unknown,
> {
  /** One variable per tensor leaf of the arguments. */
  readonly inputs: readonly Var[];
  /** Tensors captured from outside (weights, literals). */
  readonly constants: readonly Constant[];
  /** The equations, in an order that respects their dependencies. */
  readonly equations: readonly Equation[];
  /** One variable per tensor leaf of the result (may be an input or a constant). */
  readonly outputs: readonly Var[];
  /** The structure of the arguments. */
  readonly inTree: TreeDef<A>;
  /** The structure of the result. */
  readonly outTree: TreeDef<R>;
  /** The program as text, one equation a line. */
  toString(): string;
}

const DT: Record<DType, string> = { float32: "f32", int32: "i32" };

/** `a`, `b`, ..., `z`, `ba`, `bb`, ...: the printed name of variable `id`. */
export function varName(id: number): string {
  let s = "";
  let n = id;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

function typed(v: Var): string {
  return `${varName(v.id)}:${DT[v.dtype]}[${v.shape.join(",")}]`;
}

function showParam(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(showParam).join(",")})`;
  if (typeof v === "object" && v !== null) {
    return `{${
      Object.entries(v).map(([k, x]) => `${k}=${showParam(x)}`).join(" ")
    }}`;
  }
  return String(v);
}

function showParams(p: unknown): string {
  if (typeof p !== "object" || p === null) return "";
  const entries = Object.entries(p);
  if (entries.length === 0) return "";
  return `[${entries.map(([k, v]) => `${k}=${showParam(v)}`).join(" ")}]`;
}

/**
 * Input `i` of an equation, checked: a missing one is a bug of the caller,
 * reported with the primitive's name. @internal
 */
export function inputOf(e: Equation, i: number): Var {
  const v = e.inputs[i];
  if (v === undefined) {
    throw new RangeError(
      `Internal error: expected ${e.primitive} to have an input ${i} but found ${e.inputs.length} inputs`,
    );
  }
  return v;
}

/**
 * The value of `key` in `map`, checked: a missing key is a bug of the caller,
 * reported with `what` and the key. @internal
 */
export function lookup<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): V {
  const v = map.get(key);
  if (v === undefined) {
    throw new RangeError(`Internal error: no ${what} for ${describe(key)}`);
  }
  return v;
}

function describe(key: unknown): string {
  if (typeof key === "object" && key !== null) {
    if ("id" in key) return `variable ${varName(Number(key.id))}`;
    if ("primitive" in key) return `the equation of ${String(key.primitive)}`;
  }
  return String(key);
}

/** Prints a program like a jaxpr. @internal */
export function printProgram(p: Program): string {
  const lines: string[] = [];
  const consts = p.constants.map((c) => typed(c.v)).join(" ");
  const ins = p.inputs.map(typed).join(" ");
  lines.push(`{ lambda ${consts}${consts ? " " : ""}; ${ins}. let`);
  for (const e of p.equations) {
    const outs = e.outputs.map(typed).join(" ");
    const args = e.inputs.map((v) => varName(v.id)).join(" ");
    lines.push(`    ${outs} = ${e.primitive}${showParams(e.params)} ${args}`);
  }
  lines.push(`  in (${p.outputs.map((v) => varName(v.id)).join(", ")}) }`);
  return lines.join("\n");
}
