/**
 * Linear primitives get their jvp in one place.
 *
 * A primitive that is linear in its inputs (reshape, transpose,
 * broadcastTo, slice, pad, concat, sum, gather and scatter-add in their
 * table, ...) is its own derivative: the tangent of the output is the
 * primitive applied to the tangents, with the same parameters. Declaring such
 * a primitive with {@linkcode linear} gives it that jvp, so its definition
 * holds only the forward, the transpose (vjp) and the batching rule, and a
 * linear primitive's jvp cannot be forgotten or get out of step with it.
 *
 * Declared with it: reshape, transpose, broadcastTo, slice, pad, concat,
 * sum, gather and scatter-add (layout.ts, reduce.ts); `neg` and `reluMask`
 * (fixed: the input whose sign masks; unary.ts); `where` (fixed: the
 * condition; compare.ts); `avgPool2d`, `avgPoolBackward`, `maxPoolGather`
 * and `maxPoolScatter` (fixed: the pooled input; pool.ts). `add` and `sub`
 * keep their own jvp, which stretches a lone tangent to the output's shape
 * instead of adding zeros. The conv primitives are bilinear, not linear:
 * their product rule stays.
 *
 * @module
 * @internal
 */

import { allocData, type AnyTensor, fromData } from "../tensor.ts";
import { bind, type Each, type Inputs, type Primitive } from "./core.ts";

/** What {@linkcode linear} needs: a primitive without its jvp. @internal */
export type LinearDef<P, In extends Inputs> = Omit<Primitive<P, In>, "jvp">;

/** Options of {@linkcode linear}. @internal */
export interface LinearOptions {
  /**
   * Positions of the inputs that are fixed arguments of the linear map
   * rather than inputs it is linear in, such as the int32 row indices of
   * gather: their primals are passed as they are and their tangents ignored.
   */
  readonly fixed?: readonly number[];
}

/**
 * The jvp shared by every linear primitive: the primitive applied to the
 * tangents (a zero tangent, `null`, becomes zeros of its input's shape and
 * dtype), and `null` (a zero output tangent) when every tangent is `null`.
 * Inputs listed in `fixed` pass their primal instead.
 *
 * @param prim The primitive, linear in its inputs except `fixed`.
 * @param primals The inputs.
 * @param tangents Their tangents (`null` for zero).
 * @param params The primitive's parameters.
 * @param fixed The positions of the inputs it is not linear in.
 * @returns The tangent of the output, or `null` if it is zero.
 *
 * @example
 * ```ts ignore
 * // The jvp of a linear primitive `prim` (here, sum over axis 0):
 * const t = linearJvp(sumPrim, [x], [dx], { axes: [0], keepDims: false });
 * // is bind(sumPrim, [dx], { axes: [0], keepDims: false }).
 * ```
 *
 * @internal
 */
export function linearJvp<P, In extends Inputs>(
  prim: Primitive<P, In>,
  primals: In,
  tangents: Each<In, AnyTensor | null>,
  params: P,
  fixed: readonly number[] = [],
): AnyTensor | null {
  const free = (i: number) => !fixed.includes(i);
  // Zeros are allocated only when some tangent is not: else the output's is zero.
  if (!tangents.some((t, i) => t !== null && free(i))) return null;
  const ins = primals.map((x, i) => {
    if (!free(i)) return x;
    return tangents[i] ??
      fromData(x.shape, x.dtype, allocData(x.dtype, x.size));
  });
  // `ins` has one tensor for each input, but an array built by `map` has no
  // tuple type: bind through the variadic view of the primitive (a rule's
  // inputs are a parameter, compared both ways, so `Primitive<P, In>` is one).
  return bind<P, Inputs>(prim, ins, params);
}

/**
 * Completes a linear primitive with {@linkcode linearJvp} as its jvp.
 *
 * @param def The primitive's name, forward, vjp (its transpose) and batching rule.
 * @param options `fixed`: the inputs it is not linear in (indices).
 * @returns The primitive.
 *
 * @example
 * ```ts ignore
 * // Annotated: its rules refer to the primitive itself.
 * const reshapePrim: Primitive<{ shape: Shape }, readonly [AnyTensor]> = linear({
 *   name: "reshape",
 *   impl: ([x], p) => ...,
 *   vjp: (ct, [x]) => [bind(reshapePrim, [ct], { shape: x.shape })],
 *   batch: ...,
 * });
 * ```
 *
 * @internal
 */
export function linear<P, In extends Inputs>(
  def: LinearDef<P, In>,
  options: LinearOptions = {},
): Primitive<P, In> {
  const fixed = options.fixed ?? [];
  const prim: Primitive<P, In> = {
    ...def,
    jvp: (primals, tangents, params) =>
      linearJvp(prim, primals, tangents, params, fixed),
  };
  return prim;
}
