/**
 * Evaluating a staged program equation by equation through the interpreter
 * stack, so that any transformation active around it sees every primitive.
 *
 * @internal
 * @module
 */

import type { AnyTensor } from "../tensor.ts";
import { bind } from "../autodiff/core.ts";
import { lookup, type Program, type Var } from "./ir.ts";

/**
 * Runs `program` on the leaves of its arguments with `bind`, returning the
 * leaves of its result.
 *
 * @internal
 */
export function evalProgram(
  program: Program,
  inputs: readonly AnyTensor[],
): AnyTensor[] {
  if (inputs.length !== program.inputs.length) {
    throw new RangeError(
      `Expected ${program.inputs.length} input tensors for the program but found ${inputs.length}`,
    );
  }
  const env = new Map<Var, AnyTensor>();
  for (const c of program.constants) env.set(c.v, c.value);
  inputs.forEach((x, i) => {
    const v = program.inputs[i];
    if (v !== undefined) env.set(v, x);
  });
  const read = (v: Var): AnyTensor => lookup(env, v, "value");
  for (const e of program.equations) {
    const out = bind(e.prim, e.inputs.map(read), e.params);
    for (const v of e.outputs) env.set(v, out);
  }
  return program.outputs.map(read);
}
