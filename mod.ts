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

export {
  type AnyTensor,
  arange,
  type DataOf,
  type Dim,
  type DType,
  type DTypeOfFlat,
  type DTypeOptions,
  eye,
  full,
  type Mutable,
  type NestedArray,
  type NestedInput,
  ones,
  type Shape,
  type ShapeOfNested,
  Tensor,
  tensor,
  zeros,
} from "./src/tensor.ts";
export {
  type PyTree,
  type TreeDef,
  treeFlatten,
  treeMap,
  treePaths,
  treeSameStructure,
  treeUnflatten,
  treeZip,
} from "./src/pytree.ts";
export { type DTypeOf, type Operand, type ShapeOf } from "./src/ops/operand.ts";
export {
  add,
  type Broadcast,
  type BroadcastArg,
  div,
  maximum,
  minimum,
  mul,
  pow,
  sub,
} from "./src/ops/binary.ts";
export {
  abs,
  exp,
  log,
  neg,
  relu,
  sigmoid,
  sign,
  sqrt,
  square,
  step,
  tanh,
} from "./src/ops/unary.ts";
export {
  clip,
  type CompareArg,
  type Comparison,
  equal,
  greater,
  greaterEqual,
  less,
  lessEqual,
  notEqual,
  type Where,
  where,
} from "./src/ops/compare.ts";
export {
  argmax,
  type ArgmaxOptions,
  type Axes,
  logSumExp,
  max,
  mean,
  min,
  type Reduced,
  type ReduceOptions,
  sum,
} from "./src/ops/reduce.ts";
export {
  broadcastTo,
  cast,
  concat,
  expandDims,
  flatten,
  gather,
  oneHot,
  reshape,
  slice,
  squeeze,
  stopGradient,
  transpose,
} from "./src/ops/layout.ts";
export { matmul } from "./src/ops/matmul.ts";
export { type Conv2d, conv2d } from "./src/ops/conv.ts";
export {
  avgPool2d,
  globalAvgPool2d,
  type GlobalPool,
  maxPool2d,
  type Pool2d,
} from "./src/ops/pool.ts";
export {
  crossEntropy,
  dropout,
  type DropoutOptions,
  logSoftmax,
  softmax,
  type SoftmaxOptions,
} from "./src/ops/nn_ops.ts";
export {
  type Cotangents,
  customVjp,
  grad,
  hessian,
  jacfwd,
  type Jacobian,
  jacrev,
  jvp,
  type LossResult,
  valueAndGrad,
  type ValueAndGradOptions,
  vjp,
} from "./src/autodiff/transforms.ts";
export {
  type AxisOf,
  type Batched,
  type BatchedArgs,
  type BatchedShape,
  type InAxes,
  type InsertAxis,
  vmap,
  type VmapOptions,
} from "./src/autodiff/vmap.ts";
export { trace } from "./src/staging/trace.ts";
export { jit, type JitOptions } from "./src/staging/jit.ts";
export { exportOnnx, type ExportOnnxOptions } from "./src/export/onnx.ts";
export type { Constant, Equation, Program, Var } from "./src/staging/ir.ts";
export * from "./src/random.ts";
export * from "./src/init.ts";
export type { ShapeError } from "./src/shape/errors.ts";
export * as nn from "./src/nn/mod.ts";
export * as optim from "./src/optim/mod.ts";
export { decodeIdx, type IdxData, parseIdx, readIdx } from "./src/data/idx.ts";
export {
  type LabeledImages,
  loadMnist,
  type LoadMnistOptions,
  type MnistData,
  toImagesTensor,
  toLabelsTensor,
} from "./src/data/mnist.ts";
export { type Batch, batches, type BatchOptions } from "./src/data/batches.ts";
export {
  deserialize,
  deserializeMetadata,
  load,
  save,
  type SaveOptions,
  serialize,
} from "./src/io/safetensors.ts";
