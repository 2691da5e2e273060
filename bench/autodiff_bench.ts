// The overhead of tracing: a chain of 1000 small elementwise ops evaluated
// plainly and under grad, and one step of a 3-layer MLP (forward only vs
// forward + gradient).
import {
  add,
  crossEntropy,
  grad,
  key,
  mul,
  nn,
  split,
  sum,
  tanh,
  type Tensor,
  tensor,
  uniform,
  valueAndGrad,
} from "../mod.ts";

const x0 = tensor(new Float32Array(16).map((_, i) => i / 16), [16]);
function chain(x: Tensor<[16]>): Tensor<[]> {
  let h = x;
  for (let i = 0; i < 250; i++) {
    h = tanh(add(mul(h, 0.9), 0.1));
    h = mul(h, h);
  }
  return sum(h);
}

Deno.bench({
  name: "chain of 1000 ops, plain",
  group: "chain",
  baseline: true,
  fn: () => void chain(x0),
});
Deno.bench({
  name: "chain of 1000 ops, grad",
  group: "chain",
  fn: () => void grad(chain)(x0),
});

const mlp = nn.sequential(
  nn.dense({ units: 256, activation: "relu" }),
  nn.dense({ units: 128, activation: "relu" }),
  nn.dense({ units: 10 }),
);
const [k1, k2] = split(key(0));
const params = mlp.init(k1, [784]);
const xb = uniform(k2, [64, 784]);
const yb = tensor(new Int32Array(64).map((_, i) => i % 10), [64]);
const loss = (p: typeof params) => crossEntropy(mlp.apply(p, xb), yb);

Deno.bench({
  name: "MLP 784-256-128-10, batch 64, forward",
  group: "mlp",
  baseline: true,
  fn: () => void loss(params),
});
Deno.bench({
  name: "MLP 784-256-128-10, batch 64, forward + grad",
  group: "mlp",
  fn: () => void valueAndGrad(loss)(params),
});
