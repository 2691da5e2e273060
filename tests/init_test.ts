import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  glorotUniform,
  heNormal,
  heUniform,
  type Initializer,
  lecunNormal,
  onesInit,
  zerosInit,
} from "../src/init.ts";
import { type Key, key } from "../src/random.ts";
import type { Tensor } from "../src/tensor.ts";

function moments(xs: Float32Array): { mean: number; variance: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let q = 0;
  for (const x of xs) q += (x - mean) ** 2;
  return { mean, variance: q / (xs.length - 1) };
}

function maxAbs(xs: Float32Array): number {
  let m = 0;
  for (const x of xs) m = Math.max(m, Math.abs(x));
  return m;
}

/** Checks the variance within 5% and the mean within 5 standard errors of 0. */
function assertScale(xs: Float32Array, variance: number): void {
  const m = moments(xs);
  assertAlmostEquals(m.variance / variance, 1, 0.05);
  assertAlmostEquals(m.mean, 0, 5 * Math.sqrt(variance / xs.length));
}

Deno.test("glorotUniform() draws U(-l, l) with l = sqrt(6 / (fanIn + fanOut))", () => {
  const w = glorotUniform(key(0), [512, 256]).toFlat();
  const limit = Math.sqrt(6 / (512 + 256));
  assertScale(w, 2 / (512 + 256));
  assert(maxAbs(w) < limit);
  assert(maxAbs(w) > 0.99 * limit);
});

Deno.test("glorotUniform() counts the receptive field of conv kernels", () => {
  const w = glorotUniform(key(1), [5, 5, 32, 64]).toFlat();
  const fanIn = 5 * 5 * 32;
  const fanOut = 5 * 5 * 64;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  assertScale(w, 2 / (fanIn + fanOut));
  assert(maxAbs(w) < limit && maxAbs(w) > 0.99 * limit);
});

Deno.test("glorotUniform() uses the length for both fans of a rank-1 shape", () => {
  const w = glorotUniform(key(2), [100_000]).toFlat();
  const limit = Math.sqrt(6 / 200_000);
  assertScale(w, 2 / 200_000);
  assert(maxAbs(w) < limit && maxAbs(w) > 0.99 * limit);
});

Deno.test("heNormal() draws N(0, 2 / fanIn)", () => {
  assertScale(heNormal(key(3), [1024, 256]).toFlat(), 2 / 1024);
  // Conv kernel: fanIn = 3 * 3 * 64, whatever the out channels.
  assertScale(heNormal(key(4), [3, 3, 64, 128]).toFlat(), 2 / 576);
});

Deno.test("heUniform() draws U(-l, l) with l = sqrt(6 / fanIn)", () => {
  const w = heUniform(key(5), [800, 300]).toFlat();
  const limit = Math.sqrt(6 / 800);
  assertScale(w, 2 / 800);
  assert(maxAbs(w) < limit && maxAbs(w) > 0.99 * limit);
});

Deno.test("lecunNormal() draws N(0, 1 / fanIn)", () => {
  assertScale(lecunNormal(key(6), [512, 512]).toFlat(), 1 / 512);
  // Rank 3 ([width, in, out], a 1-D conv): fanIn = 7 * 16.
  assertScale(lecunNormal(key(7), [7, 16, 1024]).toFlat(), 1 / 112);
});

Deno.test("zerosInit() and onesInit() ignore the key", () => {
  assertEquals(zerosInit(key(0), [2, 3]).toArray(), [[0, 0, 0], [0, 0, 0]]);
  assertEquals(
    onesInit(key(9), [2, 3]).toArray(),
    onesInit(key(0), [2, 3]).toArray(),
  );
  assertEquals(onesInit(key(0), [3]).toArray(), [1, 1, 1]);
  assertEquals(onesInit(key(0), [3]).dtype, "float32");
});

Deno.test("random initializers are reproducible and depend on the key", () => {
  const inits: Initializer[] = [
    glorotUniform,
    heNormal,
    heUniform,
    lecunNormal,
  ];
  for (const init of inits) {
    const a = init(key(10), [8, 4]).toArray();
    assertEquals(init(key(10), [8, 4]).toArray(), a);
    assertNotEquals(init(key(11), [8, 4]).toArray(), a);
  }
});

Deno.test("initializers handle empty and scalar shapes", () => {
  const inits: Initializer[] = [
    glorotUniform,
    heNormal,
    heUniform,
    lecunNormal,
    zerosInit,
    onesInit,
  ];
  for (const init of inits) {
    const empty = init(key(0), [0, 5]);
    assertEquals(empty.shape, [0, 5]);
    assertEquals(empty.size, 0);
    const scalar = init(key(0), []).item();
    assert(Number.isFinite(scalar));
  }
  // A scalar has fans of 1: glorot's limit is sqrt(3), he's sqrt(6).
  assert(Math.abs(glorotUniform(key(0), []).item()) < Math.sqrt(3));
});

Deno.test("initializers keep literal shapes in their types", () => {
  const w = glorotUniform(key(0), [3, 4]);
  assertType<IsExact<typeof w, Tensor<[3, 4], "float32">>>(true);
  const b = zerosInit(key(0), [4]);
  assertType<IsExact<typeof b, Tensor<[4], "float32">>>(true);
  const k = heNormal(key(0), [3, 3, 1, 8]);
  assertType<IsExact<typeof k, Tensor<[3, 3, 1, 8], "float32">>>(true);
  assertEquals([w.shape, b.shape, k.shape], [[3, 4], [4], [3, 3, 1, 8]]);
});

Deno.test("initializers reject keys that are not keys and bad shapes", () => {
  assertThrows(
    () => glorotUniform(42 as unknown as Key, [2, 2]),
    TypeError,
    "Expected a Key but found 42",
  );
  assertThrows(
    () => heNormal(key(0), [2, -2]),
    RangeError,
    "Expected shape dims to be non-negative integers but found [2, -2]",
  );
  assertThrows(
    () => zerosInit(key(0), [1.5]),
    RangeError,
    "Expected shape dims to be non-negative integers but found [1.5]",
  );
});
