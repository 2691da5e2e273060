/**
 * Tests of the typed-array kernels (src/kernels/): against naive float64
 * reference loops, by transposition (dot-product) identities, against
 * TensorFlow.js's CPU backend, and threaded against single-thread.
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// deno-lint-ignore no-import-prefix -- a peer or oracle only, kept out of the import map
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
import { gemm, gemmInto } from "../src/kernels/gemm.ts";
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
  conv2dForward,
  type Conv2dGeometry,
  type ConvPath,
  setConvPath,
} from "../src/kernels/conv2d.ts";
import {
  avgPoolBackward,
  avgPoolForward,
  gatherByIndex,
  maxPoolForward,
  type Pool2dGeometry,
  scatterAddByIndex,
} from "../src/kernels/pool.ts";
import { getThreads, poolWorkers, setThreads } from "../src/kernels/threads.ts";

tf.env().set("IS_TEST", true); // silences TF.js's console banner
await tf.setBackend("cpu");

// Single-thread by default; the thread tests switch the pool on and off.
setThreads(1);

// ---------------------------------------------------------------------------
// Helpers

/** A seeded linear congruential generator of floats in [-1, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function randArray(n: number, seed: number): Float32Array {
  const r = lcg(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  return a;
}

/** Small integers, so that max pooling sees many ties. */
function intArray(n: number, seed: number, levels = 4): Float32Array {
  const r = lcg(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor((r() + 1) * levels / 2);
  return a;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-5,
  what = "",
): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * scale)) {
      throw new Error(`${what}: element ${i} is ${a} but expected ${e}`);
    }
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function assertRelClose(a: number, b: number, tol = 1e-5, what = ""): void {
  const scale = Math.max(1, Math.abs(a), Math.abs(b));
  assert(Math.abs(a - b) <= tol * scale, `${what}: ${a} != ${b}`);
}

/** Runs `f` and asserts that it left its inputs unchanged. */
function unchanged<T>(inputs: Float32Array[], f: () => T): T {
  const copies = inputs.map((a) => a.slice());
  const r = f();
  inputs.forEach((a, i) =>
    assertEquals(a, copies[i], `input ${i} was mutated`)
  );
  return r;
}

// ---------------------------------------------------------------------------
// GEMM

function refGemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += a[tA ? p * m + i : i * k + p]! * b[tB ? j * k + p : p * n + j]!;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

const GEMM_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 5, 7],
  [4, 4, 4],
  [8, 16, 12],
  [17, 33, 9],
  [5, 513, 3],
  [131, 270, 67],
  [6, 9, 1030],
];

Deno.test("gemm() matches a float64 reference for all shapes and transpose flags", () => {
  let seed = 1;
  for (const [m, k, n] of GEMM_SHAPES) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = randArray(m * k, seed++);
        const b = randArray(k * n, seed++);
        const c = unchanged([a, b], () => gemm(a, b, m, k, n, tA, tB));
        assertClose(
          c,
          refGemm(a, b, m, k, n, tA, tB),
          1e-6,
          `gemm ${m}x${k}x${n} ${tA} ${tB}`,
        );
      }
    }
  }
});

Deno.test("gemm() defaults to no transposition and handles empty sizes", () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = new Float32Array([1, 0, 0, 1, 1, 1]); // [3, 2]
  assertEquals(gemm(a, b, 2, 3, 2), new Float32Array([4, 5, 10, 11]));
  assertEquals(
    gemm(new Float32Array(0), new Float32Array(0), 2, 0, 3),
    new Float32Array(6),
  );
  assertEquals(
    gemm(new Float32Array(0), new Float32Array(12), 0, 4, 3),
    new Float32Array(0),
  );
});

Deno.test("gemmInto() writes only its block at the offsets and can accumulate", () => {
  let seed = 100;
  for (const [m, k, n] of [[3, 5, 7], [9, 300, 6]] as const) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        for (const accumulate of [false, true]) {
          const a = randArray(m * k + 5, seed++);
          const b = randArray(k * n + 3, seed++);
          const c = randArray(m * n + 11, seed++);
          const before = c.slice();
          unchanged(
            [a, b],
            () => gemmInto(a, 5, b, 3, c, 7, m, k, n, tA, tB, accumulate),
          );
          const ref = refGemm(a.subarray(5), b.subarray(3), m, k, n, tA, tB);
          if (accumulate) {
            for (let i = 0; i < ref.length; i++) ref[i]! += before[7 + i]!;
          }
          assertClose(c.subarray(7, 7 + m * n), ref, 1e-6, "gemmInto block");
          assertEquals(c.subarray(0, 7), before.subarray(0, 7));
          assertEquals(c.subarray(7 + m * n), before.subarray(7 + m * n));
        }
      }
    }
  }
  const c = new Float32Array([1, 2, 3]);
  gemmInto(
    new Float32Array(0),
    0,
    new Float32Array(0),
    0,
    c,
    1,
    1,
    0,
    2,
    false,
    false,
    true,
  );
  assertEquals(c, new Float32Array([1, 2, 3]));
  gemmInto(
    new Float32Array(0),
    0,
    new Float32Array(0),
    0,
    c,
    1,
    1,
    0,
    2,
    false,
    false,
    false,
  );
  assertEquals(c, new Float32Array([1, 0, 0]));
});

// ---------------------------------------------------------------------------
// Convolution

interface ConvCase {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  o: number;
  stride?: [number, number];
  dil?: [number, number];
  pad?: [number, number, number, number]; // top, bottom, left, right
}

function convGeometry(k: ConvCase): Conv2dGeometry {
  const [strideH, strideW] = k.stride ?? [1, 1];
  const [dilH, dilW] = k.dil ?? [1, 1];
  const [padTop, padBottom, padLeft, padRight] = k.pad ?? [0, 0, 0, 0];
  const outH =
    Math.floor((k.h + padTop + padBottom - ((k.kh - 1) * dilH + 1)) / strideH) +
    1;
  const outW =
    Math.floor((k.w + padLeft + padRight - ((k.kw - 1) * dilW + 1)) / strideW) +
    1;
  return {
    n: k.n,
    h: k.h,
    w: k.w,
    c: k.c,
    kh: k.kh,
    kw: k.kw,
    o: k.o,
    outH,
    outW,
    strideH,
    strideW,
    dilH,
    dilW,
    padTop,
    padBottom,
    padLeft,
    padRight,
  };
}

/**
 * Visits every (output position, filter tap) pair that touches a real input:
 * f(xIndex, filterRowIndex (ky,kx,ci), outputRowIndex (b,oy,ox)).
 */
function forEachTap(
  g: Conv2dGeometry,
  f: (xi: number, fi: number, yi: number) => void,
): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const yi = (b * g.outH + oy) * g.outW + ox;
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideH - g.padTop + ky * g.dilH;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx * g.dilW;
            if (ix < 0 || ix >= g.w) continue;
            for (let ci = 0; ci < g.c; ci++) {
              f(
                ((b * g.h + iy) * g.w + ix) * g.c + ci,
                (ky * g.kw + kx) * g.c + ci,
                yi,
              );
            }
          }
        }
      }
    }
  }
}

function refConvForward(
  x: Float32Array,
  f: Float32Array,
  g: Conv2dGeometry,
): Float64Array {
  const y = new Float64Array(g.n * g.outH * g.outW * g.o);
  forEachTap(g, (xi, fi, yi) => {
    for (let o = 0; o < g.o; o++) y[yi * g.o + o]! += x[xi]! * f[fi * g.o + o]!;
  });
  return y;
}

function refConvInput(
  dy: Float32Array,
  f: Float32Array,
  g: Conv2dGeometry,
): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  forEachTap(g, (xi, fi, yi) => {
    for (let o = 0; o < g.o; o++) {
      dx[xi]! += dy[yi * g.o + o]! * f[fi * g.o + o]!;
    }
  });
  return dx;
}

function refConvFilter(
  x: Float32Array,
  dy: Float32Array,
  g: Conv2dGeometry,
): Float64Array {
  const dw = new Float64Array(g.kh * g.kw * g.c * g.o);
  forEachTap(g, (xi, fi, yi) => {
    for (let o = 0; o < g.o; o++) {
      dw[fi * g.o + o]! += x[xi]! * dy[yi * g.o + o]!;
    }
  });
  return dw;
}

const CONV_CASES: ConvCase[] = [
  { n: 2, h: 7, w: 6, c: 3, kh: 3, kw: 3, o: 5 },
  { n: 1, h: 9, w: 8, c: 2, kh: 3, kw: 2, o: 3, stride: [2, 2] },
  { n: 2, h: 10, w: 11, c: 3, kh: 2, kw: 3, o: 4, stride: [3, 2] },
  { n: 1, h: 9, w: 9, c: 2, kh: 3, kw: 3, o: 3, dil: [2, 2] },
  { n: 2, h: 8, w: 7, c: 3, kh: 3, kw: 2, o: 2, dil: [2, 1], stride: [1, 2] },
  { n: 2, h: 6, w: 5, c: 3, kh: 3, kw: 3, o: 4, pad: [1, 2, 0, 1] },
  {
    n: 1,
    h: 5,
    w: 7,
    c: 2,
    kh: 4,
    kw: 3,
    o: 3,
    pad: [2, 1, 1, 1],
    stride: [2, 3],
  },
  { n: 2, h: 6, w: 6, c: 5, kh: 1, kw: 1, o: 7 }, // pointwise: a plain GEMM
  { n: 2, h: 7, w: 6, c: 4, kh: 1, kw: 1, o: 3, stride: [2, 2] },
  { n: 1, h: 5, w: 5, c: 3, kh: 1, kw: 1, o: 2, pad: [1, 0, 0, 1] },
  { n: 3, h: 5, w: 4, c: 3, kh: 5, kw: 4, o: 6 }, // kernel = input size
  {
    n: 1,
    h: 3,
    w: 3,
    c: 2,
    kh: 3,
    kw: 3,
    o: 2,
    pad: [1, 1, 1, 1],
    dil: [2, 2],
  },
  { n: 1, h: 1, w: 1, c: 1, kh: 1, kw: 1, o: 1 },
  // More output rows than one im2col chunk (the chunk boundary falls inside an image).
  { n: 3, h: 52, w: 52, c: 4, kh: 3, kw: 3, o: 6 },
  // Full 4 x 4 tiles of the direct kernels plus both tails (10 = 8 + 2
  // channels, 9 = 8 + 1 columns), then 'same' padding, then stride and padding.
  { n: 2, h: 12, w: 13, c: 2, kh: 5, kw: 5, o: 10 },
  { n: 2, h: 14, w: 14, c: 1, kh: 5, kw: 5, o: 8, pad: [2, 2, 2, 2] },
  {
    n: 2,
    h: 15,
    w: 17,
    c: 3,
    kh: 3,
    kw: 3,
    o: 9,
    stride: [2, 2],
    pad: [1, 1, 1, 1],
  },
  { n: 1, h: 13, w: 12, c: 6, kh: 3, kw: 2, o: 12, dil: [2, 3] },
];

/** Both convolution algorithms, one after the other. */
function eachPath(f: (path: ConvPath) => void): void {
  for (const p of ["im2col", "direct"] as const) {
    const before = setConvPath(p);
    try {
      f(p);
    } finally {
      setConvPath(before);
    }
  }
}

function describe(k: ConvCase): string {
  return JSON.stringify(k);
}

Deno.test("conv2dForward() matches a float64 reference (im2col and direct)", () => {
  eachPath((p) => {
    let seed = 1000;
    for (const k of CONV_CASES) {
      const g = convGeometry(k);
      const x = randArray(g.n * g.h * g.w * g.c, seed++);
      const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
      const y = unchanged([x, f], () => conv2dForward(x, f, g));
      assertClose(
        y,
        refConvForward(x, f, g),
        1e-6,
        `${p} forward ${describe(k)}`,
      );
    }
  });
});

Deno.test("conv2dBackpropInput() matches a float64 reference", () => {
  let seed = 2000;
  for (const k of CONV_CASES) {
    const g = convGeometry(k);
    const dy = randArray(g.n * g.outH * g.outW * g.o, seed++);
    const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
    const dx = unchanged([dy, f], () => conv2dBackpropInput(dy, f, g));
    assertClose(
      dx,
      refConvInput(dy, f, g),
      1e-6,
      `backprop input ${describe(k)}`,
    );
  }
});

Deno.test("conv2dBackpropFilter() matches a float64 reference (im2col and direct)", () => {
  eachPath((p) => {
    let seed = 3000;
    for (const k of CONV_CASES) {
      const g = convGeometry(k);
      const x = randArray(g.n * g.h * g.w * g.c, seed++);
      const dy = randArray(g.n * g.outH * g.outW * g.o, seed++);
      const dw = unchanged([x, dy], () => conv2dBackpropFilter(x, dy, g));
      assertClose(
        dw,
        refConvFilter(x, dy, g),
        1e-6,
        `${p} backprop filter ${describe(k)}`,
      );
    }
  });
});

Deno.test("conv2d kernels satisfy <conv(x, f), dy> = <x, bpi(dy, f)> = <f, bpf(x, dy)>", () => {
  eachPath((p) => {
    let seed = 4000;
    for (const k of CONV_CASES) {
      const g = convGeometry(k);
      const x = randArray(g.n * g.h * g.w * g.c, seed++);
      const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
      const dy = randArray(g.n * g.outH * g.outW * g.o, seed++);
      const lhs = dot(conv2dForward(x, f, g), dy);
      assertRelClose(
        lhs,
        dot(x, conv2dBackpropInput(dy, f, g)),
        1e-5,
        `${p} bpi ${describe(k)}`,
      );
      assertRelClose(
        lhs,
        dot(f, conv2dBackpropFilter(x, dy, g)),
        1e-5,
        `${p} bpf ${describe(k)}`,
      );
    }
  });
});

// ---------------------------------------------------------------------------
// Pooling

interface PoolCase {
  n: number;
  h: number;
  w: number;
  c: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad?: [number, number, number, number];
}

function poolGeometry(k: PoolCase): Pool2dGeometry {
  const [padTop, padBottom, padLeft, padRight] = k.pad ?? [0, 0, 0, 0];
  const [strideH, strideW] = k.stride;
  return {
    n: k.n,
    h: k.h,
    w: k.w,
    c: k.c,
    kh: k.kh,
    kw: k.kw,
    outH: Math.floor((k.h + padTop + padBottom - k.kh) / strideH) + 1,
    outW: Math.floor((k.w + padLeft + padRight - k.kw) / strideW) + 1,
    strideH,
    strideW,
    padTop,
    padBottom,
    padLeft,
    padRight,
  };
}

/** Visits each window: f(outIndexOfChannel0, list of x indices of channel 0 in row-major order). */
function forEachWindow(
  g: Pool2dGeometry,
  f: (oi: number, xs: number[]) => void,
): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const xs: number[] = [];
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideH - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideW - g.padLeft + kx;
            if (ix >= 0 && ix < g.w) xs.push(((b * g.h + iy) * g.w + ix) * g.c);
          }
        }
        f(((b * g.outH + oy) * g.outW + ox) * g.c, xs);
      }
    }
  }
}

function refMaxPool(
  x: Float32Array,
  g: Pool2dGeometry,
): { out: Float64Array; argmax: Int32Array } {
  const size = g.n * g.outH * g.outW * g.c;
  const out = new Float64Array(size), argmax = new Int32Array(size).fill(-1);
  forEachWindow(g, (oi, xs) => {
    for (let ci = 0; ci < g.c; ci++) {
      let best = -Infinity, at = -1;
      for (const xi of xs) {
        if (at < 0 || x[xi + ci]! > best) {
          best = x[xi + ci]!;
          at = xi + ci;
        }
      }
      out[oi + ci] = at < 0 ? 0 : best;
      argmax[oi + ci] = at;
    }
  });
  return { out, argmax };
}

function refAvgPool(x: Float32Array, g: Pool2dGeometry): Float64Array {
  const out = new Float64Array(g.n * g.outH * g.outW * g.c);
  forEachWindow(g, (oi, xs) => {
    for (let ci = 0; ci < g.c; ci++) {
      let s = 0;
      for (const xi of xs) s += x[xi + ci]!;
      out[oi + ci] = xs.length === 0 ? 0 : s / xs.length;
    }
  });
  return out;
}

const POOL_CASES: PoolCase[] = [
  { n: 2, h: 6, w: 6, c: 3, kh: 2, kw: 2, stride: [2, 2] },
  { n: 1, h: 7, w: 5, c: 2, kh: 3, kw: 3, stride: [2, 2] },
  { n: 2, h: 7, w: 8, c: 3, kh: 3, kw: 2, stride: [1, 3] },
  { n: 1, h: 6, w: 7, c: 4, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1, 0, 2] },
  { n: 1, h: 5, w: 5, c: 2, kh: 2, kw: 2, stride: [3, 3], pad: [0, 1, 1, 0] },
  { n: 2, h: 4, w: 3, c: 1, kh: 4, kw: 3, stride: [1, 1] }, // window = image
  { n: 1, h: 4, w: 4, c: 2, kh: 1, kw: 1, stride: [1, 1] },
  // Windows made only of padding (the first row and the last column).
  { n: 1, h: 3, w: 3, c: 2, kh: 1, kw: 1, stride: [1, 1], pad: [1, 0, 0, 2] },
];

Deno.test("maxPoolForward() matches a reference, ties to the first, padding never wins", () => {
  let seed = 5000;
  for (const k of POOL_CASES) {
    const g = poolGeometry(k);
    for (
      const x of [
        randArray(g.n * g.h * g.w * g.c, seed++),
        intArray(g.n * g.h * g.w * g.c, seed++),
      ]
    ) {
      const r = unchanged([x], () => maxPoolForward(x, g));
      const ref = refMaxPool(x, g);
      assertEquals(r.argmax, ref.argmax, `argmax ${JSON.stringify(k)}`);
      assertClose(r.out, ref.out, 0, `max ${JSON.stringify(k)}`);
    }
  }
  // All-negative windows next to padding: padding (0) must not win.
  const g = poolGeometry({
    n: 1,
    h: 2,
    w: 2,
    c: 1,
    kh: 2,
    kw: 2,
    stride: [1, 1],
    pad: [1, 0, 1, 0],
  });
  const r = maxPoolForward(new Float32Array([-3, -Infinity, -1, -2]), g);
  assertEquals(r.out, new Float32Array([-3, -3, -1, -1]));
  assertEquals(r.argmax, new Int32Array([0, 0, 2, 2]));
  const allPad = poolGeometry({
    n: 1,
    h: 1,
    w: 1,
    c: 1,
    kh: 1,
    kw: 1,
    stride: [1, 1],
    pad: [1, 0, 0, 0],
  });
  const p = maxPoolForward(new Float32Array([-5]), allPad);
  assertEquals(p.out, new Float32Array([0, -5]));
  assertEquals(p.argmax, new Int32Array([-1, 0]));
  const inf = maxPoolForward(
    new Float32Array([-Infinity, -Infinity]),
    poolGeometry({ n: 1, h: 1, w: 2, c: 1, kh: 1, kw: 2, stride: [1, 1] }),
  );
  assertEquals(inf.argmax, new Int32Array([0]));
});

Deno.test("gatherByIndex() and scatterAddByIndex() gather, scatter-add and are transposes", () => {
  const argmax = new Int32Array([2, -1, 0, 2]);
  const t = new Float32Array([10, 20, 30]);
  assertEquals(
    unchanged([t], () => gatherByIndex(t, argmax)),
    new Float32Array([30, 0, 10, 30]),
  );
  const dy = new Float32Array([1, 2, 3, 4]);
  assertEquals(
    unchanged([dy], () => scatterAddByIndex(dy, argmax, 3)),
    new Float32Array([3, 0, 5]),
  );
  let seed = 6000;
  for (const k of POOL_CASES) {
    const g = poolGeometry(k);
    const size = g.n * g.h * g.w * g.c;
    const { argmax } = maxPoolForward(intArray(size, seed++), g);
    const tt = randArray(size, seed++);
    const d = randArray(argmax.length, seed++);
    assertRelClose(
      dot(gatherByIndex(tt, argmax), d),
      dot(tt, scatterAddByIndex(d, argmax, size)),
      1e-6,
    );
  }
});

Deno.test("avgPoolForward() matches a reference and avgPoolBackward() is its transpose", () => {
  let seed = 7000;
  for (const k of POOL_CASES) {
    const g = poolGeometry(k);
    const x = randArray(g.n * g.h * g.w * g.c, seed++);
    const y = unchanged([x], () => avgPoolForward(x, g));
    assertClose(y, refAvgPool(x, g), 1e-6, `avg ${JSON.stringify(k)}`);
    const dy = randArray(y.length, seed++);
    const dx = unchanged([dy], () => avgPoolBackward(dy, g));
    assertEquals(dx.length, x.length);
    assertRelClose(
      dot(y, dy),
      dot(x, dx),
      1e-6,
      `avg transpose ${JSON.stringify(k)}`,
    );
  }
  // A window over padding divides by its real elements only.
  const g = poolGeometry({
    n: 1,
    h: 2,
    w: 2,
    c: 1,
    kh: 2,
    kw: 2,
    stride: [1, 1],
    pad: [1, 0, 1, 0],
  });
  assertEquals(
    avgPoolForward(new Float32Array([1, 2, 3, 4]), g),
    new Float32Array([1, 1.5, 2, 2.5]),
  );
  assertEquals(
    avgPoolBackward(new Float32Array([1, 2, 4, 8]), g),
    new Float32Array([1 + 1 + 2 + 2, 1 + 2, 2 + 2, 2]),
  );
});

// ---------------------------------------------------------------------------
// TensorFlow.js as an independent oracle

function samePad(
  size: number,
  k: number,
  stride: number,
  dil = 1,
): [number, number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dil + 1 - size, 0);
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

Deno.test("conv2d kernels match TensorFlow.js (valid and same padding, strides, dilation)", () => {
  const cases: { c: ConvCase; padding: "valid" | "same" }[] = [
    { c: { n: 2, h: 9, w: 8, c: 3, kh: 3, kw: 3, o: 4 }, padding: "valid" },
    { c: { n: 2, h: 9, w: 8, c: 3, kh: 3, kw: 3, o: 4 }, padding: "same" },
    {
      c: { n: 1, h: 10, w: 9, c: 2, kh: 4, kw: 3, o: 5, stride: [2, 3] },
      padding: "same",
    },
    {
      c: { n: 1, h: 11, w: 10, c: 2, kh: 3, kw: 3, o: 3, dil: [2, 2] },
      padding: "same",
    },
    {
      c: { n: 2, h: 7, w: 7, c: 3, kh: 2, kw: 2, o: 3, stride: [2, 2] },
      padding: "valid",
    },
  ];
  let seed = 8000;
  for (const { c: k, padding } of cases) {
    const [sh, sw] = k.stride ?? [1, 1];
    const [dh, dw] = k.dil ?? [1, 1];
    const spec = { ...k };
    if (padding === "same") {
      const [, t, b] = samePad(k.h, k.kh, sh, dh);
      const [, l, r] = samePad(k.w, k.kw, sw, dw);
      spec.pad = [t, b, l, r];
    }
    const g = convGeometry(spec);
    const x = randArray(g.n * g.h * g.w * g.c, seed++);
    const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
    const dy = randArray(g.n * g.outH * g.outW * g.o, seed++);
    const tx = tf.tensor4d(x, [g.n, g.h, g.w, g.c]);
    const tfl = tf.tensor4d(f, [g.kh, g.kw, g.c, g.o]);
    const tdy = tf.tensor4d(dy, [g.n, g.outH, g.outW, g.o]);
    const conv = (a: tf.Tensor4D, w: tf.Tensor4D) =>
      tf.conv2d(a, w, [sh, sw], padding, "NHWC", [dh, dw]);
    const ty = conv(tx, tfl);
    assertEquals(ty.shape, [g.n, g.outH, g.outW, g.o]);
    assertClose(
      conv2dForward(x, f, g),
      ty.dataSync(),
      1e-5,
      `tf forward ${describe(k)} ${padding}`,
    );
    // TF.js's core bundle registers no gradients, so call its gradient
    // kernels directly; they do not support dilation (checked forward only).
    if (dh === 1 && dw === 1) {
      const attrs = { strides: [sh, sw], pad: padding, dataFormat: "NHWC" };
      const gx = tf.engine().runKernel("Conv2DBackpropInput", {
        dy: tdy,
        filter: tfl,
      }, {
        ...attrs,
        inputShape: [g.n, g.h, g.w, g.c],
      }) as tf.Tensor;
      const gw = tf.engine().runKernel("Conv2DBackpropFilter", {
        x: tx,
        dy: tdy,
      }, {
        ...attrs,
        filterShape: [g.kh, g.kw, g.c, g.o],
      }) as tf.Tensor;
      assertClose(
        conv2dBackpropInput(dy, f, g),
        gx.dataSync(),
        1e-5,
        `tf bpi ${describe(k)} ${padding}`,
      );
      assertClose(
        conv2dBackpropFilter(x, dy, g),
        gw.dataSync(),
        1e-5,
        `tf bpf ${describe(k)} ${padding}`,
      );
      tf.dispose([gx, gw]);
    }
    tf.dispose([tx, tfl, tdy, ty]);
  }
});

Deno.test("pool kernels match TensorFlow.js (valid and same padding)", () => {
  const cases: { k: PoolCase; padding: "valid" | "same" }[] = [
    {
      k: { n: 2, h: 6, w: 6, c: 3, kh: 2, kw: 2, stride: [2, 2] },
      padding: "valid",
    },
    {
      k: { n: 2, h: 7, w: 7, c: 3, kh: 2, kw: 2, stride: [2, 2] },
      padding: "same",
    },
    {
      k: { n: 1, h: 8, w: 7, c: 2, kh: 3, kw: 3, stride: [2, 1] },
      padding: "same",
    },
    {
      k: { n: 1, h: 9, w: 9, c: 2, kh: 3, kw: 2, stride: [3, 2] },
      padding: "valid",
    },
  ];
  let seed = 9000;
  for (const { k, padding } of cases) {
    const spec = { ...k };
    if (padding === "same") {
      const [, t, b] = samePad(k.h, k.kh, k.stride[0]);
      const [, l, r] = samePad(k.w, k.kw, k.stride[1]);
      spec.pad = [t, b, l, r];
    }
    const g = poolGeometry(spec);
    const x = randArray(g.n * g.h * g.w * g.c, seed++);
    const dy = randArray(g.n * g.outH * g.outW * g.c, seed++);
    const tx = tf.tensor4d(x, [g.n, g.h, g.w, g.c]);
    const tdy = tf.tensor4d(dy, [g.n, g.outH, g.outW, g.c]);
    const size: [number, number] = [k.kh, k.kw];
    const maxF = (a: tf.Tensor4D) => tf.maxPool(a, size, k.stride, padding);
    const avgF = (a: tf.Tensor4D) => tf.avgPool(a, size, k.stride, padding);
    const { out, argmax } = maxPoolForward(x, g);
    const tMax = maxF(tx);
    assertEquals(tMax.shape, [g.n, g.outH, g.outW, g.c]);
    assertClose(
      out,
      tMax.dataSync(),
      0,
      `tf max ${JSON.stringify(k)} ${padding}`,
    );
    const attrs = { filterSize: size, strides: k.stride, pad: padding };
    const gMax = tf.engine().runKernel("MaxPoolGrad", {
      dy: tdy,
      input: tx,
      output: tMax,
    }, attrs) as tf.Tensor;
    assertClose(
      scatterAddByIndex(dy, argmax, x.length),
      gMax.dataSync(),
      1e-6,
      "tf max grad",
    );
    const tAvg = avgF(tx);
    assertClose(
      avgPoolForward(x, g),
      tAvg.dataSync(),
      1e-6,
      `tf avg ${JSON.stringify(k)} ${padding}`,
    );
    // TF.js's CPU AvgPoolGrad divides windows that overlap the padding by the
    // full window size, although its forward divides by the real elements, so
    // it is not the transpose of its own forward there: compare valid only.
    if (padding === "valid") {
      const gAvg = tf.engine().runKernel(
        "AvgPoolGrad",
        { dy: tdy, input: tx },
        attrs,
      ) as tf.Tensor;
      assertClose(avgPoolBackward(dy, g), gAvg.dataSync(), 1e-6, "tf avg grad");
      tf.dispose(gAvg);
    }
    tf.dispose([tx, tdy, tMax, gMax, tAvg]);
  }
});

// ---------------------------------------------------------------------------
// Threads

Deno.test("setThreads() rejects counts that are not positive integers", () => {
  assertThrows(
    () => setThreads(0),
    RangeError,
    "Expected threads to be an integer from 1 to 64 but found 0",
  );
  assertThrows(
    () => setThreads(1.5),
    RangeError,
    "Expected threads to be an integer from 1 to 64 but found 1.5",
  );
  assertEquals(getThreads(), 1);
});

Deno.test({
  name: "threaded kernels give bit-identical results to the single-thread path",
  // The pool's workers live across tests by design (created once, reused,
  // unreferenced); they are terminated at the end of this test.
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    let seed = 10000;
    const jobs: [string, () => Float32Array][] = [];
    for (const [m, k, n] of [[130, 70, 257], [67, 300, 129]] as const) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const a = randArray(m * k, seed++), b = randArray(k * n, seed++);
          jobs.push([
            `gemm ${m} ${k} ${n} ${tA} ${tB}`,
            () => gemm(a, b, m, k, n, tA, tB),
          ]);
        }
      }
    }
    const ca = randArray(100 * 120 + 3, seed++),
      cb = randArray(120 * 90, seed++);
    const cInit = randArray(100 * 90 + 9, seed++);
    jobs.push(["gemmInto accumulate", () => {
      const c = cInit.slice();
      gemmInto(ca, 3, cb, 0, c, 9, 100, 120, 90, false, false, true);
      return c;
    }]);
    for (
      const k of [
        { n: 5, h: 20, w: 18, c: 6, kh: 3, kw: 3, o: 12, pad: [1, 1, 2, 0] },
        { n: 3, h: 40, w: 40, c: 5, kh: 5, kw: 5, o: 8, stride: [2, 1] },
        { n: 4, h: 16, w: 16, c: 32, kh: 1, kw: 1, o: 40 },
        { n: 3, h: 52, w: 52, c: 4, kh: 3, kw: 3, o: 16, dil: [2, 1] },
        // The column-free input gradient (unpadded, channels 8k).
        {
          n: 6,
          h: 13,
          w: 11,
          c: 16,
          kh: 3,
          kw: 2,
          o: 12,
          stride: [2, 1],
          dil: [1, 2],
        },
      ] as ConvCase[]
    ) {
      const g = convGeometry(k);
      const x = randArray(g.n * g.h * g.w * g.c, seed++);
      const f = randArray(g.kh * g.kw * g.c * g.o, seed++);
      const dy = randArray(g.n * g.outH * g.outW * g.o, seed++);
      for (const p of ["im2col", "direct", "auto"] as const) {
        const on = <T>(f: () => T): T => {
          const before = setConvPath(p);
          try {
            return f();
          } finally {
            setConvPath(before);
          }
        };
        jobs.push([
          `${p} forward ${describe(k)}`,
          () => on(() => unchanged([x, f], () => conv2dForward(x, f, g))),
        ]);
        jobs.push([
          `${p} bpf ${describe(k)}`,
          () =>
            on(() => unchanged([x, dy], () => conv2dBackpropFilter(x, dy, g))),
        ]);
      }
      jobs.push([
        `bpi ${describe(k)}`,
        () => unchanged([dy, f], () => conv2dBackpropInput(dy, f, g)),
      ]);
    }
    const canReadWorker = Deno.permissions.querySync({
      name: "read",
      path: new URL("../src/kernels/worker.ts", import.meta.url),
    }).state === "granted";
    try {
      setThreads(1);
      const single = jobs.map(([, f]) => f());
      for (const t of [2, 3]) {
        setThreads(t);
        assertEquals(getThreads(), t);
        jobs.forEach(([name, f], i) => {
          const r = f();
          assert(r !== single[i], "a fresh array");
          assertEquals(r, single[i], `${name} with ${t} threads`);
        });
        // Without read access to the worker file the pool stays off and the
        // kernels fall back to one thread (the project's test task grants it).
        assertEquals(poolWorkers(), canReadWorker ? t - 1 : 0, "the pool ran");
      }
    } finally {
      setThreads(1);
    }
    assertEquals(poolWorkers(), 0);
  },
});
