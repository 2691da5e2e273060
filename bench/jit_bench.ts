// jit against eager evaluation: the MLP and small-CNN training steps
// (forward, loss, gradients and Adam), and chains of 20 elementwise ops: one with
// transcendental functions (bound by computation) and one of arithmetic
// (bound by memory).
import {
  abs,
  add,
  type AnyTensor,
  crossEntropy,
  div,
  exp,
  greater,
  jit,
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
  sigmoid,
  split,
  sqrt,
  square,
  sub,
  tanh,
  uniform,
  valueAndGrad,
  where,
} from "../mod.ts";
import { smallModel } from "../examples/mnist_lib.ts";

type F = (...args: never[]) => unknown;

/**
 * A training step: value and gradient, then Adam; eager, or the whole step
 * under one jit, or only the value and gradient under jit (the update then
 * runs Adam's own single-pass kernel).
 */
function trainer(
  model: { init(k: unknown, s: number[]): unknown; apply: F },
  inShape: number[],
  x: AnyTensor,
  y: AnyTensor,
  mode: "eager" | "jit step" | "jit gradient",
) {
  let params = model.init(key(1), inShape);
  const opt = optim.adam({ lr: 1e-3 });
  let state = opt.init(params);
  const loss = (p: unknown, xb: AnyTensor, yb: AnyTensor) =>
    crossEntropy(
      (model.apply as (p: unknown, x: AnyTensor, o: unknown) => never)(
        p,
        xb,
        { training: true },
      ),
      yb as never,
    );
  const vg = mode === "jit gradient"
    ? jit(valueAndGrad(loss))
    : valueAndGrad(loss);
  const step0 = (
    p: unknown,
    s: optim.OptState,
    xb: AnyTensor,
    yb: AnyTensor,
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
  nn.dense({ units: 256 }),
  nn.relu(),
  nn.dense({ units: 128 }),
  nn.relu(),
  nn.dense({ units: 10 }),
);
const xm = uniform(k1, [64, 784]) as AnyTensor;
const ym = randint(k2, [64], { min: 0, max: 10 }) as AnyTensor;
for (const mode of ["eager", "jit step", "jit gradient"] as const) {
  Deno.bench({
    name: `MLP 784-256-128-10 step, batch 64, ${mode}`,
    group: "mlp step",
    baseline: mode === "eager",
    fn: trainer(mlp as never, [784], xm, ym, mode),
  });
}

const cnn = smallModel(0);
const xc = uniform(k3, [64, 28, 28, 1]) as AnyTensor;
const yc = randint(k4, [64], { min: 0, max: 10 }) as AnyTensor;
for (const mode of ["eager", "jit step", "jit gradient"] as const) {
  Deno.bench({
    name: `small CNN step, batch 64, ${mode}`,
    group: "cnn step",
    baseline: mode === "eager",
    fn: trainer(cnn as never, [28, 28, 1], xc, yc, mode),
  });
}

function chain(x: AnyTensor, b: AnyTensor): AnyTensor {
  let y = add(x, b) as AnyTensor;
  y = relu(y);
  y = mul(y, 0.5) as AnyTensor;
  y = sub(y, x) as AnyTensor;
  y = tanh(y as never);
  y = add(y, 1) as AnyTensor;
  y = sqrt(y as never);
  y = mul(y, x) as AnyTensor;
  y = sigmoid(y as never);
  y = exp(y as never);
  y = log(y as never);
  y = abs(y);
  y = neg(y);
  y = maximum(y, -0.7) as AnyTensor;
  y = minimum(y, b) as AnyTensor;
  y = div(y, 3) as AnyTensor;
  y = square(y);
  y = where(greater(y, 0.01), y, x) as AnyTensor;
  return add(y, b) as AnyTensor;
}
/** 20 cheap ops (arithmetic, comparisons, selections): bound by memory. */
function arith(x: AnyTensor, b: AnyTensor): AnyTensor {
  let y = add(x, b) as AnyTensor;
  for (let i = 0; i < 3; i++) {
    y = mul(y, 0.9) as AnyTensor;
    y = sub(y, b) as AnyTensor;
    y = relu(y);
    y = add(y, x) as AnyTensor;
    y = maximum(y, 0.1) as AnyTensor;
    y = div(y, 1.5) as AnyTensor;
  }
  return where(greater(y, 0.5), y, x) as AnyTensor; // 1 + 18 + 2 = 21 ops
}
const xe = uniform(k5, [256, 1024]) as AnyTensor;
const be = uniform(key(7), [1024]) as AnyTensor;
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
const xl = uniform(key(8), [1024, 4096]) as AnyTensor;
const bl = uniform(key(9), [4096]) as AnyTensor;
for (const [name, f] of arithVariants) {
  Deno.bench({
    name: `21-op arithmetic chain on [1024, 4096], ${name}`,
    group: "arith chain, large",
    baseline: name === "eager",
    fn: () => void f(xl, bl),
  });
}
