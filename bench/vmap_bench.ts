// vmap against loops: per-example gradients of the small CNN at batch 64
// (a loop of 64 single-example grads, vmap(grad), and the normal batch
// gradient for scale), and Jacobians and a Hessian built on vmap against the
// same built from one jvp or pullback per basis vector.
//
// Run: deno bench --allow-read --allow-env bench/vmap_bench.ts
import {
  add,
  concat,
  crossEntropy,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  key,
  matmul,
  mean,
  mul,
  reshape,
  type Shape,
  slice,
  split,
  tanh,
  type Tensor,
  tensor,
  transpose,
  uniform,
  vjp,
  vmap,
} from "../mod.ts";
import { makeOptimizer, smallModel } from "../examples/mnist_lib.ts";
import { privateGradient } from "../examples/per_example.ts";

// ------------------------------------------------- per-example gradients

type X = Tensor<[28, 28, 1]>;
type Y = Tensor<[], "int32">;
const model = smallModel(0.25);
const [k1, k2, k3] = split(key(0), 3);
const params = model.init(k1, [28, 28, 1]);
const xs = uniform(k2, [64, 28, 28, 1]);
const ys = tensor(new Int32Array(64).map((_, i) => (i * 7) % 10), [64]);
const exampleLoss = (p: typeof params, x: X, y: Y) =>
  crossEntropy(
    model.apply(p, reshape(x, [1, 28, 28, 1]), { training: true, key: k3 }),
    reshape(y, [1]),
  );
const xsRows = Array.from(
  { length: 64 },
  (_, b): X => reshape(slice(xs, b, b + 1), [28, 28, 1]),
);
const ysRows = Array.from(
  { length: 64 },
  (_, b): Y => reshape(slice(ys, b, b + 1), []),
);
const perExample = vmap((x: X, y: Y) => grad(exampleLoss)(params, x, y));
const batchLoss = (p: typeof params) =>
  crossEntropy(model.apply(p, xs, { training: true, key: k3 }), ys);

Deno.bench({
  name: "small CNN, batch 64: loop of 64 single-example grads",
  group: "per-example",
  baseline: true,
  n: 10,
  warmup: 3,
  fn: () => {
    for (let b = 0; b < 64; b++) {
      grad(exampleLoss)(params, xsRows[b]!, ysRows[b]!);
    }
  },
});
Deno.bench({
  name: "small CNN, batch 64: vmap(grad) per-example grads",
  group: "per-example",
  n: 10,
  warmup: 3,
  fn: () => void perExample(xs, ys),
});
Deno.bench({
  name: "small CNN, batch 64: normal step (grad of the mean loss)",
  group: "per-example",
  n: 10,
  warmup: 3,
  fn: () => void grad(batchLoss)(params),
});

// A whole training step: the normal one against DP-SGD's (per-example
// gradients, clipped, summed, noised), both with the same Adam update.
const opt = makeOptimizer("adam", 0.003);
const optState = opt.init(params);
Deno.bench({
  name: "small CNN, batch 64: normal training step (grad + Adam)",
  group: "training step",
  baseline: true,
  n: 10,
  warmup: 3,
  fn: () => void opt.update(grad(batchLoss)(params), optState, params),
});
Deno.bench({
  name: "small CNN, batch 64: DP-SGD step (vmap(grad), clip, noise, Adam)",
  group: "training step",
  n: 10,
  warmup: 3,
  fn: () => {
    const g = privateGradient(params, perExample(xs, ys), 1, 1, k3).grad;
    void opt.update(g, optState, params);
  },
});

// --------------------------------------------- the loops vmap replaces

/** The unit tensor of `shape` with a 1 at flat index `i`. */
function unit<S extends Shape>(shape: S, i: number): Tensor<S> {
  const d = new Float32Array(shape.reduce((p, n) => p * n, 1));
  d[i] = 1;
  return tensor(d, shape);
}

/** Stacks on a new axis 0 with differentiable ops (as the loop version did). */
function stack(ts: Tensor<Shape>[]): Tensor<Shape> {
  return concat(ts.map((t) => reshape(t, [1, ...t.shape])));
}

/** The Jacobian `[out, in]` of a vector function, one jvp per input. */
function jacfwdLoop<S extends Shape, O extends Shape>(
  f: (x: Tensor<S>) => Tensor<O>,
  x: Tensor<S>,
): Tensor<Shape> {
  const cols = Array.from(
    { length: x.size },
    (_, i) => jvp(f, [x], [unit(x.shape, i)])[1],
  );
  return transpose(reshape(stack(cols), [x.size, -1]));
}

/** The Jacobian rows `[out, in]`, one pullback per output. */
function jacrevLoop<S extends Shape, O extends Shape>(
  f: (x: Tensor<S>) => Tensor<O>,
  x: Tensor<S>,
): Tensor<Shape> {
  const [y, back] = vjp(f, x);
  return stack(
    Array.from({ length: y.size }, (_, j) => back(unit(y.shape, j))[0]),
  );
}

// ------------------------------------------------------ 100 -> 100

const [k4, k5, k6] = split(key(1), 3);
const A = mul(uniform(k4, [100, 100]), 0.1);
const x100 = uniform(k5, [100]);
const f100 = (x: Tensor<[100]>): Tensor<[100]> =>
  reshape(tanh(matmul(A, reshape(x, [100, 1]))), [100]);

Deno.bench({
  name: "jacfwd 100->100: loop of 100 jvps",
  group: "jacfwd 100->100",
  baseline: true,
  n: 20,
  warmup: 3,
  fn: () => void jacfwdLoop(f100, x100),
});
Deno.bench({
  name: "jacfwd 100->100: vmap over the jvps",
  group: "jacfwd 100->100",
  n: 20,
  warmup: 3,
  fn: () => void jacfwd(f100)(x100),
});
Deno.bench({
  name: "jacrev 100->100: loop of 100 pullbacks",
  group: "jacrev 100->100",
  baseline: true,
  n: 20,
  warmup: 3,
  fn: () => void jacrevLoop(f100, x100),
});
Deno.bench({
  name: "jacrev 100->100: vmap over the pullbacks",
  group: "jacrev 100->100",
  n: 20,
  warmup: 3,
  fn: () => void jacrev(f100)(x100),
});

// ------------------------------------- Hessian of a 1,000-parameter MLP

// theta (1000) = W1 [16, 40] (640) + b1 [40] + W2 [40, 8] (320); a fixed
// batch of 32 inputs; the loss is the mean squared output.
const inputs = uniform(k6, [32, 16]);
const theta = mul(uniform(key(2), [1000]), 0.2);
const mlpLoss = (t: Tensor<[1000]>) => {
  const w1 = reshape(slice(t, 0, 640), [16, 40]);
  const b1 = slice(t, 640, 680);
  const w2 = reshape(slice(t, 680, 1000), [40, 8]);
  const h = tanh(add(matmul(inputs, w1), b1));
  const out = matmul(h, w2);
  return mean(mul(out, out));
};

Deno.bench({
  name: "Hessian of a 1,000-parameter MLP: loop (1000 jvps of a pullback)",
  group: "hessian 1000",
  baseline: true,
  n: 2,
  warmup: 1,
  fn: () =>
    void jacfwdLoop(
      (t: Tensor<[1000]>) => reshape(jacrevLoop(mlpLoss, t), [1000]),
      theta,
    ),
});
Deno.bench({
  name: "Hessian of a 1,000-parameter MLP: jacfwd(jacrev) on vmap",
  group: "hessian 1000",
  n: 2,
  warmup: 1,
  fn: () => void hessian(mlpLoss)(theta),
});
