// jax-js (npm `@jax-js/jax`: a JAX-like library whose CPU backend generates
// WebAssembly SIMD kernels and runs them on a pool of workers) as a peer in
// the groups of bench/kernels_bench.ts and bench/train_bench.ts, whose
// baselines are TF.js CPU. Run alone with `deno bench --allow-read
// --allow-env bench/jaxjs_bench.ts`; JAXJS_THREADS sets its worker count
// (default 2); TENSA_BENCH_SLOW=1 adds the (very slow) conv2d gradients.
//
// jax-js runs an operation on its workers only when the result is read
// asynchronously (`await data()`, `blockUntilReady`); `dataSync()` compiles
// and runs every kernel on the calling thread. So every bench here is async
// and awaits its result. Its arrays are reference counted and moved into the
// operations that use them: `.ref` a value that is used again, and the
// results read by `data()` are consumed (freed) by it.
//
// Convolution: jax-js's `lax.conv` takes NCHW inputs and OIHW filters only
// (no dimension numbers), so the conv2d bench runs the same convolution in
// that layout (x [64, 32, 26, 26], filter [64, 32, 3, 3], valid, stride 1:
// the FLOPs of the NHWC shape in bench/kernels_bench.ts), without transposes.
// The small CNN is also NCHW.

import { idleShutdown, jaxjsThreads } from "./_jaxjs_workers.ts";
import { slowBaselines } from "./_slow.ts";
// deno-lint-ignore no-import-prefix -- a peer only, kept out of the import map
import * as jax from "npm:@jax-js/jax@0.1.25";

const {
  blockUntilReady,
  grad,
  jit,
  lax,
  nn,
  numpy: np,
  random,
  valueAndGrad,
} = jax;
type JArray = jax.Array;

function randArray(
  n: number,
  seed: number,
  scale = 1,
): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

function arr(data: Float32Array<ArrayBuffer>, shape: number[]): JArray {
  return np.array(data, { shape });
}

const tag = `jax-js (${jaxjsThreads} workers)`;

// GEMM (counts as in bench/kernels_bench.ts)

for (const s of [256, 512, 1024]) {
  const a = arr(randArray(s * s, 1), [s, s]);
  const b = arr(randArray(s * s, 2), [s, s]);
  Deno.bench({
    name: `${tag} matmul ${s} [flops=${2 * s * s * s}]`,
    group: `gemm ${s}`,
    n: s >= 1024 ? 20 : s >= 512 ? 100 : 200,
    warmup: s >= 1024 ? 3 : 10,
    fn: idleShutdown(async () => {
      await np.matmul(a.ref, b.ref).data();
    }),
  });
}

// conv2d forward, NCHW / OIHW

const cx = arr(randArray(64 * 32 * 26 * 26, 3), [64, 32, 26, 26]);
const cw = arr(randArray(64 * 32 * 3 * 3, 4), [64, 32, 3, 3]);
Deno.bench({
  name: `${tag} conv2d forward NCHW [flops=${
    2 * 64 * 24 * 24 * 64 * 3 * 3 * 32
  }]`,
  group: "conv2d forward",
  n: 10,
  warmup: 2,
  fn: idleShutdown(async () => {
    await lax.conv(cx.ref, cw.ref, [1, 1], "VALID").data();
  }),
});

// Both conv2d gradients as jax-js's autodiff computes them in a training
// step (`grad` of <conv(x, w), dy> under jit; the results equal
// `lax.convTranspose` of dy and a convolution of the transposed x and dy).
// They take 6-14 s a call here, so they run only with TENSA_BENCH_SLOW=1.

const cdy = arr(randArray(64 * 64 * 24 * 24, 5), [64, 64, 24, 24]);
const gradInput = jit((x: JArray, w: JArray, dy: JArray) =>
  grad((x: JArray) => lax.conv(x, w, [1, 1], "VALID").mul(dy).sum())(x)
);
const gradFilter = jit((x: JArray, w: JArray, dy: JArray) =>
  grad((w: JArray) => lax.conv(x, w, [1, 1], "VALID").mul(dy).sum())(w)
);
for (
  const [group, g] of [
    ["conv2d backprop input", gradInput],
    ["conv2d backprop filter", gradFilter],
  ] as const
) {
  Deno.bench({
    name: `${tag} ${group} NCHW [flops=${2 * 64 * 24 * 24 * 64 * 3 * 3 * 32}]`,
    group,
    ignore: !slowBaselines(),
    n: 3,
    warmup: 1,
    fn: idleShutdown(async () => {
      await g(cx.ref, cw.ref, cdy.ref).data();
    }),
  });
}

// The small CNN train step at batch 64 with Adam, under one jit: conv 5x5x8,
// relu, max pool 2, conv 5x5x16, relu, max pool 2, flatten (256), dropout
// 0.25, dense 10, softmax cross-entropy. jax-js has neither max pooling nor
// dropout: pooling is a max over the axes of a [.., 12, 2, 12, 2] reshape and
// dropout a `random.bernoulli` mask (the rate and scaling of tensa's).

type Params = {
  w1: JArray;
  b1: JArray;
  w2: JArray;
  b2: JArray;
  w3: JArray;
  b3: JArray;
};

/** A record of `f` of each parameter's name, in the order w1, b1, w2, b2, w3, b3. */
function perParam<T>(f: (k: keyof Params) => T): Record<keyof Params, T> {
  return {
    w1: f("w1"),
    b1: f("b1"),
    w2: f("w2"),
    b2: f("b2"),
    w3: f("w3"),
    b3: f("b3"),
  };
}

function initParams(): Params {
  return {
    w1: arr(randArray(8 * 1 * 5 * 5, 11, 0.2), [8, 1, 5, 5]),
    b1: np.zeros([8]),
    w2: arr(randArray(16 * 8 * 5 * 5, 12, 0.1), [16, 8, 5, 5]),
    b2: np.zeros([16]),
    w3: arr(randArray(256 * 10, 13, 0.1), [256, 10]),
    b3: np.zeros([10]),
  };
}

/** conv (valid), bias, relu and 2x2 max pooling on NCHW. */
function convBlock(x: JArray, w: JArray, b: JArray): JArray {
  const y = lax.conv(x, w, [1, 1], "VALID");
  const [n, c, h, wd] = y.shape;
  if (
    y.shape.length !== 4 || n === undefined || c === undefined ||
    h === undefined || wd === undefined
  ) {
    throw new RangeError(`Expected an NCHW batch but found [${y.shape}]`);
  }
  const r = nn.relu(y.add(b.reshape([1, c, 1, 1])));
  return r.reshape([n, c, h / 2, 2, wd / 2, 2]).max([3, 5]);
}

const keep = 0.75;

/** Mean softmax cross-entropy of the small CNN on a batch (NCHW images). */
function loss(p: Params, x: JArray, onehot: JArray, key: JArray): JArray {
  const h1 = convBlock(x, p.w1, p.b1);
  const h2 = convBlock(h1, p.w2, p.b2);
  const flat = h2.reshape([h2.shape[0]!, 256]);
  const mask = random.bernoulli(key, keep, flat.shape);
  const dropped = flat.mul(mask.astype(np.float32)).mul(1 / keep);
  const logits = np.matmul(dropped, p.w3).add(p.b3);
  const logp = nn.logSoftmax(logits, -1);
  return logp.mul(onehot).sum(-1).mean().neg();
}

const b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = 1e-3;

/**
 * One Adam step: loss and gradients, then the moments and parameters.
 * `c1`, `c2` are the bias corrections 1 / (1 - beta^t) as scalars.
 */
function trainStep(
  p: Params,
  m: Params,
  v: Params,
  c1: JArray,
  c2: JArray,
  x: JArray,
  onehot: JArray,
  key: JArray,
): [Params, Params, Params, JArray] {
  const [l, g] = valueAndGrad(loss)(
    {
      w1: p.w1.ref,
      b1: p.b1.ref,
      w2: p.w2.ref,
      b2: p.b2.ref,
      w3: p.w3.ref,
      b3: p.b3.ref,
    },
    x,
    onehot,
    key,
  );
  const next = perParam((k) => {
    const gk = g[k];
    const mk = m[k].mul(b1).add(gk.ref.mul(1 - b1));
    const vk = v[k].mul(b2).add(gk.ref.mul(gk).mul(1 - b2));
    const step = mk.ref.mul(c1.ref).div(
      np.sqrt(vk.ref.mul(c2.ref)).add(eps),
    ).mul(lr);
    return { p: p[k].sub(step), m: mk, v: vk };
  });
  c1.dispose();
  c2.dispose();
  return [
    perParam((k) => next[k].p),
    perParam((k) => next[k].m),
    perParam((k) => next[k].v),
    l,
  ];
}

const jitStep = jit(trainStep);

function zerosLike(p: Params): Params {
  return perParam((k) => np.zeros(p[k].shape));
}

let params = initParams();
let mom = zerosLike(params);
let vel = zerosLike(params);
let t = 0;
const x64 = arr(randArray(64 * 28 * 28, 21, 0.5).map((v) => v + 0.5), [
  64,
  1,
  28,
  28,
]);
const labels = new Int32Array(64).map((_, i) => (i * 7 + 3) % 10);
const y64 = nn.oneHot(np.array(labels, { dtype: np.int32 }), 10);

Deno.bench({
  name: `${tag} small CNN train step b64 [images=64]`,
  group: "train small",
  n: 150,
  warmup: 40,
  fn: idleShutdown(async () => {
    t++;
    const c1 = np.array(1 / (1 - b1 ** t));
    const c2 = np.array(1 / (1 - b2 ** t));
    const [p, m, v, l] = jitStep(
      params,
      mom,
      vel,
      c1,
      c2,
      x64.ref,
      y64.ref,
      random.key(t),
    );
    params = p;
    mom = m;
    vel = v;
    // The loss is read; the parameters are waited for (not consumed).
    await blockUntilReady([params, mom, vel]);
    const lossValue = (await l.data())[0]!;
    if (!Number.isFinite(lossValue)) throw new Error(`loss ${lossValue}`);
  }),
});

// For a one-off numerical check outside `deno bench`.
export { convBlock, initParams, jitStep, loss, trainStep, zerosLike };
