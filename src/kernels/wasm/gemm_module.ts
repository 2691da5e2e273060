/**
 * The WebAssembly SIMD GEMM: C (+)= op(A) @ op(B) on float32 in the
 * shared memory, op(B) packed in panels of 8 columns, an `MR` x 8 register
 * tile of f32x4 sums (two vectors a row) fed by one splat of A and two
 * vectors of B per depth step.
 *
 * Summation order: the k dimension is cut into blocks of `KC`; a block's
 * products are summed in order from zero in the tile's registers and then
 * added to C (the first block, without accumulation, is stored). Every
 * element of C gets the same order whatever rows a call covers, so a split
 * of the rows over threads is bit-identical to one call.
 *
 * Exports (pointers are byte addresses, leading dimensions in elements):
 * - `packB(b, ldb, transB, k, n, dst)`: op(B) `[k, n]` to panels: panel `q`
 *   (columns `8q .. 8q + 7`, zero past `n`) at `dst + 32 q k`, depth `p` at
 *   `+ 32 p`.
 * - `gemm(a, lda, transA, bp, c, ldc, m, k, n, accumulate, work)`: rows
 *   `[0, m)` of C from A at `a` and packed op(B) at `bp`; `work` holds
 *   {@linkcode workFloats} floats of scratch.
 *
 * @internal
 * @module
 */

import type { Body, FuncRef, Local, ModuleBuilder } from "./builder.ts";

/** Rows of the register tile. */
export const MR = 4;
/**
 * Rows of the transposed segmented tile (the column-free filter gradient):
 * one more, so that a 5-tap filter row of one channel is one tile, not 4 + 1
 * (10 sums in registers, 13 vectors live of x64's 16).
 */
export const MR_FILTER = 5;
/** Depth of a k block. */
export const KC = 256;
/** Rows of A per block: they stay in cache while every panel of op(B) passes. */
export const MC = 64;

/** Floats of `work` the micro-kernels need (an edge tile). @internal */
export const workFloats: number = Math.max(MR, MR_FILTER) * 8;

/** Floats of a packed op(B) `[k, n]`. @internal */
export function packedFloats(k: number, n: number): number {
  return Math.ceil(n / 8) * 8 * k;
}

/**
 * `madd(b, acc)` leaves `s * v + acc` on the stack, fused or not.
 */
function madd(b: Body, relaxed: boolean, s: Local, v: Local, acc: Local): void {
  if (relaxed) b.get(s).get(v).get(acc).vmaddRelaxed();
  else b.get(acc).get(s).get(v).vmul().vadd();
}

/**
 * Adds the micro-kernel for `rows` rows:
 * `(a, lda4, b, c, ldc4, kc, add, nr, tmp)` with byte strides. A
 * `segmented` one takes two more, `(segs, jump4)`: the
 * depth is `segs` segments of `kc`, B contiguous across them and each row
 * of A moving on by `jump4` bytes between them (a convolution's window,
 * filter row after filter row), all summed in the registers.
 */
function microKernel(
  mb: ModuleBuilder,
  rows: number,
  relaxed: boolean,
  transposed: boolean,
  segmented = false,
) {
  const params = Array<"i32">(segmented ? 11 : 9).fill("i32");
  return mb.func(
    null,
    params,
    [],
    (f, [a, lda4, bp, c, ldc4, kc, add, nr, tmp, segs, jump4]) => {
      const acc: Local[][] = [];
      const ap: Local[] = [];
      for (let r = 0; r < rows; r++) {
        acc.push([f.local("v128"), f.local("v128")]);
        ap.push(f.local("i32"));
      }
      const b0 = f.local("v128"), b1 = f.local("v128"), s = f.local("v128");
      const end = f.local("i32"), p = f.local("i32"), j = f.local("i32");
      const q = f.local("i32"), t = f.local("f32");
      for (let r = 0; r < rows; r++) {
        f.vconst(0).set(acc[r]![0]!).vconst(0).set(acc[r]![1]!);
        if (!transposed || r === 0) {
          f.get(a!).get(lda4!).i32(transposed ? 0 : r).mul().add().set(ap[r]!);
        }
      }
      /** One depth step from `bp + 32 u` (A at `ap` plus `4 u` if stored). */
      const step = (u: number): void => {
        f.get(bp!).loadV(32 * u).set(b0).get(bp!).loadV(32 * u + 16).set(b1);
        for (let r = 0; r < rows; r++) {
          // Row r of a stored A at ap[r]; of a transposed A, the r-th
          // float at ap[0] (the rows of one depth are adjacent).
          if (transposed) f.get(ap[0]!).loadSplat(4 * r).set(s);
          else f.get(ap[r]!).loadSplat(4 * u).set(s);
          madd(f, relaxed, s, b0, acc[r]![0]!);
          f.set(acc[r]![0]!);
          madd(f, relaxed, s, b1, acc[r]![1]!);
          f.set(acc[r]![1]!);
        }
        // A transposed steps a whole stored row (lda4 bytes) per depth.
        if (transposed) f.get(ap[0]!).get(lda4!).add().set(ap[0]!);
      };
      /** Moves stored A's row pointers and bp on by `n` depths. */
      const advance = (n: number): void => {
        if (!transposed) {
          for (let r = 0; r < rows; r++) {
            f.get(ap[r]!).i32(4 * n).add().set(ap[r]!);
          }
        }
        f.get(bp!).i32(32 * n).add().set(bp!);
      };
      // Two depths a turn (half the pointer and loop updates), then the
      // odd one: the same products summed in the same order.
      const depth = (): void => {
        f.get(bp!).get(kc!).i32(5).shl().add().set(end);
        f.block(() => {
          f.get(bp!).i32(64).add().get(end).gt().brIf(0);
          f.loop(() => {
            step(0);
            step(1);
            advance(2);
            f.get(bp!).i32(64).add().get(end).gt().eqz().brIf(0);
          });
        });
        f.get(bp!).get(end).lt().if(() => {
          step(0);
          advance(1);
        });
      };
      if (segmented) {
        const seg = f.local("i32");
        f.get(segs!).set(seg);
        f.block(() => {
          f.get(seg).i32(0).gt().eqz().brIf(0);
          f.loop(() => {
            depth();
            for (let r = 0; r < (transposed ? 1 : rows); r++) {
              f.get(ap[r]!).get(jump4!).add().set(ap[r]!);
            }
            f.get(seg).i32(1).sub().tee(seg).i32(0).gt().brIf(0);
          });
        });
      } else depth();
      // Store: whole 8-column tiles straight to C, a partial one through tmp.
      f.get(nr!).i32(8).eq().if(() => {
        for (let r = 0; r < rows; r++) {
          for (let h = 0; h < 2; h++) {
            const v = acc[r]![h]!;
            f.get(c!).get(ldc4!).i32(r).mul().add().set(p);
            f.get(add!).if(() => {
              f.get(p).get(p).loadV(16 * h).get(v).vadd().storeV(16 * h);
            }, () => {
              f.get(p).get(v).storeV(16 * h);
            });
          }
        }
      }, () => {
        for (let r = 0; r < rows; r++) {
          f.get(tmp!).get(acc[r]![0]!).storeV(32 * r);
          f.get(tmp!).get(acc[r]![1]!).storeV(32 * r + 16);
          f.get(c!).get(ldc4!).i32(r).mul().add().set(p);
          f.for(j, () => f.i32(0), nr!, 1, () => {
            f.get(p).get(j).i32(2).shl().add().set(q);
            f.get(tmp!).get(j).i32(2).shl().add().loadF32(32 * r).set(t);
            f.get(add!).if(() => {
              f.get(q).loadF32().get(t).fadd().set(t);
            });
            f.get(q).get(t).storeF32();
          });
        }
      });
    },
  );
}

/** Pushes `min(x, y)` of two i32 locals. */
function min(f: Body, x: Local, y: Local): Body {
  return f.get(x).get(y).get(x).get(y).lt().select();
}

/**
 * Adds the GEMM (`packB`, `gemm`) to the module; `relaxed` uses
 * `f32x4.relaxed_madd`. Returns the micro-kernels for 1 to `MR` rows, for a
 * stored A, and segmented ones for a stored and (1 to `MR_FILTER` rows) a
 * transposed A (see `microKernel`), which the convolutions call.
 *
 * @internal
 */
export function addGemm(
  mb: ModuleBuilder,
  relaxed: boolean,
): { micro: FuncRef[]; microS: FuncRef[]; microTS: FuncRef[] } {
  const micro: FuncRef[] = [], microT: FuncRef[] = [];
  const microS: FuncRef[] = [], microTS: FuncRef[] = [];
  for (let r = 1; r <= MR; r++) {
    micro.push(microKernel(mb, r, relaxed, false));
    microT.push(microKernel(mb, r, relaxed, true));
    microS.push(microKernel(mb, r, relaxed, false, true));
    microTS.push(microKernel(mb, r, relaxed, true, true));
  }
  for (let r = MR + 1; r <= MR_FILTER; r++) {
    microTS.push(microKernel(mb, r, relaxed, true, true));
  }
  mb.func(
    "packB",
    ["i32", "i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [b, ldb, transB, k, n, dst]) => {
      const jp = f.local("i32"), p = f.local("i32"), j = f.local("i32");
      const base = f.local("i32"), cols = f.local("i32"), src = f.local("i32");
      const eight = f.local("i32"), rest = f.local("i32");
      const v = f.local("f32");
      f.i32(8).set(eight);
      f.for(jp, () => f.i32(0), n!, 8, () => {
        f.get(dst!).get(jp).get(k!).mul().i32(2).shl().add().set(base);
        f.get(n!).get(jp).sub().set(rest);
        min(f, eight, rest).set(cols);
        f.get(transB!).eqz().get(cols).i32(8).eq().and().if(() => {
          f.for(p, () => f.i32(0), k!, 1, () => {
            f.get(p).get(ldb!).mul().get(jp).add().i32(2).shl().get(b!).add()
              .set(src);
            f.get(base).get(src).loadV(0).storeV(0);
            f.get(base).get(src).loadV(16).storeV(16);
            f.get(base).i32(32).add().set(base);
          });
        }, () => {
          f.for(p, () => f.i32(0), k!, 1, () => {
            f.for(j, () => f.i32(0), eight, 1, () => {
              f.f32(0).set(v);
              f.get(j).get(cols).lt().if(() => {
                f.get(transB!).if(() => {
                  f.get(jp).get(j).add().get(ldb!).mul().get(p).add().set(src);
                }, () => {
                  f.get(p).get(ldb!).mul().get(jp).add().get(j).add().set(src);
                });
                f.get(src).i32(2).shl().get(b!).add().loadF32().set(v);
              });
              f.get(base).get(j).i32(2).shl().add().get(v).storeF32();
            });
            f.get(base).i32(32).add().set(base);
          });
        });
      });
    },
  );
  mb.func(
    "gemm",
    [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
    [],
    (f, [a, lda, transA, bp, c, ldc, m, k, n, accumulate, work]) => {
      const p0 = f.local("i32"), kc = f.local("i32"), add = f.local("i32");
      const i0 = f.local("i32"), mc = f.local("i32"), ablk = f.local("i32");
      const lb4 = f.local("i32"), jp = f.local("i32"), nr = f.local("i32");
      const bpan = f.local("i32"), crow = f.local("i32"), i = f.local("i32");
      const mfull = f.local("i32"), tmp = f.local("i32");
      const rest = f.local("i32");
      const kcMax = f.local("i32"), mcMax = f.local("i32");
      const eight = f.local("i32"), ldc4 = f.local("i32");
      f.i32(KC).set(kcMax).i32(MC).set(mcMax).i32(8).set(eight);
      f.get(work!).set(tmp);
      f.get(ldc!).i32(2).shl().set(ldc4);
      f.for(p0, () => f.i32(0), k!, KC, () => {
        f.get(k!).get(p0).sub().set(rest);
        min(f, kcMax, rest).set(kc);
        f.get(accumulate!).get(p0).i32(0).gt().or().set(add);
        f.for(i0, () => f.i32(0), m!, MC, () => {
          f.get(m!).get(i0).sub().set(rest);
          min(f, mcMax, rest).set(mc);
          // A's block: rows i0.., depths p0..; a transposed A is read in
          // place, its rows adjacent and its depths lda apart.
          f.get(transA!).if(() => {
            f.get(p0).get(lda!).mul().get(i0).add().i32(2).shl().get(a!).add()
              .set(ablk);
          }, () => {
            f.get(i0).get(lda!).mul().get(p0).add().i32(2).shl().get(a!).add()
              .set(ablk);
          });
          f.get(lda!).i32(2).shl().set(lb4);
          f.get(mc).get(mc).i32(MR).rem().sub().set(mfull);
          f.for(jp, () => f.i32(0), n!, 8, () => {
            f.get(n!).get(jp).sub().set(rest);
            min(f, eight, rest).set(nr);
            f.get(jp).get(k!).mul().get(p0).i32(3).shl().add().i32(2).shl()
              .get(bp!).add().set(bpan);
            f.get(i0).get(ldc!).mul().get(jp).add().i32(2).shl().get(c!).add()
              .set(crow);
            const callTile = (r: number): void => {
              f.get(transA!).if(() => {
                f.get(ablk).get(i).i32(2).shl().add();
                f.get(lb4).get(bpan);
                f.get(crow).get(i).get(ldc4).mul().add();
                f.get(ldc4).get(kc).get(add).get(nr).get(tmp);
                f.call(microT[r - 1]!);
              }, () => {
                f.get(ablk).get(i).get(lb4).mul().add();
                f.get(lb4).get(bpan);
                f.get(crow).get(i).get(ldc4).mul().add();
                f.get(ldc4).get(kc).get(add).get(nr).get(tmp);
                f.call(micro[r - 1]!);
              });
            };
            f.for(i, () => f.i32(0), mfull, MR, () => callTile(MR));
            f.get(mfull).set(i);
            for (let r = 1; r < MR; r++) {
              f.get(mc).get(mfull).sub().i32(r).eq().if(() => callTile(r));
            }
          });
        });
      });
    },
  );
  return { micro, microS, microTS };
}
