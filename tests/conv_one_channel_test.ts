// The filter gradient of a one-channel input with stride and padding, on
// both algorithms (the one-channel im2col path, and the direct kernel over a
// padded copy), against a float64 reference on 1 and 2 threads.
import { assert } from "@std/assert";
import { conv2dBackpropFilter, setConvPath } from "../src/kernels/conv2d.ts";
import { getThreads, setThreads } from "../src/kernels/threads.ts";

Deno.test({
  name: "conv2d filter gradient, one input channel, split over threads",
  // The worker pool outlives the test by design (it is reused).
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    const g = {
      n: 64,
      h: 28,
      w: 28,
      c: 1,
      kh: 5,
      kw: 5,
      o: 8,
      outH: 14,
      outW: 14,
      strideH: 2,
      strideW: 2,
      dilH: 1,
      dilW: 1,
      padTop: 2,
      padBottom: 1,
      padLeft: 2,
      padRight: 1,
    };
    let s = 1;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    const x = new Float32Array(64 * 28 * 28).map(r);
    const dy = new Float32Array(64 * 14 * 14 * 8).map(r);
    const ref = new Float64Array(25 * 8);
    for (let b = 0; b < 64; b++) {
      for (let oy = 0; oy < 14; oy++) {
        for (let ox = 0; ox < 14; ox++) {
          for (let ky = 0; ky < 5; ky++) {
            for (let kx = 0; kx < 5; kx++) {
              const iy = oy * 2 - 2 + ky, ix = ox * 2 - 2 + kx;
              if (iy < 0 || iy >= 28 || ix < 0 || ix >= 28) continue;
              for (let o = 0; o < 8; o++) {
                ref[(ky * 5 + kx) * 8 + o]! += x[(b * 28 + iy) * 28 + ix]! *
                  dy[((b * 14 + oy) * 14 + ox) * 8 + o]!;
              }
            }
          }
        }
      }
    }
    const before = getThreads();
    try {
      for (const p of ["im2col", "direct"] as const) {
        setConvPath(p);
        for (const t of [1, 2]) {
          setThreads(t);
          const got = conv2dBackpropFilter(x, dy, g);
          for (let i = 0; i < got.length; i++) {
            assert(
              Math.abs(got[i]! - ref[i]!) < 1e-4,
              `${p}, threads ${t}, element ${i}: ${got[i]} vs ${ref[i]}`,
            );
          }
        }
      }
    } finally {
      setThreads(before);
      setConvPath("auto");
    }
  },
});
