/**
 * Type-level arithmetic on non-negative integer number literals.
 *
 * Numbers are turned into their decimal digits with template literal types,
 * combined digit by digit with small lookup tables and a carry (the way one
 * adds on paper), and turned back into number literals. The recursion runs
 * over digits, not over values, so results are exact up to 2^53 and the
 * instantiation depth stays around the number of digits.
 *
 * Every operation gives `number` when an operand is the non-literal type
 * `number` (a dim known only at run time), so rules built on them degrade to
 * run-time checks instead of compile errors.
 *
 * @module
 */

import type { Shape } from "../tensor.ts";

/** A decimal digit. */
export type Digit = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** A natural number as its digits, least significant first, with no most significant zeros; zero is `[]`. */
export type Nat = Digit[];

/** `SumT[a][b]` is `a + b`. */
export type SumT = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  [4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  [5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
  [8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
  [9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
];

/** `MulT[a][b]` is `a * b`. */
export type MulT = [
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
  [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
  [0, 4, 8, 12, 16, 20, 24, 28, 32, 36],
  [0, 5, 10, 15, 20, 25, 30, 35, 40, 45],
  [0, 6, 12, 18, 24, 30, 36, 42, 48, 54],
  [0, 7, 14, 21, 28, 35, 42, 49, 56, 63],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 72],
  [0, 9, 18, 27, 36, 45, 54, 63, 72, 81],
];

/** `SplitT[n]` is `[n % 10, floor(n / 10)]` for `n` in 0..99. */
// deno-fmt-ignore
export type SplitT = [
  [0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0], [7, 0], [8, 0], [9, 0],
  [0, 1], [1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1], [7, 1], [8, 1], [9, 1],
  [0, 2], [1, 2], [2, 2], [3, 2], [4, 2], [5, 2], [6, 2], [7, 2], [8, 2], [9, 2],
  [0, 3], [1, 3], [2, 3], [3, 3], [4, 3], [5, 3], [6, 3], [7, 3], [8, 3], [9, 3],
  [0, 4], [1, 4], [2, 4], [3, 4], [4, 4], [5, 4], [6, 4], [7, 4], [8, 4], [9, 4],
  [0, 5], [1, 5], [2, 5], [3, 5], [4, 5], [5, 5], [6, 5], [7, 5], [8, 5], [9, 5],
  [0, 6], [1, 6], [2, 6], [3, 6], [4, 6], [5, 6], [6, 6], [7, 6], [8, 6], [9, 6],
  [0, 7], [1, 7], [2, 7], [3, 7], [4, 7], [5, 7], [6, 7], [7, 7], [8, 7], [9, 7],
  [0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [6, 8], [7, 8], [8, 8], [9, 8],
  [0, 9], [1, 9], [2, 9], [3, 9], [4, 9], [5, 9], [6, 9], [7, 9], [8, 9], [9, 9],
];

/** `SubT[a][b]` is `[(a - b) mod 10, borrow]`, borrow 1 when `a < b`. */
// deno-fmt-ignore
export type SubT = [
  [[0, 0], [9, 1], [8, 1], [7, 1], [6, 1], [5, 1], [4, 1], [3, 1], [2, 1], [1, 1]],
  [[1, 0], [0, 0], [9, 1], [8, 1], [7, 1], [6, 1], [5, 1], [4, 1], [3, 1], [2, 1]],
  [[2, 0], [1, 0], [0, 0], [9, 1], [8, 1], [7, 1], [6, 1], [5, 1], [4, 1], [3, 1]],
  [[3, 0], [2, 0], [1, 0], [0, 0], [9, 1], [8, 1], [7, 1], [6, 1], [5, 1], [4, 1]],
  [[4, 0], [3, 0], [2, 0], [1, 0], [0, 0], [9, 1], [8, 1], [7, 1], [6, 1], [5, 1]],
  [[5, 0], [4, 0], [3, 0], [2, 0], [1, 0], [0, 0], [9, 1], [8, 1], [7, 1], [6, 1]],
  [[6, 0], [5, 0], [4, 0], [3, 0], [2, 0], [1, 0], [0, 0], [9, 1], [8, 1], [7, 1]],
  [[7, 0], [6, 0], [5, 0], [4, 0], [3, 0], [2, 0], [1, 0], [0, 0], [9, 1], [8, 1]],
  [[8, 0], [7, 0], [6, 0], [5, 0], [4, 0], [3, 0], [2, 0], [1, 0], [0, 0], [9, 1]],
  [[9, 0], [8, 0], [7, 0], [6, 0], [5, 0], [4, 0], [3, 0], [2, 0], [1, 0], [0, 0]],
];

/** The digit characters and their values. */
export type CharDigit = {
  "0": 0;
  "1": 1;
  "2": 2;
  "3": 3;
  "4": 4;
  "5": 5;
  "6": 6;
  "7": 7;
  "8": 8;
  "9": 9;
};

/** `[low digit, carry]` of `p + c`, for `p` in 0..99 and a digit `c` with `p + c <= 99`. */
export type Step<P extends number, C extends Digit> =
  SplitT[P & keyof SplitT] extends
    [infer Lo extends Digit, infer Hi extends Digit]
    ? SplitT[SumT[Lo][C]] extends
      [infer Lo2 extends Digit, infer Hi2 extends Digit]
      ? [Lo2, SumT[Hi][Hi2] & Digit]
    : never
    : never;

/** The least significant digit (0 for zero). */
export type Head<A extends Nat> = A extends [infer H extends Digit, ...Nat] ? H
  : 0;

/** All but the least significant digit. */
export type Tail<A extends Nat> = A extends [Digit, ...infer R extends Nat] ? R
  : [];

/** Drops most significant zeros. */
export type Trim<A extends Nat> = A extends [...infer R extends Nat, 0]
  ? Trim<R>
  : A;

/** Digits of a decimal string, least significant first (`false` if not all digits). */
export type ParseDigits<S extends string, Acc extends Nat = []> = S extends ""
  ? Acc
  : S extends `${infer C extends keyof CharDigit}${infer R}`
    ? ParseDigits<R, [CharDigit[C], ...Acc]>
  : false;

/** A number literal as a `Nat`; `false` for `number`, negatives, fractions and exponent notation. */
export type ToNat<N extends number> = number extends N ? false
  : N extends 0 ? []
  : ParseDigits<`${N}`> extends infer D extends Nat ? Trim<D>
  : false;

/** The decimal text of a `Nat`. */
export type NatText<A extends Nat, S extends string = ""> = A extends
  [infer D extends Digit, ...infer R extends Nat] ? NatText<R, `${D}${S}`>
  : S;

/** A decimal text as a number literal, `number` if it does not round-trip (above 2^53). */
export type TextToNumber<S extends string> = S extends
  `${infer N extends number}` ? N
  : number;

/** A `Nat` as a number literal. */
export type FromNat<A extends Nat> = Trim<A> extends [] ? 0
  : TextToNumber<NatText<Trim<A>>>;

/** `A + B` on digits. */
export type AddNat<
  A extends Nat,
  B extends Nat,
  C extends Digit = 0,
  Acc extends Nat = [],
> = [A, B] extends [[], []] ? (C extends 0 ? Acc : [...Acc, C])
  : Step<SumT[Head<A>][Head<B>], C> extends
    [infer D extends Digit, infer C2 extends Digit]
    ? AddNat<Tail<A>, Tail<B>, C2, [...Acc, D]>
  : never;

/** `A - B` on digits, for `A >= B`. */
export type SubNat<
  A extends Nat,
  B extends Nat,
  Br extends Digit = 0,
  Acc extends Nat = [],
> = A extends [] ? Trim<Acc>
  : SubT[Head<A>][Br] extends [infer A1 extends Digit, infer B1 extends Digit]
    ? SubT[A1][Head<B>] extends [infer D extends Digit, infer B2 extends Digit]
      ? SubNat<Tail<A>, Tail<B>, SumT[B1][B2] & Digit, [...Acc, D]>
    : never
  : never;

/** `A * d` for a digit `d`. */
export type MulDigit<
  A extends Nat,
  D extends Digit,
  C extends Digit = 0,
  Acc extends Nat = [],
> = A extends [infer H extends Digit, ...infer R extends Nat]
  ? Step<MulT[H][D], C> extends [infer Lo extends Digit, infer C2 extends Digit]
    ? MulDigit<R, D, C2, [...Acc, Lo]>
  : never
  : C extends 0 ? Acc
  : [...Acc, C];

/** `A * B` on digits: shift-and-add over the digits of `B`. */
export type MulNat<A extends Nat, B extends Nat, Acc extends Nat = []> =
  B extends [infer D extends Digit, ...infer R extends Nat]
    ? MulNat<[0, ...A], R, AddNat<Acc, Trim<MulDigit<A, D>>>>
    : Trim<Acc>;

/** Compares the lengths of two digit lists. */
export type CompareLength<A extends Nat, B extends Nat> = A extends []
  ? B extends [] ? "eq" : "lt"
  : B extends [] ? "gt"
  : CompareLength<Tail<A>, Tail<B>>;

/** Compares two digit lists of equal length, most significant digit first. */
export type CompareSameLength<A extends Nat, B extends Nat> = A extends
  [...infer AR extends Nat, infer X extends Digit]
  ? B extends [...infer BR extends Nat, infer Y extends Digit]
    ? X extends Y ? CompareSameLength<AR, BR>
    : SubT[X][Y][1] extends 1 ? "lt"
    : "gt"
  : "eq"
  : "eq";

/** Compares two trimmed `Nat`s. */
export type CompareNat<A extends Nat, B extends Nat> =
  CompareLength<A, B> extends infer L extends string
    ? L extends "eq" ? CompareSameLength<A, B> : L
    : never;

/** One quotient digit: subtracts `B` from `R` while `R >= B`, at most 9 times. */
export type DivDigit<R extends Nat, B extends Nat, Q extends Digit = 0> =
  CompareNat<R, B> extends "lt" ? [Q, R]
    : DivDigit<SubNat<R, B>, B, SumT[Q][1] & Digit>;

/** `floor(A / B)` by long division, for `B > 0`. */
export type DivNat<
  A extends Nat,
  B extends Nat,
  Q extends Nat = [],
  R extends Nat = [],
> = A extends [...infer AR extends Nat, infer D extends Digit]
  ? DivDigit<Trim<[D, ...R]>, B> extends
    [infer QD extends Digit, infer R2 extends Nat]
    ? DivNat<AR, B, [QD, ...Q], R2>
  : never
  : Trim<Q>;

/** The three results of a comparison. */
export type Ordering = "lt" | "eq" | "gt";

/**
 * `A + B` for non-negative integer literals, or `number` if either is not a literal.
 *
 * @typeParam A The first addend.
 * @typeParam B The second addend.
 */
export type Add<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? FromNat<AddNat<X, Y>>
    : number;

/**
 * `A - B` for non-negative integer literals (a negative literal such as `-7`
 * when `B > A`), or `number` if either is not a literal.
 *
 * @typeParam A The minuend.
 * @typeParam B The subtrahend.
 */
export type Sub<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? CompareNat<X, Y> extends "lt" ? TextToNumber<`-${NatText<SubNat<Y, X>>}`>
    : FromNat<SubNat<X, Y>>
    : number;

/**
 * `A * B` for non-negative integer literals, or `number` if either is not a literal.
 *
 * @typeParam A The first factor.
 * @typeParam B The second factor.
 */
export type Mul<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? FromNat<MulNat<X, Y>>
    : number;

/**
 * `floor(A / B)` for non-negative integer literals with `B > 0` (`never` for
 * `B = 0`), or `number` if either is not a literal.
 *
 * @typeParam A The dividend.
 * @typeParam B The divisor.
 */
export type FloorDiv<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? Y extends [] ? never : FromNat<DivNat<X, Y>>
    : number;

/**
 * `ceil(A / B)` for non-negative integer literals with `B > 0`, or `number` if
 * either is not a literal.
 *
 * @typeParam A The dividend.
 * @typeParam B The divisor.
 */
export type CeilDiv<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? Y extends [] ? never
    : FromNat<DivNat<AddNat<X, SubNat<Y, [1]>>, Y>>
    : number;

/**
 * `"lt"`, `"eq"` or `"gt"` as `A` is less than, equal to or greater than `B`;
 * all three if either is not a literal.
 *
 * @typeParam A The left operand.
 * @typeParam B The right operand.
 */
export type Compare<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? CompareNat<X, Y>
    : Ordering;

/**
 * The larger of `A` and `B`, or `number` if either is not a literal.
 *
 * @typeParam A The left operand.
 * @typeParam B The right operand.
 */
export type Max<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? CompareNat<X, Y> extends "lt" ? B : A
    : number;

/**
 * The smaller of `A` and `B`, or `number` if either is not a literal.
 *
 * @typeParam A The left operand.
 * @typeParam B The right operand.
 */
export type Min<A extends number, B extends number> =
  [ToNat<A>, ToNat<B>] extends [infer X extends Nat, infer Y extends Nat]
    ? CompareNat<X, Y> extends "gt" ? B : A
    : number;

/**
 * The product of the dims of `S` (1 for `[]`), or `number` if a dim is not a
 * literal or `S` is not a tuple.
 *
 * @typeParam S The shape.
 */
export type Product<S extends Shape> = number extends S["length"] ? number
  : ProductNat<S> extends infer P extends Nat ? FromNat<P>
  : number;

/** The product of a tuple of literals as a `Nat` (`false` when a dim is not a literal). */
export type ProductNat<S extends Shape, Acc extends Nat = [1]> = S extends
  readonly [infer D extends number, ...infer R extends Shape]
  ? ToNat<D> extends infer X extends Nat ? ProductNat<R, MulNat<Acc, X>>
  : false
  : Acc;

/**
 * Whether `N` is a non-negative integer literal (`true`), or `false` for
 * negative, fractional and non-literal numbers.
 *
 * @typeParam N The number.
 */
export type IsNatural<N extends number> = ToNat<N> extends Nat ? true : false;
