/**
 * Optimizers as pure `{ init, update }` pairs over any pytree of float32
 * tensors, built in the optax style from small gradient transformations.
 *
 * Two kinds of values, told apart by what `update` returns:
 *
 * - A {@linkcode GradientTransformation} maps gradients (or the updates of a
 *   previous transformation) to updates: `update(updates, state, params)`
 *   returns `[newUpdates, newState]`. Examples: {@linkcode scaleByAdam},
 *   {@linkcode clipByGlobalNorm}, {@linkcode scaleByLearningRate}.
 * - An {@linkcode Optimizer} takes a whole step: `update(grads, state,
 *   params)` returns `[newParams, newState]`, with `newParams` of the same
 *   type as `params`. {@linkcode chain} turns transformations (or other
 *   optimizers) into an optimizer, running them left to right and then
 *   {@linkcode applyUpdates}; {@linkcode sgd}, {@linkcode momentum},
 *   {@linkcode adam} and {@linkcode adamw} are such chains.
 *
 * States are explicit pytrees of tensors: moments are trees of the same
 * structure as the parameters, and step counts are scalar int32 tensors, so a
 * whole state can be saved and restored like parameters. Nothing is mutated.
 *
 * @module
 */

import {
  type AnyTensor,
  floatsOf,
  fromData,
  full,
  Tensor,
  zeros,
} from "../tensor.ts";
import {
  treeFlatten,
  treeMap,
  treePaths,
  treeSameStructure,
  treeUnflatten,
} from "../pytree.ts";
import * as lax from "../ops/lax.ts";
import { Tracer } from "../autodiff/core.ts";
import { adamKernel } from "./_adam_kernel.ts";
import { checkNonNegative, checkPositive, checkUnit } from "./_check.ts";
import { checkRate, type LearningRate, rateAt } from "./schedules.ts";

/**
 * The state of an optimizer or transformation: a plain object whose values
 * are pytrees of tensors (moments shaped like the parameters, scalar int32
 * step counts), so it can be saved and loaded like a parameter tree.
 */
export type OptState = { readonly [key: string]: unknown };

/**
 * A gradient transformation: pure `init` and `update` functions that map
 * gradients (or the updates of a previous transformation) to updates, with
 * explicit state. Compose them with {@linkcode chain}.
 *
 * @typeParam S The state type.
 *
 * @example A custom transformation that doubles the updates
 * ```ts
 * import { mul, optim, tensor, treeMap } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const double: optim.GradientTransformation = {
 *   init: () => ({}),
 *   update: (updates, state) => [treeMap((u) => mul(u, 2), updates), state],
 * };
 * const opt = optim.chain(double, optim.sgd({ lr: 0.5 }));
 * const p = { w: tensor([1]) };
 * const [q] = opt.update({ w: tensor([3]) }, opt.init(p), p);
 * assertEquals(q.w.item(), -2); // 1 - 0.5 * 2 * 3
 * ```
 */
export interface GradientTransformation<S extends OptState = OptState> {
  /**
   * Fresh state for parameters shaped like `params`.
   *
   * @param params The parameter tree.
   * @returns The state.
   */
  init<P>(params: P): S;
  /**
   * Transforms updates.
   *
   * @param updates The incoming updates, a tree of the same structure as `params`.
   * @param state The state from `init` or the previous call.
   * @param params The current parameters.
   * @returns `[newUpdates, newState]`.
   */
  update<U>(updates: U, state: S, params: U): [U, S];
}

/**
 * An optimizer: pure `init` and `update` functions with explicit state, where
 * `update(grads, state, params)` returns `[newParams, newState]` and
 * `newParams` has the type of `params`.
 *
 * @typeParam S The state type.
 *
 * @example A training loop
 * ```ts
 * import { grad, mul, optim, sub, sum, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const loss = (p: { w: typeof w }) => sum(mul(sub(p.w, 3), sub(p.w, 3)));
 * const w = tensor([0, 1]);
 * const opt = optim.adam({ lr: 0.1 });
 * let params = { w };
 * let state = opt.init(params);
 * for (let i = 0; i < 300; i++) {
 *   [params, state] = opt.update(grad(loss)(params), state, params);
 * }
 * assertAlmostEquals(params.w.toFlat()[0]!, 3, 1e-2);
 * ```
 */
export interface Optimizer<S extends OptState = OptState> {
  /**
   * Fresh optimizer state for `params`.
   *
   * @param params The parameter tree; its leaves must be float32 tensors.
   * @returns The state.
   */
  init<P>(params: P): S;
  /**
   * One step.
   *
   * @param grads The gradients, a tree of the same structure and shapes as `params`.
   * @param state The state from `init` or the previous update.
   * @param params The parameters.
   * @returns `[newParams, newState]`.
   */
  update<P>(grads: P, state: S, params: P): [P, S];
  /** The transformation from gradients to updates (what {@linkcode chain} composes). */
  readonly transformation: GradientTransformation<S>;
}

// ------------------------------------------------------------- helpers

/** The options of each transformation made by {@linkcode scaleByAdam}. */
const adamOptions = new WeakMap<GradientTransformation, AdamOpts>();

/** The rate of each transformation made by {@linkcode scaleByLearningRate}. */
const learningRates = new WeakMap<GradientTransformation, LearningRate>();

function count(n: number): Tensor<[], "int32"> {
  return full([], n, { dtype: "int32" });
}

function countOf(state: OptState): number {
  const c = state.count;
  if (!(c instanceof Tensor)) {
    throw new TypeError(
      `Expected the optimizer state to hold a count tensor but found ${typeof c}`,
    );
  }
  return c.item();
}

/** The leaves of a state tree, checked against the number of updates. */
function stateLeaves(tree: unknown, n: number, what: string): AnyTensor[] {
  const ls = treeFlatten(tree)[0];
  if (ls.length !== n) {
    throw new RangeError(
      `Expected ${what} for ${n} parameters in the optimizer state but found ${ls.length}`,
    );
  }
  return ls;
}

/** A float32 tensor holding its values (not a tracer inside a transformation). */
function isConcrete(t: AnyTensor): boolean {
  return !(t instanceof Tracer) && t.dtype === "float32";
}

function zerosLike<P>(params: P): P {
  return treeMap((t) => zeros(t.shape), params);
}

/**
 * Maps each leaf of `tree` with its index in flatten order (the index into
 * the tree's flattened state leaves) and rebuilds a tree of the same type.
 */
function mapLeaves<U>(
  tree: U,
  f: (leaf: AnyTensor, i: number) => AnyTensor,
): U {
  let i = 0;
  return treeMap((leaf) => f(leaf, i++), tree);
}

/**
 * Leaf `i` of a list that matches the tree being mapped (state, parameters,
 * updates), checked: a missing one is a bug, reported with `what`.
 */
function leafOf(
  leaves: readonly AnyTensor[],
  i: number,
  what: string,
): AnyTensor {
  const leaf = leaves[i];
  if (leaf === undefined) {
    throw new RangeError(
      `Internal error: expected ${what} to have a leaf ${i} but found ${leaves.length} leaves`,
    );
  }
  return leaf;
}

/** A part's state inside the state of {@linkcode chain}: a non-null object. */
function isOptState(s: unknown): s is OptState {
  return typeof s === "object" && s !== null;
}

function checkFloatParams(params: unknown): void {
  const [ls] = treeFlatten(params);
  for (const [i, t] of ls.entries()) {
    if (t.dtype === "float32") continue;
    throw new TypeError(
      `Expected every parameter to be float32 but found ${t.dtype} at ${
        treePaths(params)[i] || "the root"
      }`,
    );
  }
}

// ------------------------------------------------------- transformations

/**
 * Adds `updates` to `params` leaf by leaf: the last stage of every
 * {@linkcode Optimizer}.
 *
 * @param params The parameters.
 * @param updates The updates, a tree of the same structure and shapes.
 * @returns The new parameters, of the type of `params`.
 * @throws {TypeError} If the structures differ.
 *
 * @example Usage
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const p = optim.applyUpdates({ w: tensor([1, 2]) }, { w: tensor([0.5, -1]) });
 * assertEquals(p.w.toArray(), [1.5, 1]);
 * ```
 */
export function applyUpdates<P>(params: P, updates: P): P {
  return treeMap((p, u) => lax.add(p, u), params, updates);
}

/**
 * Scales updates by `-lr` (a descent step). With a schedule, the rate of the
 * `k`-th call (from 0) is `lr(k)`, and the state counts the calls.
 *
 * @param lr The learning rate, a positive number or a schedule.
 * @returns The transformation.
 * @throws {RangeError} If `lr` is a number that is not positive and finite.
 *
 * @example A plain descent step
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = optim.scaleByLearningRate(0.5);
 * const [u] = t.update([tensor([2])], t.init([]), [tensor([0])]);
 * assertEquals(u[0]!.item(), -1);
 * ```
 */
export function scaleByLearningRate(lr: LearningRate): GradientTransformation {
  checkRate(lr);
  const t: GradientTransformation = typeof lr === "number"
    ? {
      init: () => ({}),
      update: (updates, state) => [
        mapLeaves(updates, (u) => lax.mul(u, -lr)),
        state,
      ],
    }
    : {
      init: () => ({ count: count(0) }),
      update(updates, state) {
        const k = countOf(state);
        const r = rateAt(lr, k);
        return [
          mapLeaves(updates, (u) => lax.mul(u, -r)),
          { count: count(k + 1) },
        ];
      },
    };
  learningRates.set(t, lr);
  return t;
}

/** Options of {@linkcode scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** The decay of the first moment, in [0, 1); 0.9 by default. */
  beta1?: number;
  /** The decay of the second moment, in [0, 1); 0.999 by default. */
  beta2?: number;
  /** Added to the root of the second moment, positive; 1e-8 by default. */
  eps?: number;
}

/**
 * Adam's scaling: with `m = beta1 m + (1 - beta1) g` and
 * `v = beta2 v + (1 - beta2) g^2`, the update at step `t` (from 1) is
 * `mHat / (sqrt(vHat) + eps)` where `mHat = m / (1 - beta1^t)` and
 * `vHat = v / (1 - beta2^t)`. State: `{ count, m, v }`.
 *
 * @param options `beta1`, `beta2` and `eps`.
 * @returns The transformation.
 * @throws {RangeError} If a beta is outside [0, 1) or `eps` is not positive.
 *
 * @example The first step has unit size, whatever the gradient's scale
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const t = optim.scaleByAdam();
 * const [u] = t.update([tensor([123, -0.5])], t.init([tensor([0, 0])]), [tensor([0, 0])]);
 * assertAlmostEquals(u[0]!.toFlat()[0]!, 1, 1e-6);
 * assertAlmostEquals(u[0]!.toFlat()[1]!, -1, 1e-6);
 * ```
 */
export function scaleByAdam(
  options: ScaleByAdamOptions = {},
): GradientTransformation {
  const beta1 = options.beta1 ?? 0.9,
    beta2 = options.beta2 ?? 0.999,
    eps = options.eps ?? 1e-8;
  checkUnit("beta1", beta1);
  checkUnit("beta2", beta2);
  checkPositive("eps", eps);
  const opts: AdamOpts = { beta1, beta2, eps };
  const t: GradientTransformation = {
    init: (params) => {
      const m = zerosLike(params);
      return { count: count(0), m, v: m };
    },
    update(updates, state) {
      const n = treeFlatten(updates)[0].length;
      const m0 = stateLeaves(state.m, n, "first moments");
      const v0 = stateLeaves(state.v, n, "second moments");
      // mHat / (sqrt(vHat) + eps) == m * (sqrt(c2) / c1) / (sqrt(v) + eps * sqrt(c2)),
      // which folds both corrections into scalars: numbers, or scalar
      // tensors when the count itself is staged (inside jit).
      let scale: number | AnyTensor, epsHat: number | AnyTensor;
      let next: AnyTensor;
      if (state.count instanceof Tracer) {
        next = lax.add(state.count, 1);
        const t = lax.cast(next, "float32");
        const c1 = lax.sub(1, lax.pow(beta1, t));
        const rc2 = lax.sqrt(lax.sub(1, lax.pow(beta2, t)));
        scale = lax.div(rc2, c1);
        epsHat = lax.mul(rc2, eps);
      } else {
        const t = countOf(state) + 1;
        ({ scale, epsHat } = adamScalars(opts, t));
        next = count(t);
      }
      const m: AnyTensor[] = [], v: AnyTensor[] = [];
      const out = mapLeaves(updates, (g, i) => {
        const mPrev = leafOf(m0, i, "the first moments");
        const vPrev = leafOf(v0, i, "the second moments");
        if (
          typeof scale === "number" && typeof epsHat === "number" &&
          isConcrete(g) && isConcrete(mPrev) && isConcrete(vPrev)
        ) {
          const [mk, vk, uk] = adamLeaf(opts, g, mPrev, vPrev, scale, epsHat);
          m.push(mk);
          v.push(vk);
          return uk;
        }
        // Inside a transformation (e.g. differentiating through the update):
        // the same formula with the core ops, which can be traced.
        const mi = lax.add(lax.mul(mPrev, beta1), lax.mul(g, 1 - beta1));
        const vi = lax.add(
          lax.mul(vPrev, beta2),
          lax.mul(lax.square(g), 1 - beta2),
        );
        const denom = lax.add(lax.sqrt(vi), epsHat);
        m.push(mi);
        v.push(vi);
        return lax.mul(lax.div(mi, denom), scale);
      });
      return [out, adamState(state, next, m, v)];
    },
  };
  adamOptions.set(t, opts);
  return t;
}

/** The options of {@linkcode scaleByAdam}, defaults filled in. */
interface AdamOpts {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/**
 * Adam's bias corrections at step `t` (from 1) folded into two scalars:
 * `mHat / (sqrt(vHat) + eps) == m * scale / (sqrt(v) + epsHat)`.
 */
function adamScalars(
  o: AdamOpts,
  t: number,
): { scale: number; epsHat: number } {
  const c1 = 1 - o.beta1 ** t, rc2 = Math.sqrt(1 - o.beta2 ** t);
  return { scale: rc2 / c1, epsHat: o.eps * rc2 };
}

/**
 * One concrete leaf through the Adam kernel: the new moments and the
 * update, or with parameters `p` the new parameters.
 */
function adamLeaf(
  o: AdamOpts,
  g: AnyTensor,
  m: AnyTensor,
  v: AnyTensor,
  scale: number,
  epsHat: number,
  p?: AnyTensor,
): [AnyTensor, AnyTensor, AnyTensor] {
  const [mk, vk, uk] = adamKernel(
    floatsOf(g),
    floatsOf(m),
    floatsOf(v),
    o.beta1,
    o.beta2,
    scale,
    epsHat,
    p === undefined ? undefined : floatsOf(p),
  );
  const at = (d: Float32Array) => fromData(g.shape, "float32", d);
  return [at(mk), at(vk), at(uk)];
}

/** Adam's next state: the count, and the moments in the old moments' trees. */
function adamState(
  state: OptState,
  next: AnyTensor,
  m: readonly AnyTensor[],
  v: readonly AnyTensor[],
): OptState {
  const [, mdef] = treeFlatten(state.m), [, vdef] = treeFlatten(state.v);
  return {
    count: next,
    m: treeUnflatten(mdef, m),
    v: treeUnflatten(vdef, v),
  };
}

/**
 * `chain(scaleByAdam(...), scaleByLearningRate(lr))`'s update of concrete
 * values in one pass a leaf: the Adam kernel with the rate folded into its
 * scale and the parameters added, instead of the update, a multiply by
 * `-lr` and an add (one rounding instead of three). The state is the
 * chain's. `null` when anything is traced or the state is not as the chain
 * makes it: the chain's own update then runs (and reports any error).
 */
function fusedAdamStep(
  opts: AdamOpts,
  lr: LearningRate,
  gs: readonly AnyTensor[],
  ps: readonly AnyTensor[],
  state: OptState,
): [AnyTensor[], OptState] | null {
  const parts: unknown = state.parts;
  if (!Array.isArray(parts) || parts.length !== 2) return null;
  const [adamPart, rateState]: unknown[] = parts;
  if (!isOptState(adamPart) || !isOptState(rateState)) return null;
  const c = adamPart.count, rc = rateState.count;
  if (!(c instanceof Tensor) || c instanceof Tracer) return null;
  if (
    typeof lr !== "number" && (!(rc instanceof Tensor) || rc instanceof Tracer)
  ) return null;
  const n = gs.length;
  const m0 = stateLeaves(adamPart.m, n, "first moments");
  const v0 = stateLeaves(adamPart.v, n, "second moments");
  for (let i = 0; i < n; i++) {
    const g = leafOf(gs, i, "the gradients");
    if (
      !isConcrete(g) || !isConcrete(leafOf(ps, i, "the parameters")) ||
      !isConcrete(leafOf(m0, i, "the first moments")) ||
      !isConcrete(leafOf(v0, i, "the second moments"))
    ) return null;
  }
  const t = countOf(adamPart) + 1;
  const k = typeof lr === "number" ? 0 : countOf(rateState);
  const rate = typeof lr === "number" ? lr : rateAt(lr, k);
  const { scale, epsHat } = adamScalars(opts, t);
  const m: AnyTensor[] = [], v: AnyTensor[] = [], out: AnyTensor[] = [];
  ps.forEach((p, i) => {
    const [mk, vk, pk] = adamLeaf(
      opts,
      leafOf(gs, i, "the gradients"),
      leafOf(m0, i, "the first moments"),
      leafOf(v0, i, "the second moments"),
      scale * -rate,
      epsHat,
      p,
    );
    m.push(mk);
    v.push(vk);
    out.push(pk);
  });
  const rateNext: OptState = typeof lr === "number"
    ? rateState
    : { count: count(k + 1) };
  return [
    out,
    { parts: [adamState(adamPart, count(t), m, v), rateNext] },
  ];
}

/** Options of {@linkcode traceMomentum}. */
export interface TraceMomentumOptions {
  /** The decay of the trace, in [0, 1). */
  beta: number;
  /** Use Nesterov's lookahead; false by default. */
  nesterov?: boolean;
}

/**
 * Momentum: keeps the trace `v = beta * v + g` and outputs `v`, or with
 * Nesterov `g + beta * v` (using the new `v`). State: `{ trace }`.
 *
 * @param options `beta` and `nesterov`.
 * @returns The transformation.
 * @throws {RangeError} If `beta` is outside [0, 1).
 *
 * @example Two steps of the trace
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = optim.traceMomentum({ beta: 0.5 });
 * const p = [tensor([0])];
 * const [u1, s1] = t.update([tensor([2])], t.init(p), p);
 * const [u2] = t.update([tensor([2])], s1, p);
 * assertEquals([u1[0]!.item(), u2[0]!.item()], [2, 3]);
 * ```
 */
export function traceMomentum(
  options: TraceMomentumOptions,
): GradientTransformation {
  const { beta } = options;
  checkUnit("beta", beta);
  const nesterov = options.nesterov ?? false;
  return {
    init: (params) => ({ trace: zerosLike(params) }),
    update(updates, state) {
      const [t0, tdef] = treeFlatten(state.trace);
      stateLeaves(
        state.trace,
        treeFlatten(updates)[0].length,
        "momentum traces",
      );
      const trace: AnyTensor[] = [];
      const out = mapLeaves(updates, (g, i) => {
        const ti = lax.add(lax.mul(leafOf(t0, i, "the traces"), beta), g);
        trace.push(ti);
        return nesterov ? lax.add(g, lax.mul(ti, beta)) : ti;
      });
      return [
        out,
        { trace: treeUnflatten(tdef, trace) },
      ];
    },
  };
}

/**
 * Decoupled weight decay: adds `weightDecay * param` to each update. Placed
 * before {@linkcode scaleByLearningRate}, as in AdamW, the decay is scaled by
 * the learning rate but not by Adam's normalization.
 *
 * @param weightDecay The coefficient, a non-negative finite number.
 * @returns The transformation (stateless).
 * @throws {RangeError} If `weightDecay` is negative or not finite.
 *
 * @example Usage
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = optim.addDecayedWeights(0.5);
 * const [u] = t.update([tensor([1])], t.init([]), [tensor([4])]);
 * assertEquals(u[0]!.item(), 3);
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation {
  checkNonNegative("weightDecay", weightDecay);
  return {
    init: () => ({}),
    update(updates, state, params) {
      if (weightDecay === 0) return [updates, state];
      const [ps] = treeFlatten(params);
      return [
        mapLeaves(
          updates,
          (u, i) =>
            lax.add(u, lax.mul(leafOf(ps, i, "the parameters"), weightDecay)),
        ),
        state,
      ];
    },
  };
}

/**
 * Scales all updates by `min(1, maxNorm / globalNorm)`, where `globalNorm`
 * is the L2 norm of all leaves together, so that the result's global norm is
 * at most `maxNorm`. Stateless.
 *
 * @param maxNorm The largest allowed global norm, positive.
 * @returns The transformation.
 * @throws {RangeError} If `maxNorm` is not a positive finite number.
 *
 * @example The norm of [3, 4] is 5: scaled by 1 / 5
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const t = optim.clipByGlobalNorm(1);
 * const [u] = t.update([tensor([3, 4])], t.init([]), [tensor([0, 0])]);
 * assertAlmostEquals(u[0]!.toFlat()[0]!, 0.6, 1e-6);
 * assertAlmostEquals(u[0]!.toFlat()[1]!, 0.8, 1e-6);
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  checkPositive("maxNorm", maxNorm);
  return {
    init: () => ({}),
    update(updates, state) {
      const [us] = treeFlatten(updates);
      let sq = 0;
      for (const u of us) sq += lax.sum(lax.square(u)).item();
      const norm = Math.sqrt(sq);
      if (!(norm > maxNorm)) return [updates, state];
      const s = maxNorm / norm;
      return [
        mapLeaves(updates, (u) => lax.mul(u, s)),
        state,
      ];
    },
  };
}

/**
 * Composes transformations left to right, each seeing the updates of the one
 * before, into an optimizer that then adds the final updates to the
 * parameters. An optimizer given as a part contributes its transformation, so
 * `chain(clipByGlobalNorm(1), adam({ lr }))` clips and then runs Adam. The
 * state is `{ parts: [state of each part] }`; the composed transformation is
 * the result's `transformation`.
 *
 * @param parts Transformations or optimizers, applied in order.
 * @returns The optimizer.
 *
 * @example Adam with gradient clipping
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 0.01 }));
 * const p = { w: tensor([1, 1]) };
 * const [q] = opt.update({ w: tensor([100, 0]) }, opt.init(p), p);
 * assertAlmostEquals(q.w.toFlat()[0]!, 0.99, 1e-6);
 * assertAlmostEquals(q.w.toFlat()[1]!, 1, 1e-6);
 * ```
 */
export function chain(
  ...parts: readonly (GradientTransformation | Optimizer)[]
): Optimizer {
  const ts = parts.map((p) => ("transformation" in p ? p.transformation : p));
  const transformation: GradientTransformation = {
    init: (params) => ({ parts: ts.map((t) => t.init(params)) }),
    update(updates, state, params) {
      const states: unknown = state.parts;
      if (!Array.isArray(states) || states.length !== ts.length) {
        throw new RangeError(
          `Expected the optimizer state to hold ${ts.length} part states but found ${
            Array.isArray(states) ? states.length : typeof states
          }`,
        );
      }
      let u = updates;
      const next: OptState[] = [];
      ts.forEach((t, i) => {
        const part: unknown = states[i];
        if (!isOptState(part)) {
          throw new TypeError(
            `Expected part ${i} of the optimizer state to be an object but found ${part}`,
          );
        }
        const [v, s] = t.update(u, part, params);
        u = v;
        next.push(s);
      });
      return [u, { parts: next }];
    },
  };
  return {
    transformation,
    init(params) {
      checkFloatParams(params);
      return transformation.init(params);
    },
    update(grads, state, params) {
      // Work on flat leaf lists: every transformation then flattens only an array.
      const [ps] = treeFlatten(params);
      const [gs] = treeFlatten(grads);
      if (!treeSameStructure(params, grads)) {
        throw new TypeError(
          "Expected the gradients to have the structure of the parameters",
        );
      }
      gs.forEach((g, i) => {
        const p = leafOf(ps, i, "the parameters");
        if (
          g.shape.length !== p.shape.length ||
          g.shape.some((d, j) => d !== p.shape[j])
        ) {
          throw new RangeError(
            `Expected the gradient of ${
              treePaths(params)[i] || "the parameter"
            } to have shape [${p.shape.join(", ")}] but found [${
              g.shape.join(", ")
            }]`,
          );
        }
      });
      // Adam then a learning rate: one pass a leaf when nothing is traced.
      const [first, second] = ts;
      const adam = first && adamOptions.get(first);
      const lr = second && learningRates.get(second);
      if (ts.length === 2 && adam !== undefined && lr !== undefined) {
        const fused = fusedAdamStep(adam, lr, gs, ps, state);
        if (fused !== null) {
          const [out, next] = fused;
          return [
            mapLeaves(params, (_p, i) => leafOf(out, i, "the new parameters")),
            next,
          ];
        }
      }
      const [us, next] = transformation.update(gs, state, ps);
      return [
        mapLeaves(params, (p, i) => lax.add(p, leafOf(us, i, "the updates"))),
        next,
      ];
    },
  };
}

// ---------------------------------------------------------- optimizers

/** Options of {@linkcode sgd}. */
export interface SgdOptions {
  /** The learning rate, a positive number or a schedule. */
  lr: LearningRate;
}

/**
 * Stochastic gradient descent, `p -= lr * g`:
 * `chain(scaleByLearningRate(lr))`.
 *
 * @param options `lr`.
 * @returns The optimizer.
 * @throws {RangeError} If `lr` is a number that is not positive and finite.
 *
 * @example One step
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const opt = optim.sgd({ lr: 0.1 });
 * const params = { w: tensor([1, 2]) };
 * const [next] = opt.update({ w: tensor([10, 5]) }, opt.init(params), params);
 * assertAlmostEquals(next.w.toFlat()[0]!, 0, 1e-6);
 * assertAlmostEquals(next.w.toFlat()[1]!, 1.5, 1e-6);
 * ```
 */
export function sgd(options: SgdOptions): Optimizer {
  return chain(scaleByLearningRate(options.lr));
}

/** Options of {@linkcode momentum}. */
export interface MomentumOptions {
  /** The learning rate, a positive number or a schedule. */
  lr: LearningRate;
  /** The momentum decay, in [0, 1); 0.9 by default. */
  beta?: number;
  /** Use Nesterov momentum; false by default. */
  nesterov?: boolean;
}

/**
 * SGD with momentum: `v = beta * v + g; p -= lr * v`, or with Nesterov
 * `p -= lr * (g + beta * v)`: `chain(traceMomentum(...), scaleByLearningRate(lr))`.
 *
 * @param options `lr`, `beta` and `nesterov`.
 * @returns The optimizer.
 * @throws {RangeError} If `lr` is not positive or `beta` is outside [0, 1).
 *
 * @example Two steps with a constant gradient
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const opt = optim.momentum({ lr: 1, beta: 0.5 });
 * let p = { w: tensor([0]) };
 * let s = opt.init(p);
 * [p, s] = opt.update({ w: tensor([1]) }, s, p); // v = 1
 * [p, s] = opt.update({ w: tensor([1]) }, s, p); // v = 1.5
 * assertEquals(p.w.item(), -2.5);
 * ```
 */
export function momentum(options: MomentumOptions): Optimizer {
  return chain(
    traceMomentum({
      beta: options.beta ?? 0.9,
      nesterov: options.nesterov ?? false,
    }),
    scaleByLearningRate(options.lr),
  );
}

/** Options of {@linkcode adam}. */
export interface AdamOptions extends ScaleByAdamOptions {
  /** The learning rate, a positive number or a schedule. */
  lr: LearningRate;
}

/**
 * Adam (Kingma and Ba, 2015) with bias correction:
 * `chain(scaleByAdam({ beta1, beta2, eps }), scaleByLearningRate(lr))`.
 * Such a chain updates concrete parameters in one pass a leaf (the rate
 * folded into Adam's scale, the parameters added in the same kernel), so a
 * new parameter is rounded once where the three separate steps would round
 * three times; traced updates (inside `jit` or a derivative) take the steps.
 *
 * @param options `lr`, `beta1` (0.9), `beta2` (0.999) and `eps` (1e-8).
 * @returns The optimizer.
 * @throws {RangeError} If `lr` or `eps` is not positive or a beta is outside [0, 1).
 *
 * @example The first step moves each weight by lr against its gradient's sign
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const opt = optim.adam({ lr: 0.1 });
 * const p = { w: tensor([1, 1]) };
 * const [q] = opt.update({ w: tensor([0.5, -30]) }, opt.init(p), p);
 * assertAlmostEquals(q.w.toFlat()[0]!, 0.9, 1e-6);
 * assertAlmostEquals(q.w.toFlat()[1]!, 1.1, 1e-6);
 * ```
 */
export function adam(options: AdamOptions): Optimizer {
  const { lr, ...rest } = options;
  return chain(scaleByAdam(rest), scaleByLearningRate(lr));
}

/** Options of {@linkcode adamw}. */
export interface AdamWOptions extends AdamOptions {
  /** The decoupled weight decay, non-negative; 0.01 by default. */
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov and Hutter): Adam with decoupled weight decay,
 * `p -= lr * (adamUpdate + weightDecay * p)`:
 * `chain(scaleByAdam(...), addDecayedWeights(weightDecay), scaleByLearningRate(lr))`.
 *
 * @param options `lr`, `beta1`, `beta2`, `eps` and `weightDecay` (0.01).
 * @returns The optimizer.
 * @throws {RangeError} If a hyperparameter is out of range.
 *
 * @example One step
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const opt = optim.adamw({ lr: 0.1, weightDecay: 0.5 });
 * const p = { w: tensor([2]) };
 * const [q] = opt.update({ w: tensor([1]) }, opt.init(p), p);
 * assertAlmostEquals(q.w.item(), 2 - 0.1 * (1 + 0.5 * 2), 1e-6);
 * ```
 */
export function adamw(options: AdamWOptions): Optimizer {
  const { lr, weightDecay, ...rest } = options;
  return chain(
    scaleByAdam(rest),
    addDecayedWeights(weightDecay ?? 0.01),
    scaleByLearningRate(lr),
  );
}
