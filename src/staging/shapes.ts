/**
 * The abstract evaluation of each primitive: the shape and dtype of its
 * output from those of its inputs and its params, without computing values.
 * One table keyed by primitive name; staging a primitive that has no entry
 * is an error that names it.
 *
 * @internal
 * @module
 */

import { dimOf, type DType, type Shape } from "../tensor.ts";
import { broadcastShapes, concatShape, matmulShape } from "../shape/check.ts";
import {
  booleanParam,
  convParams,
  dtypeParam,
  matmulParams,
  numberParam,
  numbersParam,
  poolParams,
  type ReduceParams,
  reduceParams,
  shapeParam,
} from "./params.ts";

/** A shape and dtype: what staging knows of a value. @internal */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

type Rule = (ins: readonly Aval[], params: unknown, prim: string) => Aval;

function at(ins: readonly Aval[], i: number): Aval {
  const a = ins[i];
  if (a === undefined) {
    throw new RangeError(
      `Internal error: expected an input ${i} but found ${ins.length} inputs`,
    );
  }
  return a;
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

function reduced(shape: Shape, p: ReduceParams): number[] {
  return p.keepDims
    ? shape.map((d, i) => (p.axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !p.axes.includes(i));
}

const reduction: Rule = (ins, p, name) => ({
  shape: reduced(at(ins, 0).shape, reduceParams(p, name)),
  dtype: at(ins, 0).dtype,
});
/** A pool (or its forward part): the pooled image. */
const pooled: Rule = (_i, p, name) => {
  const g = poolParams(p, name);
  return { shape: [g.n, g.outH, g.outW, g.c], dtype: "float32" };
};
/** A pool's backward part: the image the pool read. */
const unpooled: Rule = (_i, p, name) => {
  const g = poolParams(p, name);
  return { shape: [g.n, g.h, g.w, g.c], dtype: "float32" };
};

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
  softmaxCrossEntropy: () => ({ shape: [], dtype: "float32" }),
  softmaxCrossEntropyGrad: float,
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
  max: (ins, p, name) =>
    ins.length === 2 ? broadcast(ins, p, name) : reduction(ins, p, name),
  sum: reduction,
  argmax: (ins, p, name) => ({
    shape: reduced(at(ins, 0).shape, {
      axes: [numberParam(p, "axis", name)],
      keepDims: booleanParam(p, "keepDims", name),
    }),
    dtype: "int32",
  }),
  where: (ins) => ({
    shape: broadcastShapes(
      broadcastShapes(at(ins, 0).shape, at(ins, 1).shape),
      at(ins, 2).shape,
    ),
    dtype: at(ins, 1).dtype,
  }),
  matmul: (ins, p, name) => {
    const { transA, transB } = matmulParams(p, name);
    const op = (s: Shape, t: boolean): Shape =>
      t ? [...s.slice(0, -2), dimOf(s, -1), dimOf(s, -2)] : s;
    return {
      shape: matmulShape(
        op(at(ins, 0).shape, transA),
        op(at(ins, 1).shape, transB),
      ),
      dtype: "float32",
    };
  },
  conv2d: (_ins, p, name) => {
    const g = convParams(p, name);
    return { shape: [g.n, g.outH, g.outW, g.o], dtype: "float32" };
  },
  conv2dBackpropInput: (_ins, p, name) => {
    const g = convParams(p, name);
    return { shape: [g.n, g.h, g.w, g.c], dtype: "float32" };
  },
  conv2dBackpropFilter: (_ins, p, name) => {
    const g = convParams(p, name);
    return { shape: [g.kh, g.kw, g.c, g.o], dtype: "float32" };
  },
  maxPool2d: pooled,
  maxPoolGather: pooled,
  avgPool2d: pooled,
  maxPoolScatter: unpooled,
  avgPoolBackward: unpooled,
  reshape: (ins, p, name) => ({
    shape: shapeParam(p, "shape", name),
    dtype: at(ins, 0).dtype,
  }),
  broadcastTo: (ins, p, name) => ({
    shape: shapeParam(p, "shape", name),
    dtype: at(ins, 0).dtype,
  }),
  transpose: (ins, p, name) => {
    const x = at(ins, 0);
    const perm = numbersParam(p, "perm", name);
    return { shape: perm.map((a) => dimOf(x.shape, a)), dtype: x.dtype };
  },
  slice: (ins, p, name) => {
    const axis = numberParam(p, "axis", name), x = at(ins, 0);
    const len = numberParam(p, "len", name);
    return {
      shape: x.shape.map((d, i) => (i === axis ? len : d)),
      dtype: x.dtype,
    };
  },
  pad: (ins, p, name) => {
    const axis = numberParam(p, "axis", name), x = at(ins, 0);
    const dim = numberParam(p, "dim", name);
    return {
      shape: x.shape.map((d, i) => (i === axis ? dim : d)),
      dtype: x.dtype,
    };
  },
  concat: (ins, p, name) => ({
    shape: concatShape(ins.map((x) => x.shape), numberParam(p, "axis", name)),
    dtype: at(ins, 0).dtype,
  }),
  gather: (ins) => ({
    shape: [...at(ins, 1).shape, ...at(ins, 0).shape.slice(1)],
    dtype: at(ins, 0).dtype,
  }),
  scatterAdd: (ins, p, name) => ({
    shape: [
      numberParam(p, "rows", name),
      ...at(ins, 0).shape.slice(at(ins, 1).shape.length),
    ],
    dtype: at(ins, 0).dtype,
  }),
  oneHot: (ins, p, name) => ({
    shape: [...at(ins, 0).shape, numberParam(p, "depth", name)],
    dtype: "float32",
  }),
  cast: (ins, p, name) => ({
    shape: at(ins, 0).shape,
    dtype: dtypeParam(p, "dtype", name),
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
  return rule === undefined ? undefined : rule(ins, params, name);
}
