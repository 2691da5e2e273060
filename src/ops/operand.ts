/**
 * Shared pieces of the op signatures: operands that may be plain numbers, and
 * the type-level view of their shapes and dtypes.
 *
 * @module
 */

import {
  type AnyTensor,
  type DType,
  fromData,
  type Shape,
  Tensor,
} from "../tensor.ts";

/** A tensor or a plain number (a scalar constant) as an op's operand. */
export type Operand = AnyTensor | number;

/** The shape of an operand: a tensor's shape, or `[]` for a number. */
export type ShapeOf<T> = T extends Tensor<infer S, DType> ? S : [];

/** The dtype of a binary op's result: the first tensor operand's dtype. */
export type DTypeOf<X, Y = X> = X extends Tensor<Shape, infer D> ? D
  : Y extends Tensor<Shape, infer D> ? D
  : "float32";

/** Internal: turns a number into a scalar tensor of the given dtype. */
export function lift(x: Operand, dtype: DType): AnyTensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== "number") {
    throw new TypeError(
      `Expected a tensor or a number but found ${
        Object.prototype.toString.call(x)
      }`,
    );
  }
  const data = dtype === "int32"
    ? new Int32Array([Math.trunc(x)])
    : new Float32Array([x]);
  return fromData([], dtype, data);
}

/** Internal: the dtype two operands share; a number adopts the tensor's. */
export function commonDType(name: string, a: Operand, b: Operand): DType {
  const da = a instanceof Tensor ? a.dtype : undefined;
  const db = b instanceof Tensor ? b.dtype : undefined;
  if (da !== undefined && db !== undefined && da !== db) {
    throw new TypeError(
      `Expected operands of ${name} to have the same dtype but found ${da} and ${db}`,
    );
  }
  return da ?? db ?? "float32";
}

/** Internal: shapes equal, element by element. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
