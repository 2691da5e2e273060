/**
 * Batching as a transformation: `vmap(f)` runs `f`, written for one example,
 * on a whole batch at once.
 *
 * It is a third trace on the interpreter stack (after JAX's Autodidax
 * `BatchTrace`): each {@linkcode BatchTracer} holds a value with one extra
 * axis, the batch, and the position of that axis; to `f` it looks like one
 * example (its `shape` leaves the batch out). Every primitive has a batching
 * rule (its `batch` member, beside `jvp` and `vjp`) that computes the whole
 * batch with one call of the primitive, usually after moving or folding the
 * batch axis: into the rows of a matrix product, the images of a
 * convolution or pooling, the channels of a convolution whose filters are
 * batched. Rules are written with the public ops, so `vmap` nests with
 * itself and with `jvp`, `vjp` and `grad` in any order.
 *
 * Loop fallbacks: none; every primitive has a vectorized rule, and the vmap
 * table test lists every primitive and fails for one without a row.
 *
 * Random numbers: the random functions are not primitives; they take a
 * `Key`, which is not a tensor, and return constants. A key closed over or
 * passed as a shared argument (`inAxes` null) draws the same numbers for
 * every example, like an unbatched key in JAX; keys cannot be batched. For
 * per-example numbers, draw `[B, ...]` outside and pass them in batched.
 *
 * @module
 */

import {
  type AnyTensor,
  dimOf,
  type DType,
  type Shape,
  type Tensor,
} from "../tensor.ts";
import { type Primitive, Trace, Tracer, withTrace } from "./core.ts";
import { treeFlatten, treePaths, treeUnflatten } from "../pytree.ts";
import { moveAxis, toFront } from "../ops/batching.ts";

/** A value inside `vmap`: a batch of examples, batched along `dim`. @internal */
export class BatchTracer extends Tracer<Shape, DType> {
  /** The axis of `primal` that runs over the examples. */
  readonly dim: number;
  /** The number of examples. */
  readonly examples: number;
  constructor(trace: BatchTrace, value: AnyTensor, dim: number) {
    super(trace, value, value.shape.filter((_, i) => i !== dim));
    this.dim = dim;
    this.examples = trace.size;
  }
  protected override concrete(): AnyTensor {
    if (!this.trace.active) {
      throw new TypeError(
        `Cannot read a tensor of shape [${
          this.shape.join(", ")
        }] that escaped the vmap that batched it: return it from the function instead`,
      );
    }
    throw new TypeError(
      `Cannot read the values of a batched tensor of shape [${
        this.shape.join(", ")
      }] inside vmap: it stands for ${this.examples} examples; return it from the function and read it outside`,
    );
  }
}

/** The batching trace: applies each primitive's batching rule. @internal */
export class BatchTrace extends Trace {
  /** The number of examples. */
  readonly size: number;
  constructor(level: number, size: number) {
    super(level);
    this.size = size;
  }
  process<P>(
    prim: Primitive<P>,
    inputs: readonly AnyTensor[],
    params: P,
  ): AnyTensor {
    const vals: AnyTensor[] = [];
    const dims: (number | null)[] = [];
    for (const x of inputs) {
      if (x instanceof BatchTracer && x.trace === this) {
        vals.push(x.primal);
        dims.push(x.dim);
      } else {
        vals.push(x);
        dims.push(null);
      }
    }
    const [out, d] = prim.batch(vals, dims, params, this.size);
    return d === null ? out : new BatchTracer(this, out, d);
  }
}

/** Where the batch of each argument runs: one entry for all, or one per argument (`null`: not batched). */
export type InAxes = number | null | readonly (number | null)[];

/** Options of {@linkcode vmap}. */
export interface VmapOptions<
  I extends InAxes = InAxes,
  O extends number = number,
> {
  /**
   * The batch axis of each argument (default 0): a number or `null` for
   * every argument, or an array with one `number | null` per positional
   * argument that applies to every leaf of that argument's tree. `null`
   * means the argument is shared by every example. Negative axes count from
   * the end.
   */
  inAxes?: I;
  /** Where the batch goes in every output (default 0; negative counts from the end). */
  outAxes?: O;
}

/** `S` with `B` inserted at position `N` (a literal from 0 to the rank). */
export type InsertAxis<
  S extends Shape,
  N extends number,
  B extends number,
  Acc extends Shape = [],
> = Acc["length"] extends N ? [...Acc, B, ...S]
  : S extends readonly [infer H extends number, ...infer R extends Shape]
    ? InsertAxis<R, N, B, [...Acc, H]>
  : Shape;

/** The shape of a batch of `S` with the batch on axis `A` (`null`: `S` itself). */
export type BatchedShape<S extends Shape, A, B extends number> = A extends null
  ? S
  : number extends S["length"] ? Shape
  : A extends 0 ? [B, ...S]
  : A extends -1 ? [...S, B]
  : number extends A ? Shape
  : A extends number
    ? (`${A}` extends `-${string}` ? Shape : InsertAxis<S, A, B>)
  : Shape;

/** A pytree `T` with every tensor leaf batched on axis `A` with `B` examples. */
export type Batched<T, A, B extends number> = A extends null ? T
  : T extends Tensor<infer S, infer D> ? Tensor<BatchedShape<S, A, B>, D>
  : T extends readonly unknown[] ? { [K in keyof T]: Batched<T[K], A, B> }
  : T extends Record<string, unknown> ? { [K in keyof T]: Batched<T[K], A, B> }
  : T;

/** The axis that `inAxes` gives argument `K`. */
export type AxisOf<I, K> = I extends readonly unknown[]
  ? K extends keyof I ? I[K] : null
  : I;

/** The arguments of a vmapped function: each argument of `f` batched by its `inAxes` entry. */
export type BatchedArgs<A extends readonly unknown[], I, B extends number> = {
  [K in keyof A]: Batched<A[K], AxisOf<I, K>, B>;
};

function normalize(axis: number, rank: number): number | null {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : null;
}

function show(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/**
 * Vectorizes `f` over a batch: `vmap(f)(xs)` equals stacking `f(x)` for
 * every example `x` of `xs`, computed with one call per primitive instead of
 * one per example. `f` is written for one example; `inAxes` says where each
 * argument's batch runs (`null` for an argument shared by every example) and
 * `outAxes` where the batch goes in the result. It composes with `grad`,
 * `jvp`, `vjp` and itself: `vmap(grad(loss))` gives per-example gradients.
 *
 * When an argument is `Tensor<[B, ...S]>` and its axis is 0, the result is
 * the function's result type with `B` in front (exact for literal dims).
 *
 * @param f The function of one example; arguments and result are tensors or pytrees of tensors.
 * @param options `inAxes` (default 0) and `outAxes` (default 0).
 * @returns The batched function.
 * @throws {RangeError} (when called) If an `inAxes` entry is not an axis of its argument, `inAxes` has the wrong length, the batch sizes differ, or no argument is batched.
 *
 * @example Per-example gradients
 * ```ts
 * import { grad, mul, sum, tensor, vmap, type Tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * // The loss of one example: sum(w * x)^2 / 2; its gradient is (w . x) x.
 * const loss = (w: Tensor<[2]>, x: Tensor<[2]>) => mul(sum(mul(w, x)), sum(mul(w, x)));
 * const w = tensor([1, 2]);
 * const xs = tensor([[1, 0], [0, 1], [1, 1]]); // Tensor<[3, 2]>
 * const perExample = vmap((x: Tensor<[2]>) => grad(loss)(w, x))(xs); // Tensor<[3, 2]>
 * assertEquals(perExample.toArray(), [[2, 0], [0, 4], [6, 6]]);
 * ```
 *
 * @example Shared arguments and other axes
 * ```ts
 * import { matmul, tensor, vmap, type Tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const m = tensor([[1, 2], [3, 4]]);
 * const apply = (a: Tensor<[2, 2]>, v: Tensor<[2, 1]>) => matmul(a, v);
 * // Columns of vs are the examples; m is shared.
 * const vs = tensor([[[1, 0]], [[0, 1]]]); // [2, 1, 2]: batch on axis 2
 * const out = vmap(apply, { inAxes: [null, 2] })(m, vs); // Tensor<[2, 2, 1]>
 * assertEquals(out.toArray(), [[[1], [3]], [[2], [4]]]);
 * ```
 */
export function vmap<
  const A extends readonly unknown[],
  R,
  const I extends InAxes = 0,
  const O extends number = 0,
>(
  f: (...args: A) => R,
  options?: VmapOptions<I, O>,
): <B extends number>(...args: BatchedArgs<A, I, B>) => Batched<R, O, B>;
export function vmap(
  f: (...args: unknown[]) => unknown,
  options?: VmapOptions,
): (...args: unknown[]) => unknown {
  // `inAxes: null` (every argument shared) is kept, not defaulted.
  const inAxes = options?.inAxes === undefined ? 0 : options.inAxes;
  return vmapU(f, inAxes, options?.outAxes ?? 0);
}

/**
 * The untyped core of {@linkcode vmap}, for the library's own transforms
 * (jacfwd, jacrev, customVjp's batching rule).
 *
 * @internal
 */
export function vmapU(
  f: (...args: unknown[]) => unknown,
  inAxes: InAxes,
  outAxes: number,
): (...args: unknown[]) => unknown {
  return (...args: unknown[]): unknown => {
    const n = args.length;
    // One axis per argument, or one for all.
    const perArg = typeof inAxes === "object" && inAxes !== null
      ? inAxes
      : undefined;
    if (perArg !== undefined && perArg.length !== n) {
      throw new RangeError(
        `Expected inAxes to have one entry per argument (${n}) but found ${perArg.length}`,
      );
    }
    const axisOf = (i: number): number | null =>
      perArg === undefined
        ? (typeof inAxes === "number" ? inAxes : null)
        : (perArg[i] ?? null);
    // Every leaf's batch axis, checked, and the one batch size.
    let size: number | undefined, first = "";
    // For each batched argument, its structure and every leaf with its axis.
    const batchedArgs = args.map((a, i) => {
      const ax = axisOf(i);
      // A shared argument passes through untouched (it may be a Key).
      if (ax === null) return null;
      const [leaves, def] = treeFlatten(a);
      const paths = treePaths(a);
      const pairs = leaves.map((l, j): [AnyTensor, number] => {
        const where = `argument ${i}${paths[j] ? ` (leaf ${paths[j]})` : ""}`;
        const label = perArg === undefined ? "inAxes" : `inAxes[${i}]`;
        const d = normalize(ax, l.shape.length);
        if (d === null) {
          throw new RangeError(
            l.shape.length === 0
              ? `Cannot batch ${where} along axis ${ax} (${label}): it is a scalar; use null for an argument shared by every example`
              : `Expected ${label} to be an axis of ${where}, of shape ${
                show(l.shape)
              } (from ${-l.shape.length} to ${
                l.shape.length - 1
              }), but found ${ax}`,
          );
        }
        const s = dimOf(l.shape, d);
        const here = `${s} for ${where} (axis ${d})`;
        if (size === undefined) {
          size = s;
          first = here;
        } else if (s !== size) {
          throw new RangeError(
            `Expected every batched argument to have the same batch size but found ${first} and ${here}`,
          );
        }
        return [l, d];
      });
      return { def, pairs };
    });
    if (size === undefined) {
      throw new RangeError(
        "Expected at least one batched tensor among the arguments but found none: inAxes is null for every argument or the batched arguments hold no tensors",
      );
    }
    const b = size;
    return withTrace((l) => new BatchTrace(l, b), (trace) => {
      const ins = args.map((a, i) => {
        const batched = batchedArgs[i];
        if (batched === undefined || batched === null) return a;
        const { def, pairs } = batched;
        return treeUnflatten(
          def,
          pairs.map(([l, d]) => new BatchTracer(trace, l, d)),
        );
      });
      const out = f(...ins);
      const [ol, odef] = treeFlatten(out);
      const res = ol.map((o, j) => {
        let full: AnyTensor, d: number;
        if (o instanceof BatchTracer && o.trace === trace) {
          full = o.primal;
          d = o.dim;
        } else {
          if (o instanceof Tracer && !o.trace.active) {
            throw new TypeError(
              `Expected vmap's function to return live values but output ${j} escaped an earlier transformation`,
            );
          }
          full = toFront(o, null, b);
          d = 0;
        }
        const to = normalize(outAxes, full.shape.length);
        if (to === null) {
          throw new RangeError(
            `Expected outAxes to be an axis of output ${j}, of shape ${
              show(full.shape)
            } with the batch (from ${-full.shape.length} to ${
              full.shape.length - 1
            }), but found ${outAxes}`,
          );
        }
        return moveAxis(full, d, to);
      });
      return treeUnflatten(odef, res);
    });
  };
}
