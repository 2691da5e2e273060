/**
 * Fused primitives: the epilogue of a dense or convolution layer followed by
 * relu, `relu(x + bias)` with the bias along the last axis, computed in one
 * pass instead of two (one array less to write and read). The values and
 * both derivatives are exactly those of `relu(add(x, bias))`.
 *
 * @internal
 * @module
 */

import { type AnyTensor, dataOf, fromData } from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { biasRelu as biasReluKernel } from "../kernels/elementwise.ts";
import { add, unbroadcast } from "./binary.ts";
import { broadcastTo } from "./layout.ts";
import { relu, reluMaskOf } from "./unary.ts";
import { moveAxis, padFront, toFront } from "./batching.ts";
import { reshape } from "./layout.ts";
import { showShape } from "../shape/errors.ts";

/**
 * `(x, bias) -> relu(x + bias)`. Relu's derivative is read off the output
 * (`y > 0` exactly where `x + bias > 0`), so the sum is never kept.
 */
const biasReluPrim: Primitive<void> = {
  name: "biasRelu",
  impl([x, b]) {
    const t = x as AnyTensor;
    return fromData(
      t.shape,
      "float32",
      biasReluKernel(
        dataOf(t) as Float32Array,
        dataOf(b as AnyTensor) as Float32Array,
      ),
    ) as AnyTensor;
  },
  jvp(_primals, tangents, _p, out) {
    const tx = tangents[0] ?? null, tb = tangents[1] ?? null;
    if (tx === null && tb === null) return null;
    const t = tx !== null && tb !== null
      ? add(tx, tb) as AnyTensor
      : tx ?? broadcastTo(tb!, out.shape) as AnyTensor;
    return reluMaskOf(t, out);
  },
  vjp(ct, [, b], _p, out, needs) {
    const g = reluMaskOf(ct, out);
    return [needs[0] ? g : null, needs[1] ? unbroadcast(g, b!.shape) : null];
  },
  batch([x, b], [dx, db], _p, size) {
    if (db === null) {
      // A shared bias runs along the last axis; so must x's channels.
      if (dx !== x!.shape.length - 1) {
        return [bind(biasReluPrim, [x!, b!], undefined), dx ?? null];
      }
      return [bind(biasReluPrim, [moveAxis(x!, dx, 0), b!], undefined), 0];
    }
    // One bias per example: relu(x + b) with both batches in front.
    const xf = toFront(x!, dx ?? null, size);
    const bf = moveAxis(b!, db!, 0);
    const c = bf.shape[1] as number;
    const bb = reshape(bf, [size, ...padFront([c], xf.shape.length - 2)]);
    return [relu(add(xf, bb as AnyTensor) as AnyTensor) as AnyTensor, 0];
  },
};

/**
 * `relu(x + bias)` in one pass, for a float32 `x` `[..., C]` and `bias`
 * `[C]`.
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
  const c = x.shape[x.shape.length - 1];
  if (bias.shape.length !== 1 || bias.shape[0] !== c) {
    throw new RangeError(
      `Cannot add a bias of shape ${showShape(bias.shape)} to channels of ${
        showShape(x.shape)
      }: expected [${c ?? "C"}]`,
    );
  }
  return bind(biasReluPrim, [x, bias], undefined);
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  biasReluPrim,
];
