import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import { signatureOf, stage } from "../src/staging/trace.ts";
import {
  add,
  argmax,
  conv2d as conv2dOp,
  crossEntropy,
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

/** The primitives `f` runs on `args`, by name, in order. */
function primitivesOf<A extends readonly unknown[]>(
  f: (...args: A) => unknown,
  args: A,
): string[] {
  return stage(f, signatureOf(args)).equations.map((e) => e.primitive);
}

Deno.test('activation: "relu" fuses the bias add and the relu; relu() layers give the same values unfused', () => {
  const fused = nn.sequential(
    nn.conv2d({ filters: 3, kernel: 3, activation: "relu" }),
    nn.flatten(),
    nn.dense({ units: 4, activation: "relu" }),
    nn.dense({ units: 2 }),
  );
  const plain = nn.sequential(
    nn.conv2d({ filters: 3, kernel: 3 }),
    nn.relu(),
    nn.flatten(),
    nn.dense({ units: 4 }),
    nn.relu(),
    nn.dense({ units: 2 }),
  );
  const p0 = fused.init(key(0), [6, 6, 2]);
  // Biases of both signs, so that the relu cuts somewhere.
  const pf: typeof p0 = [
    { ...p0[0], bias: uniform(key(2), [3], { min: -0.5, max: 0.5 }) },
    p0[1],
    { ...p0[2], bias: uniform(key(3), [4], { min: -0.5, max: 0.5 }) },
    p0[3],
  ];
  const pp: ReturnType<typeof plain.init<[6, 6, 2]>> = [
    pf[0],
    {},
    pf[1],
    pf[2],
    {},
    pf[3],
  ];
  const x = uniform(key(1), [2, 6, 6, 2], { min: -1, max: 1 });
  assertEquals(fused.apply(pf, x).toFlat(), plain.apply(pp, x).toFlat());
  // Asked for: the fused primitive, no separate add or relu. A plain fold:
  // relu() after dense or conv2d stays a layer of its own.
  const ran = primitivesOf((p: typeof pf, xx: typeof x) => fused.apply(p, xx), [
    pf,
    x,
  ]);
  assertEquals(ran, [
    ...["conv2d", "biasRelu", "reshape"],
    ...["matmul", "biasRelu", "matmul", "add"],
  ]);
  const ranPlain = primitivesOf(
    (p: typeof pp, xx: typeof x) => plain.apply(p, xx),
    [pp, x],
  );
  assertEquals(ranPlain, [
    ...["conv2d", "add", "relu", "reshape"],
    ...["matmul", "add", "relu", "matmul", "add"],
  ]);
  // The same gradients.
  const g1 = grad((p: typeof pf) => sum(square(fused.apply(p, x))))(pf);
  const g2 = grad((p: typeof pp) => sum(square(plain.apply(p, x))))(pp);
  for (const [a, b] of [[g1[0], g2[0]], [g1[2], g2[3]], [g1[3], g2[5]]]) {
    assertEquals(a!.kernel.toFlat(), b!.kernel.toFlat());
    assertEquals(a!.bias.toFlat(), b!.bias.toFlat());
  }
  assert(
    g1[0].bias.toFlat().some((v) => v !== 0),
    "a gradient reaches the bias",
  );
  // Forward mode through the fused epilogue agrees too.
  const dir = uniform(key(4), [2, 6, 6, 2], { min: -1, max: 1 });
  const [, t1] = jvp((xx: typeof x) => fused.apply(pf, xx), [x], [dir]);
  const [, t2] = jvp((xx: typeof x) => plain.apply(pp, xx), [x], [dir]);
  assertEquals(t1.toFlat(), t2.toFlat());
  // Without a bias, relu alone.
  const nb = nn.dense({ units: 3, useBias: false, activation: "relu" });
  const pn = nb.init(key(5), [2]);
  const xn = tensor([[1, -2], [-3, 4]]);
  assertEquals(
    nb.apply(pn, xn).toArray(),
    reluOp(matmul(xn, pn.kernel)).toArray(),
  );
  assertStringIncludes(nn.summary(fused, [6, 6, 2]), "conv2d 3x3x3 relu");
  assertThrows(
    // @ts-expect-error: "gelu" is not an activation
    () => nn.dense({ units: 2, activation: "gelu" }),
    RangeError,
    'Expected activation to be "linear" or "relu" but found gelu',
  );
});

Deno.test("a max pool after conv2d runs before the bias add and relu: the same values and gradients", () => {
  const pooledFirst = nn.sequential(
    nn.conv2d({ filters: 3, kernel: 3, activation: "relu" }), // [2, 8, 8, 3]
    nn.maxPool2d({ size: 2 }), // [2, 4, 4, 3]
    nn.conv2d({ filters: 2, kernel: 1 }), // [2, 4, 4, 2]
    nn.maxPool2d({ size: 3, stride: 2, padding: "same" }), // [2, 2, 2, 2]
    nn.flatten(),
  );
  // The same network with no pool right after a conv2d: a relu() layer, and
  // a dropout (the identity at inference), in between.
  const plain = nn.sequential(
    nn.conv2d({ filters: 3, kernel: 3 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.conv2d({ filters: 2, kernel: 1 }),
    nn.dropout({ rate: 0.5 }),
    nn.maxPool2d({ size: 3, stride: 2, padding: "same" }),
    nn.flatten(),
  );
  const p0 = pooledFirst.init(key(0), [10, 10, 2]);
  const pf: typeof p0 = [
    { ...p0[0], bias: uniform(key(2), [3], { min: -0.5, max: 0.5 }) },
    {},
    { ...p0[2], bias: uniform(key(3), [2], { min: -0.5, max: 0.5 }) },
    {},
    {},
  ];
  const pp: ReturnType<typeof plain.init<[10, 10, 2]>> = [
    pf[0],
    {},
    {},
    pf[2],
    {},
    {},
    {},
  ];
  const x = uniform(key(1), [2, 10, 10, 2], { min: -1, max: 1 });
  assertEquals(pooledFirst.apply(pf, x).toFlat(), plain.apply(pp, x).toFlat());
  assertEquals(
    primitivesOf((p: typeof pf, xx: typeof x) => pooledFirst.apply(p, xx), [
      pf,
      x,
    ]),
    [
      ...["conv2d", "maxPool2d", "biasRelu"],
      ...["conv2d", "maxPool2d", "add", "reshape"],
    ],
  );
  const g1 = grad((p: typeof pf) => sum(square(pooledFirst.apply(p, x))))(pf);
  const g2 = grad((p: typeof pp) => sum(square(plain.apply(p, x))))(pp);
  for (const [a, b] of [[g1[0], g2[0]], [g1[2], g2[3]]] as const) {
    assertEquals(a.kernel.toFlat(), b.kernel.toFlat());
    // The bias gradient sums the same values, in another order.
    const [ab, bb] = [a.bias.toFlat(), b.bias.toFlat()];
    ab.forEach((v, i) => assertAlmostEquals(v, bb[i]!, 1e-5));
  }
  assert(g1[0].bias.toFlat().some((v) => v !== 0), "a gradient reaches it");
  // Explicit padding can make windows of padding only, whose max is 0:
  // there the epilogue must run first (relu(0 + bias) is not 0).
  const edge = nn.sequential(
    nn.conv2d({ filters: 2, kernel: 1, activation: "relu" }),
    nn.maxPool2d({ size: 2, padding: 2 }),
  );
  const pe: ReturnType<typeof edge.init<[4, 4, 1]>> = [
    { kernel: tensor([[[[1, -1]]]]), bias: tensor([0.5, 0.25]) },
    {},
  ];
  const xe = uniform(key(4), [1, 4, 4, 1], { min: -1, max: 1 });
  const want = maxPoolOp(
    reluOp(add(conv2dOp(xe, pe[0].kernel), pe[0].bias)),
    { size: 2, padding: 2 },
  );
  assertEquals(edge.apply(pe, xe).toFlat(), want.toFlat());
  assertEquals(want.toArray()[0]![0]![0], [0, 0]);
});

Deno.test("apply with parameters made for inputs of another size: one sentence at compile time and at run time", () => {
  const model = nn.sequential(
    nn.conv2d({ filters: 6, kernel: 3, activation: "relu" }),
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dense({ units: 10 }),
  );
  const params = model.init(key(0), [30, 30, 1]);
  const x = zeros([8, 36, 36, 1]);
  const sentence =
    "Layer 4 (dense) was initialized for inputs [B, 1176] but found [8, 1734]";
  // What the compiler says: the input's parameter type is the sentence.
  type Expected = Parameters<
    typeof model.apply<[8, 36, 36, 1], typeof params>
  >[1];
  assertType<IsExact<Expected, typeof sentence>>(true);
  const _compileOnly = () =>
    // @ts-expect-error: Layer 4 (dense) was initialized for inputs [B, 1176] but found [8, 1734]
    model.apply(params, x);
  // At run time, for a shape known only then: the same sentence.
  const dynamic: number[] = [8, 36, 36, 1];
  const e = assertThrows(() => model.apply(params, zeros(dynamic)), RangeError);
  assertEquals(e.message, sentence);
  // The right size still works.
  assertEquals(model.apply(params, zeros([8, 30, 30, 1])).shape, [8, 10]);

  // Channels: the first layer's parameters.
  const rgb = zeros([2, 30, 30, 3]);
  type ForRgb = Parameters<
    typeof model.apply<[2, 30, 30, 3], typeof params>
  >[1];
  assertType<
    IsExact<
      ForRgb,
      "Layer 1 (conv2d) was initialized for inputs [B, H, W, 1] but found [2, 30, 30, 3]"
    >
  >(true);
  const _rgb = () =>
    // @ts-expect-error: Layer 1 (conv2d) was initialized for inputs [B, H, W, 1]
    model.apply(params, rgb);
  const rgbShape: number[] = [2, 30, 30, 3];
  assertEquals(
    assertThrows(() => model.apply(params, zeros(rgbShape)), RangeError)
      .message,
    "Layer 1 (conv2d) was initialized for inputs [B, H, W, 1] but found [2, 30, 30, 3]",
  );
});

Deno.test("a misfit of a single layer or a nested model names it the same way at compile time and at run time", () => {
  const d = nn.dense({ units: 3 });
  const pd = d.init(key(0), [4]);
  type Dense = Parameters<typeof d.apply<[2, 5], typeof pd>>[1];
  assertType<
    IsExact<Dense, "dense was initialized for inputs [B, 4] but found [2, 5]">
  >(true);
  const _dense = () =>
    // @ts-expect-error: dense was initialized for inputs [B, 4] but found [2, 5]
    d.apply(pd, zeros([2, 5]));
  const five: number[] = [2, 5];
  assertEquals(
    assertThrows(() => d.apply(pd, zeros(five)), RangeError).message,
    "dense was initialized for inputs [B, 4] but found [2, 5]",
  );

  const model = nn.sequential(
    nn.sequential(nn.dense({ units: 3 }), nn.relu()),
    nn.dense({ units: 2 }),
  );
  const pm = model.init(key(1), [4]);
  type Nested = Parameters<typeof model.apply<[2, 5], typeof pm>>[1];
  const nested =
    "Layer 1 (sequential): Layer 1 (dense) was initialized for inputs [B, 4] but found [2, 5]";
  assertType<IsExact<Nested, typeof nested>>(true);
  const _nested = () =>
    // @ts-expect-error: Layer 1 (sequential): Layer 1 (dense) was initialized for inputs [B, 4] but found [2, 5]
    model.apply(pm, zeros([2, 5]));
  assertEquals(
    assertThrows(() => model.apply(pm, zeros(five)), RangeError).message,
    nested,
  );

  const bn = nn.batchNorm();
  const pb = bn.init(key(2), [2]);
  const sb = bn.initState([2]);
  type Norm = Parameters<typeof bn.apply<[2, 3], typeof pb>>[1];
  const norm =
    "batchNorm was initialized for inputs [B, ..., 2] but found [2, 3]";
  assertType<IsExact<Norm, typeof norm>>(true);
  const _norm = () =>
    // @ts-expect-error: batchNorm was initialized for inputs [B, ..., 2] but found [2, 3]
    bn.apply(pb, zeros([2, 3]), { state: sb });
  assertEquals(
    assertThrows(
      () => bn.apply(pb, zeros([2, 3] as number[]), { state: sb }),
      RangeError,
    )
      .message,
    norm,
  );

  // Parameters of another layer: a sentence too.
  const pool = nn.maxPool2d({ size: 2 });
  type Pool = Parameters<typeof pool.apply<[1, 4, 4, 1], typeof pd>>[1];
  assertType<IsExact<Pool, "maxPool2d takes no parameters: pass {}">>(true);
  const _pool = () =>
    // @ts-expect-error: maxPool2d takes no parameters: pass {}
    pool.apply(pd, zeros([1, 4, 4, 1]));
  // The wrong number of parameters for a model: the sentence counts them all.
  type Short = Parameters<typeof model.apply<[2, 4], [typeof pm[0]]>>[1];
  assertType<
    IsExact<Short, "sequential expects parameters for 2 layers but found 1">
  >(true);
  const _short = () =>
    // @ts-expect-error: sequential expects parameters for 2 layers but found 1
    model.apply([pm[0]], zeros([2, 4]));
  assertThrows(
    // @ts-expect-error: sequential expects a tuple of parameters for 2 layers
    () => model.apply(pm.slice(0, 1), zeros(five)),
    TypeError,
    "Expected parameters for 2 layers but found 1",
  );
});

Deno.test("layers without parameters or state get the defaults: {} and null", () => {
  const r = nn.relu();
  const p = r.init(key(0), [3]);
  assertType<IsExact<typeof p, nn.NoParams>>(true);
  assertEquals(p, {});
  assertEquals(r.initState([3]), null);
  const [y, s] = r.applyWithState(p, null, tensor([[-1, 0, 2]]));
  assertEquals(y.toArray(), [[0, 0, 2]]);
  assertEquals(s, null);
  const d = nn.dense({ units: 2 });
  assertEquals(d.initState([3]), null);
  const model = nn.sequential(nn.flatten(), d, nn.relu());
  assertEquals(model.initState([1, 3]), [null, null, null]);
  assertStringIncludes(nn.summary(model, [1, 3]), "Total params: 8");
});

Deno.test("globalAvgPool2d layer: a non-image input is refused with the shape rule's sentence, at compile time and at run time", () => {
  const gap = nn.globalAvgPool2d();
  // @ts-expect-error: Cannot pool input [B, 7, 64]: input must have rank 4 (NHWC)
  assertThrows(() => gap.init(key(0), [7, 64]), RangeError, "rank 4 (NHWC)");
  const dyn: number[] = [7, 64];
  assertThrows(
    () => gap.init(key(0), dyn),
    RangeError,
    "Cannot pool input [1, 7, 64]: input must have rank 4 (NHWC)",
  );
  const p = gap.init(key(0), [5, 5, 3]);
  const x: Tensor<number[]> = zeros([2, 5, 3]);
  assertThrows(
    () => gap.apply(p, x),
    RangeError,
    "Cannot pool input [2, 5, 3]: input must have rank 4 (NHWC)",
  );
  assertEquals(gap.apply(p, zeros([2, 5, 5, 3])).shape, [2, 3]);
});

Deno.test("a conv2d's gradients: the filter's first, so that the input gradient is the last kernel output and the relu mask after it reads it in place", () => {
  const net = nn.sequential(
    nn.conv2d({ filters: 8, kernel: 3, activation: "relu" }),
    nn.conv2d({ filters: 4, kernel: 3 }),
  );
  const p = net.init(key(0), [6, 6, 2]);
  const x = uniform(key(1), [2, 6, 6, 2]);
  const prims = primitivesOf(
    (q: typeof p, xx: typeof x) =>
      grad((r: typeof p) => sum(square(net.apply(r, xx))))(q),
    [p, x],
  );
  const filter = prims.indexOf("conv2dBackpropFilter");
  const input = prims.indexOf("conv2dBackpropInput");
  assert(filter >= 0 && input > filter, prims.join(" "));
  assertEquals(prims[input + 1], "reluMask", prims.join(" "));
});
