/**
 * Shape rules as type-level functions.
 *
 * Each rule `XShape<...>` resolves to the resulting shape, or to a
 * {@linkcode ShapeError} whose text is the message that its runtime twin
 * `xShape(...)` in `check.ts` throws. Ops consume a rule through
 * {@linkcode Arg} (the parameter type becomes the message when the rule fails)
 * and {@linkcode Result}.
 *
 * A dim may be the non-literal type `number` (known only at run time): rules
 * never fail because of such a dim; they put `number` in the result where the
 * value cannot be computed and leave the check to the runtime twin. A shape of
 * unknown rank (`number[]`) gives `number[]`.
 *
 * Axes may be negative, counted from the end.
 *
 * @module
 */

import type { DType, Shape } from "../tensor.ts";
import type {
  Add,
  CeilDiv,
  Compare,
  FloorDiv,
  IsNatural,
  Mul,
  Product,
  Sub,
} from "./arith.ts";
import type { ShapeError, ShowDim, ShowShape } from "./errors.ts";

// ---------------------------------------------------------------------------
// Helpers

/** Whether `N` is a literal (not the type `number`). */
export type IsLit<N extends number> = number extends N ? false : true;

/** Whether `S` has a known rank. */
export type IsTuple<S extends Shape> = number extends S["length"] ? false
  : true;

/** Whether some dim of `S` is the type `number` (or `S` has unknown rank). */
export type HasUnknown<S extends Shape> = number extends S[number] ? true
  : false;

/** Whether two dims may be equal: `false` only for two different literals. */
export type SameDim<X extends number, Y extends number> = number extends X
  ? true
  : number extends Y ? true
  : [X] extends [Y] ? true
  : false;

/** Whether `N` is a positive integer; `true` for `number` (checked at run time). */
export type IsPositive<N extends number> = number extends N ? true
  : IsNatural<N> extends true ? [N] extends [0] ? false : true
  : false;

/** Whether `N` is a non-negative integer; `true` for `number`. */
export type IsNonNegative<N extends number> = number extends N ? true
  : IsNatural<N>;

/**
 * `Axis` as an index in `[0, R)`, counting negative axes from the end, or
 * `false` when it is out of range or not an integer.
 */
export type NormAxis<Axis extends number, R extends number> = `${Axis}` extends
  `-${infer P extends number}`
  ? IsNatural<P> extends true ? Compare<P, R> extends "gt" ? false : Sub<R, P>
  : false
  : IsNatural<Axis> extends true ? Compare<Axis, R> extends "lt" ? Axis : false
  : false;

/** The error for an axis out of range, shared by all rules that take axes. */
export type AxisError<S extends Shape, Axis extends number> = ShapeError<
  `Axis ${Axis} is out of range for shape ${ShowShape<
    S
  >} of rank ${S["length"]}`
>;

/** `S` with the dim at index `I` removed. */
export type RemoveAt<
  S extends Shape,
  I extends number,
  Acc extends number[] = [],
> = S extends readonly [infer H extends number, ...infer R extends Shape]
  ? Acc["length"] extends I ? [...Acc, ...R]
  : RemoveAt<R, I, [...Acc, H]>
  : Acc;

/** `S` with `V` inserted before index `I` (appended when `I` is the rank). */
export type InsertAt<
  S extends Shape,
  I extends number,
  V extends number,
  Acc extends number[] = [],
> = Acc["length"] extends I ? [...Acc, V, ...S]
  : S extends readonly [infer H extends number, ...infer R extends Shape]
    ? InsertAt<R, I, V, [...Acc, H]>
  : [...Acc, V];

/** `S` in reverse order. */
export type Reverse<S extends Shape, Acc extends number[] = []> = S extends
  readonly [infer H extends number, ...infer R extends Shape]
  ? Reverse<R, [H, ...Acc]>
  : Acc;

/** A tuple of `number` as long as `S`. */
export type Unknowns<S extends Shape, Acc extends number[] = []> = S extends
  readonly [number, ...infer R extends Shape] ? Unknowns<R, [...Acc, number]>
  : Acc;

// ---------------------------------------------------------------------------
// 1. Broadcasting

/** The broadcast of two dims, or `false` when they are different literals and neither is 1. */
export type BroadcastDim<X extends number, Y extends number> = number extends X
  ? number extends Y ? number : [Y] extends [1] ? number : Y
  : number extends Y ? [X] extends [1] ? number : X
  : [X] extends [Y] ? X
  : [X] extends [1] ? Y
  : [Y] extends [1] ? X
  : false;

/** Broadcasts from the right; `A0` and `B0` are the full shapes for the message. */
export type BroadcastLoop<
  A extends Shape,
  B extends Shape,
  A0 extends Shape,
  B0 extends Shape,
  Acc extends number[] = [],
> = A extends readonly [...infer AR extends Shape, infer X extends number]
  ? B extends readonly [...infer BR extends Shape, infer Y extends number]
    ? BroadcastDim<X, Y> extends infer D extends number
      ? BroadcastLoop<AR, BR, A0, B0, [D, ...Acc]>
    : ShapeError<
      `Cannot broadcast shapes ${ShowShape<A0>} and ${ShowShape<
        B0
      >}: dims ${X} and ${Y} differ and neither is 1`
    >
  : [...A, ...Acc]
  : [...B, ...Acc];

/**
 * The shape of an elementwise result of operands of shapes `A` and `B` under
 * NumPy broadcasting: shapes are aligned on the right and each pair of dims
 * must be equal or contain a 1.
 *
 * @typeParam A The first operand's shape.
 * @typeParam B The second operand's shape.
 */
export type BroadcastShapes<A extends Shape, B extends Shape> =
  IsTuple<A> extends false ? number[]
    : IsTuple<B> extends false ? number[]
    : BroadcastLoop<A, B, A, B>;

// ---------------------------------------------------------------------------
// 2. Matrix product

/** The rank error of {@linkcode MatMulShape}. */
export type MatMulRankError<A extends Shape, B extends Shape> = ShapeError<
  `Cannot multiply matrices of shapes ${ShowShape<A>} and ${ShowShape<
    B
  >}: both need rank 2 or more`
>;

/**
 * The shape of the matrix product of `A` (`[...batch, m, k]`) and `B`
 * (`[...batch, k, n]`): `[...broadcast batch, m, n]`.
 *
 * @typeParam A The left operand's shape, rank 2 or more.
 * @typeParam B The right operand's shape, rank 2 or more.
 */
export type MatMulShape<A extends Shape, B extends Shape> = IsTuple<A> extends
  false ? number[]
  : IsTuple<B> extends false ? number[]
  : A extends readonly [
    ...infer AB extends Shape,
    infer M extends number,
    infer K1 extends number,
  ] ? B extends readonly [
      ...infer BB extends Shape,
      infer K2 extends number,
      infer N extends number,
    ] ? SameDim<K1, K2> extends false ? ShapeError<
          `Cannot multiply matrices of shapes ${ShowShape<A>} and ${ShowShape<
            B
          >}: inner dimensions ${K1} and ${K2} differ`
        >
      : BroadcastShapes<AB, BB> extends infer Batch extends Shape
        ? [...Batch, M, N]
      : BroadcastShapes<AB, BB>
    : MatMulRankError<A, B>
  : MatMulRankError<A, B>;

// ---------------------------------------------------------------------------
// 3. Transpose

/** Each axis normalized into `[0, R)`, or `false` if one is out of range. */
export type NormAxes<
  P extends Shape,
  R extends number,
  Acc extends number[] = [],
> = P extends readonly [infer H extends number, ...infer T extends Shape]
  ? NormAxis<H, R> extends infer I extends number ? NormAxes<T, R, [...Acc, I]>
  : false
  : Acc;

/** The first value listed twice in `P`, or `false`. */
export type FirstDuplicate<P extends Shape> = P extends
  readonly [infer H extends number, ...infer T extends Shape]
  ? [H] extends [T[number]] ? H : FirstDuplicate<T>
  : false;

/** The dims of `S` at the indices `P`. */
export type PickDims<
  S extends Shape,
  P extends Shape,
  Acc extends number[] = [],
> = P extends readonly [infer I extends number, ...infer T extends Shape]
  ? PickDims<S, T, [...Acc, S[I]]>
  : Acc;

/** The error of {@linkcode TransposeShape}. */
export type TransposeError<S extends Shape, P extends Shape> = ShapeError<
  `Cannot transpose shape ${ShowShape<S>} with permutation ${ShowShape<
    P
  >}: it must list each axis from 0 to ${Sub<S["length"], 1>} exactly once`
>;

/**
 * The shape of `S` with its axes permuted: dim `i` of the result is dim
 * `Perm[i]` of `S`. Without `Perm`, the axes are reversed.
 *
 * @typeParam S The input shape.
 * @typeParam Perm A permutation of the axes of `S`, or `undefined` to reverse them.
 */
export type TransposeShape<
  S extends Shape,
  Perm extends Shape | undefined = undefined,
> = IsTuple<S> extends false ? number[]
  : [Perm] extends [undefined] ? Reverse<S>
  : Perm extends Shape ? IsTuple<Perm> extends false ? Unknowns<S>
    : [Perm["length"]] extends [S["length"]]
      ? HasUnknown<Perm> extends true ? Unknowns<S>
      : NormAxes<Perm, S["length"]> extends infer P extends Shape
        ? FirstDuplicate<P> extends false ? PickDims<S, P>
        : TransposeError<S, Perm>
      : TransposeError<S, Perm>
    : TransposeError<S, Perm>
  : number[];

// ---------------------------------------------------------------------------
// 4. Reshape and flatten

/** How many dims of `T` are the literal -1. */
export type CountMinusOne<T extends Shape, Acc extends 0[] = []> = T extends
  readonly [infer H extends number, ...infer R extends Shape]
  ? CountMinusOne<R, [H] extends [-1] ? [...Acc, 0] : Acc>
  : Acc["length"];

/** Whether `T` has a literal dim that is neither a non-negative integer nor -1. */
export type HasBadDim<T extends Shape> = T extends
  readonly [infer H extends number, ...infer R extends Shape]
  ? [H] extends [-1] ? HasBadDim<R>
  : IsNonNegative<H> extends true ? HasBadDim<R>
  : true
  : false;

/** `T` without its -1 dims. */
export type WithoutMinusOne<T extends Shape, Acc extends number[] = []> =
  T extends readonly [infer H extends number, ...infer R extends Shape]
    ? WithoutMinusOne<R, [H] extends [-1] ? Acc : [...Acc, H]>
    : Acc;

/** `T` with its -1 dim replaced by `V`. */
export type ReplaceMinusOne<
  T extends Shape,
  V extends number,
  Acc extends number[] = [],
> = T extends readonly [infer H extends number, ...infer R extends Shape]
  ? ReplaceMinusOne<R, V, [...Acc, [H] extends [-1] ? V : H]>
  : Acc;

/** Reshape with all dims known: `N` elements in, `M` elements in the dims of `T` other than -1. */
export type ReshapeKnown<
  S extends Shape,
  T extends Shape,
  N extends number,
  M extends number,
  Count extends number,
> = Count extends 0 ? [N] extends [M] ? [...T]
  : ShapeError<
    `Cannot reshape ${ShowShape<S>} (${N} elements) to ${ShowShape<
      T
    >} (${M} elements)`
  >
  : [M] extends [0] ? ShapeError<
      `Cannot reshape ${ShowShape<S>} (${N} elements) to ${ShowShape<
        T
      >}: the -1 dim cannot be inferred when the other dims multiply to 0`
    >
  : [Mul<FloorDiv<N, M>, M>] extends [N] ? ReplaceMinusOne<T, FloorDiv<N, M>>
  : ShapeError<
    `Cannot reshape ${ShowShape<S>} (${N} elements) to ${ShowShape<
      T
    >}: ${N} is not divisible by ${M}`
  >;

/**
 * The shape `T` that `S` is reshaped to, with its one allowed -1 dim replaced
 * by the inferred size. The element counts must match. When `S` or `T` has an
 * unknown dim, the -1 becomes `number` and the check is left to run time.
 *
 * @typeParam S The input shape.
 * @typeParam T The target shape, possibly with one -1.
 */
export type ReshapeShape<S extends Shape, T extends Shape> = IsTuple<T> extends
  false ? number[]
  : HasBadDim<T> extends true ? ShapeError<
      `Cannot reshape ${ShowShape<S>} to ${ShowShape<
        T
      >}: dims must be non-negative integers or -1`
    >
  : CountMinusOne<T> extends infer Count extends 0 | 1
    ? IsTuple<S> extends false ? ReplaceMinusOne<T, number>
    : HasUnknown<S> extends true ? ReplaceMinusOne<T, number>
    : HasUnknown<T> extends true ? ReplaceMinusOne<T, number>
    : ReshapeKnown<S, T, Product<S>, Product<WithoutMinusOne<T>>, Count>
  : ShapeError<
    `Cannot reshape ${ShowShape<S>} to ${ShowShape<
      T
    >}: at most one dim may be -1`
  >;

/**
 * The shape `[S0, product of the other dims]` (`[S0, 1]` for rank 1): every
 * example of a batch flattened to a vector.
 *
 * @typeParam S The input shape, rank 1 or more.
 */
export type FlattenShape<S extends Shape> = IsTuple<S> extends false
  ? [number, number]
  : S extends readonly [infer D extends number, ...infer R extends Shape]
    ? [D, Product<R>]
  : ShapeError<"Cannot flatten a scalar: flatten needs rank 1 or more">;

// ---------------------------------------------------------------------------
// 6-7. Squeeze and expand

/**
 * The shape `S` without the axis `Axis`, whose dim must be 1.
 *
 * @typeParam S The input shape.
 * @typeParam Axis The axis to remove, negative counted from the end.
 */
export type SqueezeShape<S extends Shape, Axis extends number> =
  IsTuple<S> extends false ? number[]
    : IsLit<Axis> extends false ? number[]
    : NormAxis<Axis, S["length"]> extends infer I extends number
      ? SameDim<S[I], 1> extends true ? RemoveAt<S, I>
      : ShapeError<
        `Cannot squeeze axis ${Axis} of shape ${ShowShape<
          S
        >}: its dim is ${S[I]}, not 1`
      >
    : AxisError<S, Axis>;

/**
 * The shape `S` with a 1 inserted at axis `Axis`, which ranges over
 * `-rank - 1 .. rank` (-1 appends).
 *
 * @typeParam S The input shape.
 * @typeParam Axis Where the new axis goes in the result, negative counted from the end.
 */
export type ExpandDimsShape<S extends Shape, Axis extends number> =
  IsTuple<S> extends false ? number[]
    : IsLit<Axis> extends false ? Unknowns<[number, ...S]>
    : NormAxis<Axis, Add<S["length"], 1>> extends infer I extends number
      ? InsertAt<S, I, 1>
    : AxisError<S, Axis>;

// ---------------------------------------------------------------------------
// 8. Concatenation

/** Marks dims at index `I` that differ (`X` and `Y`). */
export interface Mismatch<
  I extends number,
  X extends number,
  Y extends number,
> {
  /** The index and the two differing dims. */
  readonly mismatch: [I, X, Y];
}

/** Merges `B` into the running result `Acc`: adds the dims at `I`, checks the others. */
export type ConcatMerge<
  Acc extends Shape,
  B extends Shape,
  I extends number,
  Out extends number[] = [],
> = Acc extends readonly [infer X extends number, ...infer AR extends Shape]
  ? B extends readonly [infer Y extends number, ...infer BR extends Shape]
    ? Out["length"] extends I ? ConcatMerge<AR, BR, I, [...Out, Add<X, Y>]>
    : number extends X ? ConcatMerge<AR, BR, I, [...Out, Y]>
    : number extends Y ? ConcatMerge<AR, BR, I, [...Out, X]>
    : [X] extends [Y] ? ConcatMerge<AR, BR, I, [...Out, X]>
    : Mismatch<Out["length"], X, Y>
  : Out
  : Out;

/** Folds the shapes after the first into the result. */
export type ConcatLoop<
  A0 extends Shape,
  Rest extends readonly Shape[],
  Axis extends number,
  I extends number,
  Acc extends Shape,
> = Rest extends
  readonly [infer B extends Shape, ...infer R extends readonly Shape[]]
  ? IsTuple<B> extends false ? Unknowns<A0>
  : [B["length"]] extends [A0["length"]]
    ? ConcatMerge<Acc, B, I> extends infer M
      ? M extends Shape ? ConcatLoop<A0, R, Axis, I, M>
      : M extends Mismatch<infer J, infer X, infer Y> ? ShapeError<
          `Cannot concatenate shapes ${ShowShape<A0>} and ${ShowShape<
            B
          >} along axis ${Axis}: dims at axis ${J} are ${X} and ${Y}`
        >
      : never
    : never
  : ShapeError<
    `Cannot concatenate shapes ${ShowShape<A0>} and ${ShowShape<
      B
    >}: ranks ${A0["length"]} and ${B["length"]} differ`
  >
  : Acc;

/**
 * The shape of the concatenation of tensors of shapes `Shapes` along `Axis`:
 * all ranks equal, all dims equal except on `Axis`, where they add up.
 *
 * @typeParam Shapes The shapes, at least one.
 * @typeParam Axis The axis to join along, negative counted from the end.
 */
export type ConcatShape<Shapes extends readonly Shape[], Axis extends number> =
  number extends Shapes["length"] ? number[]
    : Shapes extends
      readonly [infer A extends Shape, ...infer Rest extends readonly Shape[]]
      ? IsTuple<A> extends false ? number[]
      : IsLit<Axis> extends false ? Unknowns<A>
      : NormAxis<Axis, A["length"]> extends infer I extends number
        ? ConcatLoop<A, Rest, Axis, I, [...A]>
      : AxisError<A, Axis>
    : ShapeError<"Cannot concatenate an empty list of shapes">;

// ---------------------------------------------------------------------------
// 9. Slice

/** Whether `0 <= Start <= End <= D0`, as far as the literals tell. */
export type SliceOk<
  Start extends number,
  End extends number,
  D0 extends number,
> = IsNonNegative<Start> extends false ? false
  : IsNonNegative<End> extends false ? false
  : Compare<Start, End> extends "gt" ? false
  : Compare<End, D0> extends "gt" ? false
  : Compare<Start, D0> extends "gt" ? false
  : true;

/**
 * The shape of rows `Start` (inclusive) to `End` (exclusive) of the first axis
 * of `S`: `[End - Start, ...rest]`.
 *
 * @typeParam S The input shape, rank 1 or more.
 * @typeParam Start The first row taken.
 * @typeParam End One past the last row taken.
 */
export type SliceShape<
  S extends Shape,
  Start extends number,
  End extends number,
> = IsTuple<S> extends false ? number[]
  : S extends readonly [infer D0 extends number, ...infer R extends Shape]
    ? SliceOk<Start, End, D0> extends false ? ShapeError<
        `Cannot slice rows ${Start} to ${End} of shape ${ShowShape<
          S
        >}: need 0 <= start <= end <= ${D0}`
      >
    : [Sub<End, Start>, ...R]
  : ShapeError<"Cannot slice a scalar: slice needs rank 1 or more">;

// ---------------------------------------------------------------------------
// 10. Reductions

/** The first axis of `Axes` out of range for `S` as an error, or the normalized axes. */
export type NormReduceAxes<
  S extends Shape,
  Axes extends Shape,
  Acc extends number[] = [],
> = Axes extends readonly [infer H extends number, ...infer T extends Shape]
  ? NormAxis<H, S["length"]> extends infer I extends number
    ? NormReduceAxes<S, T, [...Acc, I]>
  : AxisError<S, H>
  : Acc;

/** `S` with the axes in `L` removed, or set to 1 when `K` is true. */
export type ReduceBuild<
  S extends Shape,
  L extends Shape,
  K extends boolean,
  Idx extends 0[] = [],
  Out extends number[] = [],
> = S extends readonly [infer H extends number, ...infer R extends Shape]
  ? ReduceBuild<
    R,
    L,
    K,
    [...Idx, 0],
    Idx["length"] extends L[number] ? K extends true ? [...Out, 1] : Out
      : [...Out, H]
  >
  : Out;

/** Reduction over a list of axes. */
export type ReduceAxes<S extends Shape, Axes extends Shape, K extends boolean> =
  IsTuple<Axes> extends false ? number[]
    : HasUnknown<Axes> extends true ? number[]
    : NormReduceAxes<S, Axes> extends infer L
      ? L extends number[]
        ? FirstDuplicate<L> extends infer D extends number ? ShapeError<
            `Cannot reduce shape ${ShowShape<S>} over axes ${ShowShape<
              Axes
            >}: axis ${D} is listed twice`
          >
        : ReduceBuild<S, L, K>
      : L
    : never;

/**
 * The shape left after reducing `S` over `Axis` (one axis, a list of axes, or
 * `undefined` for all axes): the reduced axes are removed, or kept as 1 when
 * `KeepDims` is true.
 *
 * @typeParam S The input shape.
 * @typeParam Axis The axis or axes to reduce, negative counted from the end; `undefined` for all.
 * @typeParam KeepDims Whether reduced axes stay as dims of size 1.
 */
export type ReduceShape<
  S extends Shape,
  Axis extends number | Shape | undefined = undefined,
  KeepDims extends boolean = false,
> = IsTuple<S> extends false ? number[]
  : boolean extends KeepDims ? number[]
  : [Axis] extends [undefined] ? KeepDims extends true ? OnesLike<S> : []
  : [Axis] extends [number] ? ReduceAxes<S, [Axis], KeepDims>
  : Axis extends Shape ? ReduceAxes<S, Axis, KeepDims>
  : number[];

/** A tuple of 1s as long as `S`. */
export type OnesLike<S extends Shape, Acc extends 1[] = []> = S extends
  readonly [number, ...infer R extends Shape] ? OnesLike<R, [...Acc, 1]>
  : Acc;

// ---------------------------------------------------------------------------
// 11-12. Convolution and pooling

/** A size per spatial axis: one number for both, or `[height, width]`. */
export type Size2d = number | readonly [number, number];

/**
 * Padding of the spatial axes: `"valid"` (none), `"same"` (output size
 * `ceil(in / stride)`, TensorFlow convention), one number for all sides, or
 * `[[top, bottom], [left, right]]`.
 */
export type Padding2d =
  | "valid"
  | "same"
  | number
  | readonly [readonly [number, number], readonly [number, number]];

/** Options of a 2-D convolution. */
export interface Conv2dOptions {
  /** Step between windows; defaults to 1. */
  readonly stride?: Size2d;
  /** Padding; defaults to `"valid"`. */
  readonly padding?: Padding2d;
  /** Spacing between kernel taps; defaults to 1. */
  readonly dilation?: Size2d;
}

/** Options of a 2-D pooling. */
export interface Pool2dOptions {
  /** Window size. */
  readonly size: Size2d;
  /** Step between windows; defaults to the window size. */
  readonly stride?: Size2d;
  /** Padding; defaults to `"valid"`. */
  readonly padding?: Padding2d;
}

/** The value of option `K` of `O`: `undefined` when absent, `unknown` when optional (maybe absent). */
export type OptionOf<O, K extends string> = O extends
  Readonly<Record<K, infer V>> ? V
  : K extends keyof O ? unknown
  : undefined;

/** An option of type {@linkcode Size2d} as `[height, width]`; `Def` when absent. */
export type PairOf<V, Def extends [number, number]> = [V] extends [undefined]
  ? Def
  : V extends readonly [infer H extends number, infer W extends number] ? [H, W]
  : [V] extends [number] ? [V, V]
  : [number, number];

/** Padding as `[top, bottom, left, right]`, or `"same"`. */
export type PadsOf<P> = [P] extends [undefined] ? [0, 0, 0, 0]
  : [P] extends ["valid"] ? [0, 0, 0, 0]
  : [P] extends ["same"] ? "same"
  : [P] extends [number] ? [P, P, P, P]
  : P extends readonly [
    readonly [infer T extends number, infer B extends number],
    readonly [infer L extends number, infer R extends number],
  ] ? [T, B, L, R]
  : [number, number, number, number];

/** The first value of `V` that is not a positive integer, or `false`. */
export type FirstNonPositive<V extends Shape> = V extends
  readonly [infer H extends number, ...infer R extends Shape]
  ? IsPositive<H> extends true ? FirstNonPositive<R> : H
  : false;

/** The first value of `V` that is not a non-negative integer, or `false`. */
export type FirstNegative<V extends Shape> = V extends
  readonly [infer H extends number, ...infer R extends Shape]
  ? IsNonNegative<H> extends true ? FirstNegative<R> : H
  : false;

/** The option errors, in the order the runtime checks them, or `false`. */
export type OptionsError<
  Checks extends readonly [string, Shape][],
> = Checks extends readonly [
  [infer Name extends string, infer V extends Shape],
  ...infer R extends readonly [string, Shape][],
]
  ? FirstNonPositive<V> extends infer Bad extends number
    ? ShapeError<`Expected ${Name} to be a positive integer but found ${Bad}`>
  : OptionsError<R>
  : false;

/** The padding error, or `false`. */
export type PaddingError<P> = P extends Shape
  ? FirstNegative<P> extends infer Bad extends number ? ShapeError<
      `Expected padding to be non-negative integers but found ${Bad}`
    >
  : false
  : false;

/** Marks a window (`EK`) larger than the padded input (`HP`). */
export interface TooLarge<EK extends number, HP extends number> {
  /** The effective window and the padded input size. */
  readonly tooLarge: [EK, HP];
}

/** One output size: `floor((in + pads - ek) / stride) + 1` with `ek = d * (k - 1) + 1`. */
export type OutSize<
  In extends number,
  K extends number,
  S extends number,
  D extends number,
  P0 extends number,
  P1 extends number,
> = Add<Mul<D, Sub<K, 1>>, 1> extends infer EK extends number
  ? Add<In, Add<P0, P1>> extends infer HP extends number
    ? Compare<EK, HP> extends "gt" ? TooLarge<EK, HP>
    : Add<FloorDiv<Sub<HP, EK>, S>, 1>
  : never
  : never;

/** Output `[height, width]`, or a {@linkcode TooLarge} marker tagged with the axis. */
export type OutSizes<
  H extends number,
  W extends number,
  KH extends number,
  KW extends number,
  St extends [number, number],
  Dl extends [number, number],
  Pads,
> = Pads extends "same" ? [CeilDiv<H, St[0]>, CeilDiv<W, St[1]>]
  : Pads extends [
    infer T extends number,
    infer B extends number,
    infer L extends number,
    infer R extends number,
  ]
    ? OutSize<H, KH, St[0], Dl[0], T, B> extends infer OH
      ? OH extends TooLarge<infer EK, infer HP> ? ["height", EK, HP]
      : OutSize<W, KW, St[1], Dl[1], L, R> extends infer OW
        ? OW extends TooLarge<infer EK, infer HP> ? ["width", EK, HP]
        : [OH, OW]
      : never
    : never
  : [number, number];

/** A shape of rank 4 as a tuple, `number`s for unknown rank, `false` for another rank. */
export type AsRank4<S extends Shape> = IsTuple<S> extends false
  ? [number, number, number, number]
  : S extends readonly [
    infer A extends number,
    infer B extends number,
    infer C extends number,
    infer D extends number,
  ] ? [A, B, C, D]
  : false;

/** {@linkcode Conv2dShape} after the rank check. */
export type Conv2dChecked<
  X extends Shape,
  W extends Shape,
  XD extends [number, number, number, number],
  WD extends [number, number, number, number],
  St extends [number, number],
  Dl extends [number, number],
  Pads,
> = OptionsError<[["stride", St], ["dilation", Dl]]> extends
  infer E extends ShapeError<string> ? E
  : PaddingError<Pads> extends infer E extends ShapeError<string> ? E
  : SameDim<XD[3], WD[2]> extends false ? ShapeError<
      `Cannot convolve input ${ShowShape<X>} with kernel ${ShowShape<
        W
      >}: input channels ${XD[3]} and kernel in-channels ${WD[2]} differ`
    >
  : OutSizes<XD[1], XD[2], WD[0], WD[1], St, Dl, Pads> extends [
    infer Axis extends string,
    infer EK extends number,
    infer HP extends number,
  ] ? ShapeError<
      `Cannot convolve input ${ShowShape<X>} with kernel ${ShowShape<
        W
      >}: the dilated kernel ${Axis} ${EK} exceeds the padded input ${Axis} ${HP}`
    >
  : OutSizes<XD[1], XD[2], WD[0], WD[1], St, Dl, Pads> extends
    [infer OH extends number, infer OW extends number] ? [XD[0], OH, OW, WD[3]]
  : never;

/**
 * The output shape `[N, outH, outW, O]` of a 2-D convolution of an NHWC input
 * `X` (`[N, H, W, C]`) with a kernel `W` (`[kH, kW, C, O]`) under options `O`.
 * Declare the options parameter as `<const O extends Conv2dOptions>` so that
 * literal options reach this rule.
 *
 * @typeParam X The input shape `[N, H, W, C]`.
 * @typeParam W The kernel shape `[kH, kW, C, O]`.
 * @typeParam O The options (stride, padding, dilation).
 */
export type Conv2dShape<
  X extends Shape,
  W extends Shape,
  O extends Conv2dOptions = Record<never, never>,
> = [AsRank4<X>, AsRank4<W>] extends [
  infer XD extends [number, number, number, number],
  infer WD extends [number, number, number, number],
] ? Conv2dChecked<
    X,
    W,
    XD,
    WD,
    PairOf<OptionOf<O, "stride">, [1, 1]>,
    PairOf<OptionOf<O, "dilation">, [1, 1]>,
    PadsOf<OptionOf<O, "padding">>
  >
  : ShapeError<
    `Cannot convolve input ${ShowShape<X>} with kernel ${ShowShape<
      W
    >}: input must have rank 4 (NHWC) and kernel rank 4 (kH, kW, in, out)`
  >;

/** {@linkcode Pool2dShape} after the rank check. */
export type Pool2dChecked<
  X extends Shape,
  XD extends [number, number, number, number],
  Win extends [number, number],
  St extends [number, number],
  Pads,
> = OptionsError<[["size", Win], ["stride", St]]> extends
  infer E extends ShapeError<string> ? E
  : PaddingError<Pads> extends infer E extends ShapeError<string> ? E
  : OutSizes<XD[1], XD[2], Win[0], Win[1], St, [1, 1], Pads> extends [
    infer Axis extends string,
    infer EK extends number,
    infer HP extends number,
  ] ? ShapeError<
      `Cannot pool input ${ShowShape<X>} with window ${Win[0]}x${Win[
        1
      ]}: the window ${Axis} ${EK} exceeds the padded input ${Axis} ${HP}`
    >
  : OutSizes<XD[1], XD[2], Win[0], Win[1], St, [1, 1], Pads> extends
    [infer OH extends number, infer OW extends number] ? [XD[0], OH, OW, XD[3]]
  : never;

/**
 * The output shape `[N, outH, outW, C]` of a 2-D pooling of an NHWC input `X`
 * with window and stride from `O` (stride defaults to the window size).
 * Declare the options parameter as `<const O extends Pool2dOptions>`.
 *
 * @typeParam X The input shape `[N, H, W, C]`.
 * @typeParam O The options (size, stride, padding).
 */
export type Pool2dShape<X extends Shape, O extends Pool2dOptions> =
  AsRank4<X> extends infer XD extends [number, number, number, number]
    ? PairOf<OptionOf<O, "size">, [number, number]> extends
      infer Win extends [number, number] ? Pool2dChecked<
        X,
        XD,
        Win,
        PairOf<OptionOf<O, "stride">, Win>,
        PadsOf<OptionOf<O, "padding">>
      >
    : never
    : ShapeError<
      `Cannot pool input ${ShowShape<X>}: input must have rank 4 (NHWC)`
    >;

// ---------------------------------------------------------------------------
// 13. Layer epilogues and the loss: global pooling, bias, dense, cross-entropy

/**
 * The output shape `[N, C]` of a global average pooling of an NHWC input `X`
 * (the mean over height and width).
 *
 * @typeParam X The input shape `[N, H, W, C]`.
 */
export type GlobalPool2dShape<X extends Shape> = AsRank4<X> extends
  infer XD extends [number, number, number, number] ? [XD[0], XD[3]]
  : ShapeError<
    `Cannot pool input ${ShowShape<X>}: input must have rank 4 (NHWC)`
  >;

/** The error of {@linkcode BiasAddShape}. */
export type BiasAddError<X extends Shape, B extends Shape, C extends string> =
  ShapeError<
    `Cannot add a bias of shape ${ShowShape<B>} to channels of ${ShowShape<
      X
    >}: expected [${C}]`
  >;

/**
 * The shape of `x + bias` for a bias with one value per channel (the last
 * axis of `X`): `X` itself, when `B` is `[C]` for the last dim `C` of `X`.
 *
 * @typeParam X The input shape `[..., C]`.
 * @typeParam B The bias shape `[C]`.
 */
export type BiasAddShape<X extends Shape, B extends Shape> = IsTuple<X> extends
  false ? X
  : IsTuple<B> extends false ? X
  : X extends readonly [...Shape, infer C extends number]
    ? B extends readonly [infer C2 extends number]
      ? SameDim<C, C2> extends true ? X : BiasAddError<X, B, ShowDim<C>>
    : BiasAddError<X, B, ShowDim<C>>
  : BiasAddError<X, B, "C">;

/**
 * The output shape `[B, U]` of a dense layer with `U` units on an input of
 * shape `S` (`[B, features]`); `In`, when a number, is the feature count the
 * layer was declared for.
 *
 * @typeParam S The input shape `[batch, features]`.
 * @typeParam U The number of units.
 * @typeParam In The declared number of input features, or `undefined`.
 */
export type DenseShape<S extends Shape, U extends number, In = undefined> =
  IsTuple<S> extends false ? [number, U]
    : S extends readonly [infer B extends number, infer F extends number]
      ? In extends number ? SameDim<F, In> extends true ? [B, U]
        : ShapeError<`dense expects ${In} input features but found ${F}`>
      : [B, U]
    : ShapeError<
      `dense needs a rank-2 input [batch, features] but found ${ShowShape<
        S
      >}: add flatten() before it`
    >;

/** The error of {@linkcode CrossEntropyShape} for labels of the wrong shape. */
export type LabelsError<
  Kind extends string,
  Want extends Shape,
  Z extends Shape,
  Y extends Shape,
> = ShapeError<
  `Expected ${Kind} of shape ${ShowShape<Want>} for logits ${ShowShape<
    Z
  >} but found ${ShowShape<Y>}`
>;

/**
 * The shape of the cross-entropy between logits `Z` (`[B, C]`) and labels
 * `Y` of dtype `D`: int32 class indices `[B]`, or float32 targets `[B, C]`.
 * The loss is a scalar, `[]`. A label dtype that is not a literal leaves the
 * labels' shape to the run-time check.
 *
 * @typeParam Z The logits' shape `[batch, classes]`.
 * @typeParam Y The labels' shape.
 * @typeParam D The labels' dtype.
 */
export type CrossEntropyShape<
  Z extends Shape,
  Y extends Shape,
  D extends DType,
> = IsTuple<Z> extends false ? []
  : Z extends readonly [infer B extends number, infer C extends number]
    ? IsTuple<Y> extends false ? []
    : [D] extends ["int32"]
      ? Y extends readonly [infer B2 extends number]
        ? SameDim<B, B2> extends true ? [] : LabelsError<"labels", [B], Z, Y>
      : LabelsError<"labels", [B], Z, Y>
    : [D] extends ["float32"]
      ? Y extends readonly [infer B2 extends number, infer C2 extends number]
        ? [SameDim<B, B2>, SameDim<C, C2>] extends [true, true] ? []
        : LabelsError<"targets", [B, C], Z, Y>
      : LabelsError<"targets", [B, C], Z, Y>
    : []
  : ShapeError<
    `Expected logits of rank 2 [batch, classes] but found shape ${ShowShape<
      Z
    >}`
  >;
