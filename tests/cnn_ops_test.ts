// conv2d, pooling, softmax, cross-entropy and dropout at the op level:
// hand-computed cases, gradients through the autodiff against TensorFlow.js,
// and exact error messages.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
import {
  add,
  type AnyTensor,
  avgPool2d,
  bernoulli,
  conv2d,
  crossEntropy,
  div,
  dropout,
  globalAvgPool2d,
  grad,
  key,
  logSoftmax,
  maxPool2d,
  mul,
  ones,
  relu,
  softmax,
  sum,
  type Tensor,
  tensor,
  uniform,
  vjp,
  zeros,
} from "../mod.ts";
import { lcg, rand } from "./_gradcheck.ts";
import { recipeOf } from "../src/tensor.ts";
import { kernelMode, setKernels } from "../src/kernels/wasm/runtime.ts";

tf.env().set("IS_TEST", true);
await tf.setBackend("cpu");

Deno.test("conv2d: a 5x5 image with a 3x3 filter, by hand", () => {
  const img = tensor([
    [1, 2, 3, 4, 5],
    [6, 7, 8, 9, 10],
    [11, 12, 13, 14, 15],
    [16, 17, 18, 19, 20],
    [21, 22, 23, 24, 25],
  ]);
  const x = tensor(img.toFlat(), [1, 5, 5, 1]);
  const w = tensor([0, 1, 0, 1, -4, 1, 0, 1, 0], [3, 3, 1, 1]); // Laplacian
  const y = conv2d(x, w);
  assertType<IsExact<typeof y, Tensor<[1, 3, 3, 1], "float32">>>(true);
  assertEquals(y.toFlat(), new Float32Array(9)); // a linear ramp has no curvature
  const box = conv2d(x, ones([3, 3, 1, 1]));
  // The window at (0, 0) sums 1+2+3+6+7+8+11+12+13 = 63.
  assertEquals(box.toFlat()[0], 63);
  assertEquals(box.toFlat()[8], 9 * 19);
});

Deno.test("conv2d: a 4x4 binary image with a 2x2 mask, stride 2, and 'same' padding", () => {
  const x = tensor([1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1], [
    1,
    4,
    4,
    1,
  ]);
  const diag = tensor([1, 0, 0, 1], [2, 2, 1, 1]);
  assertEquals(
    conv2d(x, diag).toFlat(),
    new Float32Array([2, 1, 0, 1, 2, 1, 0, 1, 2]),
  );
  const s2 = conv2d(x, diag, { stride: 2 });
  assertType<IsExact<typeof s2, Tensor<[1, 2, 2, 1], "float32">>>(true);
  assertEquals(s2.toFlat(), new Float32Array([2, 0, 0, 2]));
  const same = conv2d(x, diag, { padding: "same" });
  assertType<IsExact<typeof same, Tensor<[1, 4, 4, 1], "float32">>>(true);
  // TF pads "same" at the bottom/right for an even kernel: last row/col see zeros.
  assertEquals(
    same.toFlat(),
    new Float32Array([2, 1, 0, 1, 1, 2, 1, 0, 0, 1, 2, 0, 1, 0, 0, 1]),
  );
  const dil = conv2d(x, diag, { dilation: 2 });
  assertType<IsExact<typeof dil, Tensor<[1, 2, 2, 1], "float32">>>(true);
  // Dilated taps (i, j) and (i+2, j+2).
  assertEquals(dil.toFlat(), new Float32Array([2, 0, 0, 2]));
});

Deno.test("conv2d output shape is computed by the compiler", () => {
  const y = conv2d(zeros([64, 28, 28, 1]), zeros([5, 5, 1, 8]), {
    stride: 2,
    padding: "same",
  });
  assertType<IsExact<typeof y, Tensor<[64, 14, 14, 8], "float32">>>(true);
  assertEquals(y.shape, [64, 14, 14, 8]);
  const p = maxPool2d(zeros([64, 24, 24, 8]), { size: 2 });
  assertType<IsExact<typeof p, Tensor<[64, 12, 12, 8], "float32">>>(true);
});

Deno.test("conv2d and pooling errors name the numbers", () => {
  const msg =
    "Cannot convolve input [64, 28, 28, 3] with kernel [5, 5, 1, 8]: input channels 3 and kernel in-channels 1 differ";
  const bad = () =>
    // @ts-expect-error: input channels 3 and kernel in-channels 1 differ
    conv2d(zeros([64, 28, 28, 3]), zeros([5, 5, 1, 8]));
  assertThrows(bad, RangeError, msg);
  const c = 3 as number;
  assertThrows(
    () => conv2d(zeros([64, 28, 28, c]), zeros([5, 5, 1, 8])),
    RangeError,
    msg,
  );
  assertThrows(
    () =>
      conv2d(
        zeros([1, 4, 4, 1]),
        zeros([5, 5, 1, 1]) as Tensor<[number, number, 1, 1]>,
      ),
    RangeError,
    "Cannot convolve input [1, 4, 4, 1] with kernel [5, 5, 1, 1]: the dilated kernel height 5 exceeds the padded input height 4",
  );
  assertThrows(
    () =>
      conv2d(zeros([1, 4, 4, 1]), zeros([2, 2, 1, 1]), {
        stride: -1 as number,
      }),
    RangeError,
    "Expected stride to be a positive integer but found -1",
  );
  assertThrows(
    () => maxPool2d(zeros([1, 3, 3, 1]), { size: 4 as number }),
    RangeError,
    "Cannot pool input [1, 3, 3, 1] with window 4x4: the window height 4 exceeds the padded input height 3",
  );
});

Deno.test("max pooling routes the gradient to the first maximum of each window", () => {
  const x = tensor([1, 3, 3, 2], [1, 2, 2, 1]);
  const g = grad((t: Tensor<[1, 2, 2, 1]>) => sum(maxPool2d(t, { size: 2 })))(
    x,
  );
  assertEquals(g.toFlat(), new Float32Array([0, 1, 0, 0]));
  const a = grad((t: Tensor<[1, 2, 2, 1]>) => sum(avgPool2d(t, { size: 2 })))(
    x,
  );
  assertEquals(a.toFlat(), new Float32Array([0.25, 0.25, 0.25, 0.25]));
});

interface Case {
  x: number[];
  w: number[];
  stride: number | [number, number];
  padding: "valid" | "same";
  dilation: number | [number, number];
}

const cases: Case[] = [
  {
    x: [2, 7, 7, 3],
    w: [3, 3, 3, 4],
    stride: 1,
    padding: "valid",
    dilation: 1,
  },
  {
    x: [1, 8, 9, 2],
    w: [3, 2, 2, 3],
    stride: [2, 1],
    padding: "same",
    dilation: 1,
  },
  {
    x: [2, 9, 9, 1],
    w: [3, 3, 1, 2],
    stride: 1,
    padding: "valid",
    dilation: 2,
  },
  {
    x: [1, 10, 10, 4],
    w: [5, 5, 4, 2],
    stride: 3,
    padding: "same",
    dilation: 1,
  },
  {
    x: [3, 6, 6, 2],
    w: [1, 1, 2, 5],
    stride: 2,
    padding: "valid",
    dilation: 1,
  },
];

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4) {
  assertEquals(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert(
      Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)),
      `at ${i}: ${a[i]} vs ${b[i]}`,
    );
  }
}

Deno.test("conv2d forward and both gradients match TensorFlow.js", () => {
  const rnd = lcg(42);
  for (const c of cases) {
    const x = rand(c.x, rnd), w = rand(c.w, rnd);
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation };
    const f = (a: AnyTensor, b: AnyTensor) =>
      conv2d(a as never, b as never, opts) as AnyTensor;
    const [y, pb] = vjp(f, x, w);
    const dy = rand(y.shape, rnd);
    const [dx, dw] = pb(dy);
    const tx = tf.tensor4d(x.toFlat(), c.x as [number, number, number, number]);
    const tw = tf.tensor4d(w.toFlat(), c.w as [number, number, number, number]);
    const tdy = tf.tensor(dy.toFlat(), y.shape as number[]);
    closeArrays(
      y.toFlat(),
      tf.conv2d(tx, tw, c.stride, c.padding, "NHWC", c.dilation).dataSync(),
    );
    // TF.js's core bundle registers no gradients; call its gradient kernels directly.
    // Nor do its gradient kernels support dilation; those cases are checked
    // forward here and by the finite-difference table for their gradients.
    if (c.dilation !== 1) continue;
    const attrs = { strides: c.stride, pad: c.padding, dataFormat: "NHWC" };
    const gx = tf.engine().runKernel("Conv2DBackpropInput", {
      dy: tdy,
      filter: tw,
    }, { ...attrs, inputShape: c.x });
    const gw = tf.engine().runKernel(
      "Conv2DBackpropFilter",
      { x: tx, dy: tdy },
      { ...attrs, filterShape: c.w },
    );
    closeArrays(dx.toFlat(), (gx as tf.Tensor).dataSync());
    closeArrays(dw.toFlat(), (gw as tf.Tensor).dataSync());
  }
});

Deno.test("pooling forward and gradients match TensorFlow.js", () => {
  const rnd = lcg(7);
  const pools: [number[], number, number, "valid" | "same"][] = [
    [[2, 6, 6, 3], 2, 2, "valid"],
    [[1, 7, 5, 2], 3, 2, "same"],
    [[1, 5, 5, 1], 3, 1, "valid"],
  ];
  for (const [shape, size, stride, padding] of pools) {
    const x = rand(shape, rnd);
    const tx = tf.tensor4d(
      x.toFlat(),
      shape as [number, number, number, number],
    );
    for (const kind of ["max", "avg"] as const) {
      const f = (a: AnyTensor) =>
        (kind === "max"
          ? maxPool2d(a as never, { size, stride, padding })
          : avgPool2d(a as never, { size, stride, padding })) as AnyTensor;
      const tfPool = (a: tf.Tensor4D) =>
        kind === "max"
          ? tf.maxPool(a, size, stride, padding)
          : tf.avgPool(a, size, stride, padding);
      const [y, pb] = vjp(f, x);
      closeArrays(y.toFlat(), tfPool(tx).dataSync());
      const dy = rand(y.shape, rnd);
      const tdy = tf.tensor(dy.toFlat(), y.shape as number[]);
      // TF.js's CPU AvgPoolGrad divides padded windows by the full window
      // size although its forward divides by the real elements; it is not
      // the transpose of its own forward there, so skip that one comparison
      // (ours is checked as the exact transpose by the dot-product table).
      if (kind === "avg" && padding === "same") continue;
      const attrs = { filterSize: size, strides: stride, pad: padding };
      const gx = kind === "max"
        ? tf.engine().runKernel("MaxPoolGrad", {
          dy: tdy,
          input: tx,
          output: tfPool(tx),
        }, attrs)
        : tf.engine().runKernel("AvgPoolGrad", { dy: tdy, input: tx }, attrs);
      closeArrays(pb(dy)[0].toFlat(), (gx as tf.Tensor).dataSync());
    }
  }
});

Deno.test("softmax and logSoftmax are stable; crossEntropy's gradient is exact", () => {
  const z = tensor([[1000, -1000, 0], [-1000, -1000, -1000]]);
  const p = softmax(z).toArray() as number[][];
  assertEquals(p[0], [1, 0, 0]);
  p[1]!.forEach((v) => assertAlmostEquals(v, 1 / 3, 1e-4));
  const lp = logSoftmax(z).toArray() as number[][];
  assertEquals(lp[0], [0, -2000, -1000]);
  const labels = tensor(new Int32Array([1, 2]), [2]);
  const loss = crossEntropy(z, labels);
  assertAlmostEquals(loss.item(), (2000 + Math.log(3)) / 2, 1e-3);
  const g = grad((t: typeof z) => crossEntropy(t, labels))(z)
    .toArray() as number[][];
  // (softmax - onehot) / batch
  assertEquals(g[0], [0.5, -0.5, 0]);
  g[1]!.forEach((v, i) =>
    assertAlmostEquals(v, (1 / 3 - (i === 2 ? 1 : 0)) / 2, 1e-4)
  );
  const soft = crossEntropy(z, tensor([[0, 1, 0], [0, 0, 1]]));
  assertAlmostEquals(soft.item(), loss.item(), 1e-3);
});

Deno.test("crossEntropy and globalAvgPool2d: the compiler's sentence for literal shapes, the same at run time for dynamic ones", () => {
  const labels43 = tensor(new Int32Array(43), [43]);
  const labelsMsg =
    "Expected labels of shape [41] for logits [41, 10] but found [43]";
  const literal = zeros([41, 10]);
  assertThrows(
    // @ts-expect-error: Expected labels of shape [41] for logits [41, 10] but found [43]
    () => crossEntropy(literal, labels43),
    RangeError,
    labelsMsg,
  );
  // Logits whose shape is known only at run time are accepted and checked.
  const rows = 41 as number;
  const dynamic: Tensor<number[]> = zeros([rows, 10]);
  assertThrows(() => crossEntropy(dynamic, labels43), RangeError, labelsMsg);
  const partly = zeros([rows, 10]); // Tensor<[number, 10]>
  assertThrows(() => crossEntropy(partly, labels43), RangeError, labelsMsg);
  const fine = crossEntropy(dynamic, tensor(new Int32Array(41), [41]));
  assertType<IsExact<typeof fine, Tensor<[], "float32">>>(true);
  assertAlmostEquals(fine.item(), Math.log(10), 1e-6);
  assertThrows(
    () => crossEntropy(dynamic, zeros([41, 9])),
    RangeError,
    "Expected targets of shape [41, 10] for logits [41, 10] but found [41, 9]",
  );
  const vector: Tensor<number[]> = zeros([rows]);
  assertThrows(
    () => crossEntropy(vector, labels43),
    RangeError,
    "Expected logits of rank 2 [batch, classes] but found shape [41]",
  );

  const poolMsg = "Cannot pool input [2, 3]: input must have rank 4 (NHWC)";
  // @ts-expect-error: Cannot pool input [2, 3]: input must have rank 4 (NHWC)
  assertThrows(() => globalAvgPool2d(zeros([2, 3])), RangeError, poolMsg);
  const flat: Tensor<number[]> = zeros([2, 3]);
  assertThrows(() => globalAvgPool2d(flat), RangeError, poolMsg);
  const images: Tensor<number[]> = tensor([1, 10, 3, 30], [1, 2, 1, 2]);
  const pooled = globalAvgPool2d(images);
  assertType<IsExact<typeof pooled, Tensor<[number, number], "float32">>>(
    true,
  );
  assertEquals(pooled.toArray(), [[2, 20]]);
});

Deno.test("dropout drops at the stated rate and scales the rest", () => {
  const x = ones([20000]);
  const y = dropout(x, { rate: 0.3, key: key(5) }).toFlat();
  const dropped = y.filter((v) => v === 0).length / y.length;
  assertAlmostEquals(dropped, 0.3, 0.02);
  y.filter((v) => v !== 0).forEach((v) => assertAlmostEquals(v, 1 / 0.7, 1e-6));
  assertEquals(dropout(x, { rate: 0, key: key(5) }), x);
  assertEquals(
    dropout(x, { rate: 0.3, key: key(5) }).toFlat(),
    dropout(x, { rate: 0.3, key: key(5) }).toFlat(),
  );
  assertThrows(
    () => dropout(x, { rate: 1, key: key(0) }),
    RangeError,
    "Expected rate to be in [0, 1) but found 1",
  );
  assertThrows(
    () => dropout(x, { rate: -0.1, key: key(0) }),
    RangeError,
    "Expected rate to be in [0, 1) but found -0.1",
  );
  const g = grad((t: typeof x) =>
    sum(mul(dropout(t, { rate: 0.5, key: key(1) }), 1))
  )(x).toFlat();
  const mask = dropout(x, { rate: 0.5, key: key(1) }).toFlat();
  assertEquals(g, mask);
  // Exactly x * (keep / (1 - rate)) with the division in float32, as the
  // ops would compute it from a bernoulli mask.
  const u = uniform(key(7), [3000]);
  for (const rate of [0.1, 0.25, 0.3, 0.7, 0.123]) {
    const keep = bernoulli(key(8), 1 - rate, [3000]);
    assertEquals(
      dropout(u, { rate, key: key(8) }).toFlat(),
      mul(u, div(keep, 1 - rate)).toFlat(),
      `rate ${rate}`,
    );
  }
});

Deno.test("a max pool of a convolution runs fused: the convolution's output is never made, the values and gradients are the unfused ones", () => {
  const rnd = lcg(31);
  const floats = (n: number) => Float32Array.from({ length: n }, () => rnd());
  const x = tensor(floats(4 * 12 * 12 * 8), [4, 12, 12, 8]);
  const w = tensor(floats(5 * 5 * 8 * 16), [5, 5, 8, 16]);
  const r = tensor(floats(4 * 4 * 4 * 16), [4, 4, 4, 16]);
  type P = { x: typeof x; w: typeof w };
  const fused = (p: P) => sum(mul(maxPool2d(conv2d(p.x, p.w), { size: 2 }), r));
  // Adding zeros reads the convolution's output first: no fused pool.
  const unfused = (p: P) =>
    sum(
      mul(
        maxPool2d(add(conv2d(p.x, p.w), zeros([4, 8, 8, 16])), { size: 2 }),
        r,
      ),
    );
  const g = grad(fused)({ x, w }), u = grad(unfused)({ x, w });
  assertEquals(g.x.toFlat(), u.x.toFlat());
  assertEquals(g.w.toFlat(), u.w.toFlat());
  assertEquals(fused({ x, w }).item(), unfused({ x, w }).item());
  // Pooling and its gradient leave the output unmade on the WebAssembly
  // path (the typed-array path makes it at once); reading it makes it.
  const z = conv2d(x, w);
  const [p, back] = vjp((t: typeof z) => maxPool2d(t, { size: 2 }), z);
  back(ones(p.shape));
  assertEquals(recipeOf(z) !== undefined, kernelMode() === "wasm");
  assertEquals(z.toFlat(), add(conv2d(x, w), zeros(z.shape)).toFlat());
  assertEquals(recipeOf(z), undefined);
});

Deno.test("a relu's mask of a convolution's input gradient runs fused with it: the same gradient as the typed-array kernels, zero where the relu was", () => {
  const rnd = lcg(47);
  const floats = (n: number) =>
    Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  const u = tensor(floats(4 * 12 * 12 * 8), [4, 12, 12, 8]);
  const w = tensor(floats(5 * 5 * 8 * 16), [5, 5, 8, 16]);
  const r = tensor(floats(4 * 4 * 4 * 16), [4, 4, 4, 16]);
  const r8 = tensor(floats(4 * 8 * 8 * 16), [4, 8, 8, 16]);
  // The output gradient a scattered max-pool cotangent, or dense.
  const pooled = (t: typeof u) =>
    sum(mul(maxPool2d(conv2d(relu(t), w), { size: 2 }), r));
  const dense = (t: typeof u) => sum(mul(conv2d(relu(t), w), r8));
  for (const f of [pooled, dense]) {
    const got = grad(f)(u).toFlat();
    const before = setKernels("js");
    let want: Float32Array;
    try {
      want = grad(f)(u).toFlat();
    } finally {
      setKernels(before);
    }
    closeArrays(got, want, 1e-5);
    const us = u.toFlat();
    let masked = 0;
    got.forEach((v, i) => {
      if (us[i]! <= 0) {
        assertEquals(v, 0);
        masked++;
      }
    });
    assert(masked > 1000, `${masked} masked values`);
  }
});
