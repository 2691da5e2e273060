import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  abs,
  add,
  type AnyTensor,
  arange,
  argmax,
  broadcastTo,
  cast,
  clip,
  concat,
  div,
  equal,
  exp,
  expandDims,
  flatten,
  gather,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  logSumExp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  notEqual,
  oneHot,
  pow,
  relu,
  reshape,
  sigmoid,
  slice,
  sqrt,
  squeeze,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  transpose,
  where,
  zeros,
} from "../mod.ts";
import { grad, jit, jvp, trace, vmap } from "../mod.ts";
import * as lax from "../src/ops/lax.ts";
import { linear, linearJvp } from "../src/autodiff/linear.ts";
import { bind, type Primitive } from "../src/autodiff/core.ts";

function unchanged(t: AnyTensor, before: number[]) {
  assertEquals([...t.toFlat()], before);
}

Deno.test("elementwise binary ops with broadcasting, inputs unchanged", () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([10, 20, 30]);
  const c = tensor([[2], [3]]);
  const s = add(a, b);
  assertType<IsExact<typeof s, Tensor<[2, 3], "float32">>>(true);
  assertEquals(s.toArray(), [[11, 22, 33], [14, 25, 36]]);
  assertEquals(sub(a, c).toArray(), [[-1, 0, 1], [1, 2, 3]]);
  assertEquals(mul(c, b).toArray(), [[20, 40, 60], [30, 60, 90]]);
  assertEquals(div(a, 2).toArray(), [[0.5, 1, 1.5], [2, 2.5, 3]]);
  assertEquals(div(6, tensor([2, 3])).toArray(), [3, 2]);
  assertEquals(sub(1, tensor([2, 3])).toArray(), [-1, -2]);
  assertEquals(pow(tensor([2, 3]), tensor([3, 2])).toArray(), [8, 9]);
  assertEquals(maximum(a, tensor([[3], [5]])).toArray(), [[3, 3, 3], [
    5,
    5,
    6,
  ]]);
  assertEquals(minimum(a, 2).toArray(), [[1, 2, 2], [2, 2, 2]]);
  const big = add(zeros([2, 1, 3]), tensor([[1], [2], [3], [4]]));
  assertType<IsExact<typeof big, Tensor<[2, 4, 3], "float32">>>(true);
  assertEquals(big.shape, [2, 4, 3]);
  unchanged(a, [1, 2, 3, 4, 5, 6]);
  unchanged(b, [10, 20, 30]);
  const i = add(tensor(new Int32Array([7, -7]), [2]), 2);
  assertEquals(i.dtype, "int32");
  assertEquals(div(tensor(new Int32Array([7, -7]), [2]), 2).toArray(), [3, -3]);
});

Deno.test("broadcast errors read as sentences with the numbers", () => {
  const msg =
    "Cannot broadcast shapes [2, 3] and [4]: dims 3 and 4 differ and neither is 1";
  assertThrows(
    () =>
      add(
        tensor([[1, 2, 3], [4, 5, 6]]) as AnyTensor,
        tensor([1, 2, 3, 4]) as AnyTensor,
      ),
    RangeError,
    msg,
  );
  // Not called: only the compiler's verdict matters here.
  const _bad = () =>
    // @ts-expect-error: Cannot broadcast shapes [2, 3] and [4]
    add(tensor([[1, 2, 3], [4, 5, 6]]), tensor([1, 2, 3, 4]));
  assertThrows(
    () => add(tensor([1]), tensor(new Int32Array([1]), [1]) as never),
    TypeError,
    "Expected operands of add to have the same dtype but found float32 and int32",
  );
});

Deno.test("unary ops", () => {
  const x = tensor([-2, 0, 3]);
  assertEquals(neg(x).toArray(), [2, -0, -3]);
  assertEquals(abs(x).toArray(), [2, 0, 3]);
  assertEquals(relu(x).toArray(), [0, 0, 3]);
  assertAlmostEquals(exp(tensor([1])).item(), Math.E, 1e-6);
  assertAlmostEquals(log(tensor([1])).item(), 0, 1e-7);
  assertEquals(sqrt(tensor([16])).item(), 4);
  assertAlmostEquals(sigmoid(tensor([2])).item(), 1 / (1 + Math.exp(-2)), 1e-6);
  assertAlmostEquals(tanh(tensor([0.5])).item(), Math.tanh(0.5), 1e-6);
  assertEquals(clip(x, -1, 1).toArray(), [-1, 0, 1]);
  assertThrows(
    () => clip(x, 1, -1),
    RangeError,
    "Expected lo <= hi in clip but found lo 1 and hi -1",
  );
  unchanged(x, [-2, 0, 3]);
});

Deno.test("comparisons give int32 masks and where picks", () => {
  const x = tensor([1, 2, 3]);
  const g = greater(x, 2);
  assertType<IsExact<typeof g, Tensor<[3], "int32">>>(true);
  assertEquals(g.toArray(), [0, 0, 1]);
  assertEquals(greaterEqual(x, 2).toArray(), [0, 1, 1]);
  assertEquals(less(x, 2).toArray(), [1, 0, 0]);
  assertEquals(lessEqual(x, 2).toArray(), [1, 1, 0]);
  assertEquals(equal(x, tensor([1, 0, 3])).toArray(), [1, 0, 1]);
  assertEquals(notEqual(x, 2).toArray(), [1, 0, 1]);
  assertEquals(where(g, x, tensor([[0], [-1]])).toArray(), [[0, 0, 3], [
    -1,
    -1,
    3,
  ]]);
});

Deno.test("reductions with axis and keepDims", () => {
  const x = tensor([[1, 5, 3], [4, 2, 6]]);
  const s0 = sum(x, { axis: 0 });
  assertType<IsExact<typeof s0, Tensor<[3], "float32">>>(true);
  assertEquals(s0.toArray(), [5, 7, 9]);
  const s1 = sum(x, { axis: -1, keepDims: true });
  assertType<IsExact<typeof s1, Tensor<[2, 1], "float32">>>(true);
  assertEquals(s1.toArray(), [[9], [12]]);
  const all = sum(x);
  assertType<IsExact<typeof all, Tensor<[], "float32">>>(true);
  assertEquals(all.item(), 21);
  assertEquals(mean(x, { axis: 1 }).toArray(), [3, 4]);
  assertEquals(max(x, { axis: 1 }).toArray(), [5, 6]);
  assertEquals(min(x).item(), 1);
  const am = argmax(x, { axis: 1 });
  assertType<IsExact<typeof am, Tensor<[2], "int32">>>(true);
  assertEquals(am.toArray(), [1, 2]);
  assertEquals(argmax(x, { axis: 0 }).toArray(), [1, 0, 1]);
  assertEquals(sum(zeros([2, 3, 4]), { axis: [0, 2] }).shape, [3]);
  const lse = logSumExp(tensor([[1000, 1000], [-1000, -1000]]), { axis: 1 });
  assertAlmostEquals(lse.toFlat()[0]!, 1000 + Math.LN2, 1e-3);
  assertAlmostEquals(lse.toFlat()[1]!, -1000 + Math.LN2, 1e-3);
  assertThrows(
    () => sum(x, { axis: 2 }),
    RangeError,
    "Axis 2 is out of range for shape [2, 3] of rank 2",
  );
  assertThrows(
    () => sum(x, { axis: [0, 0] }),
    RangeError,
    "Cannot reduce shape [2, 3] over axes [0, 0]: axis 0 is listed twice",
  );
  unchanged(x, [1, 5, 3, 4, 2, 6]);
});

Deno.test("matmul 2-D and batched, with a readable error", () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const b = tensor([[1, 0], [0, 1], [1, 1]]);
  const c = matmul(a, b);
  assertType<IsExact<typeof c, Tensor<[2, 2], "float32">>>(true);
  assertEquals(c.toArray(), [[4, 5], [10, 11]]);
  const batch = reshape(arange(12), [2, 2, 3]);
  const d = matmul(batch, b);
  assertEquals(d.shape, [2, 2, 2]);
  assertEquals(d.toArray(), [[[2, 3], [8, 9]], [[14, 15], [20, 21]]]);
  const msg =
    "Cannot multiply matrices of shapes [2, 3] and [4, 5]: inner dimensions 3 and 4 differ";
  // @ts-expect-error: Cannot multiply matrices of shapes [2, 3] and [4, 5]: inner dimensions 3 and 4 differ
  assertThrows(() => matmul(a, zeros([4, 5])), RangeError, msg);
  const dyn = zeros([4, 5]) as Tensor<[number, number]>;
  assertThrows(() => matmul(a, dyn), RangeError, msg);
  unchanged(a, [1, 2, 3, 4, 5, 6]);
});

Deno.test("layout ops: reshape, flatten, squeeze, expandDims, transpose, broadcastTo", () => {
  const x = arange(6);
  const r = reshape(x as Tensor<[6]>, [2, -1]);
  assertType<IsExact<typeof r, Tensor<[2, 3], "float32">>>(true);
  assertEquals(r.toArray(), [[0, 1, 2], [3, 4, 5]]);
  assertThrows(
    () => reshape(r, [4, 2] as number[]),
    RangeError,
    "Cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)",
  );
  assertThrows(
    // @ts-expect-error: 6 elements cannot become 8
    () => reshape(r, [4, 2]),
    RangeError,
    "Cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)",
  );
  const f = flatten(zeros([2, 12, 12, 64]));
  assertType<IsExact<typeof f, Tensor<[2, 9216], "float32">>>(true);
  const sq = squeeze(zeros([3, 1]), 1);
  assertType<IsExact<typeof sq, Tensor<[3], "float32">>>(true);
  assertThrows(
    () => squeeze(zeros([3, 2]) as AnyTensor, 1),
    RangeError,
    "Cannot squeeze axis 1 of shape [3, 2]: its dim is 2, not 1",
  );
  const e = expandDims(zeros([28, 28]), -1);
  assertType<IsExact<typeof e, Tensor<[28, 28, 1], "float32">>>(true);
  const t = transpose(r);
  assertType<IsExact<typeof t, Tensor<[3, 2], "float32">>>(true);
  assertEquals(t.toArray(), [[0, 3], [1, 4], [2, 5]]);
  const p = transpose(zeros([2, 3, 4]), [2, 0, 1]);
  assertType<IsExact<typeof p, Tensor<[4, 2, 3], "float32">>>(true);
  assertThrows(
    () => transpose(zeros([2, 3]), [0, 0] as number[]),
    RangeError,
    "Cannot transpose shape [2, 3] with permutation [0, 0]: it must list each axis from 0 to 1 exactly once",
  );
  assertEquals(broadcastTo(tensor([1, 2]), [2, 2]).toArray(), [[1, 2], [1, 2]]);
  unchanged(x, [0, 1, 2, 3, 4, 5]);
});

Deno.test("concat, slice, gather, oneHot, cast", () => {
  const a = tensor([[1, 2]]), b = tensor([[3, 4], [5, 6]]);
  const c = concat([a, b]);
  assertType<IsExact<typeof c, Tensor<[3, 2], "float32">>>(true);
  assertEquals(c.toArray(), [[1, 2], [3, 4], [5, 6]]);
  assertEquals(concat([b, b], 1).toArray(), [[3, 4, 3, 4], [5, 6, 5, 6]]);
  assertThrows(
    () => concat([a, tensor([[1, 2, 3]])] as AnyTensor[]),
    RangeError,
    "Cannot concatenate shapes [1, 2] and [1, 3] along axis 0: dims at axis 1 are 2 and 3",
  );
  const s = slice(c, 1, 3);
  assertType<IsExact<typeof s, Tensor<[2, 2], "float32">>>(true);
  assertEquals(s.toArray(), [[3, 4], [5, 6]]);
  assertThrows(
    () => slice(c, 2, 5 as number),
    RangeError,
    "Cannot slice rows 2 to 5 of shape [3, 2]: need 0 <= start <= end <= 3",
  );
  const idx = tensor(new Int32Array([2, 2, 0]), [3]);
  assertEquals(gather(c, idx).toArray(), [[5, 6], [5, 6], [1, 2]]);
  assertThrows(
    () => gather(c, tensor(new Int32Array([3]), [1])),
    RangeError,
    "Expected gather indices in [0, 3) but found 3 at position 0",
  );
  const oh = oneHot(tensor(new Int32Array([1, 0]), [2]), 3);
  assertType<IsExact<typeof oh, Tensor<[2, 3], "float32">>>(true);
  assertEquals(oh.toArray(), [[0, 1, 0], [1, 0, 0]]);
  assertThrows(
    () => oneHot(tensor(new Int32Array([5]), [1]), 3),
    RangeError,
    "Expected labels in [0, 3) but found 5 at position 0",
  );
  assertEquals(cast(tensor([2.7]), "int32").toArray(), [2]);
  unchanged(c, [1, 2, 3, 4, 5, 6]);
});

Deno.test("number dims fall back to runtime checks", () => {
  const n = 3 as number;
  const x = zeros([n, 4]);
  assertType<IsExact<typeof x, Tensor<[number, 4], "float32">>>(true);
  const y = matmul(x, zeros([4, 2]));
  assertType<IsExact<typeof y, Tensor<[number, 2], "float32">>>(true);
  assertEquals(y.shape, [3, 2]);
  assertThrows(
    () => matmul(x, zeros([n, 2])),
    RangeError,
    "Cannot multiply matrices of shapes [3, 4] and [3, 2]: inner dimensions 4 and 3 differ",
  );
});

Deno.test("int32 reductions follow NumPy: mean is float32, sum, max and min stay int32", () => {
  const i = tensor(new Int32Array([1, 2, 4, 7]), [2, 2]);
  const m = mean(i);
  assertType<IsExact<typeof m, Tensor<[], "float32">>>(true);
  assertEquals(m.dtype, "float32");
  assertEquals(m.item(), 3.5); // not 3: no integer division
  const m1 = mean(i, { axis: 1 });
  assertType<IsExact<typeof m1, Tensor<[2], "float32">>>(true);
  assertEquals(m1.dtype, "float32");
  assertEquals(m1.toArray(), [1.5, 5.5]);
  const s = sum(i, { axis: 0 });
  assertType<IsExact<typeof s, Tensor<[2], "int32">>>(true);
  assertEquals([s.dtype, s.toArray()], ["int32", [5, 9]]);
  const hi = max(i);
  assertType<IsExact<typeof hi, Tensor<[], "int32">>>(true);
  assertEquals([hi.dtype, hi.item()], ["int32", 7]);
  const lo = min(i, { axis: 0 });
  assertType<IsExact<typeof lo, Tensor<[2], "int32">>>(true);
  assertEquals([lo.dtype, lo.toArray()], ["int32", [1, 2]]);
  // The untyped core agrees.
  assertEquals(lax.mean(i).dtype, "float32");
  assertEquals(lax.mean(i).item(), 3.5);
  // Accuracy, with no cast: 2 of 3 predictions right.
  const logits = tensor([[0.1, 2, 0.3], [5, 1, 0], [0, 0, 1]]);
  const labels = tensor(new Int32Array([1, 0, 0]), [3]);
  const accuracy = mean(equal(argmax(logits, { axis: 1 }), labels));
  assertType<IsExact<typeof accuracy, Tensor<[], "float32">>>(true);
  assertAlmostEquals(accuracy.item(), 2 / 3, 1e-6);
  // Float means are unchanged (the cast is skipped) and still differentiable.
  const x = tensor([1, 2, 3, 6]);
  const [y, dy] = jvp((v: typeof x) => mean(v), [x], [tensor([4, 0, 0, 0])]);
  assertEquals([y.item(), dy.item()], [3, 1]);
});

Deno.test("linear primitives: the jvp applies the primitive to the tangents, zeros for missing ones", () => {
  const a = tensor([[1, 2]]), c = tensor([[3, 4], [5, 6]]);
  const ta = tensor([[10, 20]]);
  // concat with a constant second input: its tangent is zeros.
  const [y, dy] = jvp((v: typeof a) => concat([v, c]), [a], [ta]);
  assertEquals(y.toArray(), [[1, 2], [3, 4], [5, 6]]);
  assertEquals(dy.toArray(), [[10, 20], [0, 0], [0, 0]]);
  // gather: linear in the table, the indices are passed as they are.
  const idx = tensor(new Int32Array([1, 0, 1]), [3]);
  const [, dg] = jvp((v: typeof c) => gather(v, idx), [c], [
    tensor([[1, 2], [3, 4]]),
  ]);
  assertEquals(dg.toArray(), [[3, 4], [1, 2], [3, 4]]);
  // The single-input ones: the same op on the tangent.
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  const dt = tensor([[1, 0, 2], [0, 3, 0]]);
  const ops: ((v: typeof t) => AnyTensor)[] = [
    (v: typeof t) => sum(v, { axis: 1 }),
    (v: typeof t) => reshape(v, [3, 2]),
    (v: typeof t) => transpose(v),
    (v: typeof t) => broadcastTo(v, [2, 2, 3]),
    (v: typeof t) => slice(v, 1, 2),
  ];
  for (const f of ops) {
    const [, d] = jvp(f, [t], [dt]);
    assertEquals(d.toArray(), f(dt).toArray());
  }
});

Deno.test("linearJvp: null when every tangent is null, zeros for a null one, fixed inputs as they are", () => {
  const seen: AnyTensor[][] = [];
  const pair: Primitive<void, readonly [AnyTensor, AnyTensor]> = linear({
    name: "pairSum",
    impl: ([x, y]) => {
      seen.push([x, y]);
      return lax.add(x, y);
    },
    vjp: (ct) => [ct, ct],
    batch: ([x, y], [d]) => [bind(pair, [x, y], undefined), d],
  }, { fixed: [1] });
  const x = tensor([1, 2]), y = tensor([3, 4]);
  assertEquals(linearJvp(pair, [x, y], [null, null], undefined), null);
  // A tangent on a fixed input only does not make the output's tangent nonzero.
  assertEquals(pair.jvp([x, y], [null, tensor([9, 9])], undefined, x), null);
  assertEquals(seen.length, 0);
  const t = pair.jvp([x, y], [tensor([1, 1]), tensor([9, 9])], undefined, x);
  assertEquals(t?.toArray(), [4, 5]); // the tangent plus the fixed primal y
  assertStrictEquals(seen[0]?.[1], y);
  const both = linear<void, readonly [AnyTensor, AnyTensor]>({
    name: "plain",
    impl: ([u, v]) => lax.add(u, v),
    vjp: (ct) => [ct, ct],
    batch: ([u, v], [d]) => [lax.add(u, v), d],
  });
  const z = both.jvp([x, y], [null, tensor([7, 8])], undefined, x);
  assertEquals(z?.toArray(), [7, 8]); // zeros + the tangent of y
});

Deno.test("matmul's derivatives read an operand transposed instead of transposing it, to first and second order, under jit and vmap", () => {
  const a: AnyTensor = tensor([[1, -2, 3, 0.5], [0, 1, -1, 2], [2, 0, 1, -3]]);
  const b: AnyTensor = tensor([[1, 2], [-1, 0.5], [0, 3], [2, -2]]);
  const T = (t: AnyTensor) => lax.transpose(t, [1, 0]);
  const f = (x: AnyTensor, y: AnyTensor) =>
    lax.sum(lax.square(lax.matmul(x, y)));
  const gA = grad((x: AnyTensor) => f(x, b));
  const gB = grad((y: AnyTensor) => f(a, y));
  // d/dx = 2 (x y) y^T, d/dy = 2 x^T (x y), by explicit transposes.
  const xy = lax.matmul(a, b);
  const wantA = lax.mul(lax.matmul(xy, T(b)), 2);
  const wantB = lax.mul(lax.matmul(T(a), xy), 2);
  assertEquals(gA(a).toArray(), wantA.toArray());
  assertEquals(gB(b).toArray(), wantB.toArray());
  // The staged gradients: matmuls with a transposed operand, no transpose.
  for (
    const [g, x, flag] of [[gA, a, "transB=true"], [
      gB,
      b,
      "transA=true",
    ]] as const
  ) {
    const program = trace(g)(x);
    const names = program.equations.map((e) => e.primitive);
    assert(!names.includes("transpose"), `no transpose in ${names}`);
    assert(program.toString().includes(flag), program.toString());
    // jit runs the staged products (their shape rule reads the flags).
    assertEquals(jit(g)(x).toArray(), g(x).toArray());
  }
  // Second order: the derivative of d/dx along v is 2 (v y) y^T.
  const v: AnyTensor = tensor([[0.5, 0, -1, 1], [1, 1, 0, 0], [
    0,
    -2,
    0.25,
    1,
  ]]);
  const [, hv] = jvp((x: AnyTensor) => gA(x), [a], [v]);
  assertEquals(
    hv.toArray(),
    lax.mul(lax.matmul(lax.matmul(v, b), T(b)), 2).toArray(),
  );
  // The gradient of a gradient (transposed products of transposed products):
  // d/dy sum(2 (x y) y^T) against finite differences of its sum.
  const gg = grad((y: AnyTensor) =>
    lax.sum(grad((x: AnyTensor) => f(x, y))(a))
  )(b);
  const h = 1e-2, bf = b.toFlat(), ggf = gg.toFlat();
  for (let i = 0; i < bf.length; i++) {
    const at = (d: number) => {
      const p = bf.slice();
      p[i]! += d;
      const y = tensor(p, [4, 2]);
      return lax.sum(grad((x: AnyTensor) => f(x, y))(a)).item();
    };
    assertAlmostEquals(ggf[i]!, (at(h) - at(-h)) / (2 * h), 2e-2);
  }
  // vmap over examples of the gradient (the products made plain first).
  const a2 = lax.mul(a, -0.5);
  const xs = lax.concat([lax.expandDims(a, 0), lax.expandDims(a2, 0)], 0);
  const per = vmap((x: AnyTensor) => gA(x))(xs);
  assertEquals(per.toArray(), [gA(a).toArray(), gA(a2).toArray()]);
  // Batched operands: [2, 3, 4] @ [4, 2], the right one broadcast.
  const gbat = grad((y: AnyTensor) => lax.sum(lax.square(lax.matmul(xs, y))))(
    b,
  );
  const want = lax.add(gB(b), grad((y: AnyTensor) => f(a2, y))(b)).toFlat();
  gbat.toFlat().forEach((x, i) => assertAlmostEquals(x, want[i]!, 1e-4));
});
