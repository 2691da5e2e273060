/**
 * The shape algebra: type-level shape rules ({@linkcode MatMulShape},
 * {@linkcode Conv2dShape}, ...), their runtime twins ({@linkcode matmulShape},
 * {@linkcode conv2dShape}, ...) with the same messages, the digit-wise
 * arithmetic on number literals they are built on, and the error types.
 *
 * @module
 */

export * from "./arith.ts";
export * from "./errors.ts";
export * from "./rules.ts";
export * from "./check.ts";
