/**
 * The abstract evaluation of each primitive: the shape and dtype of its
 * output from those of its inputs and its params, without computing values.
 * One table keyed by primitive name; staging a primitive that has no entry
 * is an error that names it.
 *
 * @internal
 * @module
 */

import type { DType, Shape } from "../tensor.ts";
import type { Conv2dGeometry } from "../kernels/conv2d.ts";
import type { Pool2dGeometry } from "../kernels/pool.ts";
import { broadcastShapes, concatShape, matmulShape } from "../shape/check.ts";

/** A shape and dtype: what staging knows of a value. @internal */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

type Rule = (ins: readonly Aval[], params: unknown) => Aval;

function at(ins: readonly Aval[], i: number): Aval {
  return ins[i] as Aval;
}

const same: Rule = (ins) => at(ins, 0);
const float: Rule = (ins) => ({ shape: at(ins, 0).shape, dtype: "float32" });
const broadcast: Rule = (ins) => ({
  shape: broadcastShapes(at(ins, 0).shape, at(ins, 1).shape),
  dtype: at(ins, 0).dtype,
});
const compare: Rule = (ins) => ({
  shape: broadcastShapes(at(ins, 0).shape, at(ins, 1).shape),
  dtype: "int32",
});

interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

function reduced(shape: Shape, p: ReduceParams): number[] {
  return p.keepDims
    ? shape.map((d, i) => (p.axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !p.axes.includes(i));
}

interface SliceParams {
  readonly axis: number;
  readonly len: number;
  readonly dim: number;
}

const poolOut = (g: Pool2dGeometry): Shape => [g.n, g.outH, g.outW, g.c];
const poolIn = (g: Pool2dGeometry): Shape => [g.n, g.h, g.w, g.c];

const rules: Record<string, Rule> = {
  neg: same,
  exp: same,
  log: same,
  sqrt: same,
  abs: same,
  sign: same,
  step: same,
  sigmoid: same,
  tanh: same,
  relu: same,
  stopGradient: same,
  reluMask: float,
  biasRelu: float,
  add: broadcast,
  sub: broadcast,
  mul: broadcast,
  div: broadcast,
  pow: broadcast,
  min: broadcast,
  eq: compare,
  ne: compare,
  gt: compare,
  ge: compare,
  lt: compare,
  le: compare,
  // "max" is both the binary maximum and the reduction.
  max: (ins, p) =>
    ins.length === 2 ? broadcast(ins, p) : {
      shape: reduced(at(ins, 0).shape, p as ReduceParams),
      dtype: at(ins, 0).dtype,
    },
  sum: (ins, p) => ({
    shape: reduced(at(ins, 0).shape, p as ReduceParams),
    dtype: at(ins, 0).dtype,
  }),
  argmax: (ins, p) => {
    const q = p as { axis: number; keepDims: boolean };
    return {
      shape: reduced(at(ins, 0).shape, {
        axes: [q.axis],
        keepDims: q.keepDims,
      }),
      dtype: "int32",
    };
  },
  where: (ins) => ({
    shape: broadcastShapes(
      broadcastShapes(at(ins, 0).shape, at(ins, 1).shape),
      at(ins, 2).shape,
    ),
    dtype: at(ins, 1).dtype,
  }),
  matmul: (ins) => ({
    shape: matmulShape(at(ins, 0).shape, at(ins, 1).shape),
    dtype: "float32",
  }),
  conv2d: (_ins, p) => {
    const g = p as Conv2dGeometry;
    return { shape: [g.n, g.outH, g.outW, g.o], dtype: "float32" };
  },
  conv2dBackpropInput: (_ins, p) => {
    const g = p as Conv2dGeometry;
    return { shape: [g.n, g.h, g.w, g.c], dtype: "float32" };
  },
  conv2dBackpropFilter: (_ins, p) => {
    const g = p as Conv2dGeometry;
    return { shape: [g.kh, g.kw, g.c, g.o], dtype: "float32" };
  },
  maxPool2d: (_i, p) => ({
    shape: poolOut(p as Pool2dGeometry),
    dtype: "float32",
  }),
  maxPoolGather: (_i, p) => ({
    shape: poolOut(p as Pool2dGeometry),
    dtype: "float32",
  }),
  avgPool2d: (_i, p) => ({
    shape: poolOut(p as Pool2dGeometry),
    dtype: "float32",
  }),
  maxPoolScatter: (_i, p) => ({
    shape: poolIn(p as Pool2dGeometry),
    dtype: "float32",
  }),
  avgPoolBackward: (_i, p) => ({
    shape: poolIn(p as Pool2dGeometry),
    dtype: "float32",
  }),
  reshape: (ins, p) => ({
    shape: (p as { shape: Shape }).shape,
    dtype: at(ins, 0).dtype,
  }),
  broadcastTo: (ins, p) => ({
    shape: (p as { shape: Shape }).shape,
    dtype: at(ins, 0).dtype,
  }),
  transpose: (ins, p) => {
    const x = at(ins, 0);
    const perm = (p as { perm: readonly number[] }).perm;
    return { shape: perm.map((a) => x.shape[a] as number), dtype: x.dtype };
  },
  slice: (ins, p) => {
    const q = p as SliceParams, x = at(ins, 0);
    return {
      shape: x.shape.map((d, i) => (i === q.axis ? q.len : d)),
      dtype: x.dtype,
    };
  },
  pad: (ins, p) => {
    const q = p as SliceParams, x = at(ins, 0);
    return {
      shape: x.shape.map((d, i) => (i === q.axis ? q.dim : d)),
      dtype: x.dtype,
    };
  },
  concat: (ins, p) => ({
    shape: concatShape(ins.map((x) => x.shape), (p as { axis: number }).axis),
    dtype: at(ins, 0).dtype,
  }),
  gather: (ins) => ({
    shape: [...at(ins, 1).shape, ...at(ins, 0).shape.slice(1)],
    dtype: at(ins, 0).dtype,
  }),
  scatterAdd: (ins, p) => ({
    shape: [
      (p as { rows: number }).rows,
      ...at(ins, 0).shape.slice(at(ins, 1).shape.length),
    ],
    dtype: at(ins, 0).dtype,
  }),
  oneHot: (ins, p) => ({
    shape: [...at(ins, 0).shape, (p as { depth: number }).depth],
    dtype: "float32",
  }),
  cast: (ins, p) => ({
    shape: at(ins, 0).shape,
    dtype: (p as { dtype: DType }).dtype,
  }),
};

/**
 * The output's shape and dtype of a primitive, or `undefined` when the table
 * has no rule for it.
 *
 * @internal
 */
export function abstractEval(
  name: string,
  ins: readonly Aval[],
  params: unknown,
): Aval | undefined {
  const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
  return rule === undefined ? undefined : rule(ins, params);
}
