/**
 * Learning-rate schedules: plain functions from the step number (counting
 * from 0: the first update uses `schedule(0)`) to a rate.
 *
 * @module
 */

import {
  checkNonNegative,
  checkPositive,
  checkPositiveInteger,
} from "./_check.ts";

/**
 * A learning-rate schedule: the rate for step `step`, counting updates from 0.
 * Any function of this type can be passed as `lr`; it should return a finite
 * number greater than or equal to 0.
 */
export type Schedule = (step: number) => number;

/** A learning rate: a positive number, or a {@linkcode Schedule}. */
export type LearningRate = number | Schedule;

/**
 * A constant learning rate.
 *
 * @param value The rate, a positive finite number.
 * @returns The schedule that always returns `value`.
 * @throws {RangeError} If `value` is not a positive finite number.
 *
 * @example Usage
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const s = optim.constantSchedule(0.1);
 * assertEquals([s(0), s(1000)], [0.1, 0.1]);
 * ```
 */
export function constantSchedule(value: number): Schedule {
  checkPositive("value", value);
  return () => value;
}

/** Options of {@linkcode stepSchedule}. */
export interface StepScheduleOptions {
  /** The rate at step 0, a positive finite number. */
  init: number;
  /** The factor applied every `every` steps, in (0, 1]. */
  decay: number;
  /** The number of steps between decays, a positive integer. */
  every: number;
}

/**
 * Step decay: the rate is multiplied by `decay` every `every` steps,
 * `init * decay ** floor(step / every)`.
 *
 * @param options `init`, `decay` and `every`.
 * @returns The schedule.
 * @throws {RangeError} If `init` is not positive, `decay` is outside (0, 1] or `every` is not a positive integer.
 *
 * @example Halving every 10 steps
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const s = optim.stepSchedule({ init: 1, decay: 0.5, every: 10 });
 * assertEquals([s(0), s(9), s(10), s(25)], [1, 1, 0.5, 0.25]);
 * ```
 */
export function stepSchedule(options: StepScheduleOptions): Schedule {
  const { init, decay, every } = options;
  checkPositive("init", init);
  if (!(decay > 0 && decay <= 1)) {
    throw new RangeError(`Expected decay to be in (0, 1] but found ${decay}`);
  }
  checkPositiveInteger("every", every);
  return (step) => init * decay ** Math.floor(step / every);
}

/** Options of {@linkcode cosineSchedule}. */
export interface CosineScheduleOptions {
  /** The rate at step 0, a positive finite number. */
  init: number;
  /** The number of decay steps, a positive integer; the rate stays at `alpha * init` after. */
  steps: number;
  /** The final rate as a fraction of `init`, in [0, 1]; 0 by default. */
  alpha?: number;
}

/**
 * Cosine decay from `init` at step 0 to `alpha * init` at step `steps`,
 * constant after: `init * ((1 - alpha) * (1 + cos(pi * t)) / 2 + alpha)`
 * with `t = min(step, steps) / steps`.
 *
 * @param options `init`, `steps` and `alpha`.
 * @returns The schedule.
 * @throws {RangeError} If `init` is not positive, `steps` is not a positive integer or `alpha` is outside [0, 1].
 *
 * @example Decay to a tenth over 100 steps
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const s = optim.cosineSchedule({ init: 1, steps: 100, alpha: 0.1 });
 * assertAlmostEquals(s(0), 1);
 * assertAlmostEquals(s(50), 0.55);
 * assertAlmostEquals(s(100), 0.1);
 * assertAlmostEquals(s(500), 0.1);
 * ```
 */
export function cosineSchedule(options: CosineScheduleOptions): Schedule {
  const { init, steps } = options;
  const alpha = options.alpha ?? 0;
  checkPositive("init", init);
  checkPositiveInteger("steps", steps);
  if (!(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`Expected alpha to be in [0, 1] but found ${alpha}`);
  }
  return (step) => {
    const t = Math.min(Math.max(step, 0), steps) / steps;
    return init * ((1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * t)) + alpha);
  };
}

/** Options of {@linkcode warmupCosine}. */
export interface WarmupCosineOptions {
  /** The rate at step 0, non-negative; 0 by default. */
  init?: number;
  /** The rate reached at the end of the warmup, a positive finite number. */
  peak: number;
  /** The number of linear warmup steps, a non-negative integer. */
  warmup: number;
  /** The total number of steps (warmup included), an integer greater than `warmup`. */
  steps: number;
  /** The rate at step `steps` and after, non-negative; 0 by default. */
  end?: number;
}

/**
 * Linear warmup from `init` to `peak` over `warmup` steps, then cosine decay
 * from `peak` to `end` until step `steps`, constant after.
 *
 * @param options `init`, `peak`, `warmup`, `steps` and `end`.
 * @returns The schedule.
 * @throws {RangeError} If a rate is negative or not finite, `peak` is not positive, or the step counts are not integers with `0 <= warmup < steps`.
 *
 * @example Ten warmup steps, then decay to 0 at step 110
 * ```ts
 * import { optim } from "@tensa/tensa";
 * import { assertAlmostEquals } from "@std/assert";
 *
 * const s = optim.warmupCosine({ peak: 1, warmup: 10, steps: 110 });
 * assertAlmostEquals(s(0), 0);
 * assertAlmostEquals(s(5), 0.5);
 * assertAlmostEquals(s(10), 1);
 * assertAlmostEquals(s(60), 0.5);
 * assertAlmostEquals(s(110), 0);
 * ```
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  const { peak, warmup, steps } = options;
  const init = options.init ?? 0, end = options.end ?? 0;
  checkNonNegative("init", init);
  checkPositive("peak", peak);
  checkNonNegative("end", end);
  if (!(Number.isInteger(warmup) && warmup >= 0)) {
    throw new RangeError(
      `Expected warmup to be a non-negative integer but found ${warmup}`,
    );
  }
  if (!(Number.isInteger(steps) && steps > warmup)) {
    throw new RangeError(
      `Expected steps to be an integer greater than warmup (${warmup}) but found ${steps}`,
    );
  }
  return (step) => {
    if (step < warmup) return init + (peak - init) * Math.max(step, 0) / warmup;
    const t = Math.min(step - warmup, steps - warmup) / (steps - warmup);
    return end + (peak - end) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}

/**
 * The learning rate at `step`, checked: a schedule must return a finite
 * number greater than or equal to 0.
 *
 * @internal
 */
export function rateAt(lr: LearningRate, step: number): number {
  if (typeof lr === "number") return lr;
  const r = lr(step);
  if (!(typeof r === "number" && Number.isFinite(r) && r >= 0)) {
    throw new RangeError(
      `Expected the learning rate schedule to return a non-negative finite number at step ${step} but found ${r}`,
    );
  }
  return r;
}

/**
 * Validates a learning rate: a positive finite number or a function.
 *
 * @internal
 */
export function checkRate(lr: LearningRate): void {
  if (typeof lr === "function") return;
  if (typeof lr !== "number") {
    throw new TypeError(
      `Expected lr to be a number or a schedule function but found ${typeof lr}`,
    );
  }
  checkPositive("lr", lr);
}
