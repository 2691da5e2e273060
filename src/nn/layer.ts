/**
 * The layer abstraction: a pure `{ init, apply }` pair whose shape rule is
 * part of its type, and `sequential`, which folds the rules of its layers.
 *
 * A layer's rule is a type-level function from the input shape (batch
 * first) to the output shape, or to a {@linkcode ShapeError} whose text says
 * what does not fit. It is encoded as an interface whose members read
 * `this["input"]`, applied by intersecting it with `{ input: S }`.
 *
 * @module
 */

import type { AnyTensor, Shape, Tensor } from "../tensor.ts";
import type { Key } from "../random.ts";
import { foldIn } from "../random.ts";
import type { Arg, Result, ShapeError } from "../shape/mod.ts";

/** A type-level shape rule: read `output` and `params` after fixing `input`. */
export interface LayerRule {
  /**
   * The input shape, batch first; fixed by {@linkcode OutputOf}. Declared
   * `unknown` so that fixing it gives exactly `S` (rules read it through
   * {@linkcode In}).
   */
  readonly input: unknown;
  /** The output shape, or a {@linkcode ShapeError}. */
  readonly output: unknown;
  /** The parameter tree for that input. */
  readonly params: unknown;
  /** The state tree for that input (running statistics); `null` if none. */
  readonly state: unknown;
}

/** A rule's input as a shape. */
export type In<T> = T extends Shape ? T : never;

/** The output of rule `R` for input shape `S` (a shape or a ShapeError). */
export type OutputOf<R extends LayerRule, S extends Shape> =
  (R & { readonly input: S })["output"];
/** The parameters of rule `R` for input shape `S`. */
export type ParamsOf<R extends LayerRule, S extends Shape> =
  (R & { readonly input: S })["params"];
/** The state of rule `R` for input shape `S`. */
export type StateOf<R extends LayerRule, S extends Shape> =
  (R & { readonly input: S })["state"];

/** Options of a layer's `apply`. */
export interface ApplyOptions {
  /** Training mode: dropout drops, batch norm uses batch statistics (default false). */
  training?: boolean;
  /** The random key for dropout and other random layers; required when they are active. */
  key?: Key;
  /** Running statistics from `initState` / `applyWithState`, used by batch norm at inference. */
  state?: unknown;
}

/** The untyped runtime half of a layer, shared by every layer kind. */
export interface LayerImpl {
  /** A short description for summaries, such as `"conv2d 5x5x8"`. */
  readonly description: string;
  /** The output shape for an input shape (batch first); throws RangeError with the rule's message. */
  outputShape(input: Shape): Shape;
  /** Fresh parameters for an input shape (batch first). */
  initParams(key: Key, input: Shape): unknown;
  /** Fresh state for an input shape (batch first); `null` for stateless layers. */
  initState(input: Shape): unknown;
  /** The forward pass; returns the output and the new state. */
  run(
    params: unknown,
    x: AnyTensor,
    options: ApplyOptions,
    state: unknown,
  ): [AnyTensor, unknown];
  /**
   * The forward pass followed by relu, fused (same values and derivatives as
   * `run` then relu); `sequential` calls it for this layer and a `relu()`
   * layer right after it. Optional.
   */
  runRelu?(
    params: unknown,
    x: AnyTensor,
    options: ApplyOptions,
    state: unknown,
  ): [AnyTensor, unknown];
  /** The number of parameters for an input shape. */
  countParams(input: Shape): number;
  /** Inner layers, for summaries of nested models. */
  readonly children?: readonly AnyLayer[];
  /**
   * How output positions see input positions, for the receptive field in
   * summaries: a sliding window (conv and pooling); `"global"` when every
   * output sees the whole input (dense, global pooling); `"flatten"` when
   * positions become features. Omitted for layers that keep each position
   * to itself (activations, dropout, normalization).
   */
  readonly field?: LayerField;
}

/** The sliding window of a conv or pooling layer, per spatial axis `[h, w]`. */
export interface LayerWindow {
  /** The window size. */
  readonly kernel: readonly [number, number];
  /** The step between neighbouring windows. */
  readonly stride: readonly [number, number];
  /** The spacing of the window's taps (1: adjacent). */
  readonly dilation: readonly [number, number];
}

/** What {@linkcode LayerImpl.field} can be. */
export type LayerField = LayerWindow | "global" | "flatten";

/**
 * A layer: pure `init` and `apply`, with its shape rule `R` in its type.
 *
 * @typeParam R The layer's type-level rule.
 * @typeParam K The layer's kind, such as `"dense"`.
 */
export interface Layer<R extends LayerRule, K extends string> {
  /** The kind of layer, used in error messages and summaries. */
  readonly kind: K;
  /** The type-level rule (a phantom: always undefined at run time). */
  readonly rule?: R;
  /**
   * Creates parameters for inputs of shape `[batch, ...inputShape]`.
   *
   * @param key The random key.
   * @param inputShape The shape of one example (without the batch dim).
   * @returns The typed parameter tree.
   */
  init<const S extends Shape>(
    key: Key,
    inputShape: Arg<OutputOf<R, [number, ...S]>, S>,
  ): ParamsOf<R, [number, ...S]>;
  /**
   * Creates the state (running statistics) for inputs of shape `[batch, ...inputShape]`.
   *
   * @param inputShape The shape of one example.
   * @returns The state tree (`null` for layers without state).
   */
  initState<const S extends Shape>(
    inputShape: Arg<OutputOf<R, [number, ...S]>, S>,
  ): StateOf<R, [number, ...S]>;
  /**
   * Applies the layer to a batch.
   *
   * @param params The parameters from `init`.
   * @param x The input batch.
   * @param options Training mode, random key, state.
   * @returns The output batch.
   */
  apply<S extends Shape>(
    params: NoInfer<ParamsOf<R, S>>,
    x: Arg<OutputOf<R, S>, Tensor<S, "float32">>,
    options?: ApplyOptions,
  ): Tensor<Result<OutputOf<R, S>>, "float32">;
  /**
   * Applies the layer and returns the updated state as well (batch norm's
   * running statistics in training mode; the state unchanged otherwise).
   *
   * @param params The parameters.
   * @param state The state from `initState` or a previous call.
   * @param x The input batch.
   * @param options Training mode and random key.
   * @returns `[output, newState]`.
   */
  applyWithState<S extends Shape>(
    params: NoInfer<ParamsOf<R, S>>,
    state: NoInfer<StateOf<R, S>>,
    x: Arg<OutputOf<R, S>, Tensor<S, "float32">>,
    options?: ApplyOptions,
  ): [Tensor<Result<OutputOf<R, S>>, "float32">, StateOf<R, S>];
  /** The runtime implementation. @internal */
  readonly impl: LayerImpl;
}

/** A layer of any rule and kind. */
// deno-lint-ignore no-explicit-any
export type AnyLayer = Layer<any, string>;

/** Builds a layer from its runtime implementation. @internal */
export function makeLayer<R extends LayerRule, K extends string>(
  kind: K,
  impl: LayerImpl,
): Layer<R, K> {
  const layer = {
    kind,
    impl,
    init(key: Key, inputShape: Shape) {
      const full = [1, ...inputShape];
      impl.outputShape(full);
      return impl.initParams(key, full);
    },
    initState(inputShape: Shape) {
      const full = [1, ...inputShape];
      impl.outputShape(full);
      return impl.initState(full);
    },
    apply(params: unknown, x: AnyTensor, options: ApplyOptions = {}) {
      impl.outputShape(x.shape);
      return impl.run(params, x, options, options.state ?? null)[0];
    },
    applyWithState(
      params: unknown,
      state: unknown,
      x: AnyTensor,
      options: ApplyOptions = {},
    ) {
      impl.outputShape(x.shape);
      return impl.run(params, x, options, state);
    },
  };
  return layer as unknown as Layer<R, K>;
}

// ------------------------------------------------------------- sequential

/** The shape rule of a layer type. */
export type RuleOf<L> = L extends Layer<infer R, string> ? R : never;
/** The kind name of a layer type (e.g. `"dense"`). */
export type KindOf<L> = L extends Layer<LayerRule, infer K> ? K : string;

/** The output of a list of layers folded over an input shape, or the first layer's error. */
export type FoldOutput<
  Ls extends readonly unknown[],
  S,
  I extends unknown[] = [],
> = Ls extends readonly [infer L, ...infer Rest]
  ? S extends Shape
    ? OutputOf<RuleOf<L>, S> extends infer O
      ? O extends ShapeError<infer M>
        ? ShapeError<`Layer ${[...I, 0]["length"]} (${KindOf<L>}): ${M}`>
      : FoldOutput<Rest, O, [...I, 0]>
    : never
  : S
  : S;

/** The parameters of a list of layers for an input shape: a tuple, one entry per layer. */
export type FoldParams<Ls extends readonly unknown[], S> = Ls extends
  readonly [infer L, ...infer Rest]
  ? S extends Shape
    ? [ParamsOf<RuleOf<L>, S>, ...FoldParams<Rest, OutputOf<RuleOf<L>, S>>]
  : []
  : [];

/** The states of a list of layers for an input shape: a tuple, one entry per layer. */
export type FoldState<Ls extends readonly unknown[], S> = Ls extends
  readonly [infer L, ...infer Rest]
  ? S extends Shape
    ? [StateOf<RuleOf<L>, S>, ...FoldState<Rest, OutputOf<RuleOf<L>, S>>]
  : []
  : [];

/** The rule of a sequential model: the fold of its layers' rules. */
export interface SequentialRule<Ls extends readonly unknown[]>
  extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: FoldOutput<Ls, In<this["input"]>>;
  /** The parameters for the input shape. */
  readonly params: FoldParams<Ls, In<this["input"]>>;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: FoldState<Ls, In<this["input"]>>;
}

/** A sequential model: a layer made of layers, applied in order. */
export type Sequential<Ls extends readonly AnyLayer[]> =
  & Layer<SequentialRule<Ls>, "sequential">
  & {
    /** The layers, in order. */
    readonly layers: Ls;
  };

/** Prefixes a layer's shape error with its position (1-based) and kind. */
function atLayer<T>(i: number, layer: AnyLayer, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) {
      throw new RangeError(`Layer ${i + 1} (${layer.kind}): ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
}

/**
 * Composes layers in order. The compiler folds their shape rules: the model's
 * output shape is known from the input shape, and the first layer that does
 * not fit is a compile error naming its position, its kind and the numbers
 * (a runtime `RangeError` with the same words for `number` dims). A
 * sequential model is itself a layer, so models nest.
 *
 * Parameters (and states) are tuples with one entry per layer.
 *
 * A `dense` or `conv2d` layer directly followed by `relu()` runs its bias add
 * and the relu as one fused pass, with the same values and derivatives as
 * the two layers one after the other.
 *
 * @param layers The layers.
 * @returns The model.
 *
 * @example The course's small CNN
 * ```ts
 * import { key, nn, zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const model = nn.sequential(
 *   nn.conv2d({ filters: 8, kernel: 5 }),  // [B, 24, 24, 8]
 *   nn.relu(),
 *   nn.maxPool2d({ size: 2 }),             // [B, 12, 12, 8]
 *   nn.flatten(),                          // [B, 1152]
 *   nn.dense({ units: 10 }),               // [B, 10]
 * );
 * const params = model.init(key(0), [28, 28, 1]);
 * assertEquals(params[4].kernel.shape, [1152, 10]);
 * const y = model.apply(params, zeros([2, 28, 28, 1])); // Tensor<[2, 10]>
 * assertEquals(y.shape, [2, 10]);
 * ```
 */
export function sequential<const Ls extends readonly AnyLayer[]>(
  ...layers: Ls
): Sequential<Ls> {
  const shapes = (input: Shape): Shape[] => {
    const out: Shape[] = [input];
    let s = input;
    layers.forEach((l, i) => {
      s = atLayer(i, l, () => l.impl.outputShape(s));
      out.push(s);
    });
    return out;
  };
  const impl: LayerImpl = {
    description: `sequential of ${layers.length} layers`,
    children: layers,
    outputShape: (input) => shapes(input)[layers.length] as Shape,
    initParams(key, input) {
      const ss = shapes(input);
      return layers.map((l, i) =>
        l.impl.initParams(foldIn(key, i), ss[i] as Shape)
      );
    },
    initState(input) {
      const ss = shapes(input);
      return layers.map((l, i) => l.impl.initState(ss[i] as Shape));
    },
    run(params, x, options, state) {
      const ps = params as readonly unknown[];
      if (!Array.isArray(ps) || ps.length !== layers.length) {
        throw new TypeError(
          `Expected parameters for ${layers.length} layers but found ${
            Array.isArray(ps) ? ps.length : typeof ps
          }`,
        );
      }
      const st = Array.isArray(state)
        ? state as unknown[]
        : layers.map(() => null);
      const newState: unknown[] = [];
      let h = x;
      for (let i = 0; i < layers.length; i++) {
        const l = layers[i]!;
        const opts: ApplyOptions = { ...options };
        if (options.key !== undefined) opts.key = foldIn(options.key, i);
        // A dense or conv2d layer followed by relu: one fused epilogue
        // (relu has no parameters and no state).
        const fused = l.impl.runRelu !== undefined &&
          layers[i + 1]?.kind === "relu";
        // Shapes were checked once, for the whole model, by apply.
        const [y, s] = atLayer(
          i,
          l,
          () =>
            fused
              ? l.impl.runRelu!(ps[i], h, opts, st[i] ?? null)
              : l.impl.run(ps[i], h, opts, st[i] ?? null),
        );
        h = y;
        newState.push(s);
        if (fused) {
          newState.push(st[i + 1] ?? null);
          i++;
        }
      }
      return [h, newState];
    },
    countParams(input) {
      const ss = shapes(input);
      return layers.reduce(
        (n, l, i) => n + l.impl.countParams(ss[i] as Shape),
        0,
      );
    },
  };
  const model = makeLayer<SequentialRule<Ls>, "sequential">("sequential", impl);
  return Object.assign(model, { layers }) as Sequential<Ls>;
}
