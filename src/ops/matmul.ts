/**
 * Matrix multiplication (2-D and batched), a primitive with its rules.
 *
 * @module
 */

import {
  type AnyTensor,
  dimOf,
  type DType,
  floatsOf,
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
import * as lax from "./elementary.ts";
import { moveAxis, padFront } from "./batching.ts";
import { sameShape } from "./operand.ts";

function swapLast(t: AnyTensor): AnyTensor {
  const r = t.shape.length;
  const perm = t.shape.map((_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return lax.transpose(t, perm);
}

/**
 * Which operands a product reads transposed (over their last two axes):
 * the derivatives' products, which the GEMM does without a transposed copy
 * (a Keras dense kernel [9216, 128] and its input [64, 9216] cost 6.7 ms of
 * transposes a step). The forward product has none (`undefined`).
 */
type MatmulParams =
  | { readonly transA: boolean; readonly transB: boolean }
  | undefined;

/** `s` with its last two dims swapped when `t`. */
function opShape(s: Shape, t: boolean): Shape {
  if (!t) return s;
  const r = s.length;
  return [...s.slice(0, r - 2), dimOf(s, -1), dimOf(s, -2)];
}

/** The product's params for the flags (none for the plain product). */
function flags(transA: boolean, transB: boolean): MatmulParams {
  return transA || transB ? { transA, transB } : undefined;
}

const matmulPrim: Primitive<MatmulParams, readonly [AnyTensor, AnyTensor]> = {
  name: "matmul",
  impl([x, y], p) {
    if (x.dtype !== "float32" || y.dtype !== "float32") {
      throw new TypeError(
        `Expected float32 matrices in matmul but found ${x.dtype} and ${y.dtype}`,
      );
    }
    const ta = p?.transA ?? false, tb = p?.transB ?? false;
    const xs = opShape(x.shape, ta), ys = opShape(y.shape, tb);
    const out = matmulShape(xs, ys);
    const m = dimOf(out, -2), n = dimOf(out, -1);
    const k = dimOf(xs, -1);
    const batchShape = out.slice(0, -2);
    const batch = sizeOf(batchShape);
    let xa = floatsOf(x), ya = floatsOf(y);
    if (batch === 1) {
      return fromData(out, "float32", gemm(xa, ya, m, k, n, ta, tb));
    }
    // Materialize broadcast batch dims, then one GEMM per batch straight
    // into the result.
    const xFull = [...batchShape, ...x.shape.slice(-2)];
    const yFull = [...batchShape, ...y.shape.slice(-2)];
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
        ta,
        tb,
        true,
      );
    }
    return fromData(out, "float32", res);
  },
  jvp([a, b], [ta, tb], p) {
    const l = ta ? bind(matmulPrim, [ta, b], p) : null;
    const r = tb ? bind(matmulPrim, [a, tb], p) : null;
    if (l && r) return lax.add(l, r);
    return l ?? r;
  },
  vjp(ct, [a, b], p, _o, needs) {
    // C = op(A) op(B): each derivative is one product of ct with the other
    // operand, read transposed where needed (no transposed copies).
    const tA = p?.transA ?? false, tB = p?.transB ?? false;
    const prod = (
      l: AnyTensor,
      r: AnyTensor,
      fl: boolean,
      fr: boolean,
    ): AnyTensor => bind(matmulPrim, [l, r], flags(fl, fr));
    let da: AnyTensor | null = null, db: AnyTensor | null = null;
    if (needs[0]) {
      // ct op(B)^T, or for a transposed A its transpose op(B) ct^T.
      da = tA ? prod(b, ct, tB, true) : prod(ct, b, false, !tB);
    }
    if (needs[1]) {
      // op(A)^T ct, or for a transposed B its transpose ct^T op(A).
      db = tB ? prod(ct, a, true, tA) : prod(a, ct, !tA, false);
    }
    return [
      da === null ? null : lax.unbroadcast(da, a.shape),
      db === null ? null : lax.unbroadcast(db, b.shape),
    ];
  },
  batch([x0, y0], [da0, db0], p, size) {
    // Transposed operands are made plain first (the batch axis in front,
    // so that the last two axes are the matrix's).
    let x = x0, y = y0, da = da0, db = db0;
    if (p?.transA) {
      if (da !== null) [x, da] = [moveAxis(x, da, 0), 0];
      x = swapLast(x);
    }
    if (p?.transB) {
      if (db !== null) [y, db] = [moveAxis(y, db, 0), 0];
      y = swapLast(y);
    }
    if (da !== null && db === null && y.shape.length === 2) {
      // A shared matrix on the right: one GEMM over all rows of all examples.
      const f = moveAxis(x, da, 0);
      const rows = lax.reshape(f, [-1, dimOf(f.shape, -1)]);
      const out = bind(matmulPrim, [rows, y], undefined);
      return [
        lax.reshape(out, [...f.shape.slice(0, -1), dimOf(y.shape, 1)]),
        0,
      ];
    }
    if (
      da === null && db !== null && x.shape.length === 2 && y.shape.length === 3
    ) {
      // A shared matrix on the left: [K, B, N] as one [K, B * N] matrix.
      const f = moveAxis(y, db, 1);
      const flat = lax.reshape(f, [dimOf(f.shape, 0), -1]);
      const out = bind(matmulPrim, [x, flat], undefined);
      return [
        lax.reshape(out, [dimOf(x.shape, 0), size, dimOf(f.shape, 2)]),
        1,
      ];
    }
    const ra = x.shape.length - (da === null ? 0 : 1);
    const rb = y.shape.length - (db === null ? 0 : 1);
    // Otherwise the batch goes in front of the (broadcast) batch dims.
    const rank = Math.max(ra, rb);
    const front = (t: AnyTensor, d: number | null, r: number): AnyTensor => {
      const f = d === null ? t : moveAxis(t, d, 0);
      const per = d === null ? f.shape : f.shape.slice(1);
      return lax.reshape(f, [
        d === null ? 1 : size,
        ...padFront(per, rank - r),
      ]);
    };
    const out = bind(
      matmulPrim,
      [front(x, da, ra), front(y, db, rb)],
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
): Tensor<Result<MatMulShape<A, B>>, D>;
export function matmul(a: AnyTensor, b: AnyTensor): AnyTensor {
  return matmulAny(a, b);
}

/** The untyped form of {@linkcode matmul}, for rules, layers and optimizers. @internal */
export function matmulAny(a: AnyTensor, b: AnyTensor): AnyTensor {
  matmulShape(a.shape, b.shape);
  return bind(matmulPrim, [a, b], undefined);
}

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  matmulPrim,
];
