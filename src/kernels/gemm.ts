/**
 * General matrix multiplication on row-major Float32Arrays.
 *
 * A GotoBLAS-style loop nest: the k dimension is cut into blocks of `KC`,
 * each block of `op(B)` is packed into contiguous panels of `NR` columns and
 * each block of `op(A)` into panels of `MR` rows, and a register-tiled
 * micro-kernel multiplies one `MR` x `NR` tile at a time. Packing absorbs the
 * transpose flags, so the micro-kernel sees one layout only.
 *
 * Every element of C is summed in the same order (k blocks in order, each
 * block summed sequentially in float64 and then added to C) whatever rows
 * are computed in the same call, so a split of C's rows over threads gives
 * bit-identical results.
 *
 * @internal
 * @module
 */

import {
  type InputWriter,
  JOB_GEMM,
  JOB_GEMM_WASM,
  parallelRun,
} from "./threads.ts";
import {
  arenaMark,
  arenaRelease,
  arenaTake,
  kernelMode,
  onWasm,
  wasm,
} from "./wasm/runtime.ts";
import { packedFloats, workFloats } from "./wasm/gemm_module.ts";

/** Rows of a register tile. */
const MR = 4;
/** Columns of a register tile (equal to `MR`: one packer serves A and B). */
const NR = MR;
/** Depth of a k block. */
const KC = 256;
/** Rows of op(A) packed at once. */
const MC = 128;
/** Columns of op(B) packed at once. */
const NC = 1024;

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(NC * KC);

/**
 * Packs panels of 4 (`MR` = `NR`) lines of a matrix for a k block: line `l`
 * from `l0` to `l0 + count` (rows of op(A), or columns of op(B)), depths
 * `p0 .. p0 + kc`, stored panel by panel, depth by depth, the 4 lines of a
 * depth side by side, zero past the last line. `across` says that the lines
 * of one depth are adjacent in `src` (element `(l, p)` at `off + p * ld + l`,
 * as in a transposed A or a plain B); otherwise a line is contiguous
 * (`off + l * ld + p`, a plain A or a transposed B). Packing op(A)'s rows and
 * op(B)'s columns is then one routine.
 */
function packPanels(
  src: Float32Array,
  off: number,
  ld: number,
  across: boolean,
  l0: number,
  count: number,
  p0: number,
  kc: number,
  dst: Float64Array,
  base: number,
): void {
  const panels = Math.ceil(count / MR);
  let d = base;
  for (let ip = 0; ip < panels; ip++) {
    const lStart = l0 + ip * MR;
    const lines = Math.min(MR, l0 + count - lStart);
    if (across) {
      let s = off + p0 * ld + lStart;
      if (lines === MR) {
        for (let p = 0; p < kc; p++) {
          dst[d] = src[s]!;
          dst[d + 1] = src[s + 1]!;
          dst[d + 2] = src[s + 2]!;
          dst[d + 3] = src[s + 3]!;
          d += MR;
          s += ld;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let ll = 0; ll < MR; ll++) {
            dst[d + ll] = ll < lines ? src[s + ll]! : 0;
          }
          d += MR;
          s += ld;
        }
      }
    } else {
      for (let ll = 0; ll < MR; ll++) {
        let e = d + ll;
        if (ll < lines) {
          let s = off + (lStart + ll) * ld + p0;
          for (let p = 0; p < kc; p++) {
            dst[e] = src[s]!;
            e += MR;
            s++;
          }
        } else {
          for (let p = 0; p < kc; p++) {
            dst[e] = 0;
            e += MR;
          }
        }
      }
      d += MR * kc;
    }
  }
}

/**
 * Floats of op(B) packed whole by {@linkcode packAllB}: every k block of
 * every column block, columns padded to a multiple of `NR`.
 */
function packedSizeB(k: number, n: number): number {
  return Math.ceil(n / NR) * NR * k;
}

/** Where block (j0, p0) of a whole packed op(B) starts (j0 a multiple of NC). */
function packedOffsetB(k: number, n: number, j0: number, p0: number): number {
  const nc = Math.min(NC, n - j0);
  return j0 * k + Math.ceil(nc / NR) * NR * p0;
}

/**
 * Packs all of op(B) `[k, n]` into `pb` from offset `base` (at least
 * `packedSizeB(k, n)` floats), in the layout the GEMM reads when given a
 * packed B, so that threads sharing one product pack B once instead of once
 * each.
 */
function packAllB(
  b: Float32Array,
  bOff: number,
  ldb: number,
  transB: boolean,
  k: number,
  n: number,
  pb: Float64Array,
  base: number,
): void {
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      const at = base + packedOffsetB(k, n, j0, p0);
      packPanels(b, bOff, ldb, !transB, j0, nc, p0, kc, pb, at);
    }
  }
}

/**
 * Multiplies packed blocks: C[i0.., j0..] (+)= Apack @ Bpack for one k block.
 */
function macroKernel(
  pa: Float64Array,
  pb: Float64Array,
  pbOff: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  mc: number,
  nc: number,
  kc: number,
  add: boolean,
): void {
  // One call per tile: a function that loops for long is compiled by
  // on-stack replacement and deoptimised on every exit from its inner loop
  // (seen with --trace-deopt throughout training); a short one is not.
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = nc - jr < NR ? nc - jr : NR;
    const bBase = pbOff + (jr / NR) * NR * kc;
    for (let ir = 0; ir < mc; ir += MR) {
      const rows = mc - ir < MR ? mc - ir : MR;
      microTile(
        pa,
        (ir / MR) * MR * kc,
        pb,
        bBase,
        kc,
        c,
        cOff + ir * ldc + jr,
        ldc,
        rows,
        cols,
        add,
      );
    }
  }
}

/** One `MR` x `NR` tile of C (+)= a packed A panel @ a packed B panel. */
function microTile(
  pa: Float64Array,
  ia: number,
  pb: Float64Array,
  ib: number,
  kc: number,
  c: Float32Array,
  o: number,
  ldc: number,
  rows: number,
  cols: number,
  add: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const b0 = pb[ib]!,
      b1 = pb[ib + 1]!,
      b2 = pb[ib + 2]!,
      b3 = pb[ib + 3]!;
    const a0 = pa[ia]!;
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    const a1 = pa[ia + 1]!;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    const a2 = pa[ia + 2]!;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    const a3 = pa[ia + 3]!;
    c30 += a3 * b0;
    c31 += a3 * b1;
    c32 += a3 * b2;
    c33 += a3 * b3;
    ia += MR;
    ib += NR;
  }
  if (rows === MR && cols === NR) {
    const o1 = o + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
    if (add) {
      c[o]! += c00;
      c[o + 1]! += c01;
      c[o + 2]! += c02;
      c[o + 3]! += c03;
      c[o1]! += c10;
      c[o1 + 1]! += c11;
      c[o1 + 2]! += c12;
      c[o1 + 3]! += c13;
      c[o2]! += c20;
      c[o2 + 1]! += c21;
      c[o2 + 2]! += c22;
      c[o2 + 3]! += c23;
      c[o3]! += c30;
      c[o3 + 1]! += c31;
      c[o3 + 2]! += c32;
      c[o3 + 3]! += c33;
    } else {
      c[o] = c00;
      c[o + 1] = c01;
      c[o + 2] = c02;
      c[o + 3] = c03;
      c[o1] = c10;
      c[o1 + 1] = c11;
      c[o1 + 2] = c12;
      c[o1 + 3] = c13;
      c[o2] = c20;
      c[o2 + 1] = c21;
      c[o2 + 2] = c22;
      c[o2 + 3] = c23;
      c[o3] = c30;
      c[o3 + 1] = c31;
      c[o3 + 2] = c32;
      c[o3 + 3] = c33;
    }
  } else {
    edgeStore(c, o, ldc, rows, cols, add, [
      c00,
      c01,
      c02,
      c03,
      c10,
      c11,
      c12,
      c13,
      c20,
      c21,
      c22,
      c23,
      c30,
      c31,
      c32,
      c33,
    ]);
  }
}

function edgeStore(
  c: Float32Array,
  o: number,
  ldc: number,
  rows: number,
  cols: number,
  add: boolean,
  t: number[],
): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = t[i * NR + j]!;
      if (add) c[o + i * ldc + j]! += v;
      else c[o + i * ldc + j] = v;
    }
  }
}

/**
 * Strided single-thread GEMM: C (+)= op(A) @ op(B) with leading dimensions.
 *
 * @internal
 * @param a Storage of A.
 * @param aOff Offset of A's first element.
 * @param lda Row stride of A as stored.
 * @param b Storage of B.
 * @param bOff Offset of B's first element.
 * @param ldb Row stride of B as stored.
 * @param c Output storage, owned by the caller.
 * @param cOff Offset of C's first element.
 * @param ldc Row stride of C.
 * @param m Rows of op(A) and C.
 * @param k Columns of op(A), rows of op(B).
 * @param n Columns of op(B) and C.
 * @param transA Whether A is stored as [k, m].
 * @param transB Whether B is stored as [n, k].
 * @param accumulate Whether to add into C instead of overwriting it.
 * @returns Nothing; C is written in place.
 */
export function gemmStrided(
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  c: Float32Array,
  cOff: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (
    m > 0 && n > 0 && k > 0 && onWasm(a) && onWasm(b) && onWasm(c) &&
    gemmWasm(
      a,
      aOff,
      lda,
      transA,
      b,
      bOff,
      ldb,
      transB,
      c,
      cOff,
      ldc,
      m,
      k,
      n,
      accumulate,
    )
  ) return;
  gemmBlocks(
    a,
    aOff,
    lda,
    transA,
    b,
    bOff,
    ldb,
    transB,
    null,
    c,
    cOff,
    ldc,
    m,
    k,
    n,
    accumulate,
  );
}

/**
 * The loop nest of {@linkcode gemmStrided}, packing each block of op(B) as
 * it goes or, given `packed` (from {@linkcode packAllB}), reading it there.
 */
function gemmBlocks(
  a: Float32Array,
  aOff: number,
  lda: number,
  transA: boolean,
  b: Float32Array,
  bOff: number,
  ldb: number,
  transB: boolean,
  packed: Float64Array | null,
  c: Float32Array,
  cOff: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (let i = 0; i < m; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + n);
    }
    return;
  }
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = Math.min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      let pb: Float64Array, pbOff: number;
      if (packed !== null) {
        pb = packed;
        pbOff = packedOffsetB(k, n, j0, p0);
      } else {
        const need = Math.ceil(nc / NR) * NR * kc;
        if (packB.length < need) packB = new Float64Array(need);
        packPanels(b, bOff, ldb, !transB, j0, nc, p0, kc, packB, 0);
        pb = packB;
        pbOff = 0;
      }
      const add = accumulate || p0 > 0;
      for (let i0 = 0; i0 < m; i0 += MC) {
        const mc = Math.min(MC, m - i0);
        const need = Math.ceil(mc / MR) * MR * kc;
        if (packA.length < need) packA = new Float64Array(need);
        packPanels(a, aOff, lda, transA, i0, mc, p0, kc, packA, 0);
        const pa = packA;
        macroKernel(
          pa,
          pb,
          pbOff,
          c,
          cOff + i0 * ldc + j0,
          ldc,
          mc,
          nc,
          kc,
          add,
        );
      }
    }
  }
}

/**
 * Computes rows `[start, end)` of C (+)= op(A) @ op(B) for dense A and C
 * starting at offset 0 and op(B) packed whole by {@linkcode packAllB}, with
 * the job integers `[m, k, n, transA, transB, accumulate]`: the share of
 * one thread.
 *
 * @internal
 * @param a Storage of A.
 * @param packed op(B), packed.
 * @param c Storage of C.
 * @param ints The sizes and flags.
 * @param start First row of C.
 * @param end End of the rows of C.
 * @returns Nothing; C is written in place.
 */
export function gemmRange(
  a: Float32Array,
  packed: Float64Array,
  c: Float32Array,
  ints: ArrayLike<number>,
  start: number,
  end: number,
): void {
  const m = ints[0]!, k = ints[1]!, n = ints[2]!;
  const transA = ints[3] === 1;
  gemmBlocks(
    a,
    transA ? start : start * k,
    transA ? m : k,
    transA,
    a,
    0,
    0,
    false,
    packed,
    c,
    start * n,
    n,
    end - start,
    k,
    n,
    ints[5] === 1,
  );
}

/**
 * The WebAssembly GEMM on operands that live in the shared memory, with
 * op(B) packed into this thread's scratch arena; `false` (nothing done)
 * when the arena has no room.
 */
function gemmWasm(
  a: Float32Array,
  aOff: number,
  lda: number,
  transA: boolean,
  b: Float32Array,
  bOff: number,
  ldb: number,
  transB: boolean,
  c: Float32Array,
  cOff: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): boolean {
  const mark = arenaMark();
  const work = arenaTake(packedFloats(k, n) + workFloats);
  if (work === null) return false;
  try {
    const w = wasm();
    const bp = work.byteOffset;
    w.packB(b.byteOffset + bOff * 4, ldb, transB ? 1 : 0, k, n, bp);
    w.gemm(
      a.byteOffset + aOff * 4,
      lda,
      transA ? 1 : 0,
      bp,
      c.byteOffset + cOff * 4,
      ldc,
      m,
      k,
      n,
      accumulate ? 1 : 0,
      bp + packedFloats(k, n) * 4,
    );
  } finally {
    arenaRelease(mark);
  }
  return true;
}

/**
 * Computes rows `[start, end)` of C (+)= op(A) @ op(B) with the WebAssembly
 * kernel, for dense A and C in the shared memory and op(B) packed in
 * 8-column panels (`packB` of the module), with the job integers `[m, k, n, transA, transB,
 * accumulate]`: the share of one thread.
 *
 * @internal
 * @param a Storage of A (shared memory).
 * @param bp op(B), packed (shared memory).
 * @param c Storage of C (shared memory).
 * @param ints The sizes and flags.
 * @param start First row of C.
 * @param end End of the rows of C.
 * @returns Nothing; C is written in place.
 */
export function gemmRangeWasm(
  a: Float32Array,
  bp: Float32Array,
  c: Float32Array,
  ints: ArrayLike<number>,
  start: number,
  end: number,
): void {
  const m = ints[0]!, k = ints[1]!, n = ints[2]!;
  const transA = ints[3] === 1, accumulate = ints[5] === 1;
  if (k === 0) {
    if (!accumulate) c.fill(0, start * n, end * n);
    return;
  }
  const mark = arenaMark();
  const work = arenaTake(workFloats);
  if (work === null) {
    throw new RangeError(
      `Expected ${workFloats} floats of GEMM scratch but the arena had less`,
    );
  }
  try {
    wasm().gemm(
      a.byteOffset + (transA ? start : start * k) * 4,
      transA ? m : k,
      transA ? 1 : 0,
      bp.byteOffset,
      c.byteOffset + start * n * 4,
      n,
      end - start,
      k,
      n,
      accumulate ? 1 : 0,
      work.byteOffset,
    );
  } finally {
    arenaRelease(mark);
  }
}

/** The packed op(B) that a GEMM job carries as its second input (float32 words). */
export function packedView(words: Float32Array): Float64Array {
  return new Float64Array(words.buffer, words.byteOffset, words.length / 2);
}

/**
 * Computes C = op(A) @ op(B) into caller-owned storage at given offsets,
 * optionally adding to what C holds; the only kernel that writes a caller
 * buffer. Uses the thread pool for large products.
 *
 * @internal
 * @param a Storage of A, [m, k] (or [k, m] if `transA`) from `aOff`.
 * @param aOff Offset of A's first element.
 * @param b Storage of B, [k, n] (or [n, k] if `transB`) from `bOff`.
 * @param bOff Offset of B's first element.
 * @param c Output storage of C, [m, n] from `cOff`, owned by the caller.
 * @param cOff Offset of C's first element.
 * @param m Rows of op(A) and C.
 * @param k Columns of op(A), rows of op(B).
 * @param n Columns of op(B) and C.
 * @param transA Whether A is stored transposed.
 * @param transB Whether B is stored transposed.
 * @param accumulate Whether to add into C instead of overwriting it.
 * @returns Nothing; C is written in place.
 */
export function gemmInto(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  const ints = [m, k, n, transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0];
  if (kernelMode() === "wasm") {
    const shared = parallelRun(
      JOB_GEMM_WASM,
      ints,
      a.subarray(aOff, aOff + m * k),
      packedInput(b.subarray(bOff, bOff + k * n), k, n, transB),
      m * n,
      m,
      MR,
      2 * m * k * n,
      (sa, sb, sc, start, end) => gemmRangeWasm(sa, sb, sc, ints, start, end),
      accumulate ? c.subarray(cOff, cOff + m * n) : "written",
      workFloats,
    );
    if (shared !== null) {
      c.set(shared, cOff);
      return;
    }
  }
  // Threads share op(B) packed once, written straight into shared memory
  // (two float32 words per float64).
  const packedB = {
    length: 2 * packedSizeB(k, n),
    write(dst: Float32Array): void {
      packAllB(b, bOff, transB ? k : n, transB, k, n, packedView(dst), 0);
    },
  };
  const shared = parallelRun(
    JOB_GEMM,
    ints,
    a.subarray(aOff, aOff + m * k),
    packedB,
    m * n,
    m,
    MR,
    2 * m * k * n,
    (sa, sb, sc, start, end) =>
      gemmRange(sa, packedView(sb), sc, ints, start, end),
    // Without accumulation every element of C is written (zeros if k = 0).
    accumulate ? c.subarray(cOff, cOff + m * n) : "written",
  );
  if (shared !== null) {
    c.set(shared, cOff);
    return;
  }
  gemmStrided(
    a,
    aOff,
    transA ? m : k,
    b,
    bOff,
    transB ? k : n,
    c,
    cOff,
    n,
    m,
    k,
    n,
    transA,
    transB,
    accumulate,
  );
}

/**
 * Returns a fresh C[m, n] = op(A) @ op(B) where A is stored [m, k] (or
 * [k, m] if `transA`) and B is stored [k, n] (or [n, k] if `transB`).
 *
 * @internal
 * @param a Storage of A.
 * @param b Storage of B.
 * @param m Rows of op(A).
 * @param k Columns of op(A) and rows of op(B).
 * @param n Columns of op(B).
 * @param transA Whether A is stored transposed.
 * @param transB Whether B is stored transposed.
 * @returns The product, row-major [m, n].
 */
export function gemm(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): Float32Array {
  const c = new Float32Array(m * n);
  gemmInto(a, 0, b, 0, c, 0, m, k, n, transA, transB, false);
  return c;
}

/**
 * A job input that is op(B) `[k, n]` (B stored `[k, n]`, or `[n, k]` when
 * `transB`) packed in 8-column panels once for every thread: B is copied
 * behind the panels and packed there by the WebAssembly packer (4-8x the
 * typed-array one). The GEMM and the column-free convolutions read it.
 *
 * @internal
 * @param b B, `k * n` floats.
 * @param k The depth.
 * @param n The columns of op(B).
 * @param transB Whether B is stored transposed.
 * @returns The input's writer.
 */
export function packedInput(
  b: Float32Array,
  k: number,
  n: number,
  transB: boolean,
): InputWriter {
  const raw = packedFloats(k, n);
  return {
    length: raw + k * n,
    write(dst: Float32Array): void {
      dst.set(b, raw);
      wasm().packB(
        dst.byteOffset + raw * 4,
        transB ? k : n,
        transB ? 1 : 0,
        k,
        n,
        dst.byteOffset,
      );
    },
  };
}
