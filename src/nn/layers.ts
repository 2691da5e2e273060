/**
 * The layers: dense, conv2d, pooling, flatten, dropout, activations and
 * batch norm. Each is a pure `{ init, apply }` pair with its shape rule in
 * its type (see `layer.ts`).
 *
 * @module
 */

import {
  type AnyTensor,
  ones,
  type Shape,
  sizeOf,
  type Tensor,
  zeros,
} from "../tensor.ts";
import type { Key } from "../random.ts";
import { glorotUniform } from "../init.ts";
import {
  type Conv2dOptions,
  type Conv2dShape,
  conv2dShape,
  type DenseShape,
  denseShape,
  type FlattenShape,
  flattenShape,
  type Pool2dOptions,
  type Pool2dShape,
  pool2dShape,
  type ShapeError,
  type ShowShape,
  showShape,
} from "../shape/mod.ts";
import { add, div, mul, sub } from "../ops/binary.ts";
import { matmul } from "../ops/matmul.ts";
import { conv2d as conv2dOp } from "../ops/conv.ts";
import {
  avgPool2d as avgPoolOp,
  globalAvgPool2d as gapOp,
  maxPool2d as maxPoolOp,
} from "../ops/pool.ts";
import { flatten as flattenOp, stopGradient } from "../ops/layout.ts";
import { mean } from "../ops/reduce.ts";
import {
  relu as reluOp,
  sigmoid as sigmoidOp,
  sqrt,
  tanh as tanhOp,
} from "../ops/unary.ts";
import { dropout as dropoutOp, softmax as softmaxOp } from "../ops/nn_ops.ts";
import { biasRelu } from "../ops/fused.ts";
import {
  type ApplyOptions,
  type In,
  type Layer,
  type LayerRule,
  makeLayer,
} from "./layer.ts";

/** The parameters of a layer without any. */
export type NoParams = Record<string, never>;

const noParams = (): NoParams => ({});

function last(s: Shape): number {
  return s[s.length - 1] as number;
}

// ------------------------------------------------------------------ dense

/** Options of {@linkcode dense}. */
export interface DenseOptions {
  /** The number of output features. */
  units: number;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** The number of input features, if you want it checked (otherwise taken from the input). */
  inputs?: number;
}

/** The output shape of {@linkcode dense} with `U` units for input shape `S` (or the error). */
export type DenseOutput<S extends Shape, U extends number, In> = DenseShape<
  S,
  U,
  In
>;

/** The parameters of {@linkcode dense}: a kernel `[features, U]` and, unless `Bias` is false, a bias `[U]`. */
export type DenseParams<S extends Shape, U extends number, Bias> = Bias extends
  false ? { kernel: Tensor<[Features<S>, U], "float32"> }
  : {
    kernel: Tensor<[Features<S>, U], "float32">;
    bias: Tensor<[U], "float32">;
  };
/** The feature count of a `[batch, features]` shape, or `number` when unknown. */
export type Features<S extends Shape> = S extends
  readonly [number, infer F extends number] ? F : number;

/** The shape rule of {@linkcode dense}. */
export interface DenseRule<O extends DenseOptions> extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: DenseOutput<In<this["input"]>, O["units"], O["inputs"]>;
  /** The parameters for the input shape. */
  readonly params: DenseParams<In<this["input"]>, O["units"], O["useBias"]>;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: null;
}

function denseOutput(s: Shape, o: DenseOptions): Shape {
  return denseShape(s, o.units, o.inputs);
}

/** The bias add and relu of a layer followed by relu, fused in one pass. */
function withRelu(y: AnyTensor, bias: AnyTensor | undefined): AnyTensor {
  return bias === undefined ? reluOp(y) as AnyTensor : biasRelu(y, bias);
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(
      `Expected ${name} to be a positive integer but found ${v}`,
    );
  }
}

/**
 * A fully connected layer `x @ kernel + bias`: `[B, F]` to `[B, units]`. The
 * kernel is initialized Glorot-uniform, the bias with zeros.
 *
 * @param options `units`, `useBias` (default true), `inputs` (optional check).
 * @returns The layer.
 * @throws {RangeError} If `units` is not a positive integer.
 *
 * @example
 * ```ts
 * import { key, nn, ones } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const layer = nn.dense({ units: 3 });
 * const p = layer.init(key(1), [4]); // { kernel: Tensor<[4, 3]>, bias: Tensor<[3]> }
 * assertEquals(p.kernel.shape, [4, 3]);
 * assertEquals(layer.apply(p, ones([2, 4])).shape, [2, 3]);
 * ```
 */
export function dense<const O extends DenseOptions>(
  options: O,
): Layer<DenseRule<O>, "dense"> {
  positiveInt("units", options.units);
  const useBias = options.useBias ?? true;
  return makeLayer("dense", {
    description: `dense ${options.units}`,
    field: "global",
    outputShape: (s) => denseOutput(s, options),
    initParams(key: Key, s: Shape) {
      const f = s[1] as number;
      const kernel = glorotUniform(key, [f, options.units]);
      return useBias ? { kernel, bias: zeros([options.units]) } : { kernel };
    },
    initState: () => null,
    run(params, x, _o, state) {
      const p = params as { kernel: AnyTensor; bias?: AnyTensor };
      let y = matmul(x, p.kernel as never) as AnyTensor;
      if (p.bias !== undefined) y = add(y, p.bias) as AnyTensor;
      return [y, state];
    },
    runRelu(params, x, _o, state) {
      const p = params as { kernel: AnyTensor; bias?: AnyTensor };
      const y = matmul(x, p.kernel as never) as AnyTensor;
      return [withRelu(y, p.bias), state];
    },
    countParams: (s) =>
      (s[1] as number) * options.units + (useBias ? options.units : 0),
  });
}

// ----------------------------------------------------------------- conv2d

/** Options of the {@linkcode conv2d} layer. */
export interface Conv2dLayerOptions extends Conv2dOptions {
  /** The number of filters (output channels). */
  filters: number;
  /** The kernel size: a number for square kernels, or `[h, w]`. */
  kernel: number | readonly [number, number];
  /** Add a bias per filter (default true). */
  useBias?: boolean;
}

/** The kernel height of a `kernel` option (a number or `[h, w]`). */
export type KH<K> = K extends readonly [infer H extends number, number] ? H
  : K extends number ? K
  : number;
/** The kernel width of a `kernel` option (a number or `[h, w]`). */
export type KW<K> = K extends readonly [number, infer W extends number] ? W
  : K extends number ? K
  : number;
/** The channels of an NHWC shape, or `number` when unknown. */
export type Channels<S extends Shape> = S extends
  readonly [number, number, number, infer C extends number] ? C : number;
/** The kernel shape `[kh, kw, inChannels, filters]` of {@linkcode conv2d} for input shape `S`. */
export type ConvKernel<S extends Shape, O extends Conv2dLayerOptions> = [
  KH<O["kernel"]>,
  KW<O["kernel"]>,
  Channels<S>,
  O["filters"],
];
/** The parameters of {@linkcode conv2d}: a kernel and, unless turned off, a bias per filter. */
export type ConvParams<S extends Shape, O extends Conv2dLayerOptions> =
  O["useBias"] extends false ? { kernel: Tensor<ConvKernel<S, O>, "float32"> }
    : {
      kernel: Tensor<ConvKernel<S, O>, "float32">;
      bias: Tensor<[O["filters"]], "float32">;
    };

/** The shape rule of {@linkcode conv2d}. */
export interface Conv2dRule<O extends Conv2dLayerOptions> extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: Conv2dShape<
    In<this["input"]>,
    ConvKernel<In<this["input"]>, O>,
    O
  >;
  /** The parameters for the input shape. */
  readonly params: ConvParams<In<this["input"]>, O>;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: null;
}

function kernelDims(k: number | readonly [number, number]): [number, number] {
  return typeof k === "number" ? [k, k] : [k[0], k[1]];
}

/**
 * A 2-D convolution layer over NHWC images: `filters` kernels of size
 * `kernel` slide over the input and make one feature map each. Kernels are
 * initialized Glorot-uniform, biases with zeros.
 *
 * @param options `filters`, `kernel`, and optionally `stride`, `padding`, `dilation`, `useBias`.
 * @returns The layer.
 * @throws {RangeError} If `filters` or the kernel size is not a positive integer.
 *
 * @example
 * ```ts
 * import { key, nn, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const layer = nn.conv2d({ filters: 8, kernel: 5, padding: "same", stride: 2 });
 * const p = layer.init(key(0), [28, 28, 1]);
 * assertEquals(p.kernel.shape, [5, 5, 1, 8]);
 * assertEquals(layer.apply(p, zeros([2, 28, 28, 1])).shape, [2, 14, 14, 8]);
 * ```
 */
export function conv2d<const O extends Conv2dLayerOptions>(
  options: O,
): Layer<Conv2dRule<O>, "conv2d"> {
  positiveInt("filters", options.filters);
  const [kh, kw] = kernelDims(options.kernel);
  positiveInt("kernel size", kh);
  positiveInt("kernel size", kw);
  const useBias = options.useBias ?? true;
  const convOpts: Conv2dOptions = {
    ...(options.stride !== undefined ? { stride: options.stride } : {}),
    ...(options.padding !== undefined ? { padding: options.padding } : {}),
    ...(options.dilation !== undefined ? { dilation: options.dilation } : {}),
  };
  const kernelShape = (
    s: Shape,
  ): number[] => [kh, kw, s[3] ?? 0, options.filters];
  return makeLayer("conv2d", {
    description: `conv2d ${kh}x${kw}x${options.filters}`,
    field: {
      kernel: [kh, kw],
      stride: kernelDims(options.stride ?? 1),
      dilation: kernelDims(options.dilation ?? 1),
    },
    outputShape: (s) => conv2dShape(s, kernelShape(s), convOpts),
    initParams(key: Key, s: Shape) {
      const kernel = glorotUniform(key, kernelShape(s));
      return useBias ? { kernel, bias: zeros([options.filters]) } : { kernel };
    },
    initState: () => null,
    run(params, x, _o, state) {
      const p = params as { kernel: AnyTensor; bias?: AnyTensor };
      let y = conv2dOp(x as never, p.kernel as never, convOpts) as AnyTensor;
      if (p.bias !== undefined) y = add(y, p.bias) as AnyTensor;
      return [y, state];
    },
    runRelu(params, x, _o, state) {
      const p = params as { kernel: AnyTensor; bias?: AnyTensor };
      const y = conv2dOp(x as never, p.kernel as never, convOpts) as AnyTensor;
      return [withRelu(y, p.bias), state];
    },
    countParams: (s) =>
      sizeOf(kernelShape(s)) + (useBias ? options.filters : 0),
  });
}

// ---------------------------------------------------------------- pooling

/** The shape rule of the pooling layers. */
export interface Pool2dRule<O extends Pool2dOptions> extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: Pool2dShape<In<this["input"]>, O>;
  /** The parameters for the input shape. */
  readonly params: NoParams;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: null;
}

function poolLayer<K extends string, O extends Pool2dOptions>(
  kind: K,
  options: O,
  op: (x: AnyTensor, o: Pool2dOptions) => AnyTensor,
): Layer<Pool2dRule<O>, K> {
  const size = options.size;
  const text = typeof size === "number"
    ? `${size}x${size}`
    : `${size[0]}x${size[1]}`;
  return makeLayer(kind, {
    description: `${kind} ${text}`,
    field: {
      kernel: kernelDims(size),
      stride: kernelDims(options.stride ?? size),
      dilation: [1, 1],
    },
    outputShape: (s) => pool2dShape(s, options),
    initParams: noParams,
    initState: () => null,
    run: (_p, x, _o, state) => [op(x, options), state],
    countParams: () => 0,
  });
}

/**
 * Max pooling layer: keeps the largest value of each window.
 *
 * @param options `size`, and optionally `stride` (default: size) and `padding`.
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const pool = nn.maxPool2d({ size: 2 });
 * assertEquals(pool.apply(pool.init(key(0), [24, 24, 8]), zeros([1, 24, 24, 8])).shape, [1, 12, 12, 8]);
 * ```
 */
export function maxPool2d<const O extends Pool2dOptions>(
  options: O,
): Layer<Pool2dRule<O>, "maxPool2d"> {
  return poolLayer(
    "maxPool2d",
    options,
    (x, o) => maxPoolOp(x as never, o) as AnyTensor,
  );
}

/**
 * Average pooling layer: the mean of each window.
 *
 * @param options `size`, and optionally `stride` (default: size) and `padding`.
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, ones } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const pool = nn.avgPool2d({ size: 2 });
 * const y = pool.apply(pool.init(key(0), [2, 2, 1]), ones([1, 2, 2, 1]));
 * assertEquals(y.toFlat(), new Float32Array([1]));
 * ```
 */
export function avgPool2d<const O extends Pool2dOptions>(
  options: O,
): Layer<Pool2dRule<O>, "avgPool2d"> {
  return poolLayer(
    "avgPool2d",
    options,
    (x, o) => avgPoolOp(x as never, o) as AnyTensor,
  );
}

/** The output shape `[batch, channels]` of {@linkcode globalAvgPool2d} for input shape `S`. */
export type GapOutput<S extends Shape> = number extends S["length"]
  ? [number, number]
  : S extends
    readonly [infer N extends number, number, number, infer C extends number]
    ? [N, C]
  : ShapeError<
    `Cannot pool input ${ShowShape<S>}: input must have rank 4 (NHWC)`
  >;

/** The shape rule of {@linkcode globalAvgPool2d}. */
export interface GlobalPoolRule extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: GapOutput<In<this["input"]>>;
  /** The parameters for the input shape. */
  readonly params: NoParams;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: null;
}

/**
 * Global average pooling layer: `[B, H, W, C]` to `[B, C]`.
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, ones } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const gap = nn.globalAvgPool2d();
 * assertEquals(gap.apply(gap.init(key(0), [5, 5, 3]), ones([2, 5, 5, 3])).shape, [2, 3]);
 * ```
 */
export function globalAvgPool2d(): Layer<GlobalPoolRule, "globalAvgPool2d"> {
  return makeLayer("globalAvgPool2d", {
    description: "globalAvgPool2d",
    field: "global",
    outputShape(s) {
      if (s.length !== 4) {
        throw new RangeError(
          `Cannot pool input ${showShape(s)}: input must have rank 4 (NHWC)`,
        );
      }
      return [s[0] as number, s[3] as number];
    },
    initParams: noParams,
    initState: () => null,
    run: (
      _p,
      x,
      _o,
      state,
    ) => [gapOp(x as never) as unknown as AnyTensor, state],
    countParams: () => 0,
  });
}

// ---------------------------------------------------------------- flatten

/** The shape rule of {@linkcode flatten}. */
export interface FlattenRule extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: FlattenShape<In<this["input"]>>;
  /** The parameters for the input shape. */
  readonly params: NoParams;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: null;
}

/**
 * Flattens each example: `[B, H, W, C]` to `[B, H*W*C]`. The compiler
 * computes the product for literal dims.
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const f = nn.flatten();
 * assertEquals(f.apply(f.init(key(0), [12, 12, 64]), zeros([1, 12, 12, 64])).shape, [1, 9216]);
 * ```
 */
export function flatten(): Layer<FlattenRule, "flatten"> {
  return makeLayer("flatten", {
    description: "flatten",
    field: "flatten",
    outputShape: (s) => flattenShape(s),
    initParams: noParams,
    initState: () => null,
    run: (_p, x, _o, state) => [flattenOp(x) as AnyTensor, state],
    countParams: () => 0,
  });
}

// ------------------------------------------------ shape-preserving layers

/** The shape rule of layers whose output shape is their input shape. */
export interface IdentityRule extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: In<this["input"]>;
  /** The parameters for the input shape. */
  readonly params: NoParams;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: null;
}

function elementwise<K extends string>(
  kind: K,
  description: string,
  f: (x: AnyTensor, o: ApplyOptions) => AnyTensor,
): Layer<IdentityRule, K> {
  return makeLayer(kind, {
    description,
    outputShape: (s) => s,
    initParams: noParams,
    initState: () => null,
    run: (_p, x, o, state) => [f(x, o), state],
    countParams: () => 0,
  });
}

/** Options of the {@linkcode dropout} layer. */
export interface DropoutLayerOptions {
  /** The probability of dropping each element, in [0, 1). */
  rate: number;
}

/**
 * Dropout layer: in training mode, drops each element with probability
 * `rate` and scales the rest by `1 / (1 - rate)`; the identity at inference.
 * Training mode needs a key in `apply`'s options: a missing key is an error,
 * never a silent fixed seed.
 *
 * @param options `rate`.
 * @returns The layer.
 * @throws {RangeError} If `rate` is outside [0, 1).
 *
 * @example
 * ```ts
 * import { key, nn, ones } from "@tensa/tensa";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const d = nn.dropout({ rate: 0.5 });
 * const p = d.init(key(0), [4]);
 * assertEquals(d.apply(p, ones([1, 4])).toArray(), [[1, 1, 1, 1]]); // inference
 * assertThrows(() => d.apply(p, ones([1, 4]), { training: true }), TypeError);
 * ```
 */
export function dropout(
  options: DropoutLayerOptions,
): Layer<IdentityRule, "dropout"> {
  const { rate } = options;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`Expected rate to be in [0, 1) but found ${rate}`);
  }
  return elementwise("dropout", `dropout ${rate}`, (x, o) => {
    if (!o.training || rate === 0) return x;
    if (o.key === undefined) {
      throw new TypeError(
        "Expected a key in apply's options because dropout is random in training mode: pass { training: true, key }",
      );
    }
    return dropoutOp(x as never, { rate, key: o.key }) as AnyTensor;
  });
}

/**
 * ReLU activation layer.
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const r = nn.relu();
 * assertEquals(r.apply(r.init(key(0), [2]), tensor([[-1, 2]])).toArray(), [[0, 2]]);
 * ```
 */
export function relu(): Layer<IdentityRule, "relu"> {
  return elementwise("relu", "relu", (x) => reluOp(x) as AnyTensor);
}

/**
 * Sigmoid activation layer.
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const s = nn.sigmoid();
 * assertEquals(s.apply(s.init(key(0), [1]), tensor([[0]])).toArray(), [[0.5]]);
 * ```
 */
export function sigmoid(): Layer<IdentityRule, "sigmoid"> {
  return elementwise(
    "sigmoid",
    "sigmoid",
    (x) => sigmoidOp(x as never) as AnyTensor,
  );
}

/**
 * Tanh activation layer.
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = nn.tanh();
 * assertEquals(t.apply(t.init(key(0), [1]), tensor([[0]])).toArray(), [[0]]);
 * ```
 */
export function tanh(): Layer<IdentityRule, "tanh"> {
  return elementwise("tanh", "tanh", (x) => tanhOp(x as never) as AnyTensor);
}

/**
 * Softmax layer over the last axis (for probabilities at the output; train
 * on logits with `crossEntropy` instead).
 *
 * @returns The layer.
 *
 * @example
 * ```ts
 * import { key, nn, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const s = nn.softmax();
 * assertEquals(s.apply(s.init(key(0), [2]), tensor([[0, 0]])).toArray(), [[0.5, 0.5]]);
 * ```
 */
export function softmax(): Layer<IdentityRule, "softmax"> {
  return elementwise(
    "softmax",
    "softmax",
    (x) => softmaxOp(x as never) as AnyTensor,
  );
}

// ------------------------------------------------------------- batch norm

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** Weight of the old running statistics in each update (default 0.99). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-3). */
  epsilon?: number;
}

/** The last dim of a shape (the channels of NHWC), or `number` when unknown. */
export type LastDim<S extends Shape> = S extends
  readonly [...Shape, infer C extends number] ? C : number;

/** The parameters of {@linkcode batchNorm} for `C` channels. */
export interface BatchNormParams<C extends number> {
  /** The learned scale (gamma) per channel. */
  scale: Tensor<[C], "float32">;
  /** The learned offset (beta) per channel. */
  offset: Tensor<[C], "float32">;
}

/** The running statistics of {@linkcode batchNorm} for `C` channels. */
export interface BatchNormState<C extends number> {
  /** The running mean per channel. */
  mean: Tensor<[C], "float32">;
  /** The running variance per channel. */
  variance: Tensor<[C], "float32">;
}

/** The shape rule of {@linkcode batchNorm}. */
export interface BatchNormRule extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: In<this["input"]>;
  /** The parameters for the input shape. */
  readonly params: BatchNormParams<LastDim<In<this["input"]>>>;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: BatchNormState<LastDim<In<this["input"]>>>;
}

/**
 * Batch normalization over the last (channel) axis.
 *
 * State flows explicitly, never by mutation: `initState` gives running
 * statistics (mean 0, variance 1); `applyWithState(params, state, x, { training: true })`
 * normalizes with the batch's statistics and returns `[y, newState]` with the
 * running statistics moved toward them; at inference, `apply(params, x, { state })`
 * normalizes with the running statistics. Gradients do not flow into the state.
 *
 * @param options `momentum` (default 0.99) and `epsilon` (default 1e-3).
 * @returns The layer.
 * @throws {RangeError} If `momentum` is outside [0, 1) or `epsilon` is not positive.
 *
 * @example
 * ```ts
 * import { key, nn, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const bn = nn.batchNorm({ momentum: 0.5 });
 * const p = bn.init(key(0), [1]);
 * const s0 = bn.initState([1]);
 * const [, s1] = bn.applyWithState(p, s0, tensor([[1], [3]]), { training: true });
 * assertEquals(s1.mean.toArray(), [1]); // 0.5 * 0 + 0.5 * 2
 * ```
 */
export function batchNorm(
  options: BatchNormOptions = {},
): Layer<BatchNormRule, "batchNorm"> {
  const momentum = options.momentum ?? 0.99;
  const epsilon = options.epsilon ?? 1e-3;
  if (!(momentum >= 0 && momentum < 1)) {
    throw new RangeError(
      `Expected momentum to be in [0, 1) but found ${momentum}`,
    );
  }
  if (!(epsilon > 0)) {
    throw new RangeError(
      `Expected epsilon to be positive but found ${epsilon}`,
    );
  }
  return makeLayer("batchNorm", {
    description: "batchNorm",
    outputShape(s) {
      if (s.length < 2) {
        throw new RangeError(
          `batchNorm needs a rank-2 or higher input but found ${showShape(s)}`,
        );
      }
      return s;
    },
    initParams: (_k, s) => ({
      scale: ones([last(s)]),
      offset: zeros([last(s)]),
    }),
    initState: (s) => ({ mean: zeros([last(s)]), variance: ones([last(s)]) }),
    run(params, x, o, state) {
      const p = params as { scale: AnyTensor; offset: AnyTensor };
      const st = state as { mean: AnyTensor; variance: AnyTensor } | null;
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      let m: AnyTensor, v: AnyTensor, next: unknown = st;
      if (o.training) {
        m = mean(x as never, { axis: axes }) as AnyTensor;
        v = mean(mul(sub(x, m), sub(x, m)) as never, {
          axis: axes,
        }) as AnyTensor;
        if (st !== null) {
          const mix = (old: AnyTensor, cur: AnyTensor) =>
            add(
              mul(old, momentum),
              mul(stopGradient(cur), 1 - momentum),
            ) as AnyTensor;
          next = { mean: mix(st.mean, m), variance: mix(st.variance, v) };
        }
      } else {
        if (st === null) {
          throw new TypeError(
            "Expected the state in apply's options because batchNorm uses running statistics at inference: pass { state }",
          );
        }
        m = st.mean;
        v = st.variance;
      }
      const y = add(
        mul(div(sub(x, m), sqrt(add(v, epsilon) as never)), p.scale),
        p.offset,
      ) as AnyTensor;
      return [y, next];
    },
    countParams: (s) => 2 * last(s),
  });
}
