// Full training steps (forward, loss, gradients, Adam update) of the small
// CNN and the Keras MNIST CNN at batch 64, and small-CNN inference at batch
// 256, against TensorFlow.js CPU in the same run.
// The union package: tfjs-core alone registers no gradients, so it cannot train.
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import * as tf from "npm:@tensorflow/tfjs@4.22.0";
import {
  crossEntropy,
  type Key,
  key,
  optim,
  randint,
  split,
  uniform,
  valueAndGrad,
} from "../mod.ts";
import {
  kerasModel,
  type KerasParams,
  type Model,
  smallModel,
  type SmallParams,
} from "../examples/mnist_lib.ts";
import { slowBaselines } from "./_slow.ts";

await tf.setBackend("cpu");

const [k1, k2, k3] = split(key(0), 3);
const x64 = uniform(k1, [64, 28, 28, 1]);
const y64 = randint(k2, [64], { min: 0, max: 10 });
const x256 = uniform(k3, [256, 28, 28, 1]);

/** Training steps and inference of one of the example's models (parameters `P`). */
function tensaStep<P>(model: Model<P>) {
  let params = model.init(key(1), [28, 28, 1]);
  const opt = optim.adam({ lr: 1e-3 });
  let state = opt.init(params);
  const loss = (p: P, k: Key) =>
    crossEntropy(model.apply(p, x64, { training: true, key: k }), y64);
  const vg = valueAndGrad(loss);
  let i = 0;
  return {
    step() {
      const [, g] = vg(params, key(i++));
      [params, state] = opt.update(g, state, params);
    },
    infer: () => model.apply(params, x256),
  };
}

/** A TF.js variable of the given shape, normal with standard deviation `std`. */
function tfNormal<R extends tf.Rank>(
  shape: tf.ShapeMap[R],
  std: number,
): tf.Variable<R> {
  return tf.variable(tf.randomNormal<R>(shape, 0, std));
}

/**
 * A TF.js model trained by Adam on the fixed batch: its variables and a
 * forward pass over them.
 */
function tfTrainer<V>(
  vars: V,
  forward: (vars: V, x: tf.Tensor4D) => tf.Tensor,
) {
  const opt = tf.train.adam(1e-3);
  const x = tf.tensor4d(x64.toFlat(), [64, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(y64.toFlat(), "int32"), 10);
  const x256t = tf.tensor4d(x256.toFlat(), [256, 28, 28, 1]);
  return {
    step() {
      tf.tidy(() => {
        // Every trainable variable is updated (the default varList).
        opt.minimize(() =>
          tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
            y,
            forward(vars, x),
          )
        );
      });
    },
    infer() {
      tf.tidy(() => forward(vars, x256t).dataSync());
    },
  };
}

/** conv, bias and relu, as TF.js ops. */
function tfConvRelu(h: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) {
  return tf.relu(tf.add<tf.Tensor4D>(tf.conv2d(h, w, 1, "valid"), b));
}

// The small CNN: conv 5x5x8, relu, max pool 2, conv 5x5x16, relu, max pool
// 2, dense 10.
function tfSmall() {
  const std = 0.1;
  const vars = {
    w1: tfNormal<tf.Rank.R4>([5, 5, 1, 8], std),
    b1: tfNormal<tf.Rank.R1>([8], std),
    w2: tfNormal<tf.Rank.R4>([5, 5, 8, 16], std),
    b2: tfNormal<tf.Rank.R1>([16], std),
    w3: tfNormal<tf.Rank.R2>([256, 10], std),
    b3: tfNormal<tf.Rank.R1>([10], std),
  };
  return tfTrainer(vars, (v, x) => {
    let h = tf.maxPool(tfConvRelu(x, v.w1, v.b1), 2, 2, "valid");
    h = tf.maxPool(tfConvRelu(h, v.w2, v.b2), 2, 2, "valid");
    return tf.add(tf.matMul(tf.reshape(h, [-1, 256]), v.w3), v.b3);
  });
}

// The Keras MNIST CNN in TF.js: conv 3x3x32, relu, conv 3x3x64, relu, max
// pool 2, dropout 0.25, flatten, dense 128, relu, dropout 0.5, dense 10.
function tfKeras() {
  const std = 0.05;
  const vars = {
    w1: tfNormal<tf.Rank.R4>([3, 3, 1, 32], std),
    b1: tfNormal<tf.Rank.R1>([32], std),
    w2: tfNormal<tf.Rank.R4>([3, 3, 32, 64], std),
    b2: tfNormal<tf.Rank.R1>([64], std),
    w3: tfNormal<tf.Rank.R2>([9216, 128], std),
    b3: tfNormal<tf.Rank.R1>([128], std),
    w4: tfNormal<tf.Rank.R2>([128, 10], std),
    b4: tfNormal<tf.Rank.R1>([10], std),
  };
  return tfTrainer(vars, (v, x) => {
    const h = tfConvRelu(tfConvRelu(x, v.w1, v.b1), v.w2, v.b2);
    const d = tf.dropout(tf.maxPool(h, 2, 2, "valid"), 0.25);
    const f = tf.relu(
      tf.add(tf.matMul(tf.reshape(d, [-1, 9216]), v.w3), v.b3),
    );
    return tf.add(tf.matMul(tf.dropout(f, 0.5), v.w4), v.b4);
  });
}

// TF.js needs about 2 minutes per Keras step (its conv filter gradient is a
// naive loop): that baseline runs only with TENSA_BENCH_SLOW=1.
const slow = slowBaselines();

const small = tensaStep<SmallParams>(smallModel(0.25));
const tfk = slow ? tfKeras() : null;
const keras = tensaStep<KerasParams>(kerasModel(0.25, 0.5));
const tfs = tfSmall();

Deno.bench({
  name: "tfjs-cpu small CNN train step b64 [images=64]",
  group: "train small",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: () => tfs.step(),
});
// Fixed counts: left to itself deno bench stops after about 30 steps, and
// the first 10-15 steps of a process are still being compiled by V8 (a
// training run takes thousands). The counts of bench/torch_peer.py and of
// jax-js's bench of the group: 40 warm-up steps, then 150 measured.
Deno.bench({
  name: "tensa small CNN train step b64 [images=64]",
  group: "train small",
  n: 150,
  warmup: 40,
  fn: () => small.step(),
});
Deno.bench({
  name: "tfjs-cpu keras CNN train step b64 [images=64]",
  group: "train keras",
  baseline: true,
  ignore: !slow,
  n: 1,
  warmup: 0,
  fn: () => tfk?.step(),
});
Deno.bench({
  name: "tensa keras CNN train step b64 [images=64]",
  group: "train keras",
  // As bench/torch_peer.py: 5 warm-up steps (fewer leave V8 and the
  // WebAssembly tiers still compiling: 3 measured 2.5x slower), 20 measured.
  n: 20,
  warmup: 5,
  fn: () => keras.step(),
});
Deno.bench({
  name: "tfjs-cpu small CNN inference b256 [images=256]",
  group: "infer small",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: () => tfs.infer(),
});
Deno.bench({
  name: "tensa small CNN inference b256 [images=256]",
  group: "infer small",
  n: 50,
  warmup: 10,
  fn: () => void small.infer().toFlat(),
});
