/**
 * Optimizers as pure `{ init, update }` pairs over any pytree of float32
 * tensors, built optax-style from small gradient transformations.
 *
 * A {@linkcode GradientTransformation} maps gradients to updates and carries
 * its own explicit state; {@linkcode chain} composes them; an
 * {@linkcode Optimizer} is a transformation whose `update(grads, state,
 * params)` returns `[newParams, newState]` with `newParams = params + updates`.
 * Nothing is mutated: every call returns new trees.
 *
 * @module
 */

import type { AnyTensor, Shape, Tensor } from "../tensor.ts";
import { zeros } from "../tensor.ts";
import { treeFlatten, treeUnflatten } from "../pytree.ts";
import { add, div, mul } from "../ops/binary.ts";
import { sqrt } from "../ops/unary.ts";
import { sum } from "../ops/reduce.ts";

/** A learning rate: a number, or a schedule giving the rate at step `t` (from 0). */
export type LearningRate = number | Schedule;

/** A learning-rate schedule: the rate for step `t` (counting from 0). */
export type Schedule = (step: number) => number;

/** The state of an optimizer: a pytree of tensors and numbers (saveable). */
export type OptState = { readonly [key: string]: unknown };

/**
 * A gradient transformation: maps gradients (or updates) to updates, with
 * explicit state.
 */
export interface GradientTransformation {
  /** Fresh state for parameters shaped like `params`. */
  init(params: unknown): OptState;
  /** The transformed updates and the new state. */
  transform(
    updates: readonly AnyTensor[],
    state: OptState,
    params: readonly AnyTensor[],
  ): [AnyTensor[], OptState];
}

/** An optimizer: `init(params)` and `update(grads, state, params)` returning `[newParams, newState]`. */
export interface Optimizer {
  /**
   * Fresh optimizer state for `params`.
   *
   * @param params The parameter tree.
   * @returns The state.
   */
  init<P>(params: P): OptState;
  /**
   * One step: the new parameters (of the same type as `params`) and the new state.
   *
   * @param grads The gradients, a tree of the same structure as `params`.
   * @param state The state from `init` or the previous update.
   * @param params The parameters.
   * @returns `[newParams, newState]`.
   */
  update<P>(grads: P, state: OptState, params: P): [P, OptState];
  /** The underlying gradient transformation (for {@linkcode chain}). */
  readonly transformation: GradientTransformation;
}

function leaves(tree: unknown): AnyTensor[] {
  return treeFlatten(tree)[0];
}

function checkFinitePositive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) {
    throw new RangeError(
      `Expected ${name} to be a positive finite number but found ${v}`,
    );
  }
}

function checkUnit(name: string, v: number): void {
  if (!(v >= 0 && v < 1)) {
    throw new RangeError(`Expected ${name} to be in [0, 1) but found ${v}`);
  }
}

function rateAt(lr: LearningRate, step: number): number {
  return typeof lr === "number" ? lr : lr(step);
}

function checkRate(lr: LearningRate): void {
  if (typeof lr === "number") checkFinitePositive("lr", lr);
  else if (typeof lr !== "function") {
    throw new TypeError(
      `Expected lr to be a number or a schedule function but found ${typeof lr}`,
    );
  }
}

function zerosLike(ts: readonly AnyTensor[]): AnyTensor[] {
  return ts.map((t) => zeros(t.shape) as AnyTensor);
}

/** Turns a transformation into an optimizer. */
function optimizer(t: GradientTransformation): Optimizer {
  return {
    transformation: t,
    init: (params) => t.init(params),
    update<P>(grads: P, state: OptState, params: P): [P, OptState] {
      const [pl, def] = treeFlatten(params);
      const gl = leaves(grads);
      if (gl.length !== pl.length) {
        throw new RangeError(
          `Expected gradients for ${pl.length} parameters but found ${gl.length}`,
        );
      }
      gl.forEach((g, i) => {
        const p = pl[i] as AnyTensor;
        if (
          g.shape.length !== p.shape.length ||
          g.shape.some((d, j) => d !== p.shape[j])
        ) {
          throw new RangeError(
            `Expected the gradient of parameter ${i} to have shape [${
              p.shape.join(", ")
            }] but found [${g.shape.join(", ")}]`,
          );
        }
      });
      const [updates, next] = t.transform(gl, state, pl);
      const newParams = pl.map((p, i) =>
        add(p, updates[i] as AnyTensor) as AnyTensor
      );
      return [treeUnflatten(def, newParams) as P, next];
    },
  };
}

// ------------------------------------------------------- transformations

/**
 * Scales updates by `-lr` (a descent step), the rate possibly scheduled.
 *
 * @param lr The learning rate or schedule.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const opt = optim.chain(optim.scaleByLearningRate(0.5));
 * const [p] = opt.update({ w: tensor([2]) }, opt.init({ w: tensor([1]) }), { w: tensor([1]) });
 * assertEquals(p.w.toArray(), [0]);
 * ```
 */
export function scaleByLearningRate(lr: LearningRate): GradientTransformation {
  checkRate(lr);
  return {
    init: () => ({ step: 0 }),
    transform(updates, state) {
      const step = state.step as number;
      const r = rateAt(lr, step);
      return [updates.map((u) => mul(u, -r) as AnyTensor), { step: step + 1 }];
    },
  };
}

/**
 * Adam's scaling: `m / (sqrt(v) + eps)` with bias-corrected first and second
 * moments of the updates.
 *
 * @param options `beta1` (0.9), `beta2` (0.999), `eps` (1e-8).
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * // The first Adam step moves every weight by about lr, whatever the gradient's size.
 * const opt = optim.chain(optim.scaleByAdam(), optim.scaleByLearningRate(0.1));
 * const p = { w: tensor([1]) };
 * const [q] = opt.update({ w: tensor([123]) }, opt.init(p), p);
 * assertAlmostEquals(q.w.item(), 0.9, 1e-6);
 * ```
 */
export function scaleByAdam(
  options: { beta1?: number; beta2?: number; eps?: number } = {},
): GradientTransformation {
  const beta1 = options.beta1 ?? 0.9,
    beta2 = options.beta2 ?? 0.999,
    eps = options.eps ?? 1e-8;
  checkUnit("beta1", beta1);
  checkUnit("beta2", beta2);
  checkFinitePositive("eps", eps);
  return {
    init: (params) => {
      const ls = leaves(params);
      return { count: 0, m: zerosLike(ls), v: zerosLike(ls) };
    },
    transform(updates, state) {
      const count = (state.count as number) + 1;
      const m0 = state.m as AnyTensor[], v0 = state.v as AnyTensor[];
      const c1 = 1 - beta1 ** count, c2 = 1 - beta2 ** count;
      const m: AnyTensor[] = [], v: AnyTensor[] = [], out: AnyTensor[] = [];
      updates.forEach((g, i) => {
        const mi = add(
          mul(m0[i] as AnyTensor, beta1),
          mul(g, 1 - beta1),
        ) as AnyTensor;
        const vi = add(
          mul(v0[i] as AnyTensor, beta2),
          mul(mul(g, g), 1 - beta2),
        ) as AnyTensor;
        m.push(mi);
        v.push(vi);
        const denom = add(
          sqrt(div(vi, c2) as Tensor<Shape, "float32">),
          eps,
        ) as AnyTensor;
        out.push(div(div(mi, c1), denom) as AnyTensor);
      });
      return [out, { count, m, v }];
    },
  };
}

/**
 * Momentum: `v = beta * v + g`, update `v` (or `g + beta * v` with Nesterov).
 *
 * @param options `beta` and `nesterov` (default false).
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = optim.traceMomentum({ beta: 0.5 });
 * const s0 = t.init([tensor([0])]);
 * const [u1, s1] = t.transform([tensor([2])], s0, [tensor([0])]);
 * const [u2] = t.transform([tensor([2])], s1, [tensor([0])]);
 * assertEquals([u1[0]!.item(), u2[0]!.item()], [2, 3]);
 * ```
 */
export function traceMomentum(
  options: { beta: number; nesterov?: boolean },
): GradientTransformation {
  const { beta } = options;
  checkUnit("beta", beta);
  const nesterov = options.nesterov ?? false;
  return {
    init: (params) => ({ trace: zerosLike(leaves(params)) }),
    transform(updates, state) {
      const t0 = state.trace as AnyTensor[];
      const trace = updates.map((g, i) =>
        add(mul(t0[i] as AnyTensor, beta), g) as AnyTensor
      );
      const out = nesterov
        ? updates.map((g, i) =>
          add(g, mul(trace[i] as AnyTensor, beta)) as AnyTensor
        )
        : trace;
      return [out, { trace }];
    },
  };
}

/**
 * Decoupled weight decay: adds `weightDecay * param` to each update (before
 * the learning-rate scaling, as AdamW does).
 *
 * @param weightDecay The decay coefficient (non-negative).
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = optim.addDecayedWeights(0.5);
 * const [u] = t.transform([tensor([1])], t.init([]), [tensor([4])]);
 * assertEquals(u[0]!.item(), 3);
 * ```
 */
export function addDecayedWeights(weightDecay: number): GradientTransformation {
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) {
    throw new RangeError(
      `Expected weightDecay to be a non-negative finite number but found ${weightDecay}`,
    );
  }
  return {
    init: () => ({}),
    transform: (updates, state, params) => [
      updates.map((u, i) =>
        add(u, mul(params[i] as AnyTensor, weightDecay)) as AnyTensor
      ),
      state,
    ],
  };
}

/**
 * Scales all updates together so that their global L2 norm is at most
 * `maxNorm` (unchanged when already below).
 *
 * @param maxNorm The largest allowed global norm.
 * @returns The transformation.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = optim.clipByGlobalNorm(1);
 * const [u] = t.transform([tensor([3, 4])], t.init([]), [tensor([0, 0])]);
 * assertEquals(u[0]!.toArray(), [0.6000000238418579, 0.800000011920929]);
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  checkFinitePositive("maxNorm", maxNorm);
  return {
    init: () => ({}),
    transform(updates, state) {
      let sq = 0;
      for (const u of updates) {
        sq += (sum(mul(u, u) as AnyTensor) as AnyTensor).item();
      }
      const norm = Math.sqrt(sq);
      if (norm <= maxNorm) return [[...updates], state];
      const s = maxNorm / norm;
      return [updates.map((u) => mul(u, s) as AnyTensor), state];
    },
  };
}

/**
 * Composes transformations left to right into one optimizer: each sees the
 * updates of the previous one. Optimizers can be chained too (their
 * transformations are used).
 *
 * @param parts Transformations or optimizers.
 * @returns The optimizer.
 *
 * @example Adam with gradient clipping
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assert } from "@std/assert";
 *
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 0.01 }));
 * const p = { w: tensor([1, 1]) };
 * const [q] = opt.update({ w: tensor([100, 0]) }, opt.init(p), p);
 * assert(q.w.toFlat()[0]! < 1);
 * ```
 */
export function chain(
  ...parts: readonly (GradientTransformation | Optimizer)[]
): Optimizer {
  const ts = parts.map((p) => ("transformation" in p ? p.transformation : p));
  return optimizer({
    init: (params) => ({ parts: ts.map((t) => t.init(params)) }),
    transform(updates, state, params) {
      const states = state.parts as OptState[];
      let u = [...updates];
      const next: OptState[] = [];
      ts.forEach((t, i) => {
        const [v, s] = t.transform(u, states[i] as OptState, params);
        u = v;
        next.push(s);
      });
      return [u, { parts: next }];
    },
  });
}

// ---------------------------------------------------------- optimizers

/**
 * Stochastic gradient descent: `p -= lr * g`.
 *
 * @param options `lr`, a number or schedule.
 * @returns The optimizer.
 * @throws {RangeError} If `lr` is not a positive finite number.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const opt = optim.sgd({ lr: 0.1 });
 * const params = { w: tensor([1, 2]) };
 * const [next] = opt.update({ w: tensor([10, 10]) }, opt.init(params), params);
 * assertEquals(next.w.toArray(), [0, 1]);
 * ```
 */
export function sgd(options: { lr: LearningRate }): Optimizer {
  return chain(scaleByLearningRate(options.lr));
}

/**
 * SGD with momentum: `v = beta * v + g; p -= lr * v` (Nesterov: `p -= lr * (g + beta * v)`).
 *
 * @param options `lr`, `beta` in [0, 1), `nesterov`.
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const opt = optim.momentum({ lr: 1, beta: 0.5 });
 * let p = { w: tensor([0]) };
 * let s = opt.init(p);
 * [p, s] = opt.update({ w: tensor([1]) }, s, p);
 * [p, s] = opt.update({ w: tensor([1]) }, s, p);
 * assertEquals(p.w.item(), -2.5); // -1, then -1.5
 * ```
 */
export function momentum(
  options: { lr: LearningRate; beta: number; nesterov?: boolean },
): Optimizer {
  return chain(
    traceMomentum({ beta: options.beta, nesterov: options.nesterov ?? false }),
    scaleByLearningRate(options.lr),
  );
}

/**
 * Adam (Kingma and Ba): bias-corrected moment estimates.
 *
 * @param options `lr`, `beta1` (0.9), `beta2` (0.999), `eps` (1e-8).
 * @returns The optimizer.
 *
 * @example
 * ```ts
 * import { optim, tensor } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const opt = optim.adam({ lr: 0.1 });
 * const p = { w: tensor([1]) };
 * const [q] = opt.update({ w: tensor([0.5]) }, opt.init(p), p);
 * assertAlmostEquals(q.w.item(), 0.9, 1e-6);
 * ```
 */
export function adam(
  options: { lr: LearningRate; beta1?: number; beta2?: number; eps?: number },
): Optimizer {
  const { lr, ...rest } = options;
  return chain(scaleByAdam(rest), scaleByLearningRate(lr));
}

/**
 * AdamW: Adam with decoupled weight decay, `p -= lr * (adam + weightDecay * p)`.
 *
 * @param options `lr`, `beta1`, `beta2`, `eps`, `weightDecay` (0.01).
 * @returns The optimizer.
 *
 * @example
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
export function adamw(
  options: {
    lr: LearningRate;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
  },
): Optimizer {
  const { lr, weightDecay, ...rest } = options;
  return chain(
    scaleByAdam(rest),
    addDecayedWeights(weightDecay ?? 0.01),
    scaleByLearningRate(lr),
  );
}

// ------------------------------------------------------------ schedules

/**
 * A constant learning rate.
 *
 * @param value The rate.
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(optim.constantSchedule(0.1)(1000), 0.1);
 * ```
 */
export function constantSchedule(value: number): Schedule {
  checkFinitePositive("value", value);
  return () => value;
}

/**
 * Step decay: `init * decay ** floor(step / every)`.
 *
 * @param options `init`, `decay` in (0, 1], `every` (steps, positive integer).
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const s = optim.stepSchedule({ init: 1, decay: 0.5, every: 10 });
 * assertEquals([s(0), s(9), s(10), s(25)], [1, 1, 0.5, 0.25]);
 * ```
 */
export function stepSchedule(
  options: { init: number; decay: number; every: number },
): Schedule {
  const { init, decay, every } = options;
  checkFinitePositive("init", init);
  if (!(decay > 0 && decay <= 1)) {
    throw new RangeError(`Expected decay to be in (0, 1] but found ${decay}`);
  }
  if (!(Number.isInteger(every) && every > 0)) {
    throw new RangeError(
      `Expected every to be a positive integer but found ${every}`,
    );
  }
  return (step) => init * decay ** Math.floor(step / every);
}

/**
 * Cosine decay from `init` to `alpha * init` over `steps`, constant after.
 *
 * @param options `init`, `steps` (positive integer), `alpha` (0).
 * @returns The schedule.
 *
 * @example
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const s = optim.cosineSchedule({ init: 1, steps: 100 });
 * assertAlmostEquals(s(0), 1);
 * assertAlmostEquals(s(50), 0.5);
 * assertAlmostEquals(s(100), 0);
 * ```
 */
export function cosineSchedule(
  options: { init: number; steps: number; alpha?: number },
): Schedule {
  const { init, steps } = options;
  const alpha = options.alpha ?? 0;
  checkFinitePositive("init", init);
  if (!(Number.isInteger(steps) && steps > 0)) {
    throw new RangeError(
      `Expected steps to be a positive integer but found ${steps}`,
    );
  }
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`Expected alpha to be in [0, 1] but found ${alpha}`);
  }
  return (step) => {
    const t = Math.min(step, steps) / steps;
    return init * ((1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * t)) + alpha);
  };
}
