/**
 * The shared piece of the differentiation rules of broadcasting ops: summing
 * a cotangent back over the axes broadcasting added ({@linkcode unbroadcast}).
 * It lives apart from the op files so that rules of every file can use it
 * without importing another op file; it is written with the untyped core
 * (`lax.ts`), so any outer transformation traces it. (A tangent is stretched
 * to the output's shape with `lax.broadcastTo`, which returns a tensor that
 * has that shape already as it is.)
 *
 * @internal
 * @module
 */

import type { AnyTensor, Shape } from "../tensor.ts";
import * as lax from "./elementary.ts";
import { sameShape } from "./operand.ts";

/**
 * Sums `t` over the axes that broadcasting added or stretched, so that the
 * result has `shape`: the transpose of broadcasting `shape` to `t.shape`.
 *
 * @internal
 */
export function unbroadcast(t: AnyTensor, shape: Shape): AnyTensor {
  if (sameShape(t.shape, shape)) return t;
  const lead = t.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < t.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && t.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? lax.sum(t, { axis: axes }) : t;
  return lax.reshape(summed, shape);
}
