// One table runs every optimizer on the same three problems and requires
// convergence within the stated steps; single steps are checked against
// numbers computed by hand; a deliberately wrong update rule fails the table.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  add,
  type AnyTensor,
  argmax,
  crossEntropy,
  deserialize,
  grad,
  jit,
  jvp,
  matmul,
  mul,
  optim,
  serialize,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  treeMap,
  valueAndGrad,
} from "../mod.ts";
import {
  copyTraffic,
  kernelMode,
  setKernels,
} from "../src/kernels/wasm/runtime.ts";

// ------------------------------------------------------------ problems

// (1) An anisotropic quadratic bowl with its minimum at c = (3, -2).
type Bowl = { x: Tensor<[2], "float32"> };
const bowlA = tensor([1, 10]), bowlC = tensor([3, -2]);
const bowl = (p: Bowl) => sum(mul(bowlA, square(sub(p.x, bowlC))));

// (2) Rosenbrock in 2-D, minimum at (1, 1); two scalar leaves.
type Rosen = { a: Tensor<[], "float32">; b: Tensor<[], "float32"> };
const rosenbrock = (p: Rosen) =>
  add(square(sub(1, p.a)), mul(square(sub(p.b, square(p.a))), 100));

// (3) Logistic regression (2 classes, softmax form) on separable points:
// class 1 when 2x - y > 0.5, with a margin of 0.3 kept empty.
const pts: number[] = [], cls: number[] = [];
for (let i = 0; i < 40; i++) {
  const x = Math.cos(i * 1.7) * 2, y = Math.sin(i * 2.3) * 2;
  const margin = 2 * x - y - 0.5;
  if (Math.abs(margin) < 0.3) continue;
  pts.push(x, y);
  cls.push(margin > 0 ? 1 : 0);
}
const X = tensor(pts, [cls.length, 2]);
const Y = tensor(new Int32Array(cls), [cls.length]);
type Logit = { w: Tensor<[2, 2], "float32">; b: Tensor<[2], "float32"> };
const logits = (p: Logit) => add(matmul(X, p.w), p.b);
const logistic = (p: Logit) =>
  crossEntropy(logits(p) as Tensor<[number, 2]>, Y);
const LOSS_TARGET = 0.1;

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

/** Builds an optimizer for a learning rate and a step budget (for schedules). */
type Make = (lr: number, steps: number) => optim.Optimizer;
type Three = [number, number, number];

/** Whether `make` converges on [bowl, Rosenbrock, logistic regression]. */
function converges(make: Make, lrs: Three, steps: Three): boolean[] {
  const b = run<Bowl>(
    make(lrs[0], steps[0]),
    bowl,
    { x: tensor([0, 0]) },
    steps[0],
  )
    .x.toFlat();
  const bowlOk = Math.hypot(b[0]! - 3, b[1]! + 2) < 1e-2;
  const r = run<Rosen>(
    make(lrs[1], steps[1]),
    rosenbrock,
    { a: tensor(-1.5), b: tensor(2) },
    steps[1],
  );
  const rosenOk = Math.hypot(r.a.item() - 1, r.b.item() - 1) < 0.05;
  const l = run<Logit>(make(lrs[2], steps[2]), logistic, {
    w: tensor([[0, 0], [0, 0]]),
    b: tensor([0, 0]),
  }, steps[2]);
  const pred = argmax(logits(l), { axis: 1 }).toFlat();
  const accurate = pred.every((v, i) => v === cls[i]);
  const logOk = accurate && logistic(l).item() < LOSS_TARGET;
  return [bowlOk, rosenOk, logOk];
}

// name, optimizer, learning rates and step budgets for [bowl, Rosenbrock, logistic].
const table: [string, Make, Three, Three][] = [
  ["sgd", (lr) => optim.sgd({ lr }), [0.05, 0.002, 0.5], [100, 1500, 200]],
  [
    "momentum",
    (lr) => optim.momentum({ lr, beta: 0.9 }),
    [0.05, 0.001, 0.05],
    [150, 1500, 40],
  ],
  [
    "nesterov momentum",
    (lr) => optim.momentum({ lr, beta: 0.9, nesterov: true }),
    [0.05, 0.001, 0.05],
    [100, 1500, 40],
  ],
  ["adam", (lr) => optim.adam({ lr }), [0.05, 0.05, 0.05], [200, 1500, 50]],
  [
    "adamw",
    (lr) => optim.adamw({ lr, weightDecay: 1e-4 }),
    [0.05, 0.05, 0.05],
    [200, 1500, 50],
  ],
  [
    "chain(clipByGlobalNorm, adam)",
    (lr) => optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr })),
    [0.05, 0.05, 0.05],
    [150, 250, 50],
  ],
  [
    "sgd with constantSchedule",
    (lr) => optim.sgd({ lr: optim.constantSchedule(lr) }),
    [0.05, 0.002, 0.5],
    [100, 1500, 200],
  ],
  [
    "sgd with stepSchedule",
    (lr, n) =>
      optim.sgd({
        lr: optim.stepSchedule({
          init: lr,
          decay: 0.5,
          every: Math.ceil(n / 3),
        }),
      }),
    [0.05, 0.002, 0.5],
    [150, 3000, 300],
  ],
  [
    "sgd with cosineSchedule",
    (lr, n) =>
      optim.sgd({
        lr: optim.cosineSchedule({ init: lr, steps: n, alpha: 0.1 }),
      }),
    [0.05, 0.002, 0.5],
    [150, 3000, 300],
  ],
  [
    "sgd with warmupCosine",
    (lr, n) =>
      optim.sgd({
        lr: optim.warmupCosine({
          peak: lr,
          warmup: Math.ceil(n / 10),
          steps: n,
          end: lr / 10,
        }),
      }),
    [0.05, 0.002, 0.5],
    [150, 8000, 300],
  ],
];

for (const [name, make, lrs, steps] of table) {
  Deno.test(
    `optim table: ${name} reaches the bowl's minimum, Rosenbrock's and 100% accuracy with loss below ${LOSS_TARGET}`,
    () => {
      assertEquals(converges(make, lrs, steps), [true, true, true]);
    },
  );
}

Deno.test("optim table: a wrong update rule (Adam ascending) fails every problem", () => {
  // The same pieces as adam, with a sign error between them.
  const flip: optim.GradientTransformation = {
    init: () => ({}),
    update: (u, s) => [treeMap((t) => mul(t, -1) as AnyTensor, u), s],
  };
  const broken: Make = (lr) =>
    optim.chain(optim.scaleByAdam(), flip, optim.scaleByLearningRate(lr));
  assertEquals(
    converges(broken, [0.05, 0.05, 0.05], [200, 1500, 50]),
    [false, false, false],
  );
});

// ------------------------------------------------------ single steps

const p0 = { w: tensor([1, -1]) };
const g1 = { w: tensor([0.5, 2]) };
const g2 = { w: tensor([1, 1]) };

/** Two updates with gradients g1 then g2 from p0; the parameters after each. */
function twoSteps(opt: optim.Optimizer): [number[], number[]] {
  const [a, s] = opt.update(g1, opt.init(p0), p0);
  const [b] = opt.update(g2, s, a);
  return [[...a.w.toFlat()], [...b.w.toFlat()]];
}

function assertClose(actual: number[], expected: number[], tol = 1e-6) {
  assertEquals(actual.length, expected.length);
  actual.forEach((v, i) => assertAlmostEquals(v, expected[i]!, tol));
}

Deno.test("optim sgd: p - lr * g", () => {
  const [a, b] = twoSteps(optim.sgd({ lr: 0.1 }));
  assertClose(a, [0.95, -1.2]);
  assertClose(b, [0.85, -1.3]);
});

Deno.test("optim momentum: v = beta v + g, p - lr v", () => {
  // v1 = g1 = [0.5, 2]; v2 = 0.9 v1 + g2 = [1.45, 2.8].
  const [a, b] = twoSteps(optim.momentum({ lr: 0.1, beta: 0.9 }));
  assertClose(a, [0.95, -1.2]);
  assertClose(b, [0.805, -1.48]);
});

Deno.test("optim nesterov momentum: p - lr (g + beta v)", () => {
  // u1 = g1 + 0.9 g1 = [0.95, 3.8]; v2 = [1.45, 2.8], u2 = g2 + 0.9 v2 = [2.305, 3.52].
  const [a, b] = twoSteps(
    optim.momentum({ lr: 0.1, beta: 0.9, nesterov: true }),
  );
  assertClose(a, [0.905, -1.38]);
  assertClose(b, [0.6745, -1.732]);
});

Deno.test("optim adam: bias-corrected moments", () => {
  // Step 1: mHat = g1, vHat = g1^2, so each weight moves by lr = 0.1.
  // Step 2: m = 0.09 g1 + 0.1 g2 = [0.145, 0.28], mHat = m / 0.19;
  // v = 0.000999 g1^2 + 0.001 g2^2 = [0.00124975, 0.004996], vHat = v / 0.001999;
  // update 0.1 mHat / sqrt(vHat) = [0.0965182, 0.0932180].
  // (Without bias correction step 1 would move by 0.1 * 0.1 / sqrt(0.001) = 0.316.)
  const [a, b] = twoSteps(optim.adam({ lr: 0.1 }));
  assertClose(a, [0.9, -1.1]);
  assertClose(b, [0.8034818, -1.1932180]);
});

Deno.test("optim adamw: p - lr (adam + weightDecay p)", () => {
  // Step 1: adam part = sign(g1) = [1, 1]; decay 0.5 p0 = [0.5, -0.5].
  const opt = optim.adamw({ lr: 0.1, weightDecay: 0.5 });
  const [a] = opt.update(g1, opt.init(p0), p0);
  assertClose([...a.w.toFlat()], [0.85, -1.05]);
  // weightDecay 0 is adam exactly.
  assertEquals(
    twoSteps(optim.adamw({ lr: 0.1, weightDecay: 0 })),
    twoSteps(optim.adam({ lr: 0.1 })),
  );
});

// Adam with a large eps, computed by hand from the textbook form
// u = mHat / (sqrt(vHat) + eps) with mHat = m / (1 - beta1^t) and
// vHat = v / (1 - beta2^t) (beta1 0.9, beta2 0.999, eps 0.5, lr 0.1, p0 = 0):
//   step 1: mHat = g, sqrt(vHat) = |g|, u = g / (|g| + 0.5):
//     g1 = [1, -2, 0.5, 4] -> u1 = [2/3, -0.8, 0.5, 8/9];
//   step 2: m = 0.09 g1 + 0.1 g2, v = 0.000999 g1^2 + 0.001 g2^2 with
//     g2 = [3, -1, -0.5, 2]; e.g. the first weight: m = 0.39, mHat = 0.39 / 0.19
//     = 2.0526316, v = 0.009999, vHat = v / 0.001999 = 5.0020010,
//     u2 = 2.0526316 / (2.2365600 + 0.5) = 0.7500895.
// The fused kernels fold the corrections into scalars (eps becomes
// eps * sqrt(1 - beta2^t)); eps left unscaled would give u1 = 0.0595 for g = 1.
const epsG1 = [1, -2, 0.5, 4], epsG2 = [3, -1, -0.5, 2];
const epsP1 = [-0.0666667, 0.08, -0.05, -0.0888889];
const epsP2 = [-0.1416756, 0.1508195, -0.0473684, -0.1693784];

/** `pattern` repeated to length `n`, as a float32 tensor of shape [n]. */
function tiled(pattern: number[], n: number): Tensor<[number], "float32"> {
  return tensor(Float32Array.from({ length: n }, (_, i) => pattern[i % 4]!), [
    n,
  ]);
}

/** The first four and last four values of a leaf. */
function ends(t: AnyTensor): number[] {
  const f = [...t.toFlat()];
  return [...f.slice(0, 4), ...f.slice(-4)];
}

Deno.test("optim adam eps: hand-computed steps with eps 0.5 on typed arrays and WebAssembly", () => {
  const opt = optim.adam({ lr: 0.1, eps: 0.5 });
  const before = setKernels(null);
  try {
    for (const mode of ["js", "wasm"] as const) {
      setKernels(mode);
      // 4 weights always take the typed-array loop; 1024 take the
      // WebAssembly kernel when it is in use.
      for (const n of [4, 1024]) {
        const p = { w: tiled([0, 0, 0, 0], n) };
        const out0 = copyTraffic().outBytes;
        const [a, s] = opt.update({ w: tiled(epsG1, n) }, opt.init(p), p);
        const [b] = opt.update({ w: tiled(epsG2, n) }, s, a);
        const onWasm = copyTraffic().outBytes > out0;
        assertEquals(
          onWasm,
          n === 1024 && kernelMode() === "wasm",
          `${mode} ${n}`,
        );
        const want = (x: number[]) => n === 4 ? x : [...x, ...x];
        assertClose(n === 4 ? [...a.w.toFlat()] : ends(a.w), want(epsP1));
        assertClose(n === 4 ? [...b.w.toFlat()] : ends(b.w), want(epsP2));
      }
    }
  } finally {
    setKernels(before);
  }
});

Deno.test("optim adam eps: the traced and the staged update agree with the hand-computed step", () => {
  const opt = optim.adam({ lr: 0.1, eps: 0.5 });
  const p = { w: tiled([0, 0, 0, 0], 4) };
  const s0 = opt.init(p);
  const [a, s1] = opt.update({ w: tensor(epsG1) }, s0, p);
  // Traced (jvp through the gradient), with the step count concrete.
  const step2 = (g: Tensor<[number], "float32">) =>
    opt.update({ w: g }, s1, a)[0].w;
  const [traced] = jvp(step2, [tensor(epsG2)], [tensor([0, 0, 0, 0])]);
  assertClose([...traced.toFlat()], epsP2);
  // Staged (jit), with the step count a tracer too; the corrections are then
  // float32 tensors, hence the looser tolerance.
  const staged = jit((
    g: { w: Tensor<[number], "float32"> },
    s: optim.OptState,
    q: typeof p,
  ) => opt.update(g, s, q));
  const [b1, t1] = staged({ w: tensor(epsG1) }, s0, p);
  assertClose([...b1.w.toFlat()], epsP1, 1e-5);
  const [b2] = staged({ w: tensor(epsG2) }, t1, b1);
  assertClose([...b2.w.toFlat()], epsP2, 1e-5);
});

Deno.test("optim adamw eps: hand-computed step with eps 0.5", () => {
  // u1 = g / (|g| + 0.5) as for adam; p1 = p0 - 0.1 (u1 + 0.5 p0).
  const opt = optim.adamw({ lr: 0.1, eps: 0.5, weightDecay: 0.5 });
  const p = { w: tensor([1, -1, 2, 0.5]) };
  const [a] = opt.update({ w: tensor(epsG1) }, opt.init(p), p);
  assertClose([...a.w.toFlat()], [
    1 - 0.1 * (2 / 3 + 0.5),
    -1 - 0.1 * (-0.8 - 0.5),
    2 - 0.1 * (0.5 + 1),
    0.5 - 0.1 * (8 / 9 + 0.25),
  ]);
});

Deno.test("optim clipByGlobalNorm: scales by maxNorm / norm only above maxNorm", () => {
  // |g1| = sqrt(4.25); clipped g1 = [0.2425356, 0.9701425].
  const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd({ lr: 0.1 }));
  const [a] = opt.update(g1, opt.init(p0), p0);
  assertClose([...a.w.toFlat()], [0.9757464, -1.0970143]);
  // Below the bound nothing changes.
  const loose = optim.chain(optim.clipByGlobalNorm(10), optim.sgd({ lr: 0.1 }));
  const [b] = loose.update(g1, loose.init(p0), p0);
  assertClose([...b.w.toFlat()], [0.95, -1.2]);
  // With adam: step 2 sees the clipped g2 = g2 / sqrt(2).
  const [, c] = twoSteps(
    optim.chain(optim.clipByGlobalNorm(1), optim.adam({ lr: 0.1 })),
  );
  assertClose(c, [0.8078782, -1.1979846]);
});

Deno.test("optim scheduled sgd uses lr(0) on the first update", () => {
  const step = optim.sgd({
    lr: optim.stepSchedule({ init: 0.1, decay: 0.5, every: 1 }),
  });
  assertClose(twoSteps(step)[1], [
    1 - 0.1 * 0.5 - 0.05 * 1,
    -1 - 0.1 * 2 - 0.05 * 1,
  ]);
  const cos = optim.sgd({ lr: optim.cosineSchedule({ init: 0.1, steps: 2 }) });
  assertClose(twoSteps(cos)[1], [
    1 - 0.1 * 0.5 - 0.05 * 1,
    -1 - 0.1 * 2 - 0.05 * 1,
  ]);
});

Deno.test("optim schedules: values at given steps", () => {
  const c = optim.constantSchedule(0.3);
  assertEquals([c(0), c(10_000)], [0.3, 0.3]);
  const s = optim.stepSchedule({ init: 1, decay: 0.1, every: 5 });
  assertEquals([s(0), s(4), s(5)], [1, 1, 0.1]);
  assertAlmostEquals(s(12), 0.01, 1e-15);
  const cos = optim.cosineSchedule({ init: 2, steps: 10, alpha: 0.5 });
  assertAlmostEquals(cos(0), 2);
  assertAlmostEquals(cos(5), 1.5); // 2 * (0.5 * 0.5 + 0.5)
  assertAlmostEquals(cos(10), 1);
  assertAlmostEquals(cos(20), 1);
  const w = optim.warmupCosine({
    init: 0.1,
    peak: 1,
    warmup: 4,
    steps: 14,
    end: 0.2,
  });
  assertAlmostEquals(w(0), 0.1);
  assertAlmostEquals(w(2), 0.55);
  assertAlmostEquals(w(4), 1);
  assertAlmostEquals(w(9), 0.6);
  assertAlmostEquals(w(14), 0.2);
  assertAlmostEquals(w(100), 0.2);
});

// ----------------------------------------------------- state and types

Deno.test("optim update keeps the parameters' type and tree structure", () => {
  const params = {
    dense: { w: tensor([[1, 2]]), b: tensor([0]) },
    layers: [tensor([3])],
  };
  const opt = optim.adam({ lr: 0.1 });
  const [next, state] = opt.update(params, opt.init(params), params);
  assertType<IsExact<typeof next, typeof params>>(true);
  assertEquals(next.dense.w.shape, [1, 2]);
  assertEquals(next.layers.length, 1);
  // The state is a pytree of tensors: the moments mirror the parameters.
  const adamState = (state.parts as optim.OptState[])[0]!;
  assertEquals((adamState.count as AnyTensor).item(), 1);
  assertEquals((adamState.count as AnyTensor).dtype, "int32");
  const m = adamState.m as typeof params;
  assertAlmostEquals(m.dense.w.toFlat()[1]!, 0.2, 1e-6);
});

Deno.test("optim state survives a safetensors round trip", () => {
  const opt = optim.chain(
    optim.clipByGlobalNorm(5),
    optim.adam({ lr: optim.cosineSchedule({ init: 0.1, steps: 10 }) }),
  );
  const [a, s] = opt.update(g1, opt.init(p0), p0);
  const restored = deserialize(serialize(s), opt.init(p0));
  const [direct] = opt.update(g2, s, a);
  const [resumed] = opt.update(g2, restored, a);
  assertEquals(resumed.w.toArray(), direct.w.toArray());
  // A fresh state (count 0) would give a different second step.
  const [fresh] = opt.update(g2, opt.init(p0), a);
  assert(fresh.w.toFlat()[0] !== direct.w.toFlat()[0]);
});

Deno.test("optim adam can be differentiated through (traced path matches the fused kernel)", () => {
  const opt = optim.adam({ lr: 0.1 });
  const [a, s] = opt.update(g1, opt.init(p0), p0);
  // f(w) = sum of the parameters after one more step whose gradient is w^2.
  const f = (w: Tensor<[2], "float32">) =>
    sum(opt.update({ w: square(w) }, s, { w })[0].w);
  const [traced, dw] = valueAndGrad(f)(a.w);
  const concrete = f(a.w).item();
  assertAlmostEquals(traced.item(), concrete, 1e-5);
  assertEquals(dw.shape, [2]);
  // A finite difference of the (concrete, fused) update agrees with the traced gradient.
  const h = 1e-2;
  const fd = (f(tensor([a.w.toFlat()[0]! + h, a.w.toFlat()[1]!])).item() -
    f(tensor([a.w.toFlat()[0]! - h, a.w.toFlat()[1]!])).item()) / (2 * h);
  assertAlmostEquals(dw.toFlat()[0]!, fd, 1e-2);
});

// ------------------------------------------------------------- errors

Deno.test("optim hyperparameters are validated", () => {
  const cases: [() => unknown, string][] = [
    [
      () => optim.sgd({ lr: -1 }),
      "Expected lr to be a positive finite number but found -1",
    ],
    [
      () => optim.sgd({ lr: NaN }),
      "Expected lr to be a positive finite number but found NaN",
    ],
    [
      () => optim.adam({ lr: 0.1, beta1: 1 }),
      "Expected beta1 to be in [0, 1) but found 1",
    ],
    [
      () => optim.adam({ lr: 0.1, beta2: -0.1 }),
      "Expected beta2 to be in [0, 1) but found -0.1",
    ],
    [
      () => optim.adam({ lr: 0.1, eps: 0 }),
      "Expected eps to be a positive finite number but found 0",
    ],
    [
      () => optim.momentum({ lr: 0.1, beta: 1.5 }),
      "Expected beta to be in [0, 1) but found 1.5",
    ],
    [
      () => optim.adamw({ lr: 0.1, weightDecay: -1 }),
      "Expected weightDecay to be a non-negative finite number but found -1",
    ],
    [
      () => optim.clipByGlobalNorm(0),
      "Expected maxNorm to be a positive finite number but found 0",
    ],
    [
      () => optim.constantSchedule(Infinity),
      "Expected value to be a positive finite number but found Infinity",
    ],
    [
      () => optim.stepSchedule({ init: 1, decay: 0, every: 2 }),
      "Expected decay to be in (0, 1] but found 0",
    ],
    [
      () => optim.stepSchedule({ init: 1, decay: 0.5, every: 1.5 }),
      "Expected every to be a positive integer but found 1.5",
    ],
    [
      () => optim.cosineSchedule({ init: 1, steps: 10, alpha: 2 }),
      "Expected alpha to be in [0, 1] but found 2",
    ],
    [
      () => optim.warmupCosine({ peak: 1, warmup: 10, steps: 10 }),
      "Expected steps to be an integer greater than warmup (10) but found 10",
    ],
  ];
  for (const [f, message] of cases) assertThrows(f, RangeError, message);
});

Deno.test("optim update checks gradients, parameters and schedules", () => {
  const sgd = optim.sgd({ lr: 0.1 });
  assertThrows(
    // @ts-expect-error: the gradient's shape [1] is not the parameter's [2]
    () => sgd.update({ w: tensor([1]) }, sgd.init(p0), p0),
    RangeError,
    "Expected the gradient of w to have shape [2] but found [1]",
  );
  assertThrows(
    () =>
      sgd.update(
        { v: tensor([1, 1]) } as unknown as typeof p0,
        sgd.init(p0),
        p0,
      ),
    TypeError,
    "Expected the gradients to have the structure of the parameters",
  );
  assertThrows(
    () => sgd.init({ labels: tensor(new Int32Array([1]), [1]) }),
    TypeError,
    "Expected every parameter to be float32 but found int32 at labels",
  );
  const bad = optim.sgd({ lr: (step) => (step < 1 ? 0.1 : NaN) });
  const [a, s] = bad.update(g1, bad.init(p0), p0);
  assertThrows(
    () => bad.update(g1, s, a),
    RangeError,
    "Expected the learning rate schedule to return a non-negative finite number at step 1 but found NaN",
  );
  const adam = optim.adam({ lr: 0.1 });
  assertThrows(
    () => adam.update(g1, sgd.init(p0), p0),
    RangeError,
    "Expected the optimizer state to hold 2 part states but found 1",
  );
  assertThrows(
    () => adam.update(g1, { parts: [null, {}] }, p0),
    TypeError,
    "Expected part 0 of the optimizer state to be an object but found null",
  );
  const scheduled = optim.sgd({ lr: () => 0.1 });
  assertThrows(
    () => scheduled.update(g1, { parts: [{ count: 3 }] }, p0),
    TypeError,
    "Expected the optimizer state to hold a count tensor but found number",
  );
});

Deno.test("optim adam: the one-pass step equals the chain's separate Adam update, rate and add, and keeps the chain's state", () => {
  // A third, identity part keeps the chain from fusing: the reference.
  const identity: optim.GradientTransformation = {
    init: () => ({}),
    update: (u, s) => [u, s],
  };
  const rates: optim.LearningRate[] = [
    0.05,
    optim.stepSchedule({ init: 0.1, decay: 0.5, every: 1 }),
  ];
  for (const lr of rates) {
    const fused = optim.adam({ lr });
    const plain = optim.chain(
      optim.scaleByAdam(),
      optim.scaleByLearningRate(lr),
      identity,
    );
    // 4 weights take the typed-array loop, 2048 the WebAssembly kernel.
    let p = { a: tiled([0.5, -1, 2, 0], 4), b: tiled([1, 0, -3, 0.25], 2048) };
    let q = p;
    let s = fused.init(p), t = plain.init(q);
    for (let step = 0; step < 4; step++) {
      const g = {
        a: tiled([0.1 * step - 0.2, 1, -2, 3], 4),
        b: tiled([2, -0.5 * step, 0.25, -1], 2048),
      };
      [p, s] = fused.update(g, s, p);
      [q, t] = plain.update(g, t, q);
      for (const k of ["a", "b"] as const) {
        const x = p[k].toFlat(), y = q[k].toFlat();
        x.forEach((v, i) =>
          assert(
            Math.abs(v - y[i]!) <= 2e-7 * Math.max(1, Math.abs(y[i]!)),
            `step ${step} ${k}[${i}]: ${v} vs ${y[i]}`,
          )
        );
      }
    }
    const parts = s.parts as [optim.OptState, optim.OptState];
    const ref = t.parts as [optim.OptState, optim.OptState, optim.OptState];
    assertEquals((parts[0].count as AnyTensor).item(), 4);
    assertEquals(
      (parts[0].m as { b: AnyTensor }).b.toFlat(),
      (ref[0].m as { b: AnyTensor }).b.toFlat(),
    );
    if (typeof lr === "number") assertEquals(parts[1], {});
    else assertEquals((parts[1].count as AnyTensor).item(), 4);
  }
});
