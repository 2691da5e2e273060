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

import { type AnyTensor, type Shape, Tensor } from "../tensor.ts";
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
  /** The parameters given to `apply`; fixed by {@linkcode MisfitOf}. */
  readonly given: unknown;
  /**
   * Why the `given` parameters do not fit the input: the end of a sentence
   * whose subject is the layer (`"was initialized for inputs [B, 1176] but
   * found [8, 1734]"`), or a {@linkcode ShapeError} with a whole sentence
   * (from a layer inside a sequential model). Read only when they do not fit.
   */
  readonly misfit: unknown;
}

/** The default rule members of a layer without state: `state` is `null`. */
export interface StatelessRule extends LayerRule {
  /** The state for the input shape: none. */
  readonly state: null;
}

/** The parameters of a layer without any: `{}`. */
export type NoParams = Record<string, never>;

/**
 * The default rule members of a layer without parameters or state (pooling,
 * flatten, activations, dropout): parameters `{}`, state `null`.
 */
export interface PlainRule extends StatelessRule {
  /** The parameters for the input shape: none. */
  readonly params: NoParams;
  /** What is wrong with parameters other than `{}`. */
  readonly misfit: "takes no parameters: pass {}";
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
/** Why parameters `P` do not fit rule `R` for input shape `S` (see {@linkcode LayerRule.misfit}). */
export type MisfitOf<R extends LayerRule, S extends Shape, P> =
  (R & { readonly input: S; readonly given: P })["misfit"];

/**
 * The sentence of a misfit `M` of a layer called `Subject`: a whole sentence
 * as it is, a sentence end after the subject.
 */
export type MisfitSentence<Subject extends string, M> = M extends
  ShapeError<infer T> ? T
  : M extends string ? `${Subject} ${M}`
  : `${Subject} was given parameters that do not fit it`;

/**
 * What applying a layer of rule `R` and kind `K` with parameters `P` to an
 * input of shape `S` gives: the output shape, or a {@linkcode ShapeError}
 * when the input does not fit the rule or the parameters were made for other
 * inputs (`"Layer 5 (dense) was initialized for inputs [B, 1176] but found
 * [8, 1734]"`). `apply` checks its input through it.
 */
export type Applied<R extends LayerRule, K extends string, S extends Shape, P> =
  OutputOf<R, S> extends infer O ? O extends ShapeError<string> ? O
    : [P] extends [ParamsOf<R, S>] ? O
    : ShapeError<MisfitSentence<K, MisfitOf<R, S, P>>>
    : never;

/** Options of a layer's `apply`. */
export interface ApplyOptions {
  /** Training mode: dropout drops, batch norm uses batch statistics (default false). */
  training?: boolean;
  /** The random key for dropout and other random layers; required when they are active. */
  key?: Key;
  /** Running statistics from `initState` / `applyWithState`, used by batch norm at inference. */
  state?: unknown;
}

/** The untyped runtime half of a layer, shared by every layer kind; built by {@linkcode makeLayer}. */
export interface LayerImpl {
  /** A short description for summaries, such as `"conv2d 5x5x8"`. */
  readonly description: string;
  /** The output shape for an input shape (batch first); throws RangeError with the rule's message. */
  outputShape(input: Shape): Shape;
  /** Fresh parameters for an input shape (batch first). */
  initParams(key: Key, input: Shape): unknown;
  /** Fresh state for an input shape (batch first); `null` for stateless layers. */
  initState(input: Shape): unknown;
  /**
   * The forward pass; returns the output and the new state. Throws
   * {@linkcode ParamsMisfit} when the parameters were made for other inputs.
   */
  run(
    params: unknown,
    x: AnyTensor,
    options: ApplyOptions,
    state: unknown,
  ): [AnyTensor, unknown];
  /** The number of parameters for an input shape. */
  countParams(input: Shape): number;
  /** Inner layers, for summaries of nested models. */
  readonly children?: readonly AnyLayer[] | undefined;
  /**
   * How output positions see input positions, for the receptive field in
   * summaries: a sliding window (conv and pooling); `"global"` when every
   * output sees the whole input (dense, global pooling); `"flatten"` when
   * positions become features. Omitted for layers that keep each position
   * to itself (activations, dropout, normalization).
   */
  readonly field?: LayerField | undefined;
  /** See {@linkcode LayerBasics.poolsMax}. */
  readonly poolsMax?: boolean | undefined;
  /**
   * For a layer whose output is a per-channel non-decreasing epilogue (bias
   * add, relu) of a linear result: that result and the epilogue apart (see
   * {@linkcode LayerSplit}). Throws like `run`.
   */
  readonly split?:
    | ((params: unknown, x: AnyTensor, options: ApplyOptions) => LayerSplit)
    | undefined;
}

/**
 * A layer's output as a linear result and the per-channel non-decreasing
 * map applied to it (`epilogue(linear)` is the layer's output).
 *
 * @example A conv2d layer's convolution and its bias add and relu
 * ```ts
 * import { key, nn, uniform } from "@tensa/tensa";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const conv = nn.conv2d({ filters: 2, kernel: 1, activation: "relu" });
 * const p = conv.init(key(0), [3, 3, 1]);
 * const x = uniform(key(1), [1, 3, 3, 1], { min: -1, max: 1 });
 * const split = conv.impl.split;
 * assert(split !== undefined);
 * const { linear, epilogue } = split(p, x, {});
 * assertEquals(epilogue(linear).toFlat(), conv.apply(p, x).toFlat());
 * ```
 */
export interface LayerSplit {
  /** The linear result (a convolution without its bias). */
  readonly linear: AnyTensor;
  /** The rest of the layer: the bias add and the activation. */
  epilogue(y: AnyTensor): AnyTensor;
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
   * Applies the layer to a batch. An input the layer does not fit, or
   * parameters made for inputs of another shape, are a compile error whose
   * text is one sentence (see {@linkcode Applied}), and a `RangeError` with
   * the same sentence at run time.
   *
   * @param params The parameters from `init`.
   * @param x The input batch.
   * @param options Training mode, random key, state.
   * @returns The output batch.
   */
  apply<S extends Shape, P extends object | []>(
    params: P,
    x: Arg<Applied<R, K, S, P>, Tensor<S, "float32">>,
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
  applyWithState<S extends Shape, P extends object | []>(
    params: P,
    state: NoInfer<StateOf<R, S>>,
    x: Arg<Applied<R, K, S, P>, Tensor<S, "float32">>,
    options?: ApplyOptions,
  ): [Tensor<Result<OutputOf<R, S>>, "float32">, StateOf<R, S>];
  /** The runtime implementation. @internal */
  readonly impl: LayerImpl;
}

/** A layer of any rule and kind. */
// deno-lint-ignore no-explicit-any
export type AnyLayer = Layer<any, string>;

/**
 * What a layer throws when its parameters were made for inputs of another
 * shape. The message is a sentence without its subject (`"was initialized
 * for inputs [B, 1176] but found [8, 1734]"`); `apply` and `sequential` put
 * the layer's kind or position in front.
 *
 * @internal
 */
export class ParamsMisfit extends RangeError {
  /** @param message The sentence without its subject. */
  constructor(message: string) {
    super(message);
    this.name = "RangeError";
  }
}

/** How a layer kind makes, checks and counts its parameters. @internal */
export interface ParamsDef<P> {
  /** Fresh parameters for an input shape (batch first). */
  init(key: Key, input: Shape): P;
  /**
   * The parameters given to `apply`, checked against the input shape;
   * throws {@linkcode ParamsMisfit} when they were made for other inputs.
   */
  read(params: unknown, input: Shape): P;
  /** The number of parameters for an input shape. */
  count(input: Shape): number;
}

/** How a layer kind makes and checks its state (running statistics). @internal */
export interface StateDef<St> {
  /** Fresh state for an input shape (batch first). */
  init(input: Shape): St;
  /** The state given to `apply`, checked. */
  read(state: unknown): St;
}

/** What every layer kind defines. @internal */
export interface LayerBasics {
  /** A short description for summaries. */
  readonly description: string;
  /** See {@linkcode LayerImpl.field}. */
  readonly field?: LayerField | undefined;
  /** The output shape for an input shape (batch first); throws RangeError with the rule's message. */
  outputShape(input: Shape): Shape;
  /**
   * Max pooling whose every window holds an input value (valid or same
   * padding): it commutes with a per-channel non-decreasing map, so
   * {@linkcode sequential} runs it before the previous layer's epilogue.
   */
  readonly poolsMax?: boolean | undefined;
}

/** A layer kind's runtime definition, for {@linkcode makeLayer}. @internal */
export interface LayerDef<P, St> extends LayerBasics {
  /** The parameters. */
  readonly params: ParamsDef<P>;
  /** The state. */
  readonly state: StateDef<St>;
  /** Inner layers, for summaries. */
  readonly children?: readonly AnyLayer[] | undefined;
  /**
   * See {@linkcode LayerImpl.split}, for the parameters once read; for a
   * layer without state (the split path keeps no new state for it).
   */
  split?(params: P, x: AnyTensor, options: ApplyOptions): LayerSplit;
  /** The forward pass; returns the output and the new state. */
  run(
    params: P,
    x: AnyTensor,
    options: ApplyOptions,
    state: St,
  ): [AnyTensor, St];
}

/** The definition of a layer without state, for {@linkcode statelessLayer}. @internal */
export interface StatelessDef<P> extends LayerBasics {
  /** The parameters. */
  readonly params: ParamsDef<P>;
  /** The forward pass. */
  forward(params: P, x: AnyTensor, options: ApplyOptions): AnyTensor;
  /** See {@linkcode LayerImpl.split}, for the parameters once read. */
  split?(params: P, x: AnyTensor, options: ApplyOptions): LayerSplit;
}

/** The definition of a layer without parameters or state, for {@linkcode plainLayer}. @internal */
export interface PlainDef extends LayerBasics {
  /** The forward pass. */
  forward(x: AnyTensor, options: ApplyOptions): AnyTensor;
}

/**
 * The default parameters, of layers without any: `{}` made, whatever is
 * given ignored, 0 counted.
 *
 * @internal
 */
export const noParams: ParamsDef<NoParams> = {
  init: () => ({}),
  read: () => ({}),
  count: () => 0,
};

/** The default state, of layers without any: `null` made and returned. @internal */
export const noState: StateDef<null> = {
  init: () => null,
  read: () => null,
};

/** Runs `f`, turning a {@linkcode ParamsMisfit} into a sentence about `subject`. */
function about<T>(subject: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParamsMisfit) {
      throw new RangeError(`${subject} ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Builds a layer from its definition. Layers without state use
 * {@linkcode statelessLayer}, layers without parameters or state
 * {@linkcode plainLayer}: the defaults are {@linkcode noParams} and
 * {@linkcode noState}, nothing else.
 *
 * @internal
 */
export function makeLayer<R extends LayerRule, K extends string, P, St>(
  kind: K,
  def: LayerDef<P, St>,
): Layer<R, K> {
  const { params, state, run, split } = def;
  const impl: LayerImpl = {
    description: def.description,
    field: def.field,
    poolsMax: def.poolsMax,
    split: split &&
      ((p, x, options) => split(params.read(p, x.shape), x, options)),
    children: def.children,
    outputShape: (s) => def.outputShape(s),
    initParams: (key, s) => params.init(key, s),
    initState: (s) => state.init(s),
    run: (p, x, options, st) =>
      run(params.read(p, x.shape), x, options, state.read(st)),
    countParams: (s) => params.count(s),
  };
  /** The input of `apply`, checked: a tensor the layer's rule accepts. */
  const inputOf = (x: unknown): AnyTensor => {
    if (!(x instanceof Tensor)) {
      throw new TypeError(
        `Expected the input of ${kind} to be a tensor but found ${typeof x}`,
      );
    }
    impl.outputShape(x.shape);
    return x;
  };
  // The overload signatures carry the type rule `R`, a phantom the runtime
  // half follows; the implementation signatures are the untyped ones.
  function init<const S extends Shape>(
    key: Key,
    inputShape: Arg<OutputOf<R, [number, ...S]>, S>,
  ): ParamsOf<R, [number, ...S]>;
  function init(key: Key, inputShape: Shape): unknown {
    const full = [1, ...inputShape];
    impl.outputShape(full);
    return impl.initParams(key, full);
  }
  function initState<const S extends Shape>(
    inputShape: Arg<OutputOf<R, [number, ...S]>, S>,
  ): StateOf<R, [number, ...S]>;
  function initState(inputShape: Shape): unknown {
    const full = [1, ...inputShape];
    impl.outputShape(full);
    return impl.initState(full);
  }
  function apply<S extends Shape, P extends object | []>(
    params: P,
    x: Arg<Applied<R, K, S, P>, Tensor<S, "float32">>,
    options?: ApplyOptions,
  ): Tensor<Result<OutputOf<R, S>>, "float32">;
  function apply(
    params: unknown,
    x: unknown,
    options: ApplyOptions = {},
  ): AnyTensor {
    const t = inputOf(x);
    return about(
      kind,
      () => impl.run(params, t, options, options.state ?? null),
    )[0];
  }
  function applyWithState<S extends Shape, P extends object | []>(
    params: P,
    state: NoInfer<StateOf<R, S>>,
    x: Arg<Applied<R, K, S, P>, Tensor<S, "float32">>,
    options?: ApplyOptions,
  ): [Tensor<Result<OutputOf<R, S>>, "float32">, StateOf<R, S>];
  function applyWithState(
    params: unknown,
    state: unknown,
    x: unknown,
    options: ApplyOptions = {},
  ): [AnyTensor, unknown] {
    const t = inputOf(x);
    return about(kind, () => impl.run(params, t, options, state));
  }
  return { kind, impl, init, initState, apply, applyWithState };
}

/**
 * Builds a layer without state (its state is `null`, see {@linkcode noState}).
 *
 * @internal
 */
export function statelessLayer<R extends LayerRule, K extends string, P>(
  kind: K,
  def: StatelessDef<P>,
): Layer<R, K> {
  const { forward, split, ...basics } = def;
  return makeLayer(kind, {
    ...basics,
    ...(split ? { split } : {}),
    state: noState,
    run: (p, x, options) => [forward(p, x, options), null],
  });
}

/**
 * Builds a layer without parameters or state (see {@linkcode noParams} and
 * {@linkcode noState}).
 *
 * @internal
 */
export function plainLayer<R extends LayerRule, K extends string>(
  kind: K,
  def: PlainDef,
): Layer<R, K> {
  const { forward, ...basics } = def;
  return statelessLayer(kind, {
    ...basics,
    params: noParams,
    forward: (_p, x, options) => forward(x, options),
  });
}

// ------------------------------------------------------------- sequential

/** The shape rule of a layer type. */
export type RuleOf<L> = L extends Layer<infer R, string> ? R : never;
/** The kind name of a layer type (e.g. `"dense"`). */
export type KindOf<L> = L extends { readonly kind: infer K extends string } ? K
  : string;

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

/**
 * Why the parameters `P` do not fit a list of layers for an input shape: a
 * {@linkcode ShapeError} whose sentence names the first layer whose
 * parameters were made for other inputs, by its position and kind. `I`
 * counts the layers passed and `All` keeps the whole tuple given, for the
 * sentence about its length.
 */
export type FoldMisfit<
  Ls extends readonly unknown[],
  S,
  P,
  I extends unknown[] = [],
  All = P,
> = Ls extends readonly [infer L, ...infer Rest]
  ? P extends readonly [infer P0, ...infer PR]
    ? S extends Shape
      ? [P0] extends [ParamsOf<RuleOf<L>, S>]
        ? FoldMisfit<Rest, OutputOf<RuleOf<L>, S>, PR, [...I, 0], All>
      : MisfitOf<RuleOf<L>, S, P0> extends infer M
        ? M extends ShapeError<infer T>
          ? ShapeError<`Layer ${[...I, 0]["length"]} (${KindOf<L>}): ${T}`>
        : ShapeError<
          MisfitSentence<`Layer ${[...I, 0]["length"]} (${KindOf<L>})`, M>
        >
      : never
    : never
  : LengthMisfit<[...I, ...Ls], All>
  : LengthMisfit<I, All>;

/** The sentence end when the parameters of layers `Ls` are not a tuple of their length. */
export type LengthMisfit<Ls extends readonly unknown[], P> = P extends
  readonly unknown[]
  ? number extends P["length"]
    ? `expects a tuple of parameters for ${Ls["length"]} layers`
  : `expects parameters for ${Ls["length"]} layers but found ${P["length"]}`
  : `expects a tuple of parameters for ${Ls["length"]} layers`;

/** The rule of a sequential model: the fold of its layers' rules. */
export interface SequentialRule<Ls extends readonly unknown[]>
  extends LayerRule {
  /** The output shape for the input shape. */
  readonly output: FoldOutput<Ls, In<this["input"]>>;
  /** The parameters for the input shape. */
  readonly params: FoldParams<Ls, In<this["input"]>>;
  /** The state for the input shape (`null` for a stateless layer). */
  readonly state: FoldState<Ls, In<this["input"]>>;
  /** The first layer whose given parameters were made for other inputs. */
  readonly misfit: FoldMisfit<Ls, In<this["input"]>, this["given"]>;
}

/** A sequential model: a layer made of layers, applied in order. */
export type Sequential<Ls extends readonly AnyLayer[]> =
  & Layer<SequentialRule<Ls>, "sequential">
  & {
    /** The layers, in order. */
    readonly layers: Ls;
  };

/**
 * Runs layer `i`'s `f`, naming the layer in its errors: a shape error gets
 * `Layer 2 (conv2d): ` in front, parameters made for other inputs become
 * `Layer 2 (conv2d) was initialized for inputs ...`.
 */
function atLayer<T>(i: number, layer: AnyLayer, f: () => T): T {
  const subject = `Layer ${i + 1} (${layer.kind})`;
  try {
    return f();
  } catch (e) {
    if (e instanceof ParamsMisfit) {
      throw new RangeError(`${subject} ${e.message}`, { cause: e });
    }
    if (e instanceof RangeError) {
      throw new RangeError(`${subject}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Composes layers in order, a plain fold (like stax's `serial`). The
 * compiler folds their shape rules: the model's output shape is known from
 * the input shape, and the first layer that does not fit is a compile error
 * naming its position, its kind and the numbers (a runtime `RangeError`
 * with the same words for `number` dims). So is the first layer whose
 * parameters were made for inputs of another shape. A sequential model is
 * itself a layer, so models nest.
 *
 * Parameters (and states) are tuples with one entry per layer.
 *
 * For a dense or conv2d layer followed by relu, ask for the fused epilogue
 * with `activation: "relu"` (one pass instead of two); a `relu()` layer
 * after it gives the same values, unfused. A conv2d layer followed by a
 * max pool (valid or same padding) has its bias add and activation run
 * after the pool, on a window's size times fewer values: max pooling
 * commutes with them, so the values are the same to the bit (a gradient
 * can go to another of a window's tied maxima).
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
 *   nn.conv2d({ filters: 8, kernel: 5, activation: "relu" }), // [B, 24, 24, 8]
 *   nn.maxPool2d({ size: 2 }),                                // [B, 12, 12, 8]
 *   nn.flatten(),                                             // [B, 1152]
 *   nn.dense({ units: 10 }),                                  // [B, 10]
 * );
 * const params = model.init(key(0), [28, 28, 1]);
 * assertEquals(params[3].kernel.shape, [1152, 10]);
 * const y = model.apply(params, zeros([2, 28, 28, 1])); // Tensor<[2, 10]>
 * assertEquals(y.shape, [2, 10]);
 * ```
 *
 * @example Inputs of another size than at init: one sentence
 * ```ts
 * import { key, nn, zeros } from "@tensa/tensa";
 * import { assertThrows } from "@std/assert";
 *
 * const model = nn.sequential(nn.flatten(), nn.dense({ units: 10 }));
 * const params = model.init(key(0), [28, 28, 1]);
 * // @ts-expect-error: Layer 2 (dense) was initialized for inputs [B, 784] but found [2, 900]
 * assertThrows(() => model.apply(params, zeros([2, 30, 30, 1])), RangeError);
 * ```
 */
export function sequential<const Ls extends readonly AnyLayer[]>(
  ...layers: Ls
): Sequential<Ls> {
  /** `f` of each layer with its input shape, folding the shapes from `input`. */
  const eachLayer = <T>(
    input: Shape,
    f: (l: AnyLayer, s: Shape, i: number) => T,
  ): T[] => {
    let s = input;
    return layers.map((l, i) => {
      const r = f(l, s, i);
      s = atLayer(i, l, () => l.impl.outputShape(s));
      return r;
    });
  };
  const params: ParamsDef<readonly unknown[]> = {
    init: (key, input) =>
      eachLayer(input, (l, s, i) => l.impl.initParams(foldIn(key, i), s)),
    read(ps) {
      if (!Array.isArray(ps) || ps.length !== layers.length) {
        throw new TypeError(
          `Expected parameters for ${layers.length} layers but found ${
            Array.isArray(ps) ? ps.length : typeof ps
          }`,
        );
      }
      return ps;
    },
    count: (input) =>
      eachLayer(input, (l, s) => l.impl.countParams(s)).reduce(
        (a, b) => a + b,
        0,
      ),
  };
  const state: StateDef<readonly unknown[]> = {
    init: (input) => eachLayer(input, (l, s) => l.impl.initState(s)),
    // A missing state (`null`): each layer gets `null`.
    read: (st) => Array.isArray(st) ? st : [],
  };
  const model: Layer<SequentialRule<Ls>, "sequential"> = makeLayer(
    "sequential",
    {
      description: `sequential of ${layers.length} layers`,
      children: layers,
      outputShape(input) {
        let s = input;
        layers.forEach((l, i) => {
          s = atLayer(i, l, () => l.impl.outputShape(s));
        });
        return s;
      },
      params,
      state,
      run(ps, x, options, st) {
        let h = x;
        const optionsOf = (i: number): ApplyOptions =>
          options.key === undefined
            ? options
            : { ...options, key: foldIn(options.key, i) };
        // Shapes were checked once, for the whole model, by apply.
        const next: unknown[] = [];
        for (let i = 0; i < layers.length; i++) {
          const l = layers[i]!, pool = layers[i + 1];
          const split = l.impl.split;
          if (split !== undefined && pool?.impl.poolsMax === true) {
            // max(f(z)) = f(max(z)) for a per-channel non-decreasing f, in
            // floats too (rounding is monotone): the bias add and relu run
            // on the pooled values, a window's size times fewer, and so
            // do their gradients.
            const { linear, epilogue } = atLayer(
              i,
              l,
              () => split(ps[i], h, optionsOf(i)),
            );
            const [pooled, s] = atLayer(
              i + 1,
              pool,
              () =>
                pool.impl.run(ps[i + 1], linear, optionsOf(i + 1), st[i + 1]),
            );
            h = atLayer(i, l, () => epilogue(pooled));
            next.push(null, s);
            i++;
            continue;
          }
          const [y, s] = atLayer(
            i,
            l,
            () => l.impl.run(ps[i], h, optionsOf(i), st[i] ?? null),
          );
          h = y;
          next.push(s);
        }
        return [h, next];
      },
    },
  );
  return { ...model, layers };
}
