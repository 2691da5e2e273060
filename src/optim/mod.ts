/**
 * Optimizers as pure `{ init, update }` pairs with explicit state, built in
 * the optax style from gradient transformations composed with `chain`, and
 * learning-rate schedules.
 *
 * @example Adam with gradient clipping and a cosine schedule
 * ```ts
 * import { grad, mul, optim, sum, tensor } from "@tensa/tensa";
 * import { assert } from "@std/assert";
 *
 * const loss = (p: { w: typeof w }) => sum(mul(p.w, p.w));
 * const w = tensor([1, -2]);
 * const opt = optim.chain(
 *   optim.clipByGlobalNorm(1),
 *   optim.adam({ lr: optim.cosineSchedule({ init: 0.1, steps: 100 }) }),
 * );
 * let params = { w };
 * let state = opt.init(params);
 * for (let i = 0; i < 100; i++) {
 *   [params, state] = opt.update(grad(loss)(params), state, params);
 * }
 * assert(loss(params).item() < 0.01);
 * ```
 *
 * @module
 */
export {
  adam,
  type AdamOptions,
  adamw,
  type AdamWOptions,
  addDecayedWeights,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  momentum,
  type MomentumOptions,
  type Optimizer,
  type OptState,
  scaleByAdam,
  type ScaleByAdamOptions,
  scaleByLearningRate,
  sgd,
  type SgdOptions,
  traceMomentum,
  type TraceMomentumOptions,
} from "./optimizers.ts";
export {
  constantSchedule,
  cosineSchedule,
  type CosineScheduleOptions,
  type LearningRate,
  type Schedule,
  stepSchedule,
  type StepScheduleOptions,
  warmupCosine,
  type WarmupCosineOptions,
} from "./schedules.ts";
