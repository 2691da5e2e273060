/**
 * Layers as pure `{ init, apply }` pairs, `sequential` with compile-time
 * shape inference, and `summary`.
 *
 * @module
 */
export {
  type AnyLayer,
  type ApplyOptions,
  type FoldOutput,
  type FoldParams,
  type FoldState,
  type In,
  type Layer,
  type LayerImpl,
  type LayerRule,
  type OutputOf,
  type ParamsOf,
  type Sequential,
  sequential,
  type SequentialRule,
  type StateOf,
} from "./layer.ts";
export {
  avgPool2d,
  batchNorm,
  type BatchNormOptions,
  type BatchNormParams,
  type BatchNormRule,
  type BatchNormState,
  conv2d,
  type Conv2dLayerOptions,
  type Conv2dRule,
  dense,
  type DenseOptions,
  type DenseRule,
  dropout,
  type DropoutLayerOptions,
  flatten,
  type FlattenRule,
  globalAvgPool2d,
  type GlobalPoolRule,
  type IdentityRule,
  maxPool2d,
  type NoParams,
  type Pool2dRule,
  relu,
  sigmoid,
  softmax,
  tanh,
} from "./layers.ts";
export { summary } from "./summary.ts";
