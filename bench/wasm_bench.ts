// TensorFlow.js's WASM backend (XNNPACK, one thread) as a second peer for
// GEMM and conv2d forward. It sits in the same groups as bench/kernels_bench.ts,
// whose baseline is TF.js CPU. (It cannot train a CNN: no conv filter gradient.)
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import { setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";

tf.env().set("IS_TEST", true);
setWasmPaths(
  new URL(
    ".",
    import.meta.resolve(
      "npm:@tensorflow/tfjs-backend-wasm@4.22.0/dist/tfjs-backend-wasm.wasm",
    ),
  ).href,
);
await tf.setBackend("wasm");

for (const s of [256, 512, 1024]) {
  const a = tf.randomNormal([s, s]), b = tf.randomNormal([s, s]);
  Deno.bench({
    name: `tfjs-wasm matMul ${s} [flops=${2 * s * s * s}]`,
    group: `gemm ${s}`,
    n: 20,
    warmup: 2,
    fn() {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
  });
}

const x = tf.randomNormal<tf.Rank.R4>([64, 26, 26, 32]);
const w = tf.randomNormal<tf.Rank.R4>([3, 3, 32, 64]);
Deno.bench({
  name: `tfjs-wasm conv2d forward [flops=${2 * 64 * 24 * 24 * 64 * 9 * 32}]`,
  group: "conv2d forward",
  n: 10,
  warmup: 2,
  fn() {
    const y = tf.conv2d(x, w, 1, "valid");
    y.dataSync();
    y.dispose();
  },
});
