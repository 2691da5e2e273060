/**
 * The layers: dense, conv2d, pooling, flatten, dropout, activations and
 * batch norm. Each is a pure `{ init, apply }` pair with its shape rule in
 * its type (see `layer.ts`).
 *
 * @module
 */

import {
  type AnyTensor,
  dimOf,
  ones,
  type Shape,
  sizeOf,
  Tensor,
  zeros,
} from "../tensor.ts";
import { glorotUniform } from "../init.ts";
import {
  type Conv2dOptions,
  type Conv2dShape,
  conv2dShape,
  type DenseShape,
  denseShape,
  type FlattenShape,
  flattenShape,
  type GlobalPool2dShape,
  globalPool2dShape,
  type Pool2dOptions,
  type Pool2dShape,
  pool2dShape,
  type ShowShape,
  showShape,
} from "../shape/mod.ts";
import * as lax from "../ops/lax.ts";
import { sameShape } from "../ops/operand.ts";
import { biasRelu } from "../ops/fused.ts";
import {
  type ApplyOptions,
  type In,
  type Layer,
  type LayerRule,
  makeLayer,
  type ParamsDef,
  ParamsMisfit,
  plainLayer,
  type PlainRule,
  statelessLayer,
  type StatelessRule,
} from "./layer.ts";

/** The tensor at `params[name]`, or undefined when there is none. */
function tensorAt(params: unknown, name: string): AnyTensor | undefined {
  if (typeof params !== "object" || params === null) return undefined;
  const v: unknown = Reflect.get(params, name);
  return v instanceof Tensor ? v : undefined;
}

/** The sentence end for parameters that do not fit in another way than their input. */
function unfit(s: Shape): ParamsMisfit {
  return new ParamsMisfit(
    `was given parameters that do not fit inputs ${showShape(s)}`,
  );
}

/** Why parameters do not fit input shape `S` when their input dims match it (other units or filters, a missing bias). */
export type Unfit<S extends Shape> =
  `was given parameters that do not fit inputs ${ShowShape<S>}`;

/** The activation after a dense or conv2d layer. */
export type Activation = "linear" | "relu";

function checkActivation(a: unknown): Activation {
  if (a === undefined || a === "linear") return "linear";
  if (a === "relu") return "relu";
  throw new RangeError(
    `Expected activation to be "linear" or "relu" but found ${String(a)}`,
  );
}

/**
 * The bias add and activation after a matmul or conv: `relu(y + bias)` in
 * one fused pass when both are asked for.
 */
function epilogue(
  y: AnyTensor,
  bias: AnyTensor | undefined,
  activation: Activation,
): AnyTensor {
  if (activation === "relu") {
    return bias === undefined ? lax.relu(y) : biasRelu(y, bias);
  }
  return bias === undefined ? y : lax.add(y, bias);
}

/** A kernel and, when the layer has one, a bias. */
interface KernelParams {
  kernel: AnyTensor;
  bias?: AnyTensor | undefined;
}

/**
 * The parameters of a dense or conv2d layer: a Glorot-uniform kernel of
 * shape `kernelShape(s)`, whose second-to-last axis is the input's last dim,
 * and, with `useBias`, a zero bias `[units]`. `inputs` shows the input shape
 * a kernel was made for from that axis's dim.
 */
function kernelParams(
  kernelShape: (s: Shape) => number[],
  units: number,
  useBias: boolean,
  inputs: (c: number) => string,
): ParamsDef<KernelParams> {
  return {
    init(key, s) {
      const kernel = glorotUniform(key, kernelShape(s));
      return useBias ? { kernel, bias: zeros([units]) } : { kernel };
    },
    read(params, s) {
      const kernel = tensorAt(params, "kernel");
      const bias = useBias ? tensorAt(params, "bias") : undefined;
      const want = kernelShape(s);
      const made = kernel?.rank === want.length
        ? dimOf(kernel.shape, -2)
        : undefined;
      if (made !== undefined && made !== dimOf(want, -2)) {
        throw new ParamsMisfit(
          `was initialized for inputs ${inputs(made)} but found ${
            showShape(s)
          }`,
        );
      }
      if (
        kernel === undefined || !sameShape(kernel.shape, want) ||
        (useBias && (bias === undefined || !sameShape(bias.shape, [units])))
      ) throw unfit(s);
      return { kernel, bias };
    },
    count: (s) => sizeOf(kernelShape(s)) + (useBias ? units : 0),
  };
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
  /**
   * `"relu"` for `relu(x @ kernel + bias)`, with the bias add and the relu
   * fused in one pass (default `"linear"`: no activation).
   */
  activation?: Activation;
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
export interface DenseRule<O extends DenseOptions> extends StatelessRule {
  /** The output shape for the input shape. */
  readonly output: DenseOutput<In<this["input"]>, O["units"], O["inputs"]>;
  /** The parameters for the input shape. */
  readonly params: DenseParams<In<this["input"]>, O["units"], O["useBias"]>;
  /** What the given parameters were made for. */
  readonly misfit: DenseMisfit<this["given"], In<this["input"]>>;
}

/** Why dense parameters `P` do not fit input shape `S` (see `LayerRule.misfit`). */
export type DenseMisfit<P, S extends Shape> = P extends
  { kernel: Tensor<readonly [infer F extends number, number], "float32"> }
  ? Features<S> extends F ? Unfit<S>
  : `was initialized for inputs [B, ${F}] but found ${ShowShape<S>}`
  : Unfit<S>;

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
  const { units } = options;
  positiveInt("units", units);
  const useBias = options.useBias ?? true;
  const activation = checkActivation(options.activation);
  return statelessLayer("dense", {
    description: `dense ${units}${activation === "relu" ? " relu" : ""}`,
    field: "global",
    outputShape: (s) => denseShape(s, units, options.inputs),
    params: kernelParams(
      (s) => [dimOf(s, 1), units],
      units,
      useBias,
      (f) => `[B, ${f}]`,
    ),
    forward: (p, x) => epilogue(lax.matmul(x, p.kernel), p.bias, activation),
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
  /**
   * `"relu"` for a relu after the bias add, fused with it in one pass
   * (default `"linear"`: no activation).
   */
  activation?: Activation;
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
export interface Conv2dRule<O extends Conv2dLayerOptions>
  extends StatelessRule {
  /** The output shape for the input shape. */
  readonly output: Conv2dShape<
    In<this["input"]>,
    ConvKernel<In<this["input"]>, O>,
    O
  >;
  /** The parameters for the input shape. */
  readonly params: ConvParams<In<this["input"]>, O>;
  /** What the given parameters were made for. */
  readonly misfit: ConvMisfit<this["given"], In<this["input"]>>;
}

/** Why conv2d parameters `P` do not fit input shape `S` (see `LayerRule.misfit`). */
export type ConvMisfit<P, S extends Shape> = P extends {
  kernel: Tensor<
    readonly [number, number, infer C extends number, number],
    "float32"
  >;
} ? Channels<S> extends C ? Unfit<S>
  : `was initialized for inputs [B, H, W, ${C}] but found ${ShowShape<S>}`
  : Unfit<S>;

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
  const { filters } = options;
  const activation = checkActivation(options.activation);
  return statelessLayer("conv2d", {
    description: `conv2d ${kh}x${kw}x${filters}${
      activation === "relu" ? " relu" : ""
    }`,
    field: {
      kernel: [kh, kw],
      stride: kernelDims(options.stride ?? 1),
      dilation: kernelDims(options.dilation ?? 1),
    },
    outputShape: (s) => conv2dShape(s, [kh, kw, s[3] ?? 0, filters], convOpts),
    params: kernelParams(
      (s) => [kh, kw, dimOf(s, 3), filters],
      filters,
      useBias,
      (c) => `[B, H, W, ${c}]`,
    ),
    forward: (p, x) =>
      epilogue(lax.conv2d(x, p.kernel, convOpts), p.bias, activation),
    split: (p, x) => ({
      linear: lax.conv2d(x, p.kernel, convOpts),
      epilogue: (y) => epilogue(y, p.bias, activation),
    }),
  });
}

// ---------------------------------------------------------------- pooling

/** The shape rule of the pooling layers. */
export interface Pool2dRule<O extends Pool2dOptions> extends PlainRule {
  /** The output shape for the input shape. */
  readonly output: Pool2dShape<In<this["input"]>, O>;
}

function poolLayer<K extends string, O extends Pool2dOptions>(
  kind: K,
  options: O,
  op: (x: AnyTensor, o: Pool2dOptions) => AnyTensor,
  poolsMax = false,
): Layer<Pool2dRule<O>, K> {
  const size = options.size;
  const text = typeof size === "number"
    ? `${size}x${size}`
    : `${size[0]}x${size[1]}`;
  return plainLayer(kind, {
    description: `${kind} ${text}`,
    field: {
      kernel: kernelDims(size),
      stride: kernelDims(options.stride ?? size),
      dilation: [1, 1],
    },
    outputShape: (s) => pool2dShape(s, options),
    forward: (x) => op(x, options),
    poolsMax,
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
  // With valid or same padding every window holds an input (see poolsMax).
  const padding = options.padding ?? "valid";
  return poolLayer(
    "maxPool2d",
    options,
    lax.maxPool2d,
    padding === "valid" || padding === "same" || padding === 0,
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
  return poolLayer("avgPool2d", options, lax.avgPool2d);
}

/**
 * The output shape `[batch, channels]` of {@linkcode globalAvgPool2d} for
 * input shape `S`: the shape rule `GlobalPool2dShape` of `@tensa/tensa/types`,
 * whose run-time twin the layer checks with.
 */
export type GapOutput<S extends Shape> = GlobalPool2dShape<S>;

/** The shape rule of {@linkcode globalAvgPool2d}. */
export interface GlobalPoolRule extends PlainRule {
  /** The output shape for the input shape. */
  readonly output: GapOutput<In<this["input"]>>;
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
  return plainLayer("globalAvgPool2d", {
    description: "globalAvgPool2d",
    field: "global",
    outputShape: globalPool2dShape,
    forward: lax.globalAvgPool2d,
  });
}

// ---------------------------------------------------------------- flatten

/** The shape rule of {@linkcode flatten}. */
export interface FlattenRule extends PlainRule {
  /** The output shape for the input shape. */
  readonly output: FlattenShape<In<this["input"]>>;
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
  return plainLayer("flatten", {
    description: "flatten",
    field: "flatten",
    outputShape: (s) => flattenShape(s),
    forward: lax.flatten,
  });
}

// ------------------------------------------------ shape-preserving layers

/** The shape rule of layers whose output shape is their input shape. */
export interface IdentityRule extends PlainRule {
  /** The output shape for the input shape. */
  readonly output: In<this["input"]>;
}

function elementwise<K extends string>(
  kind: K,
  description: string,
  f: (x: AnyTensor, o: ApplyOptions) => AnyTensor,
): Layer<IdentityRule, K> {
  return plainLayer(kind, { description, outputShape: (s) => s, forward: f });
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
    return lax.dropout(x, { rate, key: o.key });
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
  return elementwise("relu", "relu", lax.relu);
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
  return elementwise("sigmoid", "sigmoid", lax.sigmoid);
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
  return elementwise("tanh", "tanh", lax.tanh);
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
  return elementwise("softmax", "softmax", (x) => lax.softmax(x));
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
  /** What the given parameters were made for. */
  readonly misfit: BatchNormMisfit<this["given"], In<this["input"]>>;
}

/** Why batchNorm parameters `P` do not fit input shape `S` (see `LayerRule.misfit`). */
export type BatchNormMisfit<P, S extends Shape> = P extends
  { scale: Tensor<readonly [infer C extends number], "float32"> }
  ? LastDim<S> extends C ? Unfit<S>
  : `was initialized for inputs [B, ..., ${C}] but found ${ShowShape<S>}`
  : Unfit<S>;

/** The runtime halves of the batchNorm parameters and state. */
interface NormParams {
  scale: AnyTensor;
  offset: AnyTensor;
}
interface NormState {
  mean: AnyTensor;
  variance: AnyTensor;
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
    params: {
      init: (_k, s): NormParams => ({
        scale: ones([dimOf(s, -1)]),
        offset: zeros([dimOf(s, -1)]),
      }),
      read(params, s): NormParams {
        const scale = tensorAt(params, "scale");
        const offset = tensorAt(params, "offset");
        const c = dimOf(s, -1);
        if (scale?.rank === 1 && scale.shape[0] !== c) {
          throw new ParamsMisfit(
            `was initialized for inputs [B, ..., ${scale.shape[0]}] but found ${
              showShape(s)
            }`,
          );
        }
        if (
          scale === undefined || offset === undefined ||
          !sameShape(scale.shape, [c]) || !sameShape(offset.shape, [c])
        ) throw unfit(s);
        return { scale, offset };
      },
      count: (s) => 2 * dimOf(s, -1),
    },
    state: {
      init: (s): NormState | null => ({
        mean: zeros([dimOf(s, -1)]),
        variance: ones([dimOf(s, -1)]),
      }),
      read(state): NormState | null {
        if (state === null) return null;
        const mean = tensorAt(state, "mean");
        const variance = tensorAt(state, "variance");
        if (mean === undefined || variance === undefined) {
          throw new TypeError(
            "Expected the batchNorm state to be { mean, variance } from initState but found another value",
          );
        }
        return { mean, variance };
      },
    },
    run(p, x, o, st) {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      let m: AnyTensor, v: AnyTensor, next = st;
      if (o.training) {
        m = lax.mean(x, { axis: axes });
        const d = lax.sub(x, m);
        v = lax.mean(lax.mul(d, d), { axis: axes });
        if (st !== null) {
          const mix = (old: AnyTensor, cur: AnyTensor) =>
            lax.add(
              lax.mul(old, momentum),
              lax.mul(lax.stopGradient(cur), 1 - momentum),
            );
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
      const y = lax.add(
        lax.mul(
          lax.div(lax.sub(x, m), lax.sqrt(lax.add(v, epsilon))),
          p.scale,
        ),
        p.offset,
      );
      return [y, next];
    },
  });
}
