/**
 * Hyperparameter checks shared by the optimizers and schedules.
 *
 * @internal
 * @module
 */

/**
 * Throws unless `value` is a finite number greater than 0.
 *
 * @internal
 */
export function checkPositive(name: string, value: number): void {
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Expected ${name} to be a positive finite number but found ${value}`,
    );
  }
}

/**
 * Throws unless `value` is a finite number greater than or equal to 0.
 *
 * @internal
 */
export function checkNonNegative(name: string, value: number): void {
  if (!(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
    throw new RangeError(
      `Expected ${name} to be a non-negative finite number but found ${value}`,
    );
  }
}

/**
 * Throws unless `value` is in [0, 1) (decay rates such as betas).
 *
 * @internal
 */
export function checkUnit(name: string, value: number): void {
  if (!(typeof value === "number" && value >= 0 && value < 1)) {
    throw new RangeError(`Expected ${name} to be in [0, 1) but found ${value}`);
  }
}

/**
 * Throws unless `value` is an integer greater than 0.
 *
 * @internal
 */
export function checkPositiveInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(
      `Expected ${name} to be a positive integer but found ${value}`,
    );
  }
}
