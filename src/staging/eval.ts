/**
 * Evaluating a staged program equation by equation through the interpreter
 * stack, so that any transformation active around it sees every primitive.
 *
 * @internal
 * @module
 */

import type { AnyTensor } from "../tensor.ts";
import { bind } from "../autodiff/core.ts";
import type { Program, Var } from "./ir.ts";

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
  program.inputs.forEach((v, i) => env.set(v, inputs[i] as AnyTensor));
  const read = (v: Var): AnyTensor => env.get(v) as AnyTensor;
  for (const e of program.equations) {
    env.set(
      e.outputs[0] as Var,
      bind(e.prim, e.inputs.map(read), e.params),
    );
  }
  return program.outputs.map(read);
}
