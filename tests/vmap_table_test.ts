// One table over every primitive: vmap(f)(xs) must equal stacking f(x) for
// each example, with batch axes in leading and other positions and with
// shared (unbatched) arguments. A test checks that every primitive's batching
// rule ran in some row: a primitive without a row fails it.
import { assert, assertEquals, assertGreater } from "@std/assert";
import {
  abs,
  add,
  type AnyTensor,
  argmax,
  avgPool2d,
  broadcastTo,
  cast,
  concat,
  conv2d,
  crossEntropy,
  customVjp,
  div,
  dropout,
  equal,
  exp,
  gather,
  grad,
  greater,
  greaterEqual,
  jvp,
  key,
  less,
  lessEqual,
  log,
  matmul,
  max,
  maximum,
  maxPool2d,
  minimum,
  mul,
  neg,
  normal,
  notEqual,
  oneHot,
  pow,
  relu,
  reshape,
  sigmoid,
  sign,
  slice,
  sqrt,
  step,
  stopGradient,
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
import { BatchTracer } from "../src/autodiff/vmap.ts";
import { dimOf } from "../src/tensor.ts";
import { biasRelu } from "../src/ops/fused.ts";
import { reluMaskOf } from "../src/ops/unary.ts";
import { lcg, opsPrimitives, prim, rand, recording } from "./_gradcheck.ts";
import * as layoutOps from "../src/ops/layout.ts";

type Fn = (...xs: AnyTensor[]) => AnyTensor;

/** One argument: its per-example shape, its batch axis (null: shared), int32 values below `int`. */
interface Arg {
  shape: number[];
  axis: number | null;
  int?: number;
  lo?: number;
  hi?: number;
}

interface Row {
  name: string;
  f: Fn;
  args: Arg[];
}

// The typed ops want a float32 tensor of known rank; the rows' inputs are
// built at run time, so they are handed over as such (the only cast here).
const T = (x: AnyTensor) => x as never;
const F = (a: number[], shape: number[]) => tensor(new Float32Array(a), shape);
const a = (
  shape: number[],
  axis: number | null = 0,
  more: Partial<Arg> = {},
) => ({ shape, axis, ...more });

/** The cotangent of `f` at `x` along `ct`, as a function of both (for the transposes). */
const pullback = (f: Fn) => (x: AnyTensor, ct: AnyTensor): AnyTensor => {
  const [g] = vjp((u: AnyTensor) => f(u), x)[1](ct);
  return g;
};
const X4 = F([0.3, -0.2, 0.9, 0.1, -0.5, 0.7, 0.2, -0.8, 0.4], [1, 3, 3, 1]);
const W4 = F([0.5, -1, 0.25, 2], [2, 2, 1, 1]);

const rows: Row[] = [
  // The softmax cross-entropy and its logits gradient: batch on either
  // argument or both, on any axis.
  {
    name: "crossEntropy (both batched)",
    f: (z, t) => crossEntropy(T(z), T(t)),
    args: [a([3, 4], 1), a([3, 4], 0, { lo: 0, hi: 1 })],
  },
  {
    name: "crossEntropy (targets shared)",
    f: (z, t) => crossEntropy(T(z), T(t)),
    args: [a([3, 4], 2), a([3, 4], null, { lo: 0, hi: 1 })],
  },
  {
    name: "crossEntropy's logits gradient (logits shared)",
    f: (z, t) => grad((u: AnyTensor) => crossEntropy(T(u), T(t)))(z),
    args: [a([3, 4], null), a([3, 4], 0, { lo: 0, hi: 1 })],
  },
  {
    name: "crossEntropy's logits gradient (both batched)",
    f: (z, t) => grad((u: AnyTensor) => crossEntropy(T(u), T(t)))(z),
    args: [a([3, 4], 1), a([3, 4], 2, { lo: 0, hi: 1 })],
  },
  // Unary elementwise: the batch stays where it is.
  { name: "neg", f: (x) => neg(x), args: [a([3, 4], 1)] },
  { name: "exp", f: (x) => exp(T(x)), args: [a([3, 4], 1)] },
  {
    name: "log",
    f: (x) => log(T(x)),
    args: [a([3, 4], 2, { lo: 0.5, hi: 2 })],
  },
  {
    name: "sqrt",
    f: (x) => sqrt(T(x)),
    args: [a([3], 0, { lo: 0.5, hi: 2 })],
  },
  { name: "abs", f: (x) => abs(x), args: [a([5], 1)] },
  { name: "sign", f: (x) => sign(x), args: [a([5], 0)] },
  { name: "step", f: (x) => step(x), args: [a([2, 3], 1)] },
  { name: "relu", f: (x) => relu(x), args: [a([2, 3], 2)] },
  { name: "sigmoid", f: (x) => sigmoid(T(x)), args: [a([4], 0)] },
  { name: "tanh", f: (x) => tanh(T(x)), args: [a([4], 1)] },
  {
    name: "reluMask (both batched, other axes)",
    f: (g, x) => reluMaskOf(g, x),
    args: [a([2, 3], 1), a([2, 3], 2)],
  },
  {
    name: "reluMask (x shared)",
    f: (g, x) => reluMaskOf(g, x),
    args: [a([2, 3], 0), a([2, 3], null)],
  },
  // Broadcasting binary ops.
  {
    name: "add (shared row)",
    f: (x, y) => add(x, y),
    args: [a([2, 3], 1), a([3], null)],
  },
  {
    name: "add (shared operand reaches the batch axis)",
    f: (x, y) => add(x, y),
    args: [a([2, 3], 2), a([2, 3], null)],
  },
  {
    name: "sub (ranks differ, both batched)",
    f: (x, y) => sub(x, y),
    args: [a([3], 0), a([2, 3], 2)],
  },
  { name: "mul", f: (x, y) => mul(x, y), args: [a([2, 3], 0), a([2, 3], 1)] },
  {
    name: "div",
    f: (x, y) => div(x, y),
    args: [a([4], 1), a([4], null, { lo: 0.5, hi: 2 })],
  },
  {
    name: "pow",
    f: (x, y) => pow(x, y),
    args: [a([4], 0, { lo: 0.5, hi: 2 }), a([4], 0)],
  },
  {
    name: "maximum",
    f: (x, y) => maximum(x, y),
    args: [a([2, 2], 0), a([2], null)],
  },
  {
    name: "minimum",
    f: (x, y) => minimum(x, y),
    args: [a([2, 2], 2), a([2, 1], 0)],
  },
  // Comparisons (small integers so that ties happen) and where.
  {
    name: "equal",
    f: (x, y) => equal(x, y),
    args: [a([6], 0, { int: 3 }), a([6], 1, { int: 3 })],
  },
  {
    name: "notEqual",
    f: (x, y) => notEqual(x, y),
    args: [a([6], 0, { int: 3 }), a([6], null, { int: 3 })],
  },
  {
    name: "greater",
    f: (x, y) => greater(x, y),
    args: [a([2, 3], 1), a([3], null)],
  },
  {
    name: "greaterEqual",
    f: (x, y) => greaterEqual(x, y),
    args: [a([6], 0, { int: 3 }), a([6], 0, { int: 3 })],
  },
  { name: "less", f: (x, y) => less(x, y), args: [a([3], 0), a([2, 3], 0)] },
  {
    name: "lessEqual",
    f: (x, y) => lessEqual(x, y),
    args: [a([6], 1, { int: 3 }), a([6], 0, { int: 3 })],
  },
  {
    name: "where",
    f: (c, x, y) => where(greater(c, 0), x, y),
    args: [a([2, 3], 1), a([3], null), a([2, 3], 0)],
  },
  // The fused op.
  {
    name: "biasRelu (shared bias)",
    f: (x, b) => biasRelu(x, b),
    args: [a([2, 3], 1), a([3], null)],
  },
  {
    name: "biasRelu (batch on the channel axis)",
    f: (x, b) => biasRelu(x, b),
    args: [a([2, 3], 2), a([3], null)],
  },
  {
    name: "biasRelu (per-example bias)",
    f: (x, b) => biasRelu(x, b),
    args: [a([2, 3], null), a([3], 0)],
  },
  {
    name: "biasRelu (both batched)",
    f: (x, b) => biasRelu(x, b),
    args: [a([2, 3], 1), a([3], 1)],
  },
  // Reductions.
  {
    name: "sum (axis before the batch)",
    f: (x) => sum(x, { axis: 0 }),
    args: [a([2, 3], 1)],
  },
  {
    name: "sum (all, keepDims)",
    f: (x) => sum(x, { keepDims: true }),
    args: [a([2, 3], 2)],
  },
  {
    name: "max (axes 0 and 2)",
    f: (x) => max(x, { axis: [0, 2] }),
    args: [a([2, 3, 2], 2)],
  },
  {
    name: "argmax",
    f: (x) => argmax(x, { axis: 0 }),
    args: [a([4, 3], 1)],
  },
  {
    name: "argmax (keepDims)",
    f: (x) => argmax(x, { keepDims: true }),
    args: [a([2, 4], 0)],
  },
  // Pooling and its gather / scatter.
  {
    name: "maxPool2d",
    f: (x) => maxPool2d(T(x), { size: 2 }),
    args: [a([2, 4, 4, 2], 0)],
  },
  {
    name: "maxPool2d (batch on axis 3)",
    f: (x) => maxPool2d(T(x), { size: 2, stride: 1, padding: "same" }),
    args: [a([1, 3, 3, 2], 3)],
  },
  {
    name: "maxPoolGather (jvp, both batched)",
    f: (x, t) =>
      jvp((u: AnyTensor) => maxPool2d(T(u), { size: 2 }), [x], [t])[1],
    args: [a([1, 4, 4, 1], 0), a([1, 4, 4, 1], 2)],
  },
  {
    name: "maxPoolGather (jvp, shared point)",
    f: (x, t) =>
      jvp((u: AnyTensor) => maxPool2d(T(u), { size: 2 }), [x], [t])[1],
    args: [a([1, 4, 4, 1], null), a([1, 4, 4, 1], 0)],
  },
  {
    name: "maxPoolScatter (vjp)",
    f: (x, ct) => pullback((u) => maxPool2d(T(u), { size: 2 }))(x, ct),
    args: [a([1, 4, 4, 2], 0), a([1, 2, 2, 2], 1)],
  },
  {
    name: "avgPool2d",
    f: (x) => avgPool2d(T(x), { size: 2, padding: "same" }),
    args: [a([1, 3, 3, 2], 1)],
  },
  {
    name: "avgPoolBackward (vjp)",
    f: (x, ct) => pullback((u) => avgPool2d(T(u), { size: 2 }))(x, ct),
    args: [a([1, 4, 4, 1], null), a([1, 2, 2, 1], 0)],
  },
  // Layout.
  {
    name: "reshape",
    f: (x) => reshape(x, [3, -1]),
    args: [a([2, 3], 1)],
  },
  {
    name: "transpose",
    f: (x) => transpose(x, [2, 0, 1]),
    args: [a([2, 3, 2], 2)],
  },
  {
    name: "transpose (only unit axes move: a reshape)",
    f: (x) => transpose(x, [1, 0, 2]),
    args: [a([1, 4, 2], 1)],
  },
  {
    name: "broadcastTo",
    f: (x) => broadcastTo(x, [2, 3, 2]),
    args: [a([3, 1], 1)],
  },
  {
    name: "slice",
    f: (x) => slice(x, 1, 3),
    args: [a([4, 2], 0)],
  },
  {
    name: "slice (batch after the sliced axis)",
    f: (x) => slice(x, 0, 2),
    args: [a([3, 2], 1)],
  },
  {
    name: "pad (the transpose of slice)",
    f: (x, ct) => pullback((u) => slice(u, 1, 3))(x, ct),
    args: [a([4, 2], null), a([2, 2], 1)],
  },
  {
    name: "concat (one shared)",
    f: (x, y) => concat([x, y], 1),
    args: [a([2, 3], 0), a([2, 1], null)],
  },
  {
    name: "concat (same batch axis)",
    f: (x, y) => concat([x, y], 0),
    args: [a([2, 3], 1), a([1, 3], 1)],
  },
  {
    name: "gather (table batched)",
    f: (x, i) => gather(T(x), T(i)),
    args: [a([4, 2], 1), a([3], null, { int: 4 })],
  },
  {
    name: "gather (indices batched)",
    f: (x, i) => gather(T(x), T(i)),
    args: [a([4, 2], null), a([2, 3], 1, { int: 4 })],
  },
  {
    name: "gather (both batched)",
    f: (x, i) => gather(T(x), T(i)),
    args: [a([4, 2], 2), a([3], 0, { int: 4 })],
  },
  {
    name: "scatterAdd (vjp of gather, shared indices)",
    f: (x, i, ct) => pullback((u) => gather(T(u), T(i)))(x, ct),
    args: [a([4, 2], null), a([5], null, { int: 4 }), a([5, 2], 1)],
  },
  {
    name: "scatterAdd (vjp of gather, batched indices)",
    f: (x, i, ct) => pullback((u) => gather(T(u), T(i)))(x, ct),
    args: [a([4, 2], null), a([5], 0, { int: 4 }), a([5, 2], null)],
  },
  {
    name: "oneHot",
    f: (i) => oneHot(T(i), 4),
    args: [a([2, 3], 1, { int: 4 })],
  },
  {
    name: "cast",
    f: (x) => cast(x, "int32"),
    args: [a([5], 0, { lo: -3, hi: 3 })],
  },
  { name: "stopGradient", f: (x) => stopGradient(x), args: [a([3], 0)] },
  // Matrix products.
  {
    name: "matmul (shared right matrix)",
    f: (x, y) => matmul(x, T(y)),
    args: [a([3, 4], 1), a([4, 2], null)],
  },
  {
    name: "matmul (shared left matrix)",
    f: (x, y) => matmul(x, T(y)),
    args: [a([3, 4], null), a([4, 2], 2)],
  },
  {
    name: "matmul (both batched, batch dims broadcast)",
    f: (x, y) => matmul(x, T(y)),
    args: [a([2, 3, 4], 1), a([4, 2], 0)],
  },
  {
    name: "matmul (shared batched left, batched right)",
    f: (x, y) => matmul(x, T(y)),
    args: [a([2, 3, 4], null), a([1, 4, 2], 3)],
  },
  // Convolutions: batched images, filters, or both; and both gradients.
  {
    name: "conv2d (images batched)",
    f: (x, w) => conv2d(T(x), T(w), { padding: "same" }),
    args: [a([2, 4, 4, 2], 0), a([3, 3, 2, 3], null)],
  },
  {
    name: "conv2d (filters batched)",
    f: (x, w) => conv2d(T(x), T(w), { stride: 2 }),
    args: [a([1, 5, 5, 2], null), a([3, 3, 2, 2], 4)],
  },
  {
    name: "conv2d (both batched: one batched kernel call)",
    f: (x, w) => conv2d(T(x), T(w)),
    args: [a([1, 4, 4, 2], 2), a([2, 2, 2, 3], 0)],
  },
  {
    name: "conv2dBackpropInput (output gradient batched)",
    f: (w, ct) => pullback((u) => conv2d(T(u), T(w)))(X4, ct),
    args: [a([2, 2, 1, 1], null), a([1, 2, 2, 1], 0)],
  },
  {
    name: "conv2dBackpropInput (filters batched)",
    f: (w, ct) => pullback((u) => conv2d(T(u), T(w)))(X4, ct),
    args: [a([2, 2, 1, 2], 1), a([1, 2, 2, 2], null)],
  },
  {
    name: "conv2dBackpropInput (both batched)",
    f: (w, ct) => pullback((u) => conv2d(T(u), T(w)))(X4, ct),
    args: [a([2, 2, 1, 2], 0), a([1, 2, 2, 2], 3)],
  },
  {
    name: "conv2dBackpropFilter (images batched)",
    f: (x, ct) => pullback((v) => conv2d(T(x), T(v)))(W4, ct),
    args: [a([1, 3, 3, 1], 1), a([1, 2, 2, 1], null)],
  },
  {
    name: "conv2dBackpropFilter (output gradient batched)",
    f: (x, ct) => pullback((v) => conv2d(T(x), T(v)))(W4, ct),
    args: [a([2, 3, 3, 1], null), a([2, 2, 2, 1], 2)],
  },
  {
    name: "conv2dBackpropFilter (both batched: per-example filter gradients)",
    f: (x, ct) => pullback((v) => conv2d(T(x), T(v)))(W4, ct),
    args: [a([1, 3, 3, 1], 0), a([1, 2, 2, 1], 0)],
  },
  {
    name: "conv2dBackpropFilter (both batched, padded, strided, direct kernel)",
    f: (x, ct) =>
      pullback((v) => conv2d(T(x), T(v), { padding: "same", stride: 2 }))(
        F([0.5, -1, 0.25, 2, 1, 0, -0.5, 0.3], [2, 2, 2, 1]),
        ct,
      ),
    args: [a([1, 5, 5, 2], 0), a([1, 3, 3, 1], 1)],
  },
  {
    name: "conv2dBackpropFilter (both batched, 5 channels, im2col kernel)",
    f: (x, ct) =>
      pullback((v) => conv2d(T(x), T(v)))(
        F(new Array(20).fill(0).map((_, i) => (i % 7) / 7 - 0.4), [2, 2, 5, 1]),
        ct,
      ),
    args: [a([2, 4, 4, 5], 0), a([2, 3, 3, 1], 3)],
  },
  // The batched convolutions under a further vmap (groups multiply).
  {
    name: "conv2dBatched (vmap of vmap)",
    f: (x, w) => vmap((u: AnyTensor, v: AnyTensor) => conv2d(T(u), T(v)))(x, w),
    args: [a([2, 1, 3, 3, 1], 0), a([2, 2, 2, 1, 2], 1)],
  },
  {
    name: "conv2dBatched gradients (vmap of vmap of vjp)",
    f: (x, w, ct) =>
      vmap((u: AnyTensor, v: AnyTensor, c: AnyTensor) => {
        const [, back] = vjp(
          (p: AnyTensor, q: AnyTensor) => conv2d(T(p), T(q)),
          u,
          v,
        );
        const [gx, gw] = back(T(c));
        return add(sum(gx), sum(gw));
      })(x, w, ct),
    args: [
      a([2, 1, 3, 3, 1], 0),
      a([2, 2, 2, 1, 2], null),
      a(
        [2, 1, 2, 2, 2],
        1,
      ),
    ],
  },
  // Composites that bring their own rule or randomness.
  {
    name: "customVjp",
    f: (x) =>
      customVjp(
        (u: AnyTensor): AnyTensor => mul(u, u),
        (ct, [u]) => [mul(ct, u)],
      )(x),
    args: [a([3], 1)],
  },
  {
    name: "random draws with an explicit key (shared by every example)",
    f: (x) =>
      add(
        dropout(T(x), { rate: 0.5, key: key(3) }),
        normal(key(4), [2, 3]),
      ),
    args: [a([2, 3], 1)],
  },
];

/** A tensor with the batch of `size` examples inserted at `axis`. */
function makeArg(arg: Arg, size: number, rnd: () => number): AnyTensor {
  const shape = arg.axis === null ? arg.shape : [
    ...arg.shape.slice(0, arg.axis),
    size,
    ...arg.shape.slice(arg.axis),
  ];
  if (arg.int !== undefined) {
    const n = shape.reduce((p, d) => p * d, 1);
    const d = new Int32Array(n);
    for (let i = 0; i < n; i++) d[i] = Math.floor(rnd() * arg.int);
    return tensor(d, shape);
  }
  return rand(shape, rnd, arg.lo ?? -1, arg.hi ?? 1);
}

/** Example `b` of `t` (batched along `axis`), by plain index arithmetic. */
function example(t: AnyTensor, axis: number, b: number): AnyTensor {
  const s = t.shape;
  const outer = s.slice(0, axis).reduce((p, d) => p * d, 1);
  const n = dimOf(s, axis);
  const inner = s.slice(axis + 1).reduce((p, d) => p * d, 1);
  const src = t.toFlat();
  const pick = (out: Float32Array | Int32Array) => {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        out[o * inner + i] = src[(o * n + b) * inner + i]!;
      }
    }
    return out;
  };
  const shape = s.filter((_, k) => k !== axis);
  return t.dtype === "int32"
    ? tensor(pick(new Int32Array(outer * inner)), shape)
    : tensor(pick(new Float32Array(outer * inner)), shape);
}

/**
 * The largest difference between `got` and the stacked loop results,
 * relative to their scale; infinite if the shape or dtype differs.
 */
function compare(got: AnyTensor, want: AnyTensor[], size: number): number {
  const w0 = want[0]!;
  const shape = [size, ...w0.shape];
  if (got.dtype !== w0.dtype || got.shape.join() !== shape.join()) {
    return Infinity;
  }
  const g = got.toFlat();
  let err = 0, scale = 1;
  want.forEach((w, b) => {
    const d = w.toFlat();
    for (let i = 0; i < d.length; i++) {
      scale = Math.max(scale, Math.abs(d[i]!));
      err = Math.max(err, Math.abs(g[b * d.length + i]! - d[i]!));
    }
  });
  return err / scale;
}

/** The primitives whose batching rule ran (applied to a batched value) in some row. */
const seen = new Set<Primitive<never>>();

/** Runs a row: vmap against the loop. */
function check(row: Row, size = 3): number {
  const rnd = lcg(row.name.length * 131 + 7);
  const ins = row.args.map((arg) => makeArg(arg, size, rnd));
  const inAxes = row.args.map((arg) => arg.axis);
  const f = recording(row.f, (prim, xs) => {
    if (xs.some((x) => x instanceof BatchTracer)) seen.add(prim);
  });
  const got: AnyTensor = vmap(f, { inAxes })(...ins);
  const want: AnyTensor[] = [];
  for (let b = 0; b < size; b++) {
    const xs = ins.map((x, i) => {
      const ax = inAxes[i] ?? null;
      return ax === null ? x : example(x, ax, b);
    });
    want.push(row.f(...xs));
  }
  return compare(got, want, size);
}

/** Every primitive of every ops module. */
const all: Primitive<never>[] = [...(await opsPrimitives()).values()].flat();

for (const row of rows) {
  Deno.test(`vmap table: ${row.name}`, () => {
    const err = check(row);
    assert(err <= 1e-5, `vmap differs from the loop by ${err} (relative)`);
  });
}

Deno.test("vmap table: every primitive has a row", () => {
  const missing = all.filter((p) => !seen.has(p)).map((p) => p.name);
  assertEquals(missing, [], `primitives without a row: ${missing.join(", ")}`);
  assertGreater(all.length, 50);
});

Deno.test("vmap table: a wrong rule is caught", () => {
  // A fresh copy of transpose whose batching rule claims the batch stays
  // where it was without moving it; the same harness must notice. The shared
  // primitive is left alone.
  type Perm = { perm: readonly number[] };
  const right: Primitive<Perm> = prim(layoutOps, "transpose");
  const wrong: Primitive<Perm> = {
    ...right,
    batch: (xs, dims, p, size) => [right.batch(xs, dims, p, size)[0], 1],
  };
  const perm = [2, 0, 1];
  const row = (prim: Primitive<Perm>): Row => ({
    name: "transpose",
    f: (x) => bind(prim, [x], { perm }),
    args: [a([2, 3, 2], 2)],
  });
  assert(check(row(right)) <= 1e-5);
  assertGreater(check(row(wrong)), 1e-2);
});
