// One table over every differentiable primitive (and the main composites):
// forward mode against central differences, reverse mode by the dot-product
// test, and a second-order (Hessian-vector) check.
import { assert, assertGreater } from "@std/assert";
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
  greater,
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
  slice,
  softmax,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  tensor,
  transpose,
  where,
} from "../mod.ts";
import { biasRelu } from "../src/ops/fused.ts";
import { checkRule, type Fn, lcg, rand } from "./_gradcheck.ts";

type Row = {
  name: string;
  f: Fn;
  shapes: number[][];
  lo?: number;
  hi?: number;
  eps?: number;
  second?: boolean;
};

const T = (x: AnyTensor) => x as never;
const idx = tensor(new Int32Array([2, 0, 2, 1]), [4]);
const labels = tensor(new Int32Array([1, 0, 3]), [3]);

/** Every differentiable primitive has at least one row. */
export const rows: Row[] = [
  { name: "add (broadcast)", f: (a, b) => add(a, b), shapes: [[2, 3], [3]] },
  { name: "sub (broadcast)", f: (a, b) => sub(a, b), shapes: [[2, 1], [2, 3]] },
  { name: "mul (broadcast)", f: (a, b) => mul(a, b), shapes: [[2, 3], [2, 1]] },
  {
    name: "div",
    f: (a, b) => div(a, b),
    shapes: [[2, 3], [2, 3]],
    lo: 0.5,
    hi: 2,
  },
  { name: "pow", f: (a, b) => pow(a, b), shapes: [[4], [4]], lo: 0.5, hi: 2 },
  {
    name: "maximum",
    f: (a, b) => maximum(a, b),
    shapes: [[6], [6]],
    eps: 1e-3,
  },
  {
    name: "minimum",
    f: (a, b) => minimum(a, b),
    shapes: [[6], [6]],
    eps: 1e-3,
  },
  { name: "neg", f: (a) => neg(a), shapes: [[5]] },
  { name: "exp", f: (a) => exp(T(a)), shapes: [[5]] },
  { name: "log", f: (a) => log(T(a)), shapes: [[5]], lo: 0.5, hi: 2 },
  { name: "sqrt", f: (a) => sqrt(T(a)), shapes: [[5]], lo: 0.5, hi: 2 },
  { name: "abs", f: (a) => abs(a), shapes: [[5]], eps: 1e-3 },
  { name: "relu", f: (a) => relu(a), shapes: [[7]], eps: 1e-3 },
  {
    name: "biasRelu (fused bias add and relu)",
    f: (a, b) => biasRelu(a, b),
    shapes: [[2, 3, 4], [4]],
    eps: 1e-3,
  },
  {
    // Only the bias varies: its tangent is stretched over the batch.
    name: "biasRelu (bias only)",
    f: (b) => biasRelu(tensor([[0.3, -0.4, 0.5], [-0.2, 0.1, 0.6]]), b),
    shapes: [[3]],
    eps: 1e-3,
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
    name: "concat",
    f: (a, b) => square(concat([a, b], 1)),
    shapes: [[2, 3], [2, 1]],
  },
  { name: "gather", f: (a) => square(gather(T(a), idx)), shapes: [[3, 2]] },
  { name: "matmul", f: (a, b) => matmul(a, T(b)), shapes: [[3, 4], [4, 2]] },
  {
    name: "matmul (batched)",
    f: (a, b) => matmul(a, T(b)),
    shapes: [[2, 3, 4], [4, 2]],
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
    name: "avgPool2d same",
    f: (x) => avgPool2d(T(x), { size: 2, padding: "same" }),
    shapes: [[1, 5, 5, 2]],
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
    f: (a) => crossEntropy(T(a), T(labels)) as AnyTensor,
    shapes: [[3, 4]],
  },
];

const tolerance = { fd: 2e-2, dot: 1e-4, second: 3e-2 };

for (const row of rows) {
  Deno.test(`gradient table: ${row.name}`, () => {
    const rnd = lcg(row.name.length * 7919 + 17);
    const inputs = row.shapes.map((s) =>
      rand(s, rnd, row.lo ?? -1, row.hi ?? 1)
    );
    const r = checkRule(row.f, inputs, rnd, {
      ...(row.eps !== undefined ? { eps: row.eps } : {}),
      ...(row.second !== undefined ? { second: row.second } : {}),
    });
    assert(
      r.fdError < tolerance.fd,
      `forward mode vs differences: ${r.fdError}`,
    );
    assert(r.dotError < tolerance.dot, `dot-product test: ${r.dotError}`);
    assert(r.secondError < tolerance.second, `second order: ${r.secondError}`);
  });
}

Deno.test("gradient table: a wrong rule is caught", async () => {
  // Break exp's rules on purpose and check the same harness fails.
  const { expPrimForTests } = await import("../src/ops/unary.ts");
  const saved = { jvp: expPrimForTests.jvp, vjp: expPrimForTests.vjp };
  try {
    expPrimForTests.vjp = (ct) => [mul(ct, 2) as AnyTensor];
    const rnd = lcg(5);
    const r1 = checkRule((a) => exp(T(a)), [rand([5], rnd)], rnd);
    assertGreater(r1.dotError, 1e-2);
    expPrimForTests.vjp = saved.vjp;
    expPrimForTests.jvp = (_x, [t]) => t ?? null;
    const r2 = checkRule((a) => exp(T(a)), [rand([5], rnd)], rnd);
    assertGreater(r2.fdError, 1e-1);
  } finally {
    expPrimForTests.jvp = saved.jvp;
    expPrimForTests.vjp = saved.vjp;
  }
});
