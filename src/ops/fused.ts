/**
 * Fused primitives: the epilogue of a dense or convolution layer followed by
 * relu, `relu(x + bias)` with the bias along the last axis, computed in one
 * pass instead of two (one array less to write and read). The values and
 * both derivatives are exactly those of `relu(add(x, bias))`.
 *
 * @internal
 * @module
 */

import { type AnyTensor, dimOf, floatsOf, fromData } from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { biasRelu as biasReluKernel } from "../kernels/elementwise.ts";
import * as lax from "./elementary.ts";
import { moveAxis, padFront, toFront } from "./batching.ts";
import { biasAddShape } from "../shape/mod.ts";

/**
 * `(x, bias) -> relu(x + bias)`. Relu's derivative is read off the output
 * (`y > 0` exactly where `x + bias > 0`), so the sum is never kept.
 */
const biasReluPrim: Primitive<void, readonly [AnyTensor, AnyTensor]> = {
  name: "biasRelu",
  impl([x, b]) {
    return fromData(
      x.shape,
      "float32",
      biasReluKernel(floatsOf(x), floatsOf(b)),
    );
  },
  jvp(_primals, [tx, tb], _p, out) {
    if (tx === null) {
      return tb === null
        ? null
        : lax.reluMaskOf(lax.broadcastTo(tb, out.shape), out);
    }
    return lax.reluMaskOf(tb === null ? tx : lax.add(tx, tb), out);
  },
  vjp(ct, [, b], _p, out, needs) {
    const g = lax.reluMaskOf(ct, out);
    return [
      needs[0] ? g : null,
      needs[1] ? lax.unbroadcast(g, b.shape) : null,
    ];
  },
  batch([x, b], [dx, db], _p, size) {
    if (db === null) {
      // A shared bias runs along the last axis; so must x's channels.
      if (dx === null || dx !== x.shape.length - 1) {
        return [bind(biasReluPrim, [x, b], undefined), dx];
      }
      return [bind(biasReluPrim, [moveAxis(x, dx, 0), b], undefined), 0];
    }
    // One bias per example: relu(x + b) with both batches in front.
    const xf = toFront(x, dx, size);
    const bf = moveAxis(b, db, 0);
    const c = dimOf(bf.shape, 1);
    const bb = lax.reshape(bf, [size, ...padFront([c], xf.shape.length - 2)]);
    return [lax.relu(lax.add(xf, bb)), 0];
  },
};

/**
 * `relu(x + bias)` in one pass, for a float32 `x` `[..., C]` and `bias`
 * `[C]`. Untyped: its shape rule is `BiasAddShape` (run time:
 * `biasAddShape`).
 *
 * @internal
 * @param x The pre-activation without its bias.
 * @param bias One value per channel (the last axis).
 * @returns The activation, shaped like `x`.
 * @throws {RangeError} If `bias` is not `[C]` for the last dim `C` of `x`.
 * @throws {TypeError} If either is not float32.
 */
export function biasRelu(x: AnyTensor, bias: AnyTensor): AnyTensor {
  if (x.dtype !== "float32" || bias.dtype !== "float32") {
    throw new TypeError(
      `Expected float32 tensors for biasRelu but found ${x.dtype} and ${bias.dtype}`,
    );
  }
  biasAddShape(x.shape, bias.shape);
  return bind(biasReluPrim, [x, bias], undefined);
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  biasReluPrim,
];
