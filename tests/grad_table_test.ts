// One table over every differentiable primitive (and the main composites):
// forward mode against central differences, reverse mode by the dot-product
// test, and a second-order (Hessian-vector) check. Rows cover broadcasting
// and one-sided tangents; the coverage test at the end fails when a
// differentiable primitive of some ops module has no row.
import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import {
  abs,
  add,
  type AnyTensor,
  avgPool2d,
  broadcastTo,
  concat,
  conv2d,
  crossEntropy,
  div,
  exp,
  expandDims,
  flatten,
  gather,
  globalAvgPool2d,
  grad,
  greater,
  jvp,
  log,
  logSoftmax,
  logSumExp,
  matmul,
  max,
  maximum,
  maxPool2d,
  mean,
  min,
  minimum,
  mul,
  neg,
  pow,
  relu,
  reshape,
  sigmoid,
  sign,
  slice,
  softmax,
  sqrt,
  square,
  step,
  sub,
  sum,
  tanh,
  tensor,
  transpose,
  vjp,
  vmap,
  where,
} from "../mod.ts";
import { bind, type Primitive } from "../src/autodiff/core.ts";
import * as lax from "../src/ops/lax.ts";
import { biasRelu } from "../src/ops/fused.ts";
import { reluMaskOf } from "../src/ops/unary.ts";
import * as unaryOps from "../src/ops/unary.ts";
import * as binaryOps from "../src/ops/binary.ts";
import {
  checkRule,
  type Fn,
  lcg,
  opsPrimitives,
  prim,
  rand,
} from "./_gradcheck.ts";

type Row = {
  name: string;
  f: Fn;
  shapes: number[][];
  lo?: number;
  hi?: number;
  eps?: number;
  second?: boolean;
  /** The inputs that get a tangent; the others stay constant (default: all). */
  vary?: number[];
};

// The typed ops want a float32 tensor of known rank; the rows' inputs are
// built at run time, so they are handed over as such (the only cast here).
const T = (x: AnyTensor) => x as never;
const F = (a: number[], shape: number[]) => tensor(new Float32Array(a), shape);
const idx = tensor(new Int32Array([2, 0, 2, 1]), [4]);
const labels = tensor(new Int32Array([1, 0, 3]), [3]);
/** The cotangent of `f` at `x` along `ct`. */
const pullback = (f: Fn) => (x: AnyTensor, ct: AnyTensor): AnyTensor => {
  const [g] = vjp((u: AnyTensor) => f(u), x)[1](ct);
  return g;
};
const X4 = F([0.3, -0.2, 0.9, 0.1, -0.5, 0.7, 0.2, -0.8, 0.4], [1, 3, 3, 1]);
const W4 = F([0.5, -1, 0.25, 2, -0.3, 0.8, 1.5, -0.6], [2, 2, 1, 2]);
const X5 = rand([2, 1, 4, 4, 2], lcg(3));
const W5 = rand([2, 2, 2, 2, 3], lcg(4));
/** conv2d on each of a batch of images with its own filters: the batched convolution. */
const convEach = (x: AnyTensor, w: AnyTensor): AnyTensor =>
  vmap((u: AnyTensor, v: AnyTensor): AnyTensor => conv2d(T(u), T(v)))(x, w);

/** The broadcasting binary ops, with the input range their rules need. */
const binaries: {
  name: string;
  f: Fn;
  more: Partial<Row>;
}[] = [
  { name: "add", f: (a, b) => add(a, b), more: {} },
  { name: "sub", f: (a, b) => sub(a, b), more: {} },
  { name: "mul", f: (a, b) => mul(a, b), more: {} },
  { name: "div", f: (a, b) => div(a, b), more: { lo: 0.5, hi: 2 } },
  { name: "pow", f: (a, b) => pow(a, b), more: { lo: 0.5, hi: 2 } },
  { name: "maximum", f: (a, b) => maximum(a, b), more: { eps: 1e-3 } },
  { name: "minimum", f: (a, b) => minimum(a, b), more: { eps: 1e-3 } },
];

/** Shape pairs that broadcast: against a row, a [1, n] row, a scalar, both ways. */
const broadcasts: { name: string; shapes: number[][]; vary?: number[] }[] = [
  { name: "same shape", shapes: [[2, 3], [2, 3]] },
  { name: "[2, 3] and [3]", shapes: [[2, 3], [3]] },
  { name: "[2, 3] and [1, 3]", shapes: [[2, 3], [1, 3]] },
  { name: "[2, 3] and a scalar", shapes: [[2, 3], []] },
  { name: "[3] and [2, 3]", shapes: [[3], [2, 3]] },
  { name: "[2, 1] and [1, 3]", shapes: [[2, 1], [1, 3]] },
  // One-sided: only one input has a tangent, and the other is constant.
  { name: "only a, stretched", shapes: [[3], [2, 3]], vary: [0] },
  { name: "only a, full", shapes: [[2, 3], [1, 3]], vary: [0] },
  { name: "only b, stretched", shapes: [[2, 3], []], vary: [1] },
  { name: "only b, full", shapes: [[3], [2, 3]], vary: [1] },
];

const binaryRows: Row[] = binaries.flatMap((op) =>
  broadcasts.map((b) => ({
    name: `${op.name} (${b.name})`,
    f: op.f,
    shapes: b.shapes,
    ...(b.vary ? { vary: b.vary } : {}),
    ...op.more,
  }))
);

/** Every differentiable primitive has at least one row. */
export const rows: Row[] = [
  ...binaryRows,
  { name: "neg", f: (a) => neg(a), shapes: [[5]] },
  { name: "exp", f: (a) => exp(T(a)), shapes: [[5]] },
  { name: "log", f: (a) => log(T(a)), shapes: [[5]], lo: 0.5, hi: 2 },
  { name: "sqrt", f: (a) => sqrt(T(a)), shapes: [[5]], lo: 0.5, hi: 2 },
  { name: "abs", f: (a) => abs(a), shapes: [[5]], eps: 1e-3 },
  // Piecewise constant: the derivative is zero away from the jumps.
  { name: "sign", f: (a) => mul(sign(a), a), shapes: [[5]], eps: 1e-3 },
  { name: "step", f: (a) => mul(step(a), a), shapes: [[5]], eps: 1e-3 },
  { name: "relu", f: (a) => relu(a), shapes: [[7]], eps: 1e-3 },
  {
    // relu's derivative applied to g: linear in g, no derivative in x.
    name: "reluMask",
    f: (g, x) => reluMaskOf(g, x),
    shapes: [[2, 3], [2, 3]],
    eps: 1e-3,
  },
  {
    name: "reluMask (only g)",
    f: (g, x) => reluMaskOf(g, x),
    shapes: [[2, 3], [2, 3]],
    vary: [0],
  },
  {
    name: "biasRelu (fused bias add and relu)",
    f: (a, b) => biasRelu(a, b),
    shapes: [[2, 3, 4], [4]],
    eps: 1e-3,
  },
  {
    // Only the bias varies: its tangent is stretched over the batch.
    name: "biasRelu (only the bias)",
    f: (a, b) => biasRelu(a, b),
    shapes: [[2, 3], [3]],
    eps: 1e-3,
    vary: [1],
  },
  {
    name: "biasRelu (only x)",
    f: (a, b) => biasRelu(a, b),
    shapes: [[2, 3], [3]],
    eps: 1e-3,
    vary: [0],
  },
  { name: "sigmoid", f: (a) => sigmoid(T(a)), shapes: [[5]] },
  { name: "tanh", f: (a) => tanh(T(a)), shapes: [[5]] },
  { name: "square", f: (a) => square(a), shapes: [[5]] },
  {
    name: "where",
    f: (a, b) => where(greater(a, 0), a, b),
    shapes: [[6], [6]],
    eps: 1e-3,
  },
  {
    // The condition is a constant input; both branches broadcast.
    name: "where (broadcast branches)",
    f: (c, a, b) => where(greater(c, 0), a, b),
    shapes: [[2, 3], [3], [2, 1]],
    vary: [1, 2],
  },
  {
    name: "where (only the first branch)",
    f: (c, a, b) => where(greater(c, 0), a, b),
    shapes: [[2, 3], [3], [2, 3]],
    vary: [1],
  },
  {
    name: "where (only the second branch)",
    f: (c, a, b) => where(greater(c, 0), a, b),
    shapes: [[2, 3], [2, 3], []],
    vary: [2],
  },
  { name: "sum (axis 1)", f: (a) => sum(a, { axis: 1 }), shapes: [[2, 3, 4]] },
  {
    name: "sum (axes 0, 2)",
    f: (a) => sum(a, { axis: [0, 2] }),
    shapes: [[2, 3, 4]],
  },
  {
    name: "mean",
    f: (a) => mean(T(a), { axis: -1, keepDims: true }),
    shapes: [[3, 4]],
  },
  { name: "max", f: (a) => max(a, { axis: 0 }), shapes: [[4, 3]], eps: 1e-3 },
  { name: "min", f: (a) => min(a), shapes: [[4, 3]], eps: 1e-3 },
  {
    name: "logSumExp",
    f: (a) => logSumExp(T(a), { axis: 1 }),
    shapes: [[3, 4]],
  },
  {
    name: "reshape",
    f: (a) => mul(reshape(a, [3, 2]), tensor([1, 2])),
    shapes: [[2, 3]],
  },
  { name: "flatten", f: (a) => square(flatten(a)), shapes: [[2, 2, 2]] },
  { name: "expandDims", f: (a) => square(expandDims(a, 0)), shapes: [[3]] },
  {
    name: "transpose",
    f: (a) => square(transpose(a, [2, 0, 1])),
    shapes: [[2, 3, 4]],
  },
  {
    name: "broadcastTo",
    f: (a) => square(broadcastTo(a, [3, 2, 4])),
    shapes: [[2, 1]],
  },
  { name: "slice", f: (a) => square(slice(a, 1, 3)), shapes: [[4, 2]] },
  {
    // The transpose of slice.
    name: "pad",
    f: (ct) =>
      square(pullback((u) => slice(u, 1, 3))(rand([4, 2], lcg(1)), ct)),
    shapes: [[2, 2]],
  },
  {
    name: "concat",
    f: (a, b) => square(concat([a, b], 1)),
    shapes: [[2, 3], [2, 1]],
  },
  {
    name: "concat (only the first)",
    f: (a, b) => square(concat([a, b], 0)),
    shapes: [[2, 3], [1, 3]],
    vary: [0],
  },
  {
    name: "concat (only the second)",
    f: (a, b) => square(concat([a, b], 1)),
    shapes: [[2, 3], [2, 1]],
    vary: [1],
  },
  { name: "gather", f: (a) => square(gather(T(a), idx)), shapes: [[3, 2]] },
  {
    // The transpose of gather: repeated rows accumulate.
    name: "scatterAdd",
    f: (ct) =>
      square(pullback((u) => gather(T(u), idx))(F([1, 2, 3], [3]), ct)),
    shapes: [[4]],
  },
  { name: "matmul", f: (a, b) => matmul(a, T(b)), shapes: [[3, 4], [4, 2]] },
  {
    name: "matmul (batched)",
    f: (a, b) => matmul(a, T(b)),
    shapes: [[2, 3, 4], [4, 2]],
  },
  {
    name: "matmul (only the left)",
    f: (a, b) => matmul(a, T(b)),
    shapes: [[3, 4], [4, 2]],
    vary: [0],
  },
  {
    // The right matrix is shared by the batch: its cotangent is summed.
    name: "matmul (only the right, batched)",
    f: (a, b) => matmul(a, T(b)),
    shapes: [[2, 3, 4], [4, 2]],
    vary: [1],
  },
  {
    name: "conv2d valid",
    f: (x, w) => conv2d(T(x), T(w)),
    shapes: [[2, 5, 5, 2], [3, 3, 2, 3]],
  },
  {
    name: "conv2d same stride 2 dilation",
    f: (x, w) => conv2d(T(x), T(w), { stride: 2, padding: "same" }),
    shapes: [[1, 6, 7, 2], [3, 2, 2, 2]],
  },
  {
    name: "conv2d explicit padding, dilation 2",
    f: (x, w) => conv2d(T(x), T(w), { padding: [[1, 0], [2, 1]], dilation: 2 }),
    shapes: [[1, 5, 5, 1], [2, 2, 1, 2]],
  },
  {
    name: "conv2d (only the images)",
    f: (x, w) => conv2d(T(x), T(w), { padding: "same" }),
    shapes: [[1, 4, 4, 2], [3, 3, 2, 2]],
    vary: [0],
  },
  {
    name: "conv2d (only the filters)",
    f: (x, w) => conv2d(T(x), T(w), { stride: 2 }),
    shapes: [[1, 5, 5, 2], [2, 2, 2, 3]],
    vary: [1],
  },
  {
    // The input gradient as a function of the filters and the output gradient.
    name: "conv2dBackpropInput",
    f: (w, ct) => pullback((u) => conv2d(T(u), T(w)))(X4, ct),
    shapes: [[2, 2, 1, 2], [1, 2, 2, 2]],
  },
  {
    name: "conv2dBackpropInput (only the filters)",
    f: (w, ct) => pullback((u) => conv2d(T(u), T(w)))(X4, ct),
    shapes: [[2, 2, 1, 2], [1, 2, 2, 2]],
    vary: [0],
  },
  {
    name: "conv2dBackpropInput (only the output gradient)",
    f: (w, ct) => pullback((u) => conv2d(T(u), T(w)))(X4, ct),
    shapes: [[2, 2, 1, 2], [1, 2, 2, 2]],
    vary: [1],
  },
  {
    // The filter gradient as a function of the images and the output gradient.
    name: "conv2dBackpropFilter",
    f: (x, ct) => pullback((v) => conv2d(T(x), T(v)))(W4, ct),
    shapes: [[1, 3, 3, 1], [1, 2, 2, 2]],
  },
  {
    name: "conv2dBackpropFilter (only the images)",
    f: (x, ct) => pullback((v) => conv2d(T(x), T(v)))(W4, ct),
    shapes: [[1, 3, 3, 1], [1, 2, 2, 2]],
    vary: [0],
  },
  {
    name: "conv2dBackpropFilter (only the output gradient)",
    f: (x, ct) => pullback((v) => conv2d(T(x), T(v)))(W4, ct),
    shapes: [[1, 3, 3, 1], [1, 2, 2, 2]],
    vary: [1],
  },
  {
    name: "conv2dBatched (vmap of conv2d, both batched)",
    f: (x, w) => convEach(x, w),
    shapes: [[2, 1, 4, 4, 2], [2, 2, 2, 2, 3]],
  },
  {
    name: "conv2dBatched (only the images)",
    f: (x, w) => convEach(x, w),
    shapes: [[2, 1, 4, 4, 2], [2, 2, 2, 2, 3]],
    vary: [0],
  },
  {
    name: "conv2dBatched (only the filters)",
    f: (x, w) => convEach(x, w),
    shapes: [[2, 1, 4, 4, 2], [2, 2, 2, 2, 3]],
    vary: [1],
  },
  {
    name: "conv2dBatchedBackpropInput",
    f: (w, ct) => pullback((u) => convEach(u, w))(X5, ct),
    shapes: [[2, 2, 2, 2, 3], [2, 1, 3, 3, 3]],
  },
  {
    name: "conv2dBatchedBackpropInput (only the output gradient)",
    f: (w, ct) => pullback((u) => convEach(u, w))(X5, ct),
    shapes: [[2, 2, 2, 2, 3], [2, 1, 3, 3, 3]],
    vary: [1],
  },
  {
    name: "conv2dBatchedBackpropFilter",
    f: (x, ct) => pullback((v) => convEach(x, v))(W5, ct),
    shapes: [[2, 1, 4, 4, 2], [2, 1, 3, 3, 3]],
  },
  {
    name: "conv2dBatchedBackpropFilter (only the images)",
    f: (x, ct) => pullback((v) => convEach(x, v))(W5, ct),
    shapes: [[2, 1, 4, 4, 2], [2, 1, 3, 3, 3]],
    vary: [0],
  },
  {
    name: "maxPool2d",
    f: (x) => maxPool2d(T(x), { size: 2 }),
    shapes: [[2, 4, 4, 2]],
    eps: 1e-3,
  },
  {
    name: "maxPool2d same stride 1",
    f: (x) => maxPool2d(T(x), { size: 3, stride: 1, padding: "same" }),
    shapes: [[1, 4, 5, 1]],
    eps: 1e-3,
  },
  {
    // maxPool2d's tangent: t at the argmax positions of x (no derivative in x).
    name: "maxPoolGather",
    f: (x, t) =>
      jvp((u: AnyTensor) => maxPool2d(T(u), { size: 2 }), [x], [t])[1],
    shapes: [[1, 4, 4, 2], [1, 4, 4, 2]],
    eps: 1e-3,
  },
  {
    name: "maxPoolGather (only the tangent)",
    f: (x, t) =>
      jvp((u: AnyTensor) => maxPool2d(T(u), { size: 2 }), [x], [t])[1],
    shapes: [[1, 4, 4, 2], [1, 4, 4, 2]],
    vary: [1],
  },
  {
    // maxPool2d's cotangent: ct added at the argmax positions of x.
    name: "maxPoolScatter",
    f: (x, ct) => pullback((u) => maxPool2d(T(u), { size: 2 }))(x, ct),
    shapes: [[1, 4, 4, 2], [1, 2, 2, 2]],
    eps: 1e-3,
  },
  {
    name: "maxPoolScatter (only the cotangent)",
    f: (x, ct) => pullback((u) => maxPool2d(T(u), { size: 2 }))(x, ct),
    shapes: [[1, 4, 4, 2], [1, 2, 2, 2]],
    vary: [1],
  },
  {
    name: "avgPool2d same",
    f: (x) => avgPool2d(T(x), { size: 2, padding: "same" }),
    shapes: [[1, 5, 5, 2]],
  },
  {
    name: "avgPoolBackward",
    f: (ct) =>
      square(
        pullback((u) => avgPool2d(T(u), { size: 2, padding: "same" }))(
          rand([1, 5, 5, 2], lcg(2)),
          ct,
        ),
      ),
    shapes: [[1, 3, 3, 2]],
  },
  {
    name: "globalAvgPool2d",
    f: (x) => globalAvgPool2d(T(x)),
    shapes: [[2, 3, 3, 2]],
  },
  { name: "softmax", f: (a) => softmax(T(a)), shapes: [[2, 5]] },
  { name: "logSoftmax", f: (a) => logSoftmax(T(a)), shapes: [[2, 5]] },
  {
    name: "crossEntropy",
    f: (a) => crossEntropy(T(a), T(labels)),
    shapes: [[3, 4]],
  },
  {
    // Soft targets, differentiated too (any nonnegative weights).
    name: "crossEntropy (float targets)",
    f: (a, t) => crossEntropy(T(a), T(t)),
    shapes: [[3, 4], [3, 4]],
    lo: 0.1,
    hi: 1,
  },
  {
    // The gradient with respect to the logits as a function: its own
    // derivatives (softmaxCrossEntropyGrad's rules), in both arguments.
    name: "crossEntropy's logits gradient",
    f: (a, t) => grad((z: AnyTensor) => crossEntropy(T(z), T(t)))(a),
    shapes: [[3, 4], [3, 4]],
    lo: 0.1,
    hi: 1,
  },
];

const tolerance = { fd: 2e-2, dot: 1e-4, second: 3e-2 };

/** The primitives whose jvp and vjp rules some row ran. */
const jvpRan = new Set<Primitive<never>>();
const vjpRan = new Set<Primitive<never>>();

function runRow(row: Row) {
  const rnd = lcg(row.name.length * 7919 + 17);
  const inputs = row.shapes.map((s) => rand(s, rnd, row.lo ?? -1, row.hi ?? 1));
  return checkRule(row.f, inputs, rnd, {
    ...(row.eps !== undefined ? { eps: row.eps } : {}),
    ...(row.second !== undefined ? { second: row.second } : {}),
    ...(row.vary !== undefined ? { vary: row.vary } : {}),
  });
}

for (const row of rows) {
  Deno.test(`gradient table: ${row.name}`, () => {
    const r = runRow(row);
    r.jvpRan.forEach((p) => jvpRan.add(p));
    r.vjpRan.forEach((p) => vjpRan.add(p));
    assert(
      r.fdError < tolerance.fd,
      `forward mode vs differences: ${r.fdError}`,
    );
    assert(r.dotError < tolerance.dot, `dot-product test: ${r.dotError}`);
    assert(r.secondError < tolerance.second, `second order: ${r.secondError}`);
  });
}

/** The primitives with no derivative to check, by file and name, and why. */
const nonDifferentiable: Record<string, Record<string, string>> = {
  "compare.ts": {
    eq: "int32 0/1 result",
    ne: "int32 0/1 result",
    gt: "int32 0/1 result",
    ge: "int32 0/1 result",
    lt: "int32 0/1 result",
    le: "int32 0/1 result",
  },
  "reduce.ts": { argmax: "int32 positions" },
  "layout.ts": {
    oneHot: "int32 labels in",
    cast: "changes the dtype; a cast to the same dtype is not bound",
    stopGradient: "zero derivative by definition (differences would disagree)",
  },
};

Deno.test("gradient table: every differentiable primitive has a row", async () => {
  const ops = await opsPrimitives();
  const missing: string[] = [];
  let count = 0;
  for (const [file, list] of ops) {
    const skip = nonDifferentiable[file] ?? {};
    for (const name of Object.keys(skip)) prim({ primitives: list }, name);
    for (const p of list) {
      if (p.name in skip) continue;
      count++;
      if (!jvpRan.has(p)) missing.push(`${file} ${p.name} (jvp)`);
      if (!vjpRan.has(p)) missing.push(`${file} ${p.name} (vjp)`);
    }
  }
  for (const file of Object.keys(nonDifferentiable)) {
    assert(ops.has(file), `src/ops/${file} has no primitives list`);
  }
  assertEquals(missing, [], `primitives without a row: ${missing.join(", ")}`);
  assertGreater(count, 40);
});

Deno.test("gradient table: a wrong rule is caught", () => {
  // Fresh copies of exp with a broken rule, applied directly; the same
  // harness must fail them. The shared primitive is left alone.
  const expPrim: Primitive<void> = prim(unaryOps, "exp");
  const wrongVjp: Primitive<void> = {
    ...expPrim,
    vjp: (ct) => [lax.mul(ct, 2)],
  };
  const wrongJvp: Primitive<void> = {
    ...expPrim,
    jvp: (_x, [t]) => t ?? null,
  };
  const rnd = lcg(5);
  const r1 = checkRule(
    (a) => bind(wrongVjp, [a], undefined),
    [rand([5], rnd)],
    rnd,
  );
  assertGreater(r1.dotError, 1e-2);
  const r2 = checkRule(
    (a) => bind(wrongJvp, [a], undefined),
    [rand([5], rnd)],
    rnd,
  );
  assertGreater(r2.fdError, 1e-1);
  // The right rules pass the same checks.
  const r3 = checkRule(
    (a) => bind(expPrim, [a], undefined),
    [rand([5], rnd)],
    rnd,
  );
  assert(r3.fdError < tolerance.fd && r3.dotError < tolerance.dot);
});

Deno.test("gradient table: a gradient that misses its unbroadcast is caught", () => {
  // div whose gradient for a broadcast divisor keeps the numerator's shape.
  const divPrim: Primitive<void> = prim(binaryOps, "div");
  const wrong: Primitive<void> = {
    ...divPrim,
    vjp: (ct, [, b], _p, out) => {
      if (b === undefined) throw new Error("div takes two inputs");
      return [lax.div(ct, b), lax.neg(lax.div(lax.mul(ct, out), b))];
    },
  };
  const rnd = lcg(6);
  const inputs = [rand([2, 3], rnd, 0.5, 2), rand([3], rnd, 0.5, 2)];
  assertThrows(
    () => checkRule((a, b) => bind(wrong, [a, b], undefined), inputs, rnd),
    Error,
    // The core's rule check (autodiff/core.ts) stops it before the table's own
    // shape check would.
    "the vjp of div returned a cotangent of shape [2, 3] for input 1 of shape [3]",
  );
});

Deno.test("gradient table: a wrong one-sided jvp branch is caught", () => {
  // mul whose jvp, with a tangent for `b` only, forgets the `a` factor.
  const mulPrim: Primitive<void> = prim(binaryOps, "mul");
  const wrong: Primitive<void> = {
    ...mulPrim,
    jvp: (xs, ts, p, out) => {
      const [ta, tb] = ts;
      return !ta && tb
        ? lax.broadcastTo(tb, out.shape)
        : mulPrim.jvp(xs, ts, p, out);
    },
  };
  const f: Fn = (a, b) => bind(wrong, [a, b], undefined);
  const rnd = lcg(7);
  const inputs = [rand([2, 3], rnd), rand([3], rnd)];
  // Both tangents given: the broken branch is not reached.
  assert(checkRule(f, inputs, rnd).fdError < tolerance.fd);
  const r = checkRule(f, inputs, rnd, { vary: [1] });
  assertGreater(r.fdError, 1e-1);
});
