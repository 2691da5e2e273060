/**
 * Matrix multiplication (2-D and batched), a primitive with its rules.
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  type DType,
  fromData,
  type Shape,
  sizeOf,
  type Tensor,
} from "../tensor.ts";
import { bind, type Primitive } from "../autodiff/core.ts";
import { gemm, gemmInto } from "../kernels/gemm.ts";
import { broadcastTo as broadcastKernel } from "../kernels/elementwise.ts";
import {
  type Arg,
  type MatMulShape,
  matmulShape,
  type Result,
} from "../shape/mod.ts";
import { add, unbroadcast } from "./binary.ts";
import { reshape, transpose } from "./layout.ts";
import { moveAxis, padFront } from "./batching.ts";
import { sameShape } from "./operand.ts";

function swapLast(t: AnyTensor): AnyTensor {
  const r = t.shape.length;
  const perm = t.shape.map((_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return transpose(t, perm) as AnyTensor;
}

const matmulPrim: Primitive<void> = {
  name: "matmul",
  impl([a, b]) {
    const x = a!, y = b!;
    if (x.dtype !== "float32" || y.dtype !== "float32") {
      throw new TypeError(
        `Expected float32 matrices in matmul but found ${x.dtype} and ${y.dtype}`,
      );
    }
    const out = matmulShape(x.shape, y.shape);
    const r = out.length;
    const m = out[r - 2] as number, n = out[r - 1] as number;
    const k = x.shape[x.shape.length - 1] as number;
    const batchShape = out.slice(0, r - 2);
    const batch = sizeOf(batchShape);
    let xa = dataOf(x) as Float32Array, ya = dataOf(y) as Float32Array;
    if (batch === 1) {
      return fromData(
        out,
        "float32",
        gemm(xa, ya, m, k, n, false, false),
      ) as AnyTensor;
    }
    // Materialize broadcast batch dims, then one GEMM per batch straight
    // into the result.
    const xFull = [...batchShape, m, k], yFull = [...batchShape, k, n];
    if (!sameShape(x.shape, xFull)) xa = broadcastKernel(xa, x.shape, xFull);
    if (!sameShape(y.shape, yFull)) ya = broadcastKernel(ya, y.shape, yFull);
    const res = new Float32Array(batch * m * n);
    for (let i = 0; i < batch; i++) {
      gemmInto(
        xa,
        i * m * k,
        ya,
        i * k * n,
        res,
        i * m * n,
        m,
        k,
        n,
        false,
        false,
        true,
      );
    }
    return fromData(out, "float32", res) as AnyTensor;
  },
  jvp([a, b], [ta, tb]) {
    const l = ta ? bind(matmulPrim, [ta, b!], undefined) : null;
    const r = tb ? bind(matmulPrim, [a!, tb], undefined) : null;
    if (l && r) return add(l, r) as AnyTensor;
    return l ?? r;
  },
  vjp(ct, [a, b], _p, _o, needs) {
    return [
      needs[0]
        ? unbroadcast(bind(matmulPrim, [ct, swapLast(b!)], undefined), a!.shape)
        : null,
      needs[1]
        ? unbroadcast(bind(matmulPrim, [swapLast(a!), ct], undefined), b!.shape)
        : null,
    ];
  },
  batch([a, b], [da, db], _p, size) {
    const x = a!, y = b!;
    if (db === null && y.shape.length === 2) {
      // A shared matrix on the right: one GEMM over all rows of all examples.
      const f = moveAxis(x, da!, 0);
      const k = f.shape[f.shape.length - 1] as number;
      const rows = reshape(f, [-1, k]) as AnyTensor;
      const out = bind(matmulPrim, [rows, y], undefined);
      const n = y.shape[1] as number;
      return [reshape(out, [...f.shape.slice(0, -1), n]) as AnyTensor, 0];
    }
    if (da === null && x.shape.length === 2 && y.shape.length === 3) {
      // A shared matrix on the left: [K, B, N] as one [K, B * N] matrix.
      const f = moveAxis(y, db!, 1);
      const [k, , n] = f.shape as number[];
      const flat = reshape(f, [k as number, -1]) as AnyTensor;
      const out = bind(matmulPrim, [x, flat], undefined);
      const m = x.shape[0] as number;
      return [reshape(out, [m, size, n as number]) as AnyTensor, 1];
    }
    const ra = x.shape.length - (da === null ? 0 : 1);
    const rb = y.shape.length - (db === null ? 0 : 1);
    // Otherwise the batch goes in front of the (broadcast) batch dims.
    const rank = Math.max(ra, rb);
    const front = (t: AnyTensor, d: number | null, r: number): AnyTensor => {
      const f = d === null ? t : moveAxis(t, d, 0);
      const per = d === null ? f.shape : f.shape.slice(1);
      return reshape(f, [
        d === null ? 1 : size,
        ...padFront(per, rank - r),
      ]) as AnyTensor;
    };
    const out = bind(
      matmulPrim,
      [front(x, da!, ra), front(y, db!, rb)],
      undefined,
    );
    return [out, 0];
  },
};

/**
 * Matrix product over the last two axes; leading (batch) axes broadcast.
 * `[M, K] @ [K, N]` is `[M, N]`; `[B, M, K] @ [K, N]` is `[B, M, N]`.
 *
 * @param a The left matrix or batch of matrices (float32, rank 2 or more).
 * @param b The right matrix or batch; its second-to-last dim must equal `a`'s last.
 * @returns The product.
 * @throws {RangeError} If the inner dimensions differ (the compiler reports this for literal dims).
 *
 * @example
 * ```ts
 * import { matmul, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const a = tensor([[1, 2, 3], [4, 5, 6]]); // [2, 3]
 * const b = tensor([[1], [0], [1]]);        // [3, 1]
 * assertEquals(matmul(a, b).toArray(), [[4], [10]]);
 * ```
 */
export function matmul<
  A extends Shape,
  B extends Shape,
  D extends DType = "float32",
>(
  a: Tensor<A, D>,
  b: Arg<MatMulShape<A, B>, Tensor<B, D>>,
): Tensor<Result<MatMulShape<A, B>>, D> {
  const x = a as unknown as AnyTensor, y = b as unknown as AnyTensor;
  matmulShape(x.shape, y.shape);
  return bind(matmulPrim, [x, y], undefined) as unknown as Tensor<
    Result<MatMulShape<A, B>>,
    D
  >;
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  matmulPrim,
];
