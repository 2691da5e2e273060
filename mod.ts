/**
 * tensa: a functional tensor DSL for TypeScript with compile-time shapes,
 * forward- and reverse-mode differentiation that nest to any order, and fast
 * typed-array CNN kernels. Tensors are immutable garbage-collected values:
 * there is nothing to dispose.
 *
 * @example A shape-checked, differentiable function
 * ```ts
 * import { grad, matmul, sum, tensor, type Tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([[1, 2, 3]]);                 // Tensor<[1, 3]>
 * const loss = (w: Tensor<[3, 1]>) => sum(matmul(x, w));
 * const g = grad(loss)(tensor([[0], [0], [0]])); // Tensor<[3, 1]>
 * assertEquals(g.toArray(), [[1], [2], [3]]);
 * ```
 *
 * @module
 */
export * from "./src/tensor.ts";
export * from "./src/pytree.ts";
export * from "./src/ops/binary.ts";
export * from "./src/ops/unary.ts";
export * from "./src/ops/compare.ts";
export * from "./src/ops/reduce.ts";
export * from "./src/ops/layout.ts";
export * from "./src/ops/matmul.ts";
export * from "./src/ops/conv.ts";
export * from "./src/ops/pool.ts";
export * from "./src/ops/nn_ops.ts";
export * from "./src/autodiff/transforms.ts";
export * from "./src/random.ts";
export * from "./src/init.ts";
