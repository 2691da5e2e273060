// vmap: composition with the other transformations in every order, its
// types, its error messages, and per-example gradients of the small CNN.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  add,
  type AnyTensor,
  crossEntropy,
  exp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  type Key,
  key,
  matmul,
  mul,
  normal,
  reshape,
  sum,
  tanh,
  type Tensor,
  tensor,
  treeFlatten,
  vjp,
  vmap,
} from "../mod.ts";
import { smallModel } from "../examples/mnist_lib.ts";
import { lcg, rand } from "./_gradcheck.ts";

const T = (x: AnyTensor) => x as never;

/** Largest difference relative to the largest magnitude of `want`. */
function relErr(got: AnyTensor, want: AnyTensor): number {
  assertEquals(got.shape, want.shape);
  const g = got.toFlat(), w = want.toFlat();
  let err = 0, scale = 0;
  for (let i = 0; i < w.length; i++) {
    scale = Math.max(scale, Math.abs(w[i]!));
    err = Math.max(err, Math.abs(g[i]! - w[i]!));
  }
  return err / Math.max(scale, 1e-30);
}

/** Row `b` of `t` (batch on axis 0). */
function row(t: AnyTensor, b: number): AnyTensor {
  const n = t.size / (t.shape[0] as number);
  const d = t.toFlat().slice(b * n, (b + 1) * n);
  return tensor(d as Float32Array, t.shape.slice(1)) as AnyTensor;
}

/** Stacks same-shaped tensors on a new axis 0. */
function stack(ts: AnyTensor[]): AnyTensor {
  const n = ts[0]!.size;
  const d = new Float32Array(ts.length * n);
  ts.forEach((t, i) => d.set(t.toFlat() as Float32Array, i * n));
  return tensor(d, [ts.length, ...ts[0]!.shape]) as AnyTensor;
}

const scalar = (v: number) =>
  tensor(new Float32Array([v]), []) as unknown as AnyTensor;

const rnd = lcg(2024);
const W = rand([3, 4], rnd);
const XS = rand([5, 2, 3], rnd);
const f = (x: AnyTensor, w: AnyTensor) =>
  sum(tanh(T(matmul(T(x), T(w))))) as AnyTensor;

Deno.test("vmap(grad(f)) equals a loop of gradients", () => {
  const perExample = vmap((x: AnyTensor) => grad((w: AnyTensor) => f(x, w))(W))(
    T(XS),
  ) as unknown as AnyTensor;
  const loop = [0, 1, 2, 3, 4].map((b) =>
    grad((w: AnyTensor) => f(row(XS, b), w))(W)
  );
  assert(relErr(perExample, stack(loop)) < 1e-6);
});

Deno.test("grad(x => sum(vmap(g)(x))) is the per-row derivative", () => {
  // g(x) = sum(x * exp(x)) per row: the derivative is exp(x) (1 + x).
  const g = (x: AnyTensor) => sum(mul(x, exp(T(x)))) as AnyTensor;
  const xs = rand([4, 3], rnd);
  const d = grad((x: AnyTensor) =>
    sum(vmap(g)(T(x)) as unknown as AnyTensor) as AnyTensor
  )(xs);
  const want = xs.toFlat().map((v) => Math.exp(v) * (1 + v));
  assert(relErr(d, tensor(want as Float32Array, [4, 3]) as AnyTensor) < 1e-6);
});

Deno.test("vmap(vmap(f)) equals a double loop, batch axes anywhere", () => {
  // Outer batch on axis 2 of x; inner batch on axis 0 of what remains; w shared.
  const xs = rand([2, 3, 4, 3], rnd); // per inner example [2, 3]: outer axis 2 (size 4), inner axis 1 (size 3)
  const inner = vmap((x: AnyTensor) => f(x, W), { inAxes: 1 });
  const got = vmap(inner as (x: AnyTensor) => AnyTensor, { inAxes: 2 })(
    T(xs),
  ) as unknown as AnyTensor;
  const d = xs.toFlat();
  const want: number[] = [];
  for (let o = 0; o < 4; o++) {
    for (let i = 0; i < 3; i++) {
      const ex = new Float32Array(6);
      for (let r = 0; r < 2; r++) {
        for (let c = 0; c < 3; c++) {
          ex[r * 3 + c] = d[((r * 3 + i) * 4 + o) * 3 + c]!;
        }
      }
      want.push(f(tensor(ex, [2, 3]) as AnyTensor, W).item());
    }
  }
  assertEquals(got.shape, [4, 3]);
  assert(
    relErr(got, tensor(new Float32Array(want), [4, 3]) as AnyTensor) < 1e-6,
  );
});

Deno.test("jvp of vmap and vmap of jvp agree with a loop of jvps", () => {
  const ts = rand([5, 2, 3], rnd);
  const fx = (x: AnyTensor) => f(x, W);
  const [y1, t1] = jvp(
    (x: AnyTensor) => vmap(fx)(T(x)) as unknown as AnyTensor,
    [XS],
    [ts],
  );
  const [y2, t2] = vmap((x: AnyTensor, t: AnyTensor) => jvp(fx, [x], [t]))(
    T(XS),
    T(ts),
  ) as unknown as [AnyTensor, AnyTensor];
  const loop = [0, 1, 2, 3, 4].map((b) => jvp(fx, [row(XS, b)], [row(ts, b)]));
  const y = stack(loop.map((p) => p[0])), t = stack(loop.map((p) => p[1]));
  assert(relErr(y1, y) < 1e-6 && relErr(y2, y) < 1e-6);
  assert(relErr(t1, t) < 1e-6 && relErr(t2, t) < 1e-6);
});

Deno.test("vjp of vmap equals the stacked pullbacks", () => {
  const fx = (x: AnyTensor) => f(x, W);
  const [, back] = vjp(
    (x: AnyTensor) => vmap(fx)(T(x)) as unknown as AnyTensor,
    XS,
  );
  const cts = rand([5], rnd);
  const [got] = back(cts);
  const loop = [0, 1, 2, 3, 4].map((b) =>
    vjp(fx, row(XS, b))[1](scalar(cts.toFlat()[b]!))[0]
  );
  assert(relErr(got, stack(loop)) < 1e-6);
});

Deno.test("jacfwd, jacrev and hessian on vmap match the closed forms", () => {
  // f(x) = tanh(A x): J = diag(1 - y^2) A.
  const A = rand([4, 3], rnd);
  const x = rand([3], rnd);
  const fa = (v: Tensor<[3]>) =>
    reshape(tanh(matmul(A as Tensor<[4, 3]>, reshape(v, [3, 1]))), [4]);
  const y = fa(x as Tensor<[3]>).toFlat();
  const a = A.toFlat();
  const want = new Float32Array(12);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 3; j++) {
      want[i * 3 + j] = (1 - y[i]! ** 2) * a[i * 3 + j]!;
    }
  }
  const J = tensor(want, [4, 3]) as AnyTensor;
  assert(relErr(jacfwd(fa)(x as Tensor<[3]>) as AnyTensor, J) < 1e-5);
  assert(relErr(jacrev(fa)(x as Tensor<[3]>) as AnyTensor, J) < 1e-5);
  // sum(x^3): H = diag(6 x).
  const cube = (v: Tensor<[3]>) => sum(mul(mul(v, v), v));
  const H = hessian(cube)(x as Tensor<[3]>);
  const xd = x.toFlat();
  const hw = new Float32Array(9);
  for (let i = 0; i < 3; i++) hw[i * 4] = 6 * xd[i]!;
  assert(relErr(H as AnyTensor, tensor(hw, [3, 3]) as AnyTensor) < 1e-5);
});

Deno.test("vmap maps pytrees: inAxes per argument applies to every leaf", () => {
  const params = { w: tensor([1, 2]), b: tensor([10]) };
  const batch = { x: tensor([[1, 1], [2, 0], [0, 3]]), s: tensor([1, 2, 3]) };
  const out = vmap(
    (p: typeof params, e: { x: Tensor<[2]>; s: Tensor<[]> }) => ({
      y: add(sum(mul(p.w, e.x)), p.b),
      z: [mul(e.s, 2)],
    }),
    { inAxes: [null, 0] },
  )(params, batch);
  assertEquals(out.y.toArray(), [[13], [12], [16]]);
  assertEquals(out.z[0]!.toArray(), [2, 4, 6]);
  assertType<IsExact<typeof out.y, Tensor<[3, 1], "float32">>>(true);
  // The batch is the leading dim of the leaves, not any other.
  // @ts-expect-error: out.y is [3, 1], not [1, 3].
  assertType<IsExact<typeof out.y, Tensor<[1, 3], "float32">>>(true);
  const _wrongLeaf = () =>
    vmap(
      (p: typeof params, e: { x: Tensor<[2]>; s: Tensor<[]> }) =>
        add(sum(mul(p.w, e.x)), p.b),
      { inAxes: [null, 0] },
      // @ts-expect-error: the examples' x is [3], not [2].
    )(params, { x: tensor([[1, 1, 1], [2, 0, 0]]), s: tensor([1, 2]) });
});

Deno.test("vmap passes shared arguments through untouched, keys included", () => {
  const xs = tensor([[1, 2, 3], [4, 5, 6]]);
  const noisy = vmap(
    (x: Tensor<[3]>, k: Key, s: number) => add(x, mul(normal(k, [3]), s)),
    { inAxes: [0, null, null] },
  )(xs, key(1), 0.5);
  const z = mul(normal(key(1), [3]), 0.5);
  assertEquals(noisy.toArray(), [
    add(row(xs, 0), z).toArray(),
    add(row(xs, 1), z).toArray(),
  ]);
});

Deno.test("vmap types: the batch goes in front for inAxes 0", () => {
  const xs = tensor([[1, 2, 3], [4, 5, 6]]); // Tensor<[2, 3]>
  const s = vmap((x: Tensor<[3]>) => sum(x))(xs);
  assertType<IsExact<typeof s, Tensor<[2], "float32">>>(true);
  assertEquals(s.toArray(), [6, 15]);
  const m = vmap((x: Tensor<[3]>) => reshape(x, [3, 1]))(xs);
  assertType<IsExact<typeof m, Tensor<[2, 3, 1], "float32">>>(true);
  // A batch on axis 1, and the result's batch last.
  const c = vmap((x: Tensor<[2]>) => mul(x, 2), { inAxes: 1, outAxes: -1 })(xs);
  assertType<IsExact<typeof c, Tensor<[2, 3], "float32">>>(true);
  assertEquals(c.toArray(), [[2, 4, 6], [8, 10, 12]]);
  const wrong = () =>
    // @ts-expect-error: the examples are [3], not [4].
    vmap((x: Tensor<[4]>) => sum(x))(xs);
  assert(typeof wrong === "function");
});

Deno.test("vmap errors are sentences with the numbers", () => {
  const g = (a: AnyTensor, b: AnyTensor) => add(a, b) as AnyTensor;
  const a = rand([3, 2], rnd), b = rand([4, 2], rnd);
  assertThrows(
    () => vmap(g)(T(a), T(b)),
    RangeError,
    "Expected every batched argument to have the same batch size but found 3 for argument 0 (axis 0) and 4 for argument 1 (axis 0)",
  );
  assertThrows(
    () => vmap(g, { inAxes: [0, 2] })(T(a), T(a)),
    RangeError,
    "Expected inAxes[1] to be an axis of argument 1, of shape [3, 2] (from -2 to 1), but found 2",
  );
  assertThrows(
    () => vmap(g, { inAxes: [0, 0, 0] })(T(a), T(a)),
    RangeError,
    "Expected inAxes to have one entry per argument (2) but found 3",
  );
  assertThrows(
    () => vmap(g, { inAxes: null })(T(a), T(a)),
    RangeError,
    "Expected at least one batched tensor among the arguments but found none",
  );
  assertThrows(
    () =>
      vmap((p: { w: AnyTensor; v: AnyTensor }) => p.w)({ w: a, v: b } as never),
    RangeError,
    "but found 3 for argument 0 (leaf w) (axis 0) and 4 for argument 0 (leaf v) (axis 0)",
  );
  assertThrows(
    () => vmap((x: AnyTensor) => x)(T(scalar(1))),
    RangeError,
    "Cannot batch argument 0 along axis 0 (inAxes): it is a scalar",
  );
  assertThrows(
    () => vmap((x: AnyTensor) => x, { outAxes: 3 })(T(a)),
    RangeError,
    "Expected outAxes to be an axis of output 0, of shape [3, 2] with the batch (from -2 to 1), but found 3",
  );
});

Deno.test("a tracer that escapes vmap is caught with a sentence", () => {
  let leak: AnyTensor | undefined;
  vmap((x: AnyTensor) => {
    leak = x;
    return x;
  })(T(rand([3, 2], rnd)));
  assertThrows(
    () => add(leak!, 1),
    TypeError,
    "Expected a live value in add but found a tensor that escaped the transformation that traced it",
  );
  assertThrows(
    () => leak!.toArray(),
    TypeError,
    "Cannot read a tensor of shape [2] that escaped the vmap that batched it",
  );
  assertThrows(
    () => vmap((x: AnyTensor) => scalar(x.toFlat()[0]!))(T(rand([3, 2], rnd))),
    TypeError,
    "Cannot read the values of a batched tensor of shape [2] inside vmap: it stands for 3 examples",
  );
});

Deno.test("per-example gradients of the small CNN at batch 64 equal a loop of grads", () => {
  const model = smallModel(0.25);
  const params = model.init(key(7), [28, 28, 1]);
  const r = lcg(99);
  const xs = rand([64, 28, 28, 1], r, 0, 1);
  const ys = tensor(
    Int32Array.from({ length: 64 }, () => Math.floor(r() * 10)),
    [64],
  );
  const k = key(5);
  // The loss of one example: the model sees a batch of one.
  type X = Tensor<[28, 28, 1]>;
  type Y = Tensor<[], "int32">;
  const loss = (p: typeof params, x: X, y: Y) =>
    crossEntropy(
      model.apply(p, reshape(x, [1, 28, 28, 1]), { training: true, key: k }),
      reshape(y, [1]),
    );
  const perExample = vmap((x: X, y: Y) => grad(loss)(params, x, y))(
    xs as Tensor<[64, 28, 28, 1]>,
    ys as Tensor<[64], "int32">,
  );
  const [got] = treeFlatten(perExample);
  const loops = Array.from(
    { length: 64 },
    (_, b) =>
      treeFlatten(grad(loss)(params, row(xs, b) as X, row(ys, b) as Y))[0],
  );
  got.forEach((leaf, i) => {
    const want = stack(loops.map((l) => l[i]!));
    const e = relErr(leaf, want);
    assert(e < 1e-5, `leaf ${i}: relative error ${e}`);
  });
});
