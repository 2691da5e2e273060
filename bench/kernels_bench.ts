/**
 * Benchmarks of the typed-array kernels against TensorFlow.js's CPU backend
 * (the baseline of each group). Run with `deno bench --allow-read --allow-env
 * bench/kernels_bench.ts`; set `TENSA_THREADS=1` for the single-thread path
 * and `TENSA_BENCH_SLOW=1` to include TF.js's (very slow) filter gradient.
 *
 * GFLOP/s = flops / avg time: gemm s^3 * 2; conv2d (all three) on x
 * [64, 26, 26, 32], filter [3, 3, 32, 64], valid, stride 1:
 * 2 * 64 * 24 * 24 * 64 * 3 * 3 * 32 = 1.359e9.
 */

// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
import { gemm } from "../src/kernels/gemm.ts";
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
  conv2dForward,
  type Conv2dGeometry,
} from "../src/kernels/conv2d.ts";
import {
  maxPoolForward,
  type Pool2dGeometry,
  scatterAddByIndex,
} from "../src/kernels/pool.ts";
import { slowBaselines } from "./_slow.ts";

tf.env().set("IS_TEST", true); // silences TF.js's console banner
await tf.setBackend("cpu");

function randArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

// GEMM

for (const s of [256, 512, 1024]) {
  const a = randArray(s * s, 1), b = randArray(s * s, 2);
  const ta = tf.tensor2d(a, [s, s]), tb = tf.tensor2d(b, [s, s]);
  const group = `gemm ${s}`;
  Deno.bench({
    name: `tfjs matMul ${s}`,
    group,
    baseline: true,
    n: s >= 1024 ? 3 : 20,
    warmup: 1,
    fn() {
      const c = tf.matMul(ta, tb);
      c.dataSync();
      c.dispose();
    },
  });
  Deno.bench({
    name: `tensa gemm ${s} [flops=${2 * s * s * s}]`,
    group,
    // Enough calls (2-8 s) that the two-thread average is not one noisy
    // moment of this shared machine.
    n: s >= 1024 ? 20 : s >= 512 ? 100 : 200,
    // Enough calls for V8 to optimise the worker thread's copy of the code.
    warmup: s >= 1024 ? 3 : 10,
    fn() {
      gemm(a, b, s, s, s);
    },
  });
}

// Convolution

const g: Conv2dGeometry = {
  n: 64,
  h: 26,
  w: 26,
  c: 32,
  kh: 3,
  kw: 3,
  o: 64,
  outH: 24,
  outW: 24,
  strideH: 1,
  strideW: 1,
  dilH: 1,
  dilW: 1,
  padTop: 0,
  padBottom: 0,
  padLeft: 0,
  padRight: 0,
};
const x = randArray(g.n * g.h * g.w * g.c, 3);
const f = randArray(g.kh * g.kw * g.c * g.o, 4);
const dy = randArray(g.n * g.outH * g.outW * g.o, 5);
const tx = tf.tensor4d(x, [g.n, g.h, g.w, g.c]);
const tfl = tf.tensor4d(f, [g.kh, g.kw, g.c, g.o]);
const tdy = tf.tensor4d(dy, [g.n, g.outH, g.outW, g.o]);
const convAttrs = { strides: 1, pad: "valid", dataFormat: "NHWC" };

function tfRun(op: () => tf.Tensor): void {
  const t = op();
  t.dataSync();
  t.dispose();
}

const convBenches: [string, () => void, () => void][] = [
  [
    "conv2d forward",
    () => tfRun(() => tf.conv2d(tx, tfl, 1, "valid")),
    () => conv2dForward(x, f, g),
  ],
  [
    "conv2d backprop input",
    () =>
      tfRun(() =>
        tf.engine().runKernel<tf.Tensor>("Conv2DBackpropInput", {
          dy: tdy,
          filter: tfl,
        }, {
          ...convAttrs,
          inputShape: [g.n, g.h, g.w, g.c],
        })
      ),
    () => conv2dBackpropInput(dy, f, g),
  ],
  [
    "conv2d backprop filter",
    () =>
      tfRun(() =>
        tf.engine().runKernel<tf.Tensor>("Conv2DBackpropFilter", {
          x: tx,
          dy: tdy,
        }, {
          ...convAttrs,
          filterShape: [g.kh, g.kw, g.c, g.o],
        })
      ),
    () => conv2dBackpropFilter(x, dy, g),
  ],
];
// TF.js's CPU Conv2DBackpropFilter is a naive loop that takes about two
// minutes per call on this shape: it runs only with TENSA_BENCH_SLOW=1.
const slow = slowBaselines();
for (const [group, base, ours] of convBenches) {
  const isSlow = group === "conv2d backprop filter";
  Deno.bench({
    name: `tfjs ${group}`,
    group,
    baseline: true,
    ignore: isSlow && !slow,
    n: isSlow ? 1 : 3,
    warmup: isSlow ? 0 : 1,
    fn: base,
  });
  const flops = 2 * g.n * g.outH * g.outW * g.o * g.kh * g.kw * g.c;
  Deno.bench({
    name: `tensa ${group} [flops=${flops}]`,
    group,
    n: 10,
    warmup: 2,
    fn: ours,
  });
}

// Max pooling, [64, 24, 24, 64], size 2

const pg: Pool2dGeometry = {
  n: 64,
  h: 24,
  w: 24,
  c: 64,
  kh: 2,
  kw: 2,
  outH: 12,
  outW: 12,
  strideH: 2,
  strideW: 2,
  padTop: 0,
  padBottom: 0,
  padLeft: 0,
  padRight: 0,
};
const px = randArray(pg.n * pg.h * pg.w * pg.c, 6);
const pdy = randArray(pg.n * pg.outH * pg.outW * pg.c, 7);
const tpx = tf.tensor4d(px, [pg.n, pg.h, pg.w, pg.c]);
const tpdy = tf.tensor4d(pdy, [pg.n, pg.outH, pg.outW, pg.c]);
const tpy = tf.maxPool(tpx, 2, 2, "valid");
const { argmax } = maxPoolForward(px, pg);

Deno.bench({
  name: "tfjs maxPool forward",
  group: "maxPool forward",
  baseline: true,
  fn: () => tfRun(() => tf.maxPool(tpx, 2, 2, "valid")),
});
Deno.bench({
  name: "tensa maxPoolForward",
  group: "maxPool forward",
  fn: () => {
    maxPoolForward(px, pg);
  },
});
Deno.bench({
  name: "tfjs maxPool backward",
  group: "maxPool backward",
  baseline: true,
  fn: () =>
    tfRun(() =>
      tf.engine().runKernel<tf.Tensor>("MaxPoolGrad", {
        dy: tpdy,
        input: tpx,
        output: tpy,
      }, {
        filterSize: 2,
        strides: 2,
        pad: "valid",
      })
    ),
});
Deno.bench({
  name: "tensa scatterAddByIndex",
  group: "maxPool backward",
  fn: () => {
    scatterAddByIndex(pdy, argmax, px.length);
  },
});
