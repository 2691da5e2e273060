/**
 * Tests of the WebAssembly SIMD kernels: the emitted module against a
 * float64 reference (both the relaxed-SIMD and the plain multiply-add
 * variants, on edge shapes), the choice of kernels, and agreement of the
 * WebAssembly and typed-array paths through the public kernel entry points.
 * (kernels_test.ts runs every kernel test on the default path, WebAssembly
 * here; `deno task test:js` runs it again on the typed-array path.)
 */

import { assert, assertEquals } from "@std/assert";
import { kernelModuleBytes } from "../src/kernels/wasm/module.ts";
import {
  KC,
  MC,
  packedFloats,
  workFloats,
} from "../src/kernels/wasm/gemm_module.ts";
import {
  copyTraffic,
  kernelMode,
  relaxedSimd,
  setKernels,
  stageRun,
  wasm,
} from "../src/kernels/wasm/runtime.ts";
import { gemm, gemmInto } from "../src/kernels/gemm.ts";
import {
  conv2dBackpropFilter,
  conv2dBackpropFilterScattered,
  conv2dBackpropInput,
  conv2dBackpropInputMasked,
  conv2dBackpropInputScattered,
  conv2dForward,
  type Conv2dGeometry,
  conv2dMaxPool,
} from "../src/kernels/conv2d.ts";
import { setThreads } from "../src/kernels/threads.ts";
import { biasRelu, reduce, reluMask } from "../src/kernels/elementwise.ts";
import {
  maxPoolForward,
  type Pool2dGeometry,
  scatterAddByIndex,
} from "../src/kernels/pool.ts";
import { adamKernel } from "../src/optim/_adam_kernel.ts";
import { lcg } from "./_gradcheck.ts";
import {
  bernoulli,
  key,
  keyData,
  threefry2x32,
  uniform,
} from "../src/random.ts";
import { dropout } from "../mod.ts";

setThreads(1);

/** `n` floats in [-1, 1) from the tests' generator. */
function randArray(n: number, seed: number): Float32Array {
  const rnd = lcg(seed);
  return Float32Array.from({ length: n }, () => rnd() * 2 - 1);
}

/** Max |a - e| over max(1, max |e|): a relative error for sums of products. */
function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>) {
  assertEquals(actual.length, expected.length);
  let scale = 1, err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    err = Math.max(err, Number.isNaN(d) ? Infinity : d);
  }
  return err / scale;
}

const simd = WebAssembly.validate(kernelModuleBytes(false));

Deno.test({
  name: "the emitted GEMM module matches a float64 reference on edge shapes",
  ignore: !simd,
  fn() {
    for (const relaxed of [false, true]) {
      const bytes = kernelModuleBytes(relaxed);
      if (!WebAssembly.validate(bytes)) continue; // no relaxed SIMD here
      const memory = new WebAssembly.Memory({
        initial: 256,
        maximum: 4096,
        shared: true,
      });
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
        tensa: { memory },
      }).exports as Record<string, (...args: number[]) => void>;
      let seed = relaxed ? 100 : 200;
      // Rows past a multiple of the tile and of MC, columns past 8, depth
      // past KC, and the degenerate sizes.
      const shapes = [
        [1, 1, 1],
        [3, 5, 7],
        [MC + 5, KC + 3, 17],
        [9, 2 * KC + 1, 8],
        [4, 3, 16],
      ];
      for (const [m, k, n] of shapes as [number, number, number][]) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            for (const acc of [false, true]) {
              const a = randArray(m * k, seed++), b = randArray(k * n, seed++);
              const c0 = randArray(m * n, seed++);
              const f = new Float32Array(memory.buffer);
              let off = 16;
              const place = (len: number) => {
                const at = off;
                off += (len + 15) & ~15;
                return at;
              };
              const pa = place(m * k),
                pb = place(k * n),
                pc = place(m * n + 16);
              const pp = place(packedFloats(k, n)), pw = place(workFloats);
              f.set(a, pa);
              f.set(b, pb);
              f.set(c0, pc);
              f.fill(0, pc + m * n, pc + m * n + 16); // a guard after C
              ex.packB!(pb * 4, tB ? k : n, tB ? 1 : 0, k, n, pp * 4);
              ex.gemm!(
                pa * 4,
                tA ? m : k,
                tA ? 1 : 0,
                pp * 4,
                pc * 4,
                n,
                m,
                k,
                n,
                acc ? 1 : 0,
                pw * 4,
              );
              const want = new Float64Array(m * n);
              for (let i = 0; i < m; i++) {
                for (let j = 0; j < n; j++) {
                  let s = acc ? c0[i * n + j]! : 0;
                  for (let p = 0; p < k; p++) {
                    s += (tA ? a[p * m + i]! : a[i * k + p]!) *
                      (tB ? b[j * k + p]! : b[p * n + j]!);
                  }
                  want[i * n + j] = s;
                }
              }
              const got = f.subarray(pc, pc + m * n);
              const e = relErr(got, want);
              assert(
                e < 2e-6 * Math.sqrt(k + 1),
                `relaxed=${relaxed} ${m}x${k}x${n} tA=${tA} tB=${tB} acc=${acc}: error ${e}`,
              );
              // Nothing past C was written.
              assertEquals(
                f.subarray(pc + m * n, pc + m * n + 16),
                new Float32Array(16),
                "past the end of C",
              );
            }
          }
        }
      }
    }
  },
});

Deno.test("kernels default to WebAssembly where it validates, and switch", () => {
  const before = setKernels(null);
  try {
    const env = Deno.env.get("TENSA_KERNELS");
    assertEquals(kernelMode(), env === "js" || !simd ? "js" : "wasm");
    assertEquals(relaxedSimd() !== null, simd);
    setKernels("wasm");
    assertEquals(kernelMode(), simd ? "wasm" : "js");
    setKernels("js");
    assertEquals(kernelMode(), "js");
  } finally {
    setKernels(before);
  }
});

function both<T>(f: () => T): { js: T; wasm: T } {
  const before = setKernels("js");
  try {
    const js = f();
    setKernels("wasm");
    const wasm = f();
    return { js, wasm };
  } finally {
    setKernels(before);
  }
}

Deno.test({
  name: "WebAssembly and typed-array kernels agree on GEMM and convolutions",
  ignore: !simd,
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    let seed = 1;
    for (const threads of [1, 2]) {
      setThreads(threads);
      try {
        for (const [m, k, n] of [[70, 300, 33], [256, 64, 10], [5, 1, 3]]) {
          for (const tA of [false, true]) {
            for (const tB of [false, true]) {
              const a = randArray(m! * k!, seed++),
                b = randArray(k! * n!, seed++);
              const r = both(() => gemm(a, b, m!, k!, n!, tA, tB));
              assert(relErr(r.wasm, r.js) < 1e-5, `gemm ${m} ${k} ${n}`);
            }
          }
        }
        const ci = randArray(40 * 30 + 7, seed++);
        const r = both(() => {
          const c = ci.slice();
          gemmInto(
            randArray(40 * 50 + 3, 9),
            3,
            randArray(50 * 30, 8),
            0,
            c,
            7,
            40,
            50,
            30,
            false,
            false,
            true,
          );
          return c;
        });
        assert(relErr(r.wasm, r.js) < 1e-5, "gemmInto accumulate");
        assertEquals(r.wasm.subarray(0, 7), ci.subarray(0, 7), "before C");
        const geoms: Conv2dGeometry[] = [
          conv(8, 28, 28, 1, 5, 8, 1, 0),
          conv(4, 12, 12, 8, 5, 16, 1, 2),
          conv(3, 15, 13, 6, 3, 12, 2, 1),
          // Few channels and 12 outputs: the packed output gradient.
          conv(2, 10, 9, 3, 3, 12, 1, 1),
          // Unpadded with channels a multiple of 8: the input gradient
          // without a column matrix, with stride 1 and 2.
          conv(4, 12, 12, 8, 5, 16, 1, 0),
          conv(3, 11, 10, 16, 3, 12, 2, 0),
        ];
        for (const g of geoms) {
          const x = randArray(g.n * g.h * g.w * g.c, seed++);
          const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
          const dy = randArray(g.n * g.outH * g.outW * g.o, seed++);
          const fw = both(() => conv2dForward(x, f, g));
          assert(relErr(fw.wasm, fw.js) < 1e-5, `forward ${JSON.stringify(g)}`);
          const bi = both(() => conv2dBackpropInput(dy, f, g));
          assert(relErr(bi.wasm, bi.js) < 1e-5, `input grad`);
          const bf = both(() => conv2dBackpropFilter(x, dy, g));
          assert(relErr(bf.wasm, bf.js) < 1e-5, `filter grad`);
        }
      } finally {
        setThreads(1);
      }
    }
  },
});

function conv(
  n: number,
  h: number,
  w: number,
  c: number,
  k: number,
  o: number,
  stride: number,
  pad: number,
): Conv2dGeometry {
  const outH = Math.floor((h + 2 * pad - k) / stride) + 1;
  const outW = Math.floor((w + 2 * pad - k) / stride) + 1;
  return {
    n,
    h,
    w,
    c,
    kh: k,
    kw: k,
    o,
    outH,
    outW,
    strideH: stride,
    strideW: stride,
    dilH: 1,
    dilW: 1,
    padTop: pad,
    padBottom: pad,
    padLeft: pad,
    padRight: pad,
  };
}

Deno.test({
  name:
    "WebAssembly bias + relu and relu mask are bit-identical to the typed-array ones",
  ignore: !simd,
  fn() {
    for (const [n, m] of [[64 * 24 * 24 * 8, 8], [5000 * 16, 16], [6000, 6]]) {
      const x = randArray(n!, 7 + n!), g = randArray(n!, 8 + n!);
      const b = randArray(m!, 9);
      // Special values: NaN, -0, infinities, and exact zeros after the bias.
      x[0] = NaN;
      x[1] = -0;
      x[2] = Infinity;
      x[3] = -Infinity;
      x[4] = -b[4 % m!]!;
      g[5] = NaN;
      const br = both(() => biasRelu(x, b));
      const rm = both(() => reluMask(g, x));
      assertEquals(bitsOf(br.wasm), bitsOf(br.js), `biasRelu ${n} ${m}`);
      assertEquals(bitsOf(rm.wasm), bitsOf(rm.js), `reluMask ${n}`);
    }
  },
});

function bitsOf(a: Float32Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length);
}

Deno.test("the SIMD Threefry stream gives the scalar cipher's words", () => {
  // Whole draws on both paths, long enough for the SIMD stream and with
  // a scalar tail (odd word counts, blocks not a multiple of 4).
  for (const n of [7, 1024, 4097, 10001]) {
    const k = key(n);
    const u = both(() => uniform(k, [n]).toFlat());
    assertEquals(u.wasm, u.js, `uniform ${n}`);
    const b = both(() => bernoulli(k, 0.3, [n]).toFlat());
    assertEquals(b.wasm, b.js, `bernoulli ${n}`);
  }
  // The stream of key k is block b = (0, b) encrypted under k: the first
  // word of block 600 decides draw 1200 of bernoulli(k, p) (word 2b).
  const k = key(5);
  const [k0, k1] = keyData(k);
  const words = threefry2x32([k0, k1], [0, 600]);
  const p = 0.5;
  const draw = both(() => bernoulli(k, p, [2000]).toFlat());
  assertEquals(draw.wasm[1200], words[0] / 2 ** 32 < p ? 1 : 0);
  assertEquals(draw.wasm[1201], words[1] / 2 ** 32 < p ? 1 : 0);
  // The SIMD mask (word counts a multiple of 8 from 512 on), at
  // probabilities whose threshold p * 2^32 is whole or not, the ends, and
  // a dropout mask scaled by 1 / (1 - rate).
  for (const q of [0, 1e-9, 0.25, 0.3, 0.5, 0.75, 1 - 1e-9, 1]) {
    for (const n of [512, 4096, 16384]) {
      const m = both(() => bernoulli(key(n + 1), q, [n]).toFlat());
      assertEquals(m.wasm, m.js, `bernoulli ${q} ${n}`);
    }
  }
  // A word right at the threshold: p = w * 2^-32 draws 0 for the word w,
  // p = (w + 0.5) * 2^-32 draws 1.
  const [w0] = threefry2x32(keyData(key(9)), [0, 0]);
  for (const [q, want] of [[w0 / 2 ** 32, 0], [(w0 + 0.5) / 2 ** 32, 1]]) {
    const m = both(() => bernoulli(key(9), q!, [4096]).toFlat());
    assertEquals([m.wasm[0], m.js[0]], [want, want], `p = ${q}`);
    assertEquals(m.wasm, m.js);
  }
  const x = uniform(key(3), [64, 256]);
  for (const rate of [0.25, 0.5, 0.123]) {
    const d = both(() => dropout(x, { rate, key: key(4) }).toFlat());
    assertEquals(d.wasm, d.js, `dropout ${rate}`);
  }
});

Deno.test({
  name: "WebAssembly max pooling gives the typed-array values and argmax",
  ignore: !simd,
  fn() {
    const cases: Pool2dGeometry[] = [
      pool(64, 24, 24, 8, 2, 2, 0),
      pool(3, 9, 7, 16, 3, 2, 1),
      pool(2, 5, 5, 4, 3, 3, 2),
    ];
    let seed = 77;
    for (const g of cases) {
      // Few levels: many ties, which the first position must win.
      const x = new Float32Array(g.n * g.h * g.w * g.c);
      const r = randArray(x.length, seed++);
      for (let i = 0; i < x.length; i++) x[i] = Math.round(r[i]! * 2);
      x[5] = NaN;
      x[9] = -0;
      const p = both(() => maxPoolForward(x, g));
      assertEquals(bitsOf(p.wasm.out), bitsOf(p.js.out), JSON.stringify(g));
      assertEquals(p.wasm.argmax, p.js.argmax, `argmax ${JSON.stringify(g)}`);
    }
  },
});

function pool(
  n: number,
  h: number,
  w: number,
  c: number,
  k: number,
  stride: number,
  pad: number,
): Pool2dGeometry {
  return {
    n,
    h,
    w,
    c,
    kh: k,
    kw: k,
    outH: Math.floor((h + 2 * pad - k) / stride) + 1,
    outW: Math.floor((w + 2 * pad - k) / stride) + 1,
    strideH: stride,
    strideW: stride,
    padTop: pad,
    padBottom: pad,
    padLeft: pad,
    padRight: pad,
  };
}

Deno.test({
  name: "WebAssembly Adam gives the typed-array moments and update bit for bit",
  ignore: !simd,
  fn() {
    for (const n of [1024, 4096 * 3]) {
      const g = randArray(n, 1), m = randArray(n, 2);
      const v = randArray(n, 3).map(Math.abs);
      g[0] = 0;
      g[1] = 1e-30;
      g[2] = -3e20;
      for (
        const [b1, b2, scale, eps] of [[0.9, 0.999, 1e-3, 1e-8], [
          0.5,
          0.25,
          -0.7,
          10,
        ]]
      ) {
        const r = both(() => adamKernel(g, m, v, b1!, b2!, scale!, eps!));
        for (let i = 0; i < 3; i++) {
          assertEquals(bitsOf(r.wasm[i]!), bitsOf(r.js[i]!), `${n} part ${i}`);
        }
        // With parameters: the new parameters instead of the update.
        const p = randArray(n, 4);
        const q = both(() => adamKernel(g, m, v, b1!, b2!, scale!, eps!, p));
        for (let i = 0; i < 3; i++) {
          assertEquals(bitsOf(q.wasm[i]!), bitsOf(q.js[i]!), `${n} p ${i}`);
        }
        assertEquals(bitsOf(q.js[0]!), bitsOf(r.js[0]!));
        const u = r.js[2]!, pu = q.js[2]!;
        for (let i = 0; i < n; i += 97) {
          const want = p[i]! + u[i]!;
          assert(
            Math.abs(pu[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)),
            `p + u at ${i}: ${pu[i]} vs ${want}`,
          );
        }
      }
    }
  },
});

Deno.test({
  name:
    "WebAssembly sums over a middle axis are bit-identical to the typed-array ones",
  ignore: !simd,
  fn() {
    for (
      const [outer, mid, inner] of [[1, 36864, 8], [3, 1000, 16], [2, 5000, 4]]
    ) {
      const x = randArray(outer! * mid! * inner!, outer! + mid!);
      x[3] = 1e30;
      x[7] = -1e30;
      const r = both(() => reduce("sum", x, outer!, mid!, inner!));
      assertEquals(
        bitsOf(r.wasm as Float32Array),
        bitsOf(r.js as Float32Array),
        `${outer} ${mid} ${inner}`,
      );
    }
  },
});

Deno.test({
  name:
    "a kernel reads the previous kernel's output where it still is, with the same result",
  ignore: !simd,
  fn() {
    // Big enough for the WebAssembly path at every stage (4096 pooled).
    const g = conv(16, 12, 12, 8, 5, 16, 1, 0);
    const x = randArray(g.n * g.h * g.w * g.c, 91);
    const f = randArray(g.kh * g.kw * g.c * g.o, 92);
    const b = randArray(g.o, 93);
    const before = setKernels("wasm");
    try {
      const y = conv2dForward(x, f, g);
      copyTraffic();
      const r = biasRelu(y, b);
      // Only the bias was copied in: y was read where the convolution left it.
      assertEquals(copyTraffic().inBytes, 4 * b.length);
      const pg = pool(g.n, g.outH, g.outW, g.o, 2, 2, 0);
      const pooled = maxPoolForward(r, pg);
      // The same kernels on copies (other buffers, so copied in).
      const want = biasRelu(y.slice(), b);
      assertEquals(bitsOf(r), bitsOf(want));
      const wantPool = maxPoolForward(want.slice(), pg);
      assertEquals(bitsOf(pooled.out), bitsOf(wantPool.out));
      assertEquals(pooled.argmax, wantPool.argmax);
      // A view of the pooled values (the argmax lies after them) is read in
      // place too.
      const again = maxPoolForward(r, pg);
      copyTraffic();
      const relu2 = biasRelu(again.out, b);
      assertEquals(copyTraffic().inBytes, 4 * b.length);
      assertEquals(bitsOf(relu2), bitsOf(biasRelu(wantPool.out.slice(), b)));
    } finally {
      setKernels(before);
    }
  },
});

Deno.test({
  name:
    "WebAssembly bias + relu, relu mask and max pooling split over threads give the same bits",
  ignore: !simd,
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    const n = 64 * 24 * 24 * 8;
    const x = randArray(n, 501), g = randArray(n, 502), b = randArray(8, 503);
    const pg = pool(64, 24, 24, 8, 2, 2, 0);
    const dy = randArray(64 * 12 * 12 * 8, 504);
    const run = () => {
      const r = biasRelu(x, b), m = reluMask(g, x);
      const p = maxPoolForward(x.slice(), pg);
      const s = scatterAddByIndex(dy, p.argmax, n);
      return [bitsOf(r), bitsOf(m), bitsOf(p.out), p.argmax, bitsOf(s)];
    };
    try {
      setThreads(1);
      const one = run();
      setThreads(2);
      assertEquals(run(), one);
      setThreads(3);
      assertEquals(run(), one);
    } finally {
      setThreads(1);
    }
  },
});

Deno.test({
  name:
    "the convolution fused with its max pool gives the unfused values and argmax on any number of threads",
  ignore: !simd,
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    // [convolution, pool over its output]: the small CNN's two layers, a
    // padded strided convolution under an overlapping padded pool, and one
    // image.
    const cases: [Conv2dGeometry, (g: Conv2dGeometry) => Pool2dGeometry][] = [
      [conv(64, 28, 28, 1, 5, 8, 1, 0), (g) => over(g, 2, 2, 0)],
      [conv(64, 12, 12, 8, 5, 16, 1, 0), (g) => over(g, 2, 2, 0)],
      [conv(3, 15, 13, 6, 3, 12, 2, 1), (g) => over(g, 3, 2, 1)],
      [conv(1, 9, 9, 4, 3, 4, 1, 1), (g) => over(g, 2, 2, 0)],
    ];
    let seed = 900;
    onWasm(() => {
      for (const [g, poolOf] of cases) {
        const pg = poolOf(g);
        const x = randArray(g.n * g.h * g.w * g.c, seed++);
        const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
        setThreads(1);
        const want = maxPoolForward(conv2dForward(x, f, g), pg);
        const other = randArray(x.length, seed++);
        for (const threads of [1, 2, 3]) {
          setThreads(threads);
          // Leave other values where the fused job works (it writes every
          // value it reads).
          maxPoolForward(conv2dForward(other, f, g), pg);
          const got = conv2dMaxPool(x, f, g, pg);
          assert(got !== null, `fused ${JSON.stringify(g)}`);
          const at = `${threads} threads, ${JSON.stringify(g)}`;
          assertEquals(bitsOf(got.out), bitsOf(want.out), at);
          assertEquals(got.argmax, want.argmax, `argmax, ${at}`);
        }
      }
      // Output channels not a multiple of 4, or a pool over other images:
      // the caller runs the two kernels.
      const g6 = conv(2, 8, 8, 4, 3, 6, 1, 0);
      const x = randArray(2 * 8 * 8 * 4, 1), f = randArray(3 * 3 * 4 * 6, 2);
      assertEquals(conv2dMaxPool(x, f, g6, over(g6, 2, 2, 0)), null);
      const g8 = conv(2, 8, 8, 4, 3, 8, 1, 0);
      assertEquals(
        conv2dMaxPool(
          x,
          randArray(3 * 3 * 4 * 8, 3),
          g8,
          pool(2, 5, 5, 8, 2, 2, 0),
        ),
        null,
      );
    });
  },
});

/** A square pool of size `k` over the output of `g`. */
function over(
  g: Conv2dGeometry,
  k: number,
  stride: number,
  pad: number,
): Pool2dGeometry {
  return pool(g.n, g.outH, g.outW, g.o, k, stride, pad);
}

Deno.test({
  name:
    "both gradients of a scattered max-pool cotangent give the bits of the scattered array's, on any number of threads",
  ignore: !simd,
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    // [convolution, pool over its output]: the small CNN's two layers (8
    // channels read in place, 16 packed), 12 channels (a part-filled
    // panel) under an overlapping pool (values that share a position add
    // up) with padding (windows without a position), and fewer images
    // than parts.
    const cases: [Conv2dGeometry, (g: Conv2dGeometry) => Pool2dGeometry][] = [
      [conv(64, 28, 28, 1, 5, 8, 1, 0), (g) => over(g, 2, 2, 0)],
      [conv(64, 12, 12, 8, 5, 16, 1, 0), (g) => over(g, 2, 2, 0)],
      [conv(10, 11, 9, 3, 3, 12, 1, 1), (g) => over(g, 3, 2, 1)],
      [conv(3, 9, 9, 4, 3, 8, 2, 1), (g) => over(g, 2, 1, 0)],
      // The input gradient too: 16 channels, an overlapping pool, stride 2.
      [conv(5, 13, 11, 16, 3, 8, 2, 0), (g) => over(g, 2, 1, 0)],
      // Tiled by 2 x 2 windows: 8 channels (both gradients) and 16.
      [conv(6, 10, 10, 8, 3, 8, 1, 0), (g) => over(g, 2, 2, 0)],
      [conv(3, 9, 9, 8, 2, 16, 1, 0), (g) => over(g, 2, 2, 0)],
    ];
    let seed = 950;
    onWasm(() => {
      for (const [g, poolOf] of cases) {
        const pg = poolOf(g);
        const x = randArray(g.n * g.h * g.w * g.c, seed++);
        const z = randArray(g.n * g.outH * g.outW * g.o, seed++);
        const { argmax } = maxPoolForward(z, pg);
        const dy = randArray(argmax.length, seed++);
        // 2 x 2 windows tiling the output: written window by window.
        const tiles = pg.kh === 2 && pg.kw === 2 && pg.strideH === 2 &&
          pg.strideW === 2 && pg.padTop === 0 && pg.h === 2 * pg.outH &&
          pg.w === 2 * pg.outW;
        setThreads(1);
        const want = conv2dBackpropFilter(
          x,
          scatterAddByIndex(dy, argmax, z.length),
          g,
        );
        // The input gradient's kernel takes unpadded convolutions whose
        // input channels are a multiple of 8.
        const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
        const input = g.c % 8 === 0 && g.padTop === 0;
        const wantInput = input
          ? conv2dBackpropInput(scatterAddByIndex(dy, argmax, z.length), f, g)
          : null;
        for (const threads of [1, 2, 3]) {
          setThreads(threads);
          // The filter gradient's kernel takes at most 8 input channels.
          const got = conv2dBackpropFilterScattered(x, dy, argmax, g, tiles);
          const at = `${threads} threads, ${JSON.stringify(g)}`;
          assertEquals(got === null, g.c > 8, at);
          if (got !== null) assertEquals(bitsOf(got), bitsOf(want), at);
          const gotInput = conv2dBackpropInputScattered(
            dy,
            argmax,
            f,
            g,
            tiles,
          );
          assertEquals(gotInput === null, wantInput === null, `input, ${at}`);
          if (gotInput !== null && wantInput !== null) {
            assertEquals(bitsOf(gotInput), bitsOf(wantInput), `input, ${at}`);
            // With relu's mask applied as each image is done.
            const masked = conv2dBackpropInputScattered(
              dy,
              argmax,
              f,
              g,
              tiles,
              x,
            );
            assert(masked !== null);
            assertEquals(
              bitsOf(masked),
              bitsOf(reluMask(wantInput, x)),
              `masked input, ${at}`,
            );
            // And from the dense output gradient.
            const dense = scatterAddByIndex(dy, argmax, z.length);
            const maskedDense = conv2dBackpropInputMasked(dense, f, g, x);
            assert(maskedDense !== null);
            assertEquals(
              bitsOf(maskedDense),
              bitsOf(reluMask(conv2dBackpropInput(dense, f, g), x)),
              `masked dense input, ${at}`,
            );
          }
        }
      }
      // 16 input channels: the filter gradient runs im2col instead.
      const g16 = conv(2, 8, 8, 16, 3, 8, 1, 0);
      const x = randArray(2 * 8 * 8 * 16, 4);
      const { argmax } = maxPoolForward(
        randArray(2 * 6 * 6 * 8, 5),
        over(g16, 2, 2, 0),
      );
      assertEquals(
        conv2dBackpropFilterScattered(
          x,
          randArray(argmax.length, 6),
          argmax,
          g16,
        ),
        null,
      );
    });
  },
});

Deno.test({
  name:
    "the 2 x 2 unpooling kernel gives the scatter's bits, -0 made 0 as the scatter adds it",
  ignore: !simd,
  fn() {
    onWasm(() => {
      for (const [n, h, c] of [[3, 8, 8], [2, 12, 16], [1, 4, 4]]) {
        const pg = pool(n!, h!, h!, c!, 2, 2, 0);
        const z = randArray(n! * h! * h! * c!, h! + c!);
        const { argmax } = maxPoolForward(z, pg);
        const dy = randArray(argmax.length, c!);
        dy[0] = -0;
        dy[3] = -0;
        const want = scatterAddByIndex(dy, argmax, z.length);
        const at = new Float32Array(Int32Array.from(argmax).buffer);
        const got = stageRun([dy, at], z.length, ([pd, pa], po) => {
          wasm().unpool2x2(pd!, pa!, po, n!, h! / 2, h! / 2, c!, 0);
        });
        assert(got !== null);
        assertEquals(bitsOf(got), bitsOf(want), `${n} ${h} ${c}`);
      }
    });
  },
});

/** Runs `f` on the WebAssembly kernels, then restores them and one thread. */
function onWasm(f: () => void): void {
  const before = setKernels("wasm");
  try {
    f();
  } finally {
    setThreads(1);
    setKernels(before);
  }
}
