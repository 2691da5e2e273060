/**
 * What a deferred tensor (see `tensor.ts`'s `deferredTensor`) is made of:
 * a kernel that can use the recipe without making the values may, and
 * leave them unmade.
 *
 * @internal
 * @module
 */

import type { Conv2dGeometry } from "../kernels/conv2d.ts";
import type { Pool2dGeometry } from "../kernels/pool.ts";

/**
 * A convolution's output: a max pool of it may run fused with the
 * convolution (see `pool.ts`).
 *
 * @internal
 */
export class ConvRecipe {
  /**
   * @param x The input's values.
   * @param filter The filter's values.
   * @param g The geometry.
   */
  constructor(
    readonly x: Float32Array,
    readonly filter: Float32Array,
    readonly g: Conv2dGeometry,
  ) {}
}

/**
 * A max pool's cotangent scattered back to the argmax positions: zeros but
 * for one value in a window. A convolution's filter gradient may take it as
 * it is (see `conv.ts`).
 *
 * @internal
 */
export class ScatterRecipe {
  /**
   * @param dy The pooled cotangent's values.
   * @param argmax Each pooled value's flat position in the result (-1: none).
   * @param g The pool's geometry (the result is `[n, h, w, c]`).
   */
  constructor(
    readonly dy: Float32Array,
    readonly argmax: Int32Array,
    readonly g: Pool2dGeometry,
  ) {}

  /**
   * Whether the pool is 2 x 2 of stride 2 without padding and its windows
   * cover the image exactly: every position is then in one window.
   *
   * @returns Whether the windows tile the image.
   */
  tiles(): boolean {
    const g = this.g;
    return g.kh === 2 && g.kw === 2 && g.strideH === 2 && g.strideW === 2 &&
      g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 &&
      g.padRight === 0 && g.h === 2 * g.outH && g.w === 2 * g.outW;
  }
}

/**
 * A convolution's input gradient, not made yet: a relu mask of it may run
 * fused with it (see `unary.ts`).
 *
 * @internal
 */
export class InputGradRecipe {
  /**
   * @param dy The output gradient: its values, or a scattered max-pool
   * cotangent not made.
   * @param filter The filter's values.
   * @param g The convolution's geometry.
   */
  constructor(
    readonly dy: Float32Array | ScatterRecipe,
    readonly filter: Float32Array,
    readonly g: Conv2dGeometry,
  ) {}
}
