import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  add,
  argmax,
  conv2d as conv2dOp,
  crossEntropy,
  flatten as flattenOp,
  grad,
  jvp,
  key,
  matmul,
  maxPool2d as maxPoolOp,
  nn,
  optim,
  relu as reluOp,
  square,
  sum,
  type Tensor,
  tensor,
  uniform,
  valueAndGrad,
  zeros,
} from "../mod.ts";

Deno.test("sequential types the Keras MNIST network", () => {
  const model = nn.sequential(
    nn.conv2d({ filters: 32, kernel: 3 }),
    nn.relu(),
    nn.conv2d({ filters: 64, kernel: 3 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.dropout({ rate: 0.25 }),
    nn.flatten(),
    nn.dense({ units: 128 }),
    nn.relu(),
    nn.dropout({ rate: 0.5 }),
    nn.dense({ units: 10 }),
  );
  const params = model.init(key(0), [28, 28, 1]);
  assertType<
    IsExact<typeof params[7]["kernel"], Tensor<[9216, 128], "float32">>
  >(true);
  assertType<
    IsExact<typeof params[0]["kernel"], Tensor<[3, 3, 1, 32], "float32">>
  >(true);
  type Wrong = IsExact<
    typeof params[7]["kernel"],
    Tensor<[9216, 64], "float32">
  >;
  // @ts-expect-error: the first dense kernel is [9216, 128], not [9216, 64]
  assertType<Wrong>(true);
  assertEquals(params[7].kernel.shape, [9216, 128]);
  const x = zeros([2, 28, 28, 1]);
  const y = model.apply(params, x);
  assertType<IsExact<typeof y, Tensor<[2, 10], "float32">>>(true);
  assertEquals(y.shape, [2, 10]);
  const xb = zeros([3, 28, 28, 1]) as Tensor<[number, 28, 28, 1]>;
  const yb = model.apply(params, xb);
  assertType<IsExact<typeof yb, Tensor<[number, 10], "float32">>>(true);
});

Deno.test("sequential types the small network of the design sketch", () => {
  const model = nn.sequential(
    nn.conv2d({ filters: 8, kernel: 5 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.conv2d({ filters: 16, kernel: 5 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dropout({ rate: 0.5 }),
    nn.dense({ units: 10 }),
  );
  const params = model.init(key(0), [28, 28, 1]);
  assertType<IsExact<typeof params[8]["kernel"], Tensor<[256, 10], "float32">>>(
    true,
  );
  const y = model.apply(params, zeros([64, 28, 28, 1]), {
    training: true,
    key: key(1),
  });
  assertType<IsExact<typeof y, Tensor<[64, 10], "float32">>>(true);
});

Deno.test("a layer that does not fit is a compile error and a runtime RangeError with the same words", () => {
  const bad = nn.sequential(
    nn.conv2d({ filters: 8, kernel: 5 }),
    nn.flatten(),
    nn.dense({ units: 10, inputs: 784 }),
  );
  // The compile errors: these closures are type-checked, never called.
  const _a = () =>
    // @ts-expect-error: Layer 3 (dense): dense expects 784 input features but found 4608
    bad.init(key(0), [28, 28, 1]);
  assertThrows(
    () => bad.init(key(0), [28, 28, 1] as number[]),
    RangeError,
    "Layer 3 (dense): dense expects 784 input features but found 4608",
  );
  const noFlatten = nn.sequential(
    nn.conv2d({ filters: 4, kernel: 3 }),
    nn.dense({ units: 10 }),
  );
  const _b = () =>
    // @ts-expect-error: Layer 2 (dense) needs a rank-2 input
    noFlatten.init(key(0), [8, 8, 1]);
  assertThrows(
    () => noFlatten.init(key(0), [8, 8, 1] as never),
    RangeError,
    "Layer 2 (dense): dense needs a rank-2 input [batch, features] but found [1, 6, 6, 4]: add flatten() before it",
  );
  const tooBig = nn.sequential(
    nn.maxPool2d({ size: 2 }),
    nn.conv2d({ filters: 4, kernel: 5 }),
  );
  const _c = () =>
    // @ts-expect-error: Layer 2 (conv2d): the kernel exceeds the input
    tooBig.init(key(0), [6, 6, 1]);
  assertThrows(
    () => tooBig.init(key(0), [6, 6, 1] as never),
    RangeError,
    "Layer 2 (conv2d): Cannot convolve input [1, 3, 3, 1] with kernel [5, 5, 1, 4]: the dilated kernel height 5 exceeds the padded input height 3",
  );
});

Deno.test("models nest: a sequential is a layer", () => {
  const block = nn.sequential(
    nn.conv2d({ filters: 4, kernel: 3, padding: "same" }),
    nn.relu(),
  );
  const model = nn.sequential(
    block,
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dense({ units: 3 }),
  );
  const p = model.init(key(0), [8, 8, 2]);
  assertType<
    IsExact<typeof p[0][0]["kernel"], Tensor<[3, 3, 2, 4], "float32">>
  >(true);
  assertType<IsExact<typeof p[3]["kernel"], Tensor<[64, 3], "float32">>>(true);
  assertEquals(model.apply(p, zeros([5, 8, 8, 2])).shape, [5, 3]);
});

Deno.test("layers compute what the primitives compute", () => {
  const d = nn.dense({ units: 2 });
  const p = d.init(key(3), [3]);
  const x = tensor([[1, 2, 3]]);
  assertEquals(
    d.apply(p, x).toArray(),
    add(matmul(x, p.kernel), p.bias).toArray(),
  );
  const c = nn.conv2d({ filters: 2, kernel: 2, useBias: false });
  const pc = c.init(key(4), [3, 3, 1]);
  assertType<IsExact<typeof pc, { kernel: Tensor<[2, 2, 1, 2], "float32"> }>>(
    true,
  );
  const img = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  assertEquals(c.apply(pc, img).toArray(), conv2dOp(img, pc.kernel).toArray());
  const mp = nn.maxPool2d({ size: 2, stride: 1 });
  assertEquals(
    mp.apply(mp.init(key(0), [3, 3, 1]), img).toArray(),
    maxPoolOp(img, { size: 2, stride: 1 }).toArray(),
  );
});

Deno.test("dropout needs a key in training mode and is the identity at inference", () => {
  const d = nn.dropout({ rate: 0.5 });
  const p = d.init(key(0), [10]);
  const x = tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]);
  assertEquals(d.apply(p, x).toArray(), x.toArray());
  assertThrows(
    () => d.apply(p, x, { training: true }),
    TypeError,
    "Expected a key in apply's options because dropout is random in training mode",
  );
  const y = d.apply(p, x, { training: true, key: key(9) }).toFlat();
  assert(y.every((v) => v === 0 || v === 2));
  assertThrows(
    () => nn.dropout({ rate: 1 }),
    RangeError,
    "Expected rate to be in [0, 1) but found 1",
  );
});

Deno.test("batchNorm: state flows explicitly through applyWithState", () => {
  const bn = nn.batchNorm({ momentum: 0.9 });
  const p = bn.init(key(0), [2]);
  const s0 = bn.initState([2]);
  const x = tensor([[1, 10], [3, 30]]);
  const [y, s1] = bn.applyWithState(p, s0, x, { training: true });
  const yf = y.toFlat();
  assertAlmostEquals(yf[0]!, -1, 1e-2);
  assertAlmostEquals(yf[2]!, 1, 1e-2);
  assertAlmostEquals(s1.mean.toFlat()[0]!, 0.2, 1e-6);
  assertAlmostEquals(s1.mean.toFlat()[1]!, 2, 1e-5);
  assertEquals(s0.mean.toArray(), [0, 0]); // unchanged
  const yi = bn.apply(p, x, { state: s1 });
  assertEquals(yi.shape, [2, 2]);
  assertThrows(
    () => bn.apply(p, x),
    TypeError,
    "batchNorm uses running statistics at inference",
  );
});

Deno.test("summary lists layers, shapes and parameter counts", () => {
  const model = nn.sequential(
    nn.conv2d({ filters: 8, kernel: 5 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.conv2d({ filters: 16, kernel: 5 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dense({ units: 10 }),
  );
  const text = nn.summary(model, [28, 28, 1]);
  assertStringIncludes(text, "1 conv2d 5x5x8");
  assertStringIncludes(text, "[B, 24, 24, 8]");
  assertStringIncludes(text, "[B, 256]");
  // 5*5*1*8+8 + 5*5*8*16+16 + 256*10+10 = 208 + 3216 + 2570
  assertStringIncludes(text, "Total params: 5,994");
  const lines = text.split("\n");
  assertEquals(lines.filter((l) => /^\d+ /.test(l)).length, 8);
});

Deno.test("a tiny CNN learns vertical versus horizontal bars to 100%", () => {
  // 200 synthetic 8x8 images: a vertical or a horizontal bar at a random place.
  const n = 200;
  const xs = new Float32Array(n * 64);
  const ys = new Int32Array(n);
  let s = 12345;
  const rnd =
    () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < n; i++) {
    const vertical = i % 2;
    const pos = 1 + Math.floor(rnd() * 6);
    ys[i] = vertical;
    for (let j = 0; j < 8; j++) {
      const idx = vertical ? j * 8 + pos : pos * 8 + j;
      xs[i * 64 + idx] = 1;
    }
    for (let j = 0; j < 64; j++) xs[i * 64 + j]! += 0.1 * rnd();
  }
  const x = tensor(xs, [n, 8, 8, 1]);
  const y = tensor(ys, [n]);
  const model = nn.sequential(
    nn.conv2d({ filters: 4, kernel: 3 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dense({ units: 2 }),
  );
  let params = model.init(key(0), [8, 8, 1]);
  const opt = optim.adam({ lr: 0.05 });
  let state = opt.init(params);
  const loss = (p: typeof params) => crossEntropy(model.apply(p, x), y);
  const step = valueAndGrad(loss);
  for (let i = 0; i < 60; i++) {
    const [, g] = step(params);
    [params, state] = opt.update(g, state, params);
  }
  const pred = argmax(model.apply(params, x)).toFlat();
  const acc = pred.filter((p, i) => p === ys[i]).length / n;
  assertEquals(acc, 1);
});

Deno.test("sequential fuses dense/conv2d + relu into one epilogue with the same values and gradients", () => {
  const model = nn.sequential(
    nn.conv2d({ filters: 3, kernel: 3 }),
    nn.relu(),
    nn.flatten(),
    nn.dense({ units: 4 }),
    nn.relu(),
    nn.dense({ units: 2 }),
  );
  // Count the fused calls through the layers' runtime halves.
  let fusedCalls = 0;
  for (const l of [model.layers[0], model.layers[3]]) {
    const impl = (l as unknown as { impl: nn.LayerImpl }).impl;
    const runRelu = impl.runRelu!.bind(impl);
    Object.assign(impl, {
      runRelu: (...a: Parameters<typeof runRelu>) => {
        fusedCalls++;
        return runRelu(...a);
      },
    });
  }
  const p0 = model.init(key(0), [6, 6, 2]);
  // Biases of both signs, so that the relu cuts somewhere.
  const params = [
    { ...p0[0], bias: uniform(key(2), [3], { min: -0.5, max: 0.5 }) },
    p0[1],
    p0[2],
    { ...p0[3], bias: uniform(key(3), [4], { min: -0.5, max: 0.5 }) },
    p0[4],
    p0[5],
  ] as typeof p0;
  const x = uniform(key(1), [2, 6, 6, 2], { min: -1, max: 1 });
  const unfused = (p: typeof params, xx = x) => {
    const h = reluOp(add(conv2dOp(xx, p[0].kernel), p[0].bias));
    const f = reluOp(add(matmul(flattenOp(h), p[3].kernel), p[3].bias));
    return add(matmul(f, p[5].kernel), p[5].bias);
  };
  assertEquals(model.apply(params, x).toFlat(), unfused(params).toFlat());
  assertEquals(fusedCalls, 2);
  const loss =
    (f: (p: typeof params) => Tensor<[2, 2]>) => (p: typeof params) =>
      sum(square(f(p)));
  const g1 = grad(loss((p) => model.apply(p, x)))(params);
  const g2 = grad(loss(unfused))(params);
  for (const i of [0, 3, 5] as const) {
    assertEquals(g1[i].kernel.toFlat(), g2[i].kernel.toFlat(), `kernel ${i}`);
    assertEquals(g1[i].bias.toFlat(), g2[i].bias.toFlat(), `bias ${i}`);
  }
  assert(
    g1[0].bias.toFlat().some((v) => v !== 0),
    "a gradient reaches the bias",
  );
  // Forward mode through the fused epilogue agrees too.
  const dir = uniform(key(4), [2, 6, 6, 2], { min: -1, max: 1 });
  const [, t1] = jvp((xx: typeof x) => model.apply(params, xx), [x], [dir]);
  const [, t2] = jvp((xx: typeof x) => unfused(params, xx), [x], [dir]);
  assertEquals(t1.toFlat(), t2.toFlat());
});
