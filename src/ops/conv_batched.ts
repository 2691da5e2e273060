/**
 * Batched 2-D convolution: `groups` independent convolutions, each with its
 * own images and filters, as three primitives that mirror the `conv.ts`
 * trio (each is bilinear and the transposes stay within the three). They
 * are what `vmap` turns a convolution into when both of its inputs are
 * batched: per-example filter gradients under `vmap(grad(f))` are one
 * `conv2dBatchedBackpropFilter` call, not one call per example.
 *
 * Shapes, with `G` groups: images `[G, n, h, w, c]`, filters
 * `[G, kh, kw, c, o]`, outputs `[G, n, outH, outW, o]`.
 *
 * @internal
 * @module
 */

import { type AnyTensor, floatsOf, fromData } from "../tensor.ts";
import { bind, type Each, type Primitive } from "../autodiff/core.ts";
import type { Conv2dGeometry } from "../kernels/conv2d.ts";
import {
  batchedConv2dBackpropFilter,
  batchedConv2dBackpropInput,
  batchedConv2dForward,
} from "../kernels/conv2d_batched.ts";
import * as lax from "./elementary.ts";
import { mergeFront, splitFront, toFront } from "./batching.ts";

/** The geometry of one group and the number of groups. @internal */
export interface BatchedConv {
  readonly g: Conv2dGeometry;
  readonly groups: number;
}

type Pair = readonly [AnyTensor, AnyTensor];
type Prim = Primitive<BatchedConv, Pair>;

/**
 * The forward-mode rule of a bilinear primitive `p(a, b)` (every convolution
 * primitive, batched or not, is one): `p(ta, b) + p(a, tb)`, dropping a term
 * whose tangent is zero.
 *
 * @internal
 */
export function productRule<P>(
  p: Primitive<P, Pair>,
  [a, b]: Pair,
  [ta, tb]: Each<Pair, AnyTensor | null>,
  params: P,
): AnyTensor | null {
  const da = ta ? bind(p, [ta, b], params) : null;
  const db = tb ? bind(p, [a, tb], params) : null;
  if (da && db) return lax.add(da, db);
  return da ?? db;
}

/**
 * Under a further vmap, the outer batch joins the groups: `[B, G, ...]`
 * becomes `B * G` groups.
 */
function moreGroups(
  p: Prim,
  [a, b]: Pair,
  [da, db]: Each<Pair, number | null>,
  q: BatchedConv,
  size: number,
): [AnyTensor, number] {
  const ins: Pair = [
    mergeFront(toFront(a, da, size)),
    mergeFront(toFront(b, db, size)),
  ];
  const out = bind(p, ins, { g: q.g, groups: q.groups * size });
  return [splitFront(out, size), 0];
}

function run(
  kernel: (
    a: Float32Array,
    b: Float32Array,
    g: Conv2dGeometry,
    groups: number,
  ) => Float32Array,
  [a, b]: Pair,
  q: BatchedConv,
  shape: number[],
): AnyTensor {
  const out = kernel(floatsOf(a), floatsOf(b), q.g, q.groups);
  return fromData([q.groups, ...shape], "float32", out);
}

/** x `[G, n, h, w, c]`, w `[G, kh, kw, c, o]` -> y `[G, n, outH, outW, o]` */
const convB: Prim = {
  name: "conv2dBatched",
  impl: (xs, q) =>
    run(batchedConv2dForward, xs, q, [q.g.n, q.g.outH, q.g.outW, q.g.o]),
  jvp: (xs, ts, q) => productRule(convB, xs, ts, q),
  vjp: (ct, [x, w], q, _o, needs) => [
    needs[0] ? bind(bpiB, [ct, w], q) : null,
    needs[1] ? bind(bpfB, [x, ct], q) : null,
  ],
  batch: (xs, dims, q, size) => moreGroups(convB, xs, dims, q, size),
};

/** dy `[G, n, outH, outW, o]`, w `[G, kh, kw, c, o]` -> dx `[G, n, h, w, c]` */
const bpiB: Prim = {
  name: "conv2dBatchedBackpropInput",
  impl: (xs, q) =>
    run(batchedConv2dBackpropInput, xs, q, [q.g.n, q.g.h, q.g.w, q.g.c]),
  jvp: (xs, ts, q) => productRule(bpiB, xs, ts, q),
  vjp: (ct, [dy, w], q, _o, needs) => [
    needs[0] ? bind(convB, [ct, w], q) : null,
    needs[1] ? bind(bpfB, [ct, dy], q) : null,
  ],
  batch: (xs, dims, q, size) => moreGroups(bpiB, xs, dims, q, size),
};

/** x `[G, n, h, w, c]`, dy `[G, n, outH, outW, o]` -> dw `[G, kh, kw, c, o]` */
const bpfB: Prim = {
  name: "conv2dBatchedBackpropFilter",
  impl: (xs, q) =>
    run(batchedConv2dBackpropFilter, xs, q, [q.g.kh, q.g.kw, q.g.c, q.g.o]),
  jvp: (xs, ts, q) => productRule(bpfB, xs, ts, q),
  vjp: (ct, [x, dy], q, _o, needs) => [
    needs[0] ? bind(bpiB, [dy, ct], q) : null,
    needs[1] ? bind(convB, [x, ct], q) : null,
  ],
  batch: (xs, dims, q, size) => moreGroups(bpfB, xs, dims, q, size),
};

/** The three batched convolution primitives. @internal */
export const batchedConvPrims = { convB, bpiB, bpfB } as const;

/** Every primitive of this module, for the tests that must cover each one. @internal */
export const primitives: readonly Primitive<never>[] = [
  convB,
  bpiB,
  bpfB,
];
