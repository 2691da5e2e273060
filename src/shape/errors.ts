/**
 * How a failed shape rule shows up: at compile time as a {@linkcode ShapeError}
 * type whose text is the message, at run time as a `RangeError` with the
 * same text. Shapes are printed as `[2, 3]` by both {@linkcode ShowShape} and
 * {@linkcode showShape}.
 *
 * @module
 */

import type { Shape } from "../tensor.ts";

/**
 * What a shape rule resolves to when it fails: the message is kept as a string
 * literal type so the compiler can print it.
 *
 * @typeParam M The message, e.g. `"Cannot broadcast shapes [2] and [3]: dims 2 and 3 differ and neither is 1"`.
 */
export interface ShapeError<M extends string> {
  /** The message, the same text the runtime twin of the rule throws. */
  readonly shapeError: M;
}

/**
 * The parameter type an op gives to the argument a rule checks: `T` when the
 * rule `R` succeeds, the message string literal when it fails, so that the
 * compiler's "Argument of type ... is not assignable to parameter of type ..."
 * names the problem.
 *
 * @typeParam R The rule's result (a shape or a {@linkcode ShapeError}).
 * @typeParam T The parameter's type when the rule succeeds.
 */
export type Arg<R, T> = R extends ShapeError<infer M> ? M : T;

/**
 * The shape a rule results in, or `never` when it fails (the call is already
 * rejected through {@linkcode Arg}).
 *
 * @typeParam R The rule's result.
 */
export type Result<R> = R extends Shape ? R : never;

/** The text of one dim: its digits, or `number` for a dim known only at run time. */
export type ShowDim<D extends number> = number extends D ? "number" : `${D}`;

/** The dims of a tuple joined with `", "`. */
export type JoinDims<S extends Shape, Acc extends string = ""> = S extends
  readonly [infer D extends number, ...infer R extends Shape]
  ? JoinDims<R, Acc extends "" ? ShowDim<D> : `${Acc}, ${ShowDim<D>}`>
  : Acc;

/**
 * The text of a shape type, such as `"[2, 3]"`; unknown dims print as
 * `number`, and a shape of unknown rank as `"number[]"`.
 *
 * @typeParam S The shape.
 */
export type ShowShape<S extends Shape> = number extends S["length"] ? "number[]"
  : `[${JoinDims<S>}]`;

/**
 * The text of a shape, such as `"[2, 3]"`, as used in shape error messages.
 *
 * @param s The shape (or any list of integers, such as a permutation).
 * @returns The dims separated by `", "` inside square brackets.
 */
export function showShape(s: Shape): string {
  return `[${s.join(", ")}]`;
}
