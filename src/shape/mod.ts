/**
 * The shape algebra: type-level shape rules ({@linkcode MatMulShape},
 * {@linkcode Conv2dShape}, ...), their runtime twins ({@linkcode matmulShape},
 * {@linkcode conv2dShape}, ...) with the same messages, the digit-wise
 * arithmetic on number literals they are built on, and the error types.
 * These are the types behind the signatures of the main entry point; import
 * them from `@tensa/tensa/types` to write shape-generic code of your own.
 *
 * @example Exact arithmetic on dims, checked by the compiler
 * ```ts
 * import type { Add, Conv2dShape, Mul } from "@tensa/tensa/types";
 * import { assertType, type IsExact } from "@std/testing/types";
 *
 * assertType<IsExact<Mul<60000, 784>, 47040000>>(true);
 * assertType<IsExact<Add<99999, 1>, 100000>>(true);
 * type Out = Conv2dShape<[8, 28, 28, 1], [5, 5, 1, 6], { stride: 1 }>;
 * assertType<IsExact<Out, [8, 24, 24, 6]>>(true);
 * ```
 *
 * @module
 */

export * from "./arith.ts";
export * from "./errors.ts";
export * from "./rules.ts";
export * from "./check.ts";
