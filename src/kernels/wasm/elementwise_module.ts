/**
 * Elementwise kernels of a training step in WebAssembly SIMD, added to the
 * kernel module: the fused bias + relu epilogue and relu's derivative
 * mask. Both compute exactly what the typed-array versions compute (the
 * same float32 sum, the same comparison, the same bits).
 *
 * @internal
 * @module
 */

import type { ModuleBuilder } from "./builder.ts";

/**
 * Adds `biasRelu(x, b, o, n, m)`: `o = relu(x + b)` with `b` (m floats, m
 * a positive multiple of 4) repeating along `x` (n floats, a multiple of
 * m), and `reluMask(g, x, o,
 * n)`: `o = g` where `x > 0`, else +0 (byte addresses).
 *
 * @internal
 */
export function addElementwise(mb: ModuleBuilder): void {
  mb.func(
    "biasRelu",
    ["i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [x, b, o, n, m]) => {
      const end = f.local("i32"), j = f.local("i32"), jEnd = f.local("i32");
      const s = f.local("v128");
      f.get(x!).get(n!).i32(2).shl().add().set(end);
      f.get(m!).i32(2).shl().set(jEnd);
      f.get(x!).get(end).lt().if(() => {
        f.loop(() => {
          f.i32(0).set(j);
          f.loop(() => {
            f.get(x!).get(j).add().loadV().get(b!).get(j).add().loadV()
              .vadd().set(s);
            f.get(o!).get(j).add();
            f.get(s).get(s).vconst(0).vgt().vand().storeV();
            f.get(j).i32(16).add().tee(j).get(jEnd).lt().brIf(0);
          });
          f.get(x!).get(jEnd).add().set(x!);
          f.get(o!).get(jEnd).add().set(o!);
          f.get(x!).get(end).lt().brIf(0);
        });
      });
    },
  );
  mb.func(
    "reluMask",
    ["i32", "i32", "i32", "i32"],
    [],
    (f, [g, x, o, n]) => {
      const end = f.local("i32"), vend = f.local("i32"), t = f.local("f32");
      f.get(o!).get(n!).i32(2).shl().add().set(end);
      f.get(o!).get(n!).i32(-4).and().i32(2).shl().add().set(vend);
      f.block(() => {
        f.loop(() => {
          f.get(o!).get(vend).ge().brIf(1);
          f.get(o!).get(g!).loadV().get(x!).loadV().vconst(0).vgt().vand()
            .storeV();
          f.get(g!).i32(16).add().set(g!);
          f.get(x!).i32(16).add().set(x!);
          f.get(o!).i32(16).add().set(o!);
          f.br(0);
        });
      });
      f.block(() => {
        f.loop(() => {
          f.get(o!).get(end).ge().brIf(1);
          f.get(x!).loadF32().set(t);
          f.get(o!).get(g!).loadF32().bitsOf().i32(0).get(t).f32(0).fgt()
            .sub().and().floatOf().storeF32();
          f.get(g!).i32(4).add().set(g!);
          f.get(x!).i32(4).add().set(x!);
          f.get(o!).i32(4).add().set(o!);
          f.br(0);
        });
      });
    },
  );
}

/**
 * Adds `sumMid(x, o, outer, mid, inner)`: the sums over the middle axis of
 * `x` `[outer, mid, inner]` (inner a multiple of 4), each column summed in
 * order in a float64 lane and rounded once, as `elementwise.ts` does.
 *
 * @internal
 */
export function addSumMid(mb: ModuleBuilder): void {
  mb.func(
    "sumMid",
    ["i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [x, o, outer, mid, inner]) => {
      const i = f.local("i32"), k = f.local("i32"), j = f.local("i32");
      const p = f.local("i32"), stride = f.local("i32"), base = f.local("i32");
      const lo = f.local("v128"), hi = f.local("v128"), v = f.local("v128");
      f.get(inner!).i32(2).shl().set(stride);
      f.for(i, () => f.i32(0), outer!, 1, () => {
        f.get(i).get(mid!).mul().get(inner!).mul().i32(2).shl().get(x!).add()
          .set(base);
        f.for(k, () => f.i32(0), inner!, 4, () => {
          f.vconst(0).set(lo).vconst(0).set(hi);
          f.get(base).get(k).i32(2).shl().add().set(p);
          f.for(j, () => f.i32(0), mid!, 1, () => {
            f.get(p).loadV().set(v);
            f.get(lo).get(v).promoteLow().dadd().set(lo);
            f.get(hi).get(v).get(v).shuffle32([2, 3, 2, 3]).promoteLow().dadd()
              .set(hi);
            f.get(p).get(stride).add().set(p);
          });
          f.get(o!).get(lo).demote().get(hi).demote().shuffle32([0, 1, 4, 5])
            .storeV();
          f.get(o!).i32(16).add().set(o!);
        });
      });
    },
  );
}
