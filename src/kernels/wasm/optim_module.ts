/**
 * The fused Adam step in WebAssembly SIMD, added to the kernel module. It
 * computes in float64 lanes exactly as `optim/_adam_kernel.ts` does in
 * JavaScript numbers (the same operations in the same order, rounded to
 * float32 only when stored), so the two give the same bits.
 *
 * @internal
 * @module
 */

import type { Body, Local, ModuleBuilder } from "./builder.ts";

/**
 * Adds `adam(g, m, v, n, beta1, beta2, scale, epsHat, p, out)`: for n
 * floats (a multiple of 4) writes the new first moments to `out`, the
 * second to `out + 4n` and the update to `out + 8n` (byte addresses); with
 * parameters at `p` (not 0), the parameters plus the update instead of the
 * update.
 *
 * @internal
 */
export function addAdam(mb: ModuleBuilder): void {
  mb.func(
    "adam",
    ["i32", "i32", "i32", "i32", "f64", "f64", "f64", "f64", "i32", "i32"],
    [],
    (f, [g, m, v, n, beta1, beta2, scale, epsHat, p, out]) => {
      const b1 = f.local("v128"), b2 = f.local("v128"), a1 = f.local("v128");
      const a2 = f.local("v128"), sc = f.local("v128"), ep = f.local("v128");
      const gv = f.local("v128"), mv = f.local("v128"), vv = f.local("v128");
      const end = f.local("i32"), n4 = f.local("i32");
      const mi = [f.local("v128"), f.local("v128")];
      const vi = [f.local("v128"), f.local("v128")];
      const ui = [f.local("v128"), f.local("v128")];
      const gd = f.local("v128"), pv = f.local("v128");
      f.get(beta1!).dsplat().set(b1);
      f.get(beta2!).dsplat().set(b2);
      f.f64(1).get(beta1!).fsub64().dsplat().set(a1);
      f.f64(1).get(beta2!).fsub64().dsplat().set(a2);
      f.get(scale!).dsplat().set(sc);
      f.get(epsHat!).dsplat().set(ep);
      f.get(n!).i32(2).shl().set(n4);
      f.get(g!).get(n4).add().set(end);
      /** Pushes float64 lanes `half` (0: floats 0-1, 1: floats 2-3) of x. */
      const wide = (x: Local, half: number): Body => {
        if (half === 0) return f.get(x).promoteLow();
        return f.get(x).get(x).shuffle32([2, 3, 2, 3]).promoteLow();
      };
      f.get(g!).get(end).lt().if(() => {
        f.loop(() => {
          f.get(g!).loadV().set(gv);
          f.get(m!).loadV().set(mv);
          f.get(v!).loadV().set(vv);
          f.get(p!).if(() => {
            f.get(p!).loadV().set(pv);
          });
          for (let h = 0; h < 2; h++) {
            wide(gv, h).set(gd);
            // mi = beta1 * m + a1 * g
            f.get(b1);
            wide(mv, h).dmul().get(a1).get(gd).dmul().dadd().set(mi[h]!);
            // vi = beta2 * v + (a2 * g) * g
            f.get(b2);
            wide(vv, h).dmul().get(a2).get(gd).dmul().get(gd).dmul().dadd()
              .set(vi[h]!);
            // u = (scale * mi) / (sqrt(vi) + epsHat)
            f.get(sc).get(mi[h]!).dmul().get(vi[h]!).dsqrt().get(ep).dadd()
              .ddiv().set(ui[h]!);
            // With parameters: p + u.
            f.get(p!).if(() => {
              wide(pv, h).get(ui[h]!).dadd().set(ui[h]!);
            });
          }
          const store = (pair: Local[], off: Local | null): void => {
            f.get(out!);
            if (off !== null) f.get(off).add();
            f.get(pair[0]!).demote().get(pair[1]!).demote()
              .shuffle32([0, 1, 4, 5]).storeV();
          };
          store(mi, null);
          store(vi, n4);
          f.get(out!).get(n4).add();
          f.get(n4).add();
          f.get(ui[0]!).demote().get(ui[1]!).demote().shuffle32([0, 1, 4, 5])
            .storeV();
          f.get(g!).i32(16).add().set(g!);
          f.get(m!).i32(16).add().set(m!);
          f.get(v!).i32(16).add().set(v!);
          f.get(p!).if(() => {
            f.get(p!).i32(16).add().set(p!);
          });
          f.get(out!).i32(16).add().set(out!);
          f.get(g!).get(end).lt().brIf(0);
        });
      });
    },
  );
}
