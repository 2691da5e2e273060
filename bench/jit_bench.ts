// jit against eager evaluation: the MLP and small-CNN training steps
// (forward, loss, gradients and Adam), and chains of 20 elementwise ops: one with
// transcendental functions (bound by computation) and one of arithmetic
// (bound by memory).
import {
  abs,
  add,
  crossEntropy,
  div,
  exp,
  greater,
  jit,
  type Key,
  key,
  log,
  maximum,
  minimum,
  mul,
  neg,
  nn,
  optim,
  randint,
  relu,
  type Shape,
  sigmoid,
  split,
  sqrt,
  square,
  sub,
  tanh,
  type Tensor,
  uniform,
  valueAndGrad,
  where,
} from "../mod.ts";
import { smallModel, type SmallParams } from "../examples/mnist_lib.ts";

/** A classifier of inputs of shape `[batch, ...S]` into 10 classes, with parameters `P`. */
interface Classifier<S extends Shape, P> {
  readonly init: (key: Key, inputShape: S) => NoInfer<P>;
  readonly apply: (
    params: NoInfer<P>,
    x: Tensor<[number, ...S]>,
    options?: nn.ApplyOptions,
  ) => Tensor<[number, 10]>;
}

/**
 * A training step: value and gradient, then Adam; eager, or the whole step
 * under one jit, or only the value and gradient under jit (the update then
 * runs Adam's own single-pass kernel).
 */
function trainer<S extends Shape, P>(
  model: Classifier<S, P>,
  inShape: S,
  x: Tensor<[number, ...S]>,
  y: Tensor<[number], "int32">,
  mode: "eager" | "jit step" | "jit gradient",
) {
  let params = model.init(key(1), inShape);
  const opt = optim.adam({ lr: 1e-3 });
  let state = opt.init(params);
  const loss = (
    p: P,
    xb: Tensor<[number, ...S]>,
    yb: Tensor<[number], "int32">,
  ) => crossEntropy(model.apply(p, xb, { training: true }), yb);
  const vg = mode === "jit gradient"
    ? jit(valueAndGrad(loss))
    : valueAndGrad(loss);
  const step0 = (
    p: P,
    s: optim.OptState,
    xb: Tensor<[number, ...S]>,
    yb: Tensor<[number], "int32">,
  ) => {
    const [, g] = vg(p, xb, yb);
    return opt.update(g, s, p);
  };
  const step = mode === "jit step" ? jit(step0) : step0;
  return () => {
    [params, state] = step(params, state, x, y);
  };
}

const [k1, k2, k3, k4, k5] = split(key(0), 5);

const mlp = nn.sequential(
  nn.dense({ units: 256, activation: "relu" }),
  nn.dense({ units: 128, activation: "relu" }),
  nn.dense({ units: 10 }),
);
type MlpParams = nn.ParamsOf<nn.RuleOf<typeof mlp>, [number, 784]>;
const xm = uniform(k1, [64, 784]);
const ym = randint(k2, [64], { min: 0, max: 10 });
for (const mode of ["eager", "jit step", "jit gradient"] as const) {
  Deno.bench({
    name: `MLP 784-256-128-10 step, batch 64, ${mode}`,
    group: "mlp step",
    baseline: mode === "eager",
    fn: trainer<[784], MlpParams>(mlp, [784], xm, ym, mode),
  });
}

const cnn = smallModel(0);
const xc = uniform(k3, [64, 28, 28, 1]);
const yc = randint(k4, [64], { min: 0, max: 10 });
for (const mode of ["eager", "jit step", "jit gradient"] as const) {
  Deno.bench({
    name: `small CNN step, batch 64, ${mode}`,
    group: "cnn step",
    baseline: mode === "eager",
    fn: trainer<[28, 28, 1], SmallParams>(cnn, [28, 28, 1], xc, yc, mode),
  });
}

/** A matrix and a row to broadcast over it, of sizes known at run time. */
type M = Tensor<[number, number]>;
type R = Tensor<[number]>;

function chain(x: M, b: R): M {
  let y = add(x, b);
  y = relu(y);
  y = mul(y, 0.5);
  y = sub(y, x);
  y = tanh(y);
  y = add(y, 1);
  y = sqrt(y);
  y = mul(y, x);
  y = sigmoid(y);
  y = exp(y);
  y = log(y);
  y = abs(y);
  y = neg(y);
  y = maximum(y, -0.7);
  y = minimum(y, b);
  y = div(y, 3);
  y = square(y);
  y = where(greater(y, 0.01), y, x);
  return add(y, b);
}
/** 20 cheap ops (arithmetic, comparisons, selections): bound by memory. */
function arith(x: M, b: R): M {
  let y = add(x, b);
  for (let i = 0; i < 3; i++) {
    y = mul(y, 0.9);
    y = sub(y, b);
    y = relu(y);
    y = add(y, x);
    y = maximum(y, 0.1);
    y = div(y, 1.5);
  }
  return where(greater(y, 0.5), y, x); // 1 + 18 + 2 = 21 ops
}
const xe: M = uniform(k5, [256, 1024]);
const be: R = uniform(key(7), [1024]);
const variants = [
  ["eager", chain],
  ["jit (auto: tiles)", jit(chain)],
  ["jit, generated per-element kernel", jit(chain, { fusion: "codegen" })],
  ["jit, no fusion", jit(chain, { fusion: "none" })],
] as const;
for (const [name, f] of variants) {
  Deno.bench({
    name: `20-op chain with 5 transcendentals on [256, 1024], ${name}`,
    group: "chain",
    baseline: name === "eager",
    fn: () => void f(xe, be),
  });
}
const arithVariants = [
  ["eager", arith],
  ["jit (auto: tiles)", jit(arith)],
  ["jit, generated per-element kernel", jit(arith, { fusion: "codegen" })],
  ["jit, no fusion", jit(arith, { fusion: "none" })],
] as const;
for (const [name, f] of arithVariants) {
  Deno.bench({
    name: `21-op arithmetic chain on [256, 1024], ${name}`,
    group: "arith chain",
    baseline: name === "eager",
    fn: () => void f(xe, be),
  });
}
// 16 MB per array: larger than the caches, so every eager pass goes to memory.
const xl: M = uniform(key(8), [1024, 4096]);
const bl: R = uniform(key(9), [4096]);
for (const [name, f] of arithVariants) {
  Deno.bench({
    name: `21-op arithmetic chain on [1024, 4096], ${name}`,
    group: "arith chain, large",
    baseline: name === "eager",
    fn: () => void f(xl, bl),
  });
}
