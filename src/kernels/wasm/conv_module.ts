/**
 * The convolution's data movement in WebAssembly: im2col (windows of the
 * image to rows of a column matrix) and col2im (its transpose, adding the
 * rows back into the image gradient), added to the kernel module beside the
 * GEMM. Both read the geometry from 13 int32 words at `geo`, in the order
 * of {@linkcode GEO_FIELDS}.
 *
 * @internal
 * @module
 */

import {
  type Body,
  type FuncRef,
  loadFields,
  type Local,
  type ModuleBuilder,
} from "./builder.ts";

/** The geometry words the kernels read, in order. @internal */
export const GEO_FIELDS = [
  "h",
  "w",
  "c",
  "kh",
  "kw",
  "outH",
  "outW",
  "strideH",
  "strideW",
  "dilH",
  "dilW",
  "padTop",
  "padLeft",
] as const;

type Geo = Record<(typeof GEO_FIELDS)[number], Local>;

function loadGeo(f: Body, geo: Local): Geo {
  return loadFields(f, geo, GEO_FIELDS);
}

/**
 * Adds a column-free convolution kernel `name(in, geo, bp, out, s, e, tmp)`
 * (byte addresses; work range `[s, e)`; `tmp` an edge tile): `body` runs
 * with the geometry words at `geo` and the output channels `o` after them
 * loaded.
 */
function addColumnFree(
  mb: ModuleBuilder,
  name: string,
  body: (f: Body, args: Local[], g: Geo, o: Local) => void,
): void {
  mb.func(name, Array<"i32">(7).fill("i32"), [], (f, args) => {
    const geo = args[1]!;
    const g = loadGeo(f, geo);
    const o = f.local("i32");
    f.get(geo).loadI32(4 * GEO_FIELDS.length).set(o);
    body(f, args, g, o);
  });
}

/**
 * Emits `dst[0 .. len) = src[0 .. len)`, or `+=` when `add` (floats, byte
 * addresses), four at a time then one at a time; advances `src` and `dst`.
 */
function copy(
  f: Body,
  src: Local,
  dst: Local,
  len: Local,
  end: Local,
  add = false,
): void {
  f.get(dst).get(len).i32(2).shl().add().set(end);
  f.block(() => {
    f.loop(() => {
      f.get(dst).i32(16).add().get(end).gt().brIf(1);
      f.get(dst);
      if (add) f.get(dst).loadV().get(src).loadV().vadd();
      else f.get(src).loadV();
      f.storeV();
      f.get(src).i32(16).add().set(src);
      f.get(dst).i32(16).add().set(dst);
      f.br(0);
    });
  });
  f.block(() => {
    f.loop(() => {
      f.get(dst).get(end).ge().brIf(1);
      f.get(dst);
      if (add) f.get(dst).loadF32().get(src).loadF32().fadd();
      else f.get(src).loadF32();
      f.storeF32();
      f.get(src).i32(4).add().set(src);
      f.get(dst).i32(4).add().set(dst);
      f.br(0);
    });
  });
}

/** Emits zeros from `dst` up to `end` (byte addresses); advances `dst`. */
function zero(f: Body, dst: Local, end: Local): void {
  f.block(() => {
    f.loop(() => {
      f.get(dst).get(end).ge().brIf(1);
      f.get(dst).f32(0).storeF32();
      f.get(dst).i32(4).add().set(dst);
      f.br(0);
    });
  });
}

/** Emits the position of output row `r0`: sets `b`, `oy`, `ox`. */
function position(
  f: Body,
  g: Geo,
  r0: Local,
  b: Local,
  oy: Local,
  ox: Local,
  per: Local,
): void {
  f.get(g.outH).get(g.outW).mul().set(per);
  f.get(r0).get(per).div().set(b);
  f.get(r0).get(b).get(per).mul().sub().set(ox);
  f.get(ox).get(g.outW).div().set(oy);
  f.get(ox).get(oy).get(g.outW).mul().sub().set(ox);
}

/**
 * Emits a loop over column-matrix rows `[r0, r0 + rows)` (output positions
 * in order): for each, `img` is the byte address of its image in `base`
 * (rows `rs4` bytes long) and `(iy0, ix0)` its window's corner, padding
 * included, before `body` runs.
 */
function eachRow(
  f: Body,
  g: Geo,
  r0: Local,
  rows: Local,
  base: Local,
  rs4: Local,
  body: (img: Local, iy0: Local, ix0: Local) => void,
): void {
  const b = f.local("i32"), oy = f.local("i32"), ox = f.local("i32");
  const per = f.local("i32"), r = f.local("i32"), img = f.local("i32");
  const iy0 = f.local("i32"), ix0 = f.local("i32");
  position(f, g, r0, b, oy, ox, per);
  f.for(r, () => f.i32(0), rows, 1, () => {
    f.get(b).get(g.h).mul().get(rs4).mul().get(base).add().set(img);
    f.get(oy).get(g.strideH).mul().get(g.padTop).sub().set(iy0);
    f.get(ox).get(g.strideW).mul().get(g.padLeft).sub().set(ix0);
    body(img, iy0, ix0);
    advance(f, g, b, oy, ox);
  });
}

/** Emits the step to the next output position. */
function advance(f: Body, g: Geo, b: Local, oy: Local, ox: Local): void {
  f.get(ox).i32(1).add().tee(ox).get(g.outW).eq().if(() => {
    f.i32(0).set(ox);
    f.get(oy).i32(1).add().tee(oy).get(g.outH).eq().if(() => {
      f.i32(0).set(oy);
      f.get(b).i32(1).add().set(b);
    });
  });
}

/**
 * Adds `im2col(x, geo, r0, rows, k0, k1, dst)` and `col2im(cols, geo, r0,
 * rows, dx)` to the module (byte addresses).
 *
 * @internal
 */
export function addConvData(mb: ModuleBuilder): void {
  mb.func(
    "im2col",
    ["i32", "i32", "i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [x, geo, r0, rows, k0, k1, dst]) => {
      const g = loadGeo(f, geo!);
      const ky = f.local("i32"), kx = f.local("i32"), iy = f.local("i32");
      const ix = f.local("i32"), tap = f.local("i32"), lo = f.local("i32");
      const hi = f.local("i32"), len = f.local("i32"), src = f.local("i32");
      const end = f.local("i32"), rs4 = f.local("i32"), d = f.local("i32");
      const full = f.local("i32"), inside = f.local("i32");
      const span = f.local("i32"), s0 = f.local("i32"), s1 = f.local("i32");
      f.get(k0!).get(g.c).div().set(s0);
      f.get(k1!).get(g.c).add().i32(1).sub().get(g.c).div().set(s1);
      f.get(g.kw).get(g.c).mul().set(span);
      f.get(k0!).eqz().get(k1!).get(span).get(g.kh).mul().eq().and()
        .get(g.dilW).i32(1).eq().and().set(full);
      f.get(g.w).get(g.c).mul().i32(2).shl().set(rs4);
      f.get(dst!).set(d);
      eachRow(f, g, r0!, rows!, x!, rs4, (img, iy0, ix0) => {
        // Whole columns and an undilated window inside the image: each
        // filter row's taps are kw * c contiguous floats.
        f.get(full).get(ix0).i32(0).ge().and().get(ix0).get(g.kw).add()
          .get(g.w).gt().eqz().and().set(inside);
        f.get(inside).if(() => {
          f.for(ky, () => f.i32(0), g.kh, 1, () => {
            f.get(iy0).get(ky).get(g.dilH).mul().add().set(iy);
            f.get(iy).get(g.h).ltU().if(() => {
              f.get(iy).get(rs4).mul().get(ix0).get(g.c).mul().i32(2).shl()
                .add().get(img).add().set(src);
              copy(f, src, d, span, end);
            }, () => {
              f.get(d).get(span).i32(2).shl().add().set(end);
              zero(f, d, end);
            });
          });
        }, () => {
          // Only the taps [s0, s1) that hold columns [k0, k1), (ky, kx)
          // stepped along.
          f.get(s0).get(g.kw).div().set(ky);
          f.get(s0).get(ky).get(g.kw).mul().sub().set(kx);
          f.for(tap, () => f.get(s0), s1, 1, () => {
            // lo = max(0, k0 - tap * c), hi = min(c, k1 - tap * c)
            f.get(k0!).get(tap).get(g.c).mul().sub().set(lo);
            f.get(lo).i32(0).get(lo).i32(0).gt().select().set(lo);
            f.get(k1!).get(tap).get(g.c).mul().sub().set(hi);
            f.get(hi).get(g.c).get(hi).get(g.c).lt().select().set(hi);
            f.get(hi).get(lo).sub().set(len);
            f.get(iy0).get(ky).get(g.dilH).mul().add().set(iy);
            f.get(ix0).get(kx).get(g.dilW).mul().add().set(ix);
            f.get(iy).get(g.h).ltU().get(ix).get(g.w).ltU().and().if(() => {
              f.get(iy).get(rs4).mul().get(ix).get(g.c).mul().get(lo).add()
                .i32(2).shl().add().get(img).add().set(src);
              copy(f, src, d, len, end);
            }, () => {
              f.get(d).get(len).i32(2).shl().add().set(end);
              zero(f, d, end);
            });
            f.get(kx).i32(1).add().tee(kx).get(g.kw).eq().if(() => {
              f.i32(0).set(kx);
              f.get(ky).i32(1).add().set(ky);
            });
          });
        });
      });
    },
  );
  mb.func(
    "col2im",
    ["i32", "i32", "i32", "i32", "i32"],
    [],
    (f, [cols, geo, r0, rows, dx]) => {
      const g = loadGeo(f, geo!);
      const ky = f.local("i32"), kx = f.local("i32"), iy = f.local("i32");
      const ix = f.local("i32"), src = f.local("i32"), dst = f.local("i32");
      const end = f.local("i32"), rs4 = f.local("i32"), c4 = f.local("i32");
      f.get(g.w).get(g.c).mul().i32(2).shl().set(rs4);
      f.get(g.c).i32(2).shl().set(c4);
      f.get(cols!).set(src);
      eachRow(f, g, r0!, rows!, dx!, rs4, (img, iy0, ix0) => {
        f.for(ky, () => f.i32(0), g.kh, 1, () => {
          f.get(iy0).get(ky).get(g.dilH).mul().add().set(iy);
          f.for(kx, () => f.i32(0), g.kw, 1, () => {
            f.get(ix0).get(kx).get(g.dilW).mul().add().set(ix);
            f.get(iy).get(g.h).ltU().get(ix).get(g.w).ltU().and().if(() => {
              f.get(iy).get(rs4).mul().get(ix).get(c4).mul().add().get(img)
                .add().set(dst);
              copy(f, src, dst, g.c, end, true);
            }, () => {
              f.get(src).get(c4).add().set(src);
            });
          });
        });
      });
    },
  );
}

/**
 * Adds `convForward(xp, geo, bp, y, line0, line1, tmp)`: output lines
 * `[line0, line1)` (a line is `(b, oy)`) of a convolution of the padded
 * input `xp` (geometry without padding, undilated along the width) with
 * the filter packed in 8-column panels at `bp` (byte addresses). Without a
 * column matrix: for four neighbouring output pixels the window rows of
 * one filter row are `kw * c` contiguous floats each, `strideW * c` apart,
 * which is exactly a GEMM tile's A; a segmented micro-kernel (`microS`)
 * sums the filter rows one after the other in its registers, the packed
 * filter's depths contiguous across them, and stores the tile once.
 *
 * @internal
 */
export function addConvForward(mb: ModuleBuilder, microS: FuncRef[]): void {
  const MR = microS.length;
  addColumnFree(
    mb,
    "convForward",
    (f, [xp, , bp, y, line0, line1, tmp], g, o) => {
      const i = (): Local => f.local("i32");
      const line = i(), b = i(), oy = i(), ox = i(), rows = i(), crow = i();
      const jp = i(), nr = i(), a = i(), lda4 = i(), span = i();
      const kTotal = i(), ldc4 = i(), rowBase = i(), rs4 = i(), bpan = i();
      const eight = i(), rest = i(), jump4 = i();
      f.i32(8).set(eight);
      f.get(g.kw).get(g.c).mul().set(span);
      f.get(span).get(g.kh).mul().set(kTotal);
      f.get(g.strideW).get(g.c).mul().i32(2).shl().set(lda4);
      f.get(o).i32(2).shl().set(ldc4);
      f.get(g.w).get(g.c).mul().i32(2).shl().set(rs4);
      // From the end of a window row to the start of the next one.
      f.get(g.dilH).get(rs4).mul().get(span).i32(2).shl().sub().set(jump4);
      f.for(line, () => f.get(line0!), line1!, 1, () => {
        f.get(line).get(g.outH).div().set(b);
        f.get(line).get(b).get(g.outH).mul().sub().set(oy);
        // Byte address of image b, row oy * strideH.
        f.get(b).get(g.h).mul().get(oy).get(g.strideH).mul().add().get(rs4)
          .mul().get(xp!).add().set(rowBase);
        // Panel by panel, so that its filter columns stay in cache across
        // the line's tiles.
        f.for(jp, () => f.i32(0), o, 8, () => {
          f.get(o).get(jp).sub().set(rest);
          f.get(rest).get(eight).get(rest).get(eight).lt().select().set(nr);
          f.for(ox, () => f.i32(0), g.outW, MR, () => {
            f.get(g.outW).get(ox).sub().set(rows);
            f.get(rows).i32(MR).get(rows).i32(MR).lt().select().set(rows);
            f.get(line).get(g.outW).mul().get(ox).add().get(o).mul().i32(2)
              .shl().get(y!).add().set(crow);
            // A: the first window row of pixel ox; B: panel jp.
            f.get(rowBase).get(ox).get(lda4).mul().add().set(a);
            f.get(jp).get(kTotal).mul().i32(2).shl().get(bp!).add().set(bpan);
            for (let r = 1; r <= MR; r++) {
              f.get(rows).i32(r).eq().if(() => {
                f.get(a).get(lda4).get(bpan);
                f.get(crow).get(jp).i32(2).shl().add();
                f.get(ldc4).get(span).i32(0).get(nr).get(tmp!);
                f.get(g.kh).get(jump4);
                f.call(microS[r - 1]!);
              });
            }
          });
        });
      });
    },
  );
}

/**
 * Adds `convFilter(xp, geo, bp, dw, k0, k1, tmp)`: filter-gradient rows
 * `[k0, k1)` (flattened `(ky, kx, ci)`) added into `dw` `[kh * kw * c, o]`
 * from the padded input `xp` and the output gradient packed in 8-column
 * panels at `bp` (depth = output position), without a column matrix: for
 * one filter row and one output line, the window rows of the line's pixels
 * are a transposed GEMM A read in place (taps adjacent, pixels `strideW *
 * c` apart). The lines of one image that a block holds are one
 * segmented call (`microTS`): their window rows `strideH` rows apart, their
 * depths contiguous in the panel, summed in the registers. Each row sums
 * its lines in the same order whatever rows a thread takes, so the result
 * does not depend on how the rows are split.
 *
 * @internal
 */
export function addConvFilter(mb: ModuleBuilder, microTS: FuncRef[]): void {
  const MR = microTS.length;
  addColumnFree(
    mb,
    "convFilter",
    (f, [xp, geo, bp, dw, k0, k1, tmp], g, o) => {
      const n = f.local("i32");
      f.get(geo!).loadI32(4 * GEO_FIELDS.length + 4).set(n);
      const i = (): Local => f.local("i32");
      const ky = i(), t = i(), tEnd = i(), rows = i(), jp = i(), nr = i();
      const line = i(), lines = i(), b = i(), oy = i(), a = i(), span = i();
      const kTotal = i(), lda4 = i(), ldc4 = i(), rs4 = i(), crow = i();
      const depth = i(), eight = i(), rest = i(), row0 = i(), bline = i();
      const lb = i(), lbEnd = i(), lbSize = i(), tStart = i(), run = i();
      const jump4 = i();
      f.i32(8).set(eight);
      f.get(g.kw).get(g.c).mul().set(span);
      f.get(n).get(g.outH).mul().set(lines);
      f.get(lines).get(g.outW).mul().set(depth);
      f.i32(512).get(g.outW).div().set(lbSize);
      f.get(lbSize).i32(1).get(lbSize).i32(1).gt().select().set(lbSize);
      f.get(span).get(g.kh).mul().set(kTotal);
      f.get(g.strideW).get(g.c).mul().i32(2).shl().set(lda4);
      f.get(o).i32(2).shl().set(ldc4);
      f.get(g.w).get(g.c).mul().i32(2).shl().set(rs4);
      // From the end of a line's window row to the next line's.
      f.get(g.strideH).get(rs4).mul().get(g.outW).get(lda4).mul().sub()
        .set(jump4);
      f.for(ky, () => f.i32(0), g.kh, 1, () => {
        // Rows of this filter row inside [k0, k1): taps [t, tEnd) of span.
        f.get(ky).get(span).mul().set(row0);
        f.get(k0!).get(row0).sub().set(t);
        f.get(t).i32(0).get(t).i32(0).gt().select().set(t);
        f.get(k1!).get(row0).sub().set(tEnd);
        f.get(tEnd).get(span).get(tEnd).get(span).lt().select().set(tEnd);
        f.get(t).set(tStart);
        // Blocks of about 512 output positions: their output gradient stays
        // in cache while every row tile of this filter row passes over it.
        f.for(lb, () => f.i32(0), lines, 1, () => {
          f.get(lb).get(lbSize).add().set(lbEnd);
          f.get(lbEnd).get(lines).get(lbEnd).get(lines).lt().select()
            .set(lbEnd);
          f.get(tStart).set(t);
          f.block(() => {
            f.get(t).get(tEnd).ge().brIf(0);
            f.loop(() => {
              // Tiles of 4 taps, or one of 5 for the last 5 (a 5-tap filter
              // row of one channel in one call, not 4 + 1); 5 rows of
              // every tile measured no faster for longer rows.
              f.get(tEnd).get(t).sub().set(rows);
              f.get(rows).i32(MR).eq().eqz().if(() => {
                f.get(rows).i32(MR - 1).get(rows).i32(MR - 1).lt().select()
                  .set(rows);
              });
              f.for(jp, () => f.i32(0), o, 8, () => {
                f.get(o).get(jp).sub().set(rest);
                f.get(rest).get(eight).get(rest).get(eight).lt().select()
                  .set(nr);
                f.get(row0).get(t).add().get(o).mul().get(jp).add().i32(2)
                  .shl().get(dw!).add().set(crow);
                // The block's lines in runs within one image: a run's
                // window rows are strideH rows apart and its depths
                // contiguous in the packed panel, one segmented call each.
                f.get(lb).set(line);
                f.block(() => {
                  f.get(line).get(lbEnd).ge().brIf(0);
                  f.loop(() => {
                    f.get(line).get(g.outH).div().set(b);
                    f.get(line).get(b).get(g.outH).mul().sub().set(oy);
                    // run = min(lbEnd - line, outH - oy)
                    f.get(lbEnd).get(line).sub().set(run);
                    f.get(g.outH).get(oy).sub().set(rest);
                    f.get(run).get(rest).get(run).get(rest).lt().select()
                      .set(run);
                    // A: image b, row oy * strideH + ky * dilH, from tap t.
                    f.get(b).get(g.h).mul().get(oy).get(g.strideH).mul().add()
                      .get(ky).get(g.dilH).mul().add().get(rs4).mul()
                      .get(t).i32(2).shl().add().get(xp!).add().set(a);
                    // B: panel jp, depths of this line on.
                    f.get(jp).get(depth).mul().get(line).get(g.outW).mul()
                      .i32(3).shl().add().i32(2).shl().get(bp!).add()
                      .set(bline);
                    for (let r = 1; r <= MR; r++) {
                      f.get(rows).i32(r).eq().if(() => {
                        f.get(a).get(lda4).get(bline).get(crow).get(ldc4);
                        f.get(g.outW).i32(1).get(nr).get(tmp!);
                        f.get(run).get(jump4);
                        f.call(microTS[r - 1]!);
                      });
                    }
                    f.get(line).get(run).add().tee(line).get(lbEnd).lt()
                      .brIf(0);
                  });
                });
              });
              f.get(t).get(rows).add().tee(t).get(tEnd).lt().brIf(0);
            });
          });
          f.get(lbEnd).i32(1).sub().set(lb);
        });
      });
    },
  );
}

/**
 * Adds `convInput(dy, geo, bp, dx, b0, b1, tmp)`: the input gradient of
 * images `[b0, b1)` added into `dx` (zero on entry) for an unpadded
 * convolution whose input channels are a multiple of 8, from the output
 * gradient `dy` and the filter transposed, `[o, kh * kw * c]`, packed in
 * 8-column panels at `bp` (byte addresses). Without a column matrix: an
 * 8-column panel is 8 channels of one filter tap, so the GEMM tile of four
 * neighbouring output pixels and one panel lands on four input pixels
 * `strideW * c` apart, into which the micro-kernel adds it. Each image is
 * summed in one fixed order, whatever thread computes it.
 *
 * @internal
 */
export function addConvInput(mb: ModuleBuilder, micro: FuncRef[]): void {
  const MR = micro.length;
  addColumnFree(
    mb,
    "convInput",
    (f, [dy, , bp, dx, b0, b1, tmp], g, o) => {
      const i = (): Local => f.local("i32");
      const b = i(), oy = i(), ox = i(), rows = i(), q = i(), panels = i();
      const ky = i(), kx = i(), ci = i(), a = i(), lda4 = i();
      const ldc4 = i(), c4 = i(), rs4 = i(), img = i(), bpan = i(), dst = i();
      f.get(g.kh).get(g.kw).mul().get(g.c).mul().i32(8).div().set(panels);
      f.get(o).i32(2).shl().set(lda4);
      f.get(g.c).i32(2).shl().set(c4);
      f.get(g.strideW).get(c4).mul().set(ldc4);
      f.get(g.w).get(c4).mul().set(rs4);
      f.for(b, () => f.get(b0!), b1!, 1, () => {
        f.get(b).get(g.h).mul().get(rs4).mul().get(dx!).add().set(img);
        f.for(oy, () => f.i32(0), g.outH, 1, () => {
          f.for(ox, () => f.i32(0), g.outW, MR, () => {
            f.get(g.outW).get(ox).sub().set(rows);
            f.get(rows).i32(MR).get(rows).i32(MR).lt().select().set(rows);
            // A: output pixels (b, oy, ox ..), o floats each.
            f.get(b).get(g.outH).mul().get(oy).add().get(g.outW).mul()
              .get(ox).add().get(lda4).mul().get(dy!).add().set(a);
            f.i32(0).set(ky).i32(0).set(kx).i32(0).set(ci);
            f.for(q, () => f.i32(0), panels, 1, () => {
              // Panel q: channels [ci, ci + 8) of tap (ky, kx).
              f.get(q).get(o).mul().i32(5).shl().get(bp!).add().set(bpan);
              f.get(oy).get(g.strideH).mul().get(ky).get(g.dilH).mul().add()
                .get(rs4).mul().get(img).add()
                .get(ox).get(g.strideW).mul().get(kx).get(g.dilW).mul().add()
                .get(c4).mul().add()
                .get(ci).i32(2).shl().add().set(dst);
              for (let r = 1; r <= MR; r++) {
                f.get(rows).i32(r).eq().if(() => {
                  f.get(a).get(lda4).get(bpan).get(dst).get(ldc4);
                  f.get(o).i32(1).i32(8).get(tmp!);
                  f.call(micro[r - 1]!);
                });
              }
              f.get(ci).i32(8).add().tee(ci).get(g.c).eq().if(() => {
                f.i32(0).set(ci);
                f.get(kx).i32(1).add().tee(kx).get(g.kw).eq().if(() => {
                  f.i32(0).set(kx);
                  f.get(ky).i32(1).add().set(ky);
                });
              });
            });
          });
        });
      });
    },
  );
}
