/**
 * Max pooling forward in WebAssembly SIMD, four channels at a time, added
 * to the kernel module: the same values and argmax positions as
 * `pool.ts`'s `maxPoolForward` (a later position wins only where it is
 * strictly larger; padding never wins; an empty window gives 0 and -1).
 *
 * @internal
 * @module
 */

import { loadFields, type Local, type ModuleBuilder } from "./builder.ts";

/** The geometry words the kernel reads, in order. @internal */
export const POOL_FIELDS = [
  "n",
  "h",
  "w",
  "c",
  "kh",
  "kw",
  "outH",
  "outW",
  "strideH",
  "strideW",
  "padTop",
  "padLeft",
] as const;

/**
 * Adds `maxPool(x, geo, out, argmax, b0, b1)` for images `[b0, b1)` whose
 * channel count is a multiple of 4 (byte addresses of the whole input and
 * outputs; `argmax` receives int32 flat indices into the whole input).
 *
 * @internal
 */
export function addMaxPool(mb: ModuleBuilder): void {
  mb.func(
    "maxPool",
    ["i32", "i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [x, geo, out, argmax, b0, b1]) => {
      const g = loadFields(f, geo!, POOL_FIELDS);
      const i = (): Local => f.local("i32");
      const b = i(), oy = i(), ox = i(), img = i(), y0 = i(), ya = i();
      const yb = i(), x0 = i(), xa = i(), xb = i(), ci = i(), first = i();
      const y = i(), xx = i(), idx = i(), zero = i(), t = i(), p = i();
      const c4 = i(), wc4 = i(), wcc4 = i();
      const best = f.local("v128"), at = f.local("v128");
      const cand = f.local("v128"), mask = f.local("v128");
      const base = f.local("v128"), dC = f.local("v128");
      const dW = f.local("v128"), dWC = f.local("v128");
      f.i32(0).set(zero);
      // A 2 x 2 window's later positions: byte offsets and index steps.
      f.get(g.c).i32(2).shl().set(c4);
      f.get(g.w).get(c4).mul().tee(wc4).get(c4).add().set(wcc4);
      f.get(g.c).isplat().set(dC);
      f.get(g.w).get(g.c).mul().isplat().set(dW);
      f.get(g.w).get(g.c).mul().get(g.c).add().isplat().set(dWC);
      /** The first position of the window, channels ci on (index t). */
      const start = (): void => {
        f.get(first).get(ci).add().tee(t).i32(2).shl().get(x!).add().tee(p)
          .loadV().set(best);
        f.get(t).isplat().iconst4(0, 1, 2, 3).iadd4().tee(base).set(at);
      };
      /** A candidate at byte `p` whose indices are `idxs`: kept if larger. */
      const consider = (idxs: () => void): void => {
        f.get(cand).get(best).vgt().set(mask);
        f.get(cand).get(best).get(mask).bitselect().set(best);
        idxs();
        f.get(at).get(mask).bitselect().set(at);
      };
      const store = (): void => {
        f.get(out!).get(best).storeV();
        f.get(argmax!).get(at).storeV();
        f.get(out!).i32(16).add().set(out!);
        f.get(argmax!).i32(16).add().set(argmax!);
      };
      // Images [b0, b1): the outputs of image b0 first.
      f.get(b0!).get(g.outH).mul().get(g.outW).mul().get(g.c).mul().i32(2)
        .shl().set(t);
      f.get(out!).get(t).add().set(out!);
      f.get(argmax!).get(t).add().set(argmax!);
      f.for(b, () => f.get(b0!), b1!, 1, () => {
        f.get(b).get(g.h).mul().get(g.w).mul().get(g.c).mul().set(img);
        f.for(oy, () => f.i32(0), g.outH, 1, () => {
          f.get(oy).get(g.strideH).mul().get(g.padTop).sub().set(y0);
          f.get(y0).get(zero).get(y0).get(zero).gt().select().set(ya);
          f.get(y0).get(g.kh).add().set(yb);
          f.get(yb).get(g.h).get(yb).get(g.h).lt().select().set(yb);
          f.for(ox, () => f.i32(0), g.outW, 1, () => {
            f.get(ox).get(g.strideW).mul().get(g.padLeft).sub().set(x0);
            f.get(x0).get(zero).get(x0).get(zero).gt().select().set(xa);
            f.get(x0).get(g.kw).add().set(xb);
            f.get(xb).get(g.w).get(xb).get(g.w).lt().select().set(xb);
            f.get(ya).get(yb).lt().get(xa).get(xb).lt().and().if(() => {
              f.get(ya).get(g.w).mul().get(xa).add().get(g.c).mul().get(img)
                .add().set(first);
              f.get(yb).get(ya).sub().i32(2).eq().get(xb).get(xa).sub().i32(2)
                .eq().and().if(() => {
                  // A 2 x 2 window (the common pool, or a clipped one): its
                  // other three positions in the loops' order, unrolled.
                  f.for(ci, () => f.i32(0), g.c, 4, () => {
                    start();
                    for (const [off, d] of [[c4, dC], [wc4, dW], [wcc4, dWC]]) {
                      f.get(p).get(off!).add().loadV().set(cand);
                      consider(() => f.get(base).get(d!).iadd4());
                    }
                    store();
                  });
                }, () => {
                  // Any window: every position, rows then columns.
                  f.for(ci, () => f.i32(0), g.c, 4, () => {
                    start();
                    f.for(y, () => f.get(ya), yb, 1, () => {
                      f.for(xx, () => f.get(xa), xb, 1, () => {
                        f.get(y).get(g.w).mul().get(xx).add().get(g.c).mul()
                          .get(img).add().get(ci).add().set(idx);
                        f.get(idx).i32(2).shl().get(x!).add().loadV()
                          .set(cand);
                        consider(() =>
                          f.get(idx).isplat().iconst4(0, 1, 2, 3).iadd4()
                        );
                      });
                    });
                    store();
                  });
                });
            }, () => {
              f.for(ci, () => f.i32(0), g.c, 4, () => {
                f.get(out!).vconst(0).storeV();
                f.get(argmax!).iconst4(-1, -1, -1, -1).storeV();
                f.get(out!).i32(16).add().set(out!);
                f.get(argmax!).i32(16).add().set(argmax!);
              });
            });
          });
        });
      });
    },
  );
}

/**
 * Adds `unpool2x2(dy, at, dst, images, ph, pw, o, first)`: the max pool's
 * cotangent scattered back, for a 2 x 2 pool of stride 2 without padding
 * whose windows cover the image exactly (`2 ph` x `2 pw` pixels of `o`
 * channels, `o` a multiple of 4): each window's four positions get the
 * pooled value where the argmax points and 0 elsewhere, written once, no
 * clearing first. `dy` and `at` (the pooled values and their flat
 * positions, int32) and `dst` are byte addresses of the first of `images`
 * images; `first` is the flat position of `dst`'s first value. The value
 * is `0 + dy`, as the scatter's loop adds it into zeros (-0 becomes 0).
 *
 * @internal
 */
export function addUnpool(mb: ModuleBuilder): void {
  mb.func(
    "unpool2x2",
    Array<"i32">(8).fill("i32"),
    [],
    (f, [dy, at, dst, images, ph, pw, o, first]) => {
      const i = (): Local => f.local("i32");
      const b = i(), py = i(), px = i(), ci = i(), o4 = i(), row4 = i();
      const p = i(), idx = i(), rowIdx = i(), pixels = i();
      const value = f.local("v128"), where = f.local("v128");
      const base = f.local("v128"), dC = f.local("v128");
      const dW = f.local("v128"), dWC = f.local("v128");
      f.get(o!).i32(2).shl().set(o4);
      // A pixel row of the image: 2 pw pixels; its bytes and positions.
      f.get(pw!).i32(1).shl().get(o!).mul().set(rowIdx);
      f.get(rowIdx).i32(2).shl().set(row4);
      f.get(o!).isplat().set(dC);
      f.get(rowIdx).isplat().set(dW);
      f.get(rowIdx).get(o!).add().isplat().set(dWC);
      f.get(ph!).get(pw!).mul().i32(2).shl().set(pixels);
      f.for(b, () => f.i32(0), images!, 1, () => {
        f.for(py, () => f.i32(0), ph!, 1, () => {
          f.for(px, () => f.i32(0), pw!, 1, () => {
            // Position of the window's first value (channel 0).
            f.get(b).get(pixels).mul().get(py).i32(1).shl().get(pw!).i32(1)
              .shl().mul().add().get(px).i32(1).shl().add().get(o!).mul()
              .set(idx);
            f.for(ci, () => f.i32(0), o!, 4, () => {
              f.get(dy!).loadV().vconst(0).vadd().set(value);
              f.get(at!).loadV().set(where);
              f.get(idx).get(ci).add().tee(p).get(first!).add().isplat()
                .iconst4(0, 1, 2, 3).iadd4().set(base);
              f.get(p).i32(2).shl().get(dst!).add().set(p);
              // The four positions, each the value where the argmax is it.
              f.get(p).get(where).get(base).ieq4().get(value).vand()
                .storeV();
              f.get(p).get(o4).add().get(where).get(base).get(dC).iadd4()
                .ieq4().get(value).vand().storeV();
              f.get(p).get(row4).add().get(where).get(base).get(dW).iadd4()
                .ieq4().get(value).vand().storeV();
              f.get(p).get(row4).add().get(o4).add().get(where).get(base)
                .get(dWC).iadd4().ieq4().get(value).vand().storeV();
              f.get(dy!).i32(16).add().set(dy!);
              f.get(at!).i32(16).add().set(at!);
            });
          });
        });
      });
    },
  );
}
