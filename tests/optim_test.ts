// One table runs every optimizer on the same three problems and requires
// convergence within the stated steps; single steps are checked against
// hand-computed numbers; a deliberately wrong update rule fails the table.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertFalse,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  add,
  type AnyTensor,
  argmax,
  crossEntropy,
  grad,
  matmul,
  mul,
  optim,
  sub,
  sum,
  type Tensor,
  tensor,
} from "../mod.ts";

type P = { x: Tensor<[2], "float32"> };

const bowlA = tensor([1, 10]), bowlC = tensor([3, -2]);
const bowl = (p: P) => sum(mul(bowlA, mul(sub(p.x, bowlC), sub(p.x, bowlC))));

const rosenbrock = (p: P) => {
  const a = mul(p.x, tensor([1, 0])), b = mul(p.x, tensor([0, 1]));
  const xa = sum(a), yb = sum(b);
  const t1 = sub(1, xa), t2 = sub(yb, mul(xa, xa));
  return add(mul(t1, t1), mul(mul(t2, t2), 100));
};

// 40 separable points: class 1 when 2x - y > 0.5.
const pts: number[] = [], cls: number[] = [];
for (let i = 0; i < 40; i++) {
  const x = Math.cos(i * 1.7) * 2, y = Math.sin(i * 2.3) * 2;
  const margin = 2 * x - y - 0.5;
  if (Math.abs(margin) < 0.3) continue;
  pts.push(x, y);
  cls.push(margin > 0 ? 1 : 0);
}
const X = tensor(pts, [cls.length, 2]),
  Y = tensor(new Int32Array(cls), [cls.length]);
type L = { w: Tensor<[2, 2], "float32">; b: Tensor<[2], "float32"> };
const logistic = (p: L) =>
  crossEntropy(add(matmul(X, p.w), p.b) as Tensor<[number, 2]>, Y);

function run<T>(
  opt: optim.Optimizer,
  f: (p: T) => AnyTensor,
  p0: T,
  steps: number,
): T {
  let p = p0, s = opt.init(p0);
  const g = grad(f);
  for (let i = 0; i < steps; i++) [p, s] = opt.update(g(p), s, p);
  return p;
}

type Make = (lr: number) => optim.Optimizer;

/** Whether the optimizer converges on [bowl, Rosenbrock, logistic regression]. */
function converges(
  make: Make,
  lrs: [number, number, number],
  steps: [number, number, number],
): [boolean, boolean, boolean] {
  const b = run<P>(make(lrs[0]), bowl, { x: tensor([0, 0]) }, steps[0]).x
    .toFlat();
  const bowlOk = Math.hypot(b[0]! - 3, b[1]! + 2) < 1e-2;
  const r = run<P>(make(lrs[1]), rosenbrock, { x: tensor([-1.5, 2]) }, steps[1])
    .x.toFlat();
  const rosenOk = Math.hypot(r[0]! - 1, r[1]! - 1) < 0.05;
  const l = run<L>(make(lrs[2]), logistic, {
    w: tensor([[0, 0], [0, 0]]),
    b: tensor([0, 0]),
  }, steps[2]);
  const pred = argmax(add(matmul(X, l.w), l.b)).toFlat();
  const acc = pred.filter((v, i) => v === cls[i]).length / cls.length;
  const logOk = acc === 1 && logistic(l).item() < 0.1;
  return [bowlOk, rosenOk, logOk];
}

// name, optimizer for a learning rate, rates and steps for [bowl, Rosenbrock, logistic].
const table: [
  string,
  Make,
  [number, number, number],
  [number, number, number],
][] = [
  ["sgd", (lr) => optim.sgd({ lr }), [0.04, 2e-3, 0.5], [300, 20000, 500]],
  ["momentum", (lr) => optim.momentum({ lr, beta: 0.9 }), [0.01, 1e-3, 0.1], [
    300,
    5000,
    500,
  ]],
  ["nesterov", (lr) => optim.momentum({ lr, beta: 0.9, nesterov: true }), [
    0.01,
    1e-3,
    0.1,
  ], [300, 5000, 500]],
  ["adam", (lr) => optim.adam({ lr }), [0.05, 0.05, 0.1], [400, 3000, 300]],
  ["adamw", (lr) => optim.adamw({ lr, weightDecay: 1e-5 }), [0.05, 0.05, 0.1], [
    400,
    3000,
    300,
  ]],
  [
    "clip + adam",
    (lr) => optim.chain(optim.clipByGlobalNorm(5), optim.adam({ lr })),
    [0.05, 0.05, 0.1],
    [
      400,
      3000,
      300,
    ],
  ],
  [
    "sgd, step schedule",
    (lr) =>
      optim.sgd({
        lr: optim.stepSchedule({ init: lr, decay: 0.9, every: 2000 }),
      }),
    [
      0.04,
      2e-3,
      0.5,
    ],
    [300, 25000, 500],
  ],
  [
    "adam, cosine schedule",
    (lr) =>
      optim.adam({
        lr: optim.cosineSchedule({ init: lr, steps: 3000, alpha: 0.1 }),
      }),
    [0.05, 0.05, 0.1],
    [400, 3000, 300],
  ],
];

for (const [name, make, lrs, steps] of table) {
  Deno.test(`optimizer table: ${name} converges on the bowl, Rosenbrock and logistic regression`, () => {
    assertEquals(converges(make, lrs, steps), [true, true, true]);
  });
}

Deno.test("optimizer table: a wrong update rule fails it", () => {
  // Adam without bias correction's square root on the second moment: wrong scale.
  const broken = (lr: number): optim.Optimizer => {
    const good = optim.scaleByAdam();
    const wrong: optim.GradientTransformation = {
      init: good.init,
      transform: (u, s, p) => {
        const [v, n] = good.transform(u, s, p);
        return [v.map((t) => mul(t, -1) as AnyTensor), n]; // ascends instead of descending
      },
    };
    return optim.chain(wrong, optim.scaleByLearningRate(lr));
  };
  const r = converges(broken, [0.05, 0.05, 0.1], [400, 3000, 300]);
  assertFalse(r[0] || r[1] || r[2]);
});

Deno.test("single steps match hand-computed numbers", () => {
  const p = { w: tensor([1, -1]) };
  const g = { w: tensor([0.5, 2]) };
  const [s1] = optim.sgd({ lr: 0.1 }).update(
    g,
    optim.sgd({ lr: 0.1 }).init(p),
    p,
  );
  assertEquals(s1.w.toArray(), [0.949999988079071, -1.2000000476837158]);
  // Adam's first step is lr * g / (|g| + eps): each weight moves by lr.
  const adam = optim.adam({ lr: 0.1 });
  let [a, st] = adam.update(g, adam.init(p), p);
  assertAlmostEquals(a.w.toFlat()[0]!, 0.9, 1e-6);
  assertAlmostEquals(a.w.toFlat()[1]!, -1.1, 1e-6);
  // Second step with gradient g2: m = 0.9*0.1*g + 0.1*g2 ... bias-corrected by hand.
  const g2 = { w: tensor([1, 1]) };
  [a, st] = adam.update(g2, st, a);
  const m = (g1: number, gg: number) =>
    (0.9 * 0.1 * g1 + 0.1 * gg) / (1 - 0.81);
  const v = (g1: number, gg: number) =>
    (0.999 * 0.001 * g1 * g1 + 0.001 * gg * gg) / (1 - 0.998001);
  const step = (g1: number, gg: number) =>
    0.1 * m(g1, gg) / (Math.sqrt(v(g1, gg)) + 1e-8);
  assertAlmostEquals(a.w.toFlat()[0]!, 0.9 - step(0.5, 1), 1e-5);
  assertAlmostEquals(a.w.toFlat()[1]!, -1.1 - step(2, 1), 1e-5);
  void st;
  // Momentum: v1 = g, v2 = 0.9 g + g.
  const mo = optim.momentum({ lr: 1, beta: 0.9 });
  let [q, ms] = mo.update({ w: tensor([1, 1]) }, mo.init(p), p);
  [q, ms] = mo.update({ w: tensor([1, 1]) }, ms, q);
  assertAlmostEquals(q.w.toFlat()[0]!, 1 - 1 - 1.9, 1e-6);
  void ms;
  assertType<IsExact<typeof q, { w: Tensor<[2], "float32"> }>>(true);
});

Deno.test("schedules and validation", () => {
  const s = optim.stepSchedule({ init: 1, decay: 0.1, every: 5 });
  assertAlmostEquals(s(12), 0.01, 1e-12);
  const c = optim.cosineSchedule({ init: 2, steps: 10, alpha: 0.5 });
  assertAlmostEquals(c(10), 1);
  assertAlmostEquals(c(20), 1);
  assertThrows(
    () => optim.sgd({ lr: -1 }),
    RangeError,
    "Expected lr to be a positive finite number but found -1",
  );
  assertThrows(
    () => optim.adam({ lr: 0.1, beta1: 1 }),
    RangeError,
    "Expected beta1 to be in [0, 1) but found 1",
  );
  assertThrows(
    () =>
      optim.sgd({ lr: 0.1 }).update({ w: tensor([1]) }, {}, {
        w: tensor([1, 2]),
      }),
    RangeError,
    "Expected the gradient of parameter 0 to have shape [2] but found [1]",
  );
  assert(optim.constantSchedule(0.3)(99) === 0.3);
});
