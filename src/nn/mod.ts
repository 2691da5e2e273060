/**
 * Layers as pure `{ init, apply }` pairs, `sequential` with compile-time
 * shape inference, and `summary`. Import them from the main entry point as
 * the namespace `nn` (`import { nn } from "@tensa/tensa"`, then `nn.dense`)
 * or from this entry point directly.
 *
 * @example A small CNN, typed layer by layer
 * ```ts
 * import { conv2d, dense, flatten, maxPool2d, sequential, summary } from "@tensa/tensa/nn";
 * import { key, zeros } from "@tensa/tensa";
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 *
 * const model = sequential(
 *   conv2d({ filters: 4, kernel: 3, activation: "relu" }), // [B, 6, 6, 4]
 *   maxPool2d({ size: 2 }), // [B, 3, 3, 4]
 *   flatten(), // [B, 36]
 *   dense({ units: 2 }),
 * );
 * const params = model.init(key(0), [8, 8, 1]);
 * assertEquals(model.apply(params, zeros([5, 8, 8, 1])).shape, [5, 2]);
 * assertStringIncludes(summary(model, [8, 8, 1]), "Total params: 114");
 * ```
 *
 * @module
 */
export {
  type AnyLayer,
  type Applied,
  type ApplyOptions,
  type FoldMisfit,
  type FoldOutput,
  type FoldParams,
  type FoldState,
  type In,
  type KindOf,
  type Layer,
  type LayerField,
  type LayerImpl,
  type LayerRule,
  type LayerSplit,
  type LayerWindow,
  type LengthMisfit,
  type MisfitOf,
  type MisfitSentence,
  type NoParams,
  type OutputOf,
  type ParamsOf,
  type PlainRule,
  type RuleOf,
  type Sequential,
  sequential,
  type SequentialRule,
  type StatelessRule,
  type StateOf,
} from "./layer.ts";
export {
  type Activation,
  avgPool2d,
  batchNorm,
  type BatchNormMisfit,
  type BatchNormOptions,
  type BatchNormParams,
  type BatchNormRule,
  type BatchNormState,
  type Channels,
  conv2d,
  type Conv2dLayerOptions,
  type Conv2dRule,
  type ConvKernel,
  type ConvMisfit,
  type ConvParams,
  dense,
  type DenseMisfit,
  type DenseOptions,
  type DenseOutput,
  type DenseParams,
  type DenseRule,
  dropout,
  type DropoutLayerOptions,
  type Features,
  flatten,
  type FlattenRule,
  type GapOutput,
  globalAvgPool2d,
  type GlobalPoolRule,
  type IdentityRule,
  type KH,
  type KW,
  type LastDim,
  maxPool2d,
  type Pool2dRule,
  relu,
  sigmoid,
  softmax,
  tanh,
  type Unfit,
} from "./layers.ts";
export { summary } from "./summary.ts";
