/**
 * The WebAssembly side of the kernels: which implementation runs, the one
 * shared `WebAssembly.Memory` that the thread pool and every worker's
 * instance share, and a per-thread scratch arena inside it.
 *
 * The kernels' contract does not change (arrays and integers in, arrays
 * out): a job's inputs are copied into the shared memory, the kernels run
 * on views of it, and the output is copied out. Tensors keep ordinary
 * `Float32Array` storage that the garbage collector releases; nothing here
 * outlives a job except the memory itself, which is reused by the next job.
 *
 * The implementation is chosen once: WebAssembly SIMD when the runtime
 * validates the module, with `f32x4.relaxed_madd` when relaxed SIMD
 * validates too, unless `TENSA_KERNELS=js` (read when the env permission is
 * granted) or {@linkcode setKernels} says otherwise.
 *
 * @internal
 * @module
 */

import { isMainThread } from "node:worker_threads";
import { kernelModuleBytes } from "./module.ts";

/** The signatures of the module's exports (byte addresses, element strides). @internal */
export interface WasmExports {
  /** Packs op(B) into 8-column panels. */
  packB(
    b: number,
    ldb: number,
    transB: number,
    k: number,
    n: number,
    dst: number,
  ): void;
  /** C (+)= op(A) @ packed op(B) for `m` rows. */
  gemm(
    a: number,
    lda: number,
    transA: number,
    bp: number,
    c: number,
    ldc: number,
    m: number,
    k: number,
    n: number,
    accumulate: number,
    work: number,
  ): void;
  /** Columns `[k0, k1)` of column-matrix rows `[r0, r0 + rows)`. */
  im2col(
    x: number,
    geo: number,
    r0: number,
    rows: number,
    k0: number,
    k1: number,
    dst: number,
  ): void;
  /** Adds full-width column-matrix rows back into the image gradient. */
  col2im(cols: number, geo: number, r0: number, rows: number, dx: number): void;
  /** `o = relu(x + b)`, `b` repeating every `m` floats. */
  biasRelu(x: number, b: number, o: number, n: number, m: number): void;
  /** `o = g` where `x > 0`, else +0. */
  reluMask(g: number, x: number, o: number, n: number): void;
  /** Output lines of a convolution without a column matrix. */
  convForward(
    xp: number,
    geo: number,
    bp: number,
    y: number,
    line0: number,
    line1: number,
    tmp: number,
  ): void;
  /** Filter-gradient rows of a convolution without a column matrix. */
  convFilter(
    xp: number,
    geo: number,
    bp: number,
    dw: number,
    k0: number,
    k1: number,
    tmp: number,
  ): void;
  /** Input gradient of images of an unpadded convolution without a column matrix. */
  convInput(
    dy: number,
    geo: number,
    bp: number,
    dx: number,
    b0: number,
    b1: number,
    tmp: number,
  ): void;
  /** Float64-accumulated sums over the middle axis (inner a multiple of 4). */
  sumMid(x: number, o: number, outer: number, mid: number, inner: number): void;
  /** One Adam step over `n` floats (a multiple of 4); see optim_module.ts. */
  adam(
    g: number,
    m: number,
    v: number,
    n: number,
    beta1: number,
    beta2: number,
    scale: number,
    epsHat: number,
    p: number,
    out: number,
  ): void;
  /** Max pooling of images `[b0, b1)` whose channels are a multiple of 4. */
  maxPool(
    x: number,
    geo: number,
    out: number,
    argmax: number,
    b0: number,
    b1: number,
  ): void;
  /** Threefry-2x32-20 words of `blocks` (a multiple of 4) counters from `b0`. */
  threefry(
    k0: number,
    k1: number,
    b0: number,
    blocks: number,
    out: number,
  ): void;
  /** A 2 x 2 max pool's cotangent scattered back, window by window. */
  unpool2x2(
    dy: number,
    at: number,
    dst: number,
    images: number,
    ph: number,
    pw: number,
    o: number,
    first: number,
  ): void;
  /** `n` words to floats: `valueBits` below `threshold` (unsigned), else 0. */
  bernoulliMask(
    src: number,
    n: number,
    threshold: number,
    valueBits: number,
    dst: number,
  ): void;
}

/** Which kernels run: `"wasm"` (WebAssembly SIMD) or `"js"` (typed arrays). @internal */
export type KernelMode = "wasm" | "js";

/** The parameter count of each kernel; the type keeps it in step with {@linkcode WasmExports}. */
const ARITY: {
  readonly [K in keyof WasmExports]: Parameters<WasmExports[K]>["length"];
} = {
  packB: 6,
  gemm: 11,
  im2col: 7,
  col2im: 5,
  biasRelu: 5,
  reluMask: 4,
  convForward: 7,
  convFilter: 7,
  convInput: 7,
  sumMid: 5,
  adam: 10,
  maxPool: 6,
  threefry: 5,
  bernoulliMask: 5,
  unpool2x2: 8,
};

/**
 * Whether the module's exports hold every kernel as a function of its
 * parameter count (a WebAssembly function's parameters are all numbers, so
 * name and count are its whole signature as JavaScript sees it).
 */
function isKernelExports(e: unknown): e is WasmExports {
  return isRecord(e) &&
    Object.entries(ARITY).every(([name, n]) => {
      const f = e[name];
      return typeof f === "function" && f.length === n;
    });
}

/** What the WebAssembly side is: a compiled module and its features. @internal */
export interface WasmSetup {
  /** The compiled module (posted to the workers). */
  readonly module: WebAssembly.Module;
  /** Whether it uses relaxed SIMD's fused multiply-add. */
  readonly relaxed: boolean;
}

/** Pages (64 KiB) the shared memory may grow to: 2 GiB. */
const MAX_PAGES = 32768;

let setup: WasmSetup | null | undefined;
let forced: KernelMode | null = null;
let fromEnv: KernelMode | null | undefined;
let memory: WebAssembly.Memory | null = null;
let exports: WasmExports | null = null;
let view: Float32Array = new Float32Array(0);
const buffers = new WeakSet<ArrayBufferLike>();

/** A non-null object, read key by key. */
function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

function envMode(): KernelMode | null {
  try {
    const deno = "Deno" in globalThis ? globalThis.Deno : undefined;
    if (deno === undefined) {
      // Node: process.env, read without importing node:process.
      const proc = "process" in globalThis ? globalThis.process : undefined;
      const env = isRecord(proc) && isRecord(proc.env) ? proc.env : undefined;
      const v = env?.["TENSA_KERNELS"];
      return v === "js" || v === "wasm" ? v : null;
    }
    const state = deno.permissions.querySync({
      name: "env",
      variable: "TENSA_KERNELS",
    }).state;
    if (state !== "granted") return null;
    const v = deno.env.get("TENSA_KERNELS");
    return v === "js" || v === "wasm" ? v : null;
  } catch {
    return null;
  }
}

/** Compiles the module once, probing relaxed SIMD; `null` without SIMD. */
function probe(): WasmSetup | null {
  if (setup !== undefined) return setup;
  setup = null;
  try {
    if (typeof WebAssembly !== "object") return null;
    for (const relaxed of [true, false]) {
      const bytes = kernelModuleBytes(relaxed);
      if (!WebAssembly.validate(bytes)) continue;
      setup = { module: new WebAssembly.Module(bytes), relaxed };
      break;
    }
  } catch {
    setup = null;
  }
  return setup;
}

/**
 * The kernels in use: `"js"` when WebAssembly SIMD or shared memory is
 * missing, or when asked for.
 *
 * @internal
 * @returns The mode.
 */
export function kernelMode(): KernelMode {
  if (!isMainThread) return exports !== null ? "wasm" : "js";
  if (fromEnv === undefined) fromEnv = envMode();
  const want = forced ?? fromEnv ?? "wasm";
  if (want === "js") return "js";
  return probe() !== null && ensureMemory() !== null ? "wasm" : "js";
}

/**
 * Chooses the kernels (tests run both); `null` restores the default.
 *
 * @internal
 * @param mode The kernels to use, or `null`.
 * @returns The previous setting.
 */
export function setKernels(mode: KernelMode | null): KernelMode | null {
  const before = forced;
  forced = mode;
  return before;
}

/**
 * Whether the WebAssembly module uses relaxed SIMD's fused multiply-add
 * (`null` when there is no WebAssembly SIMD).
 *
 * @internal
 * @returns The feature, or `null`.
 */
export function relaxedSimd(): boolean | null {
  return probe()?.relaxed ?? null;
}

function ensureMemory(): WebAssembly.Memory | null {
  if (memory !== null) return memory;
  const s = probe();
  if (s === null) return null;
  try {
    const mem = new WebAssembly.Memory({
      initial: 16,
      maximum: MAX_PAGES,
      shared: true,
    });
    attach(mem, s.module);
  } catch {
    setup = null;
    return null;
  }
  return memory;
}

/**
 * Instantiates the module over `mem` on this thread (workers call this with
 * what the main thread posted).
 *
 * @internal
 * @param mem The shared memory.
 * @param module The compiled module.
 * @returns Nothing.
 */
export function attach(mem: WebAssembly.Memory, module: WebAssembly.Module) {
  const inst = new WebAssembly.Instance(module, { tensa: { memory: mem } });
  memory = mem;
  if (!isKernelExports(inst.exports)) {
    throw new TypeError(
      "Expected the kernel module to export every kernel of WasmExports with its parameter count",
    );
  }
  exports = inst.exports;
  refresh();
}

/** The shared memory and module, for the thread pool (wasm mode only). @internal */
export function wasmShared(): {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
} | null {
  const mem = ensureMemory();
  const s = probe();
  return mem === null || s === null ? null : { memory: mem, module: s.module };
}

function refresh(): void {
  const buf = memory!.buffer;
  if (view.buffer !== buf) {
    view = new Float32Array(buf);
    buffers.add(buf);
  }
}

/**
 * Grows the shared memory to at least `floats` float32 words.
 *
 * @internal
 * @param floats The size needed.
 * @returns Whether it fits (at most 2 GiB).
 */
export function reserve(floats: number): boolean {
  const mem = memory!;
  const bytes = floats * 4;
  if (bytes > MAX_PAGES * 65536) return false;
  const have = mem.buffer.byteLength;
  if (have < bytes) {
    // Grow by at least a quarter so that a sequence of growing jobs does not
    // grow page by page.
    const want = Math.min(
      MAX_PAGES * 65536,
      Math.max(bytes, Math.ceil(have * 1.25)),
    );
    mem.grow(Math.ceil((want - have) / 65536));
  }
  refresh();
  return true;
}

/**
 * Whether a job of `floats` float32 words (inputs, output and every
 * thread's scratch) fits in the shared memory, with room to spare.
 *
 * @internal
 * @param floats The job's size.
 * @returns Whether it fits.
 */
export function fitsWasm(floats: number): boolean {
  return floats * 4 <= MAX_PAGES * 65536 - (64 << 20);
}

/**
 * A float32 view of the shared memory (refreshed after growth).
 *
 * @internal
 * @returns The view.
 */
export function memoryView(): Float32Array {
  refresh();
  return view;
}

/**
 * Whether `a` is a view of the shared memory.
 *
 * @internal
 * @param a An array.
 * @returns Whether the WebAssembly kernels can read it in place.
 */
export function onWasm(a: Float32Array): boolean {
  return buffers.has(a.buffer);
}

/**
 * The module's exports on this thread.
 *
 * @internal
 * @returns The exports.
 */
export function wasm(): WasmExports {
  return exports!;
}

// The scratch arena of this thread: floats [base, end) of the shared memory,
// set for the duration of a job's share.
let arenaNext = 0;
let arenaEnd = 0;

/**
 * Sets this thread's scratch region for the job it is about to run (or
 * clears it with `0, 0`).
 *
 * @internal
 * @param base First float of the region.
 * @param length Its length in floats.
 * @returns Nothing.
 */
export function setArena(base: number, length: number): void {
  arenaNext = base;
  arenaEnd = base + length;
}

/**
 * Takes `n` floats of this thread's scratch region, 16-byte aligned, or
 * returns `null` when the region (or the WebAssembly path) is not there.
 *
 * @internal
 * @param n The floats needed.
 * @returns A view of the shared memory, or `null`.
 */
export function arenaTake(n: number): Float32Array | null {
  const start = (arenaNext + 3) & ~3;
  if (exports === null || start + n > arenaEnd) return null;
  arenaNext = start + n;
  refresh();
  return view.subarray(start, start + n);
}

/**
 * The arena's position, to give back with {@linkcode arenaRelease} what was
 * taken after it.
 *
 * @internal
 * @returns The position.
 */
export function arenaMark(): number {
  return arenaNext;
}

/**
 * Gives back everything taken after `mark`.
 *
 * @internal
 * @param mark A position from {@linkcode arenaMark}.
 * @returns Nothing.
 */
export function arenaRelease(mark: number): void {
  arenaNext = mark;
}

/**
 * Runs `f` with `ints` written as int32 words into this thread's arena,
 * passing their byte address; `false` (nothing run) without room.
 *
 * @internal
 * @param ints The words.
 * @param f The call that reads them.
 * @returns Whether `f` ran.
 */
export function withInts(
  ints: readonly number[],
  f: (ptr: number) => void,
): boolean {
  const mark = arenaNext;
  const words = arenaTake(ints.length);
  if (words === null) return false;
  try {
    const iv = new Int32Array(words.buffer, words.byteOffset, ints.length);
    for (let i = 0; i < ints.length; i++) iv[i] = ints[i]!;
    f(words.byteOffset);
  } finally {
    arenaNext = mark;
  }
  return true;
}

/**
 * Runs a single-thread WebAssembly kernel on copies of `inputs` in the
 * shared memory (at 16-byte aligned byte addresses `ptrs`) and returns a
 * fresh copy of its `outLen`-float output; `null` when the WebAssembly
 * kernels are not in use (the caller runs its typed-array loop). Called
 * between jobs only: it reuses the job area.
 *
 * @internal
 * @param inputs The input arrays.
 * @param outLen The output length in floats.
 * @param call Runs the kernel.
 * @returns The output, or `null`.
 */
export function stageRun(
  inputs: readonly Float32Array[],
  outLen: number,
  call: (ptrs: number[], out: number) => void,
): Float32Array | null {
  if (!isMainThread || kernelMode() !== "wasm") return null;
  const { offs, copy, end } = placeInputs(inputs);
  if (!reserve(end + outLen)) return null;
  inputs.forEach((a, i) => {
    if (copy[i]) view.set(a, offs[i]!);
  });
  call(offs.map((o) => o * 4), end * 4);
  return copyOut(view.subarray(end, end + outLen));
}

/**
 * The output of the last WebAssembly call on this thread, still in the
 * shared memory: a fresh array the call returned (tensors never mutate their
 * storage) and where its copy lives. The next call reads an input that is
 * (a view of) it in place instead of copying it back in, and lays out its
 * own data after it; any call forgets it.
 */
let resident: {
  buffer: ArrayBufferLike;
  byteOffset: number;
  floats: number;
  at: number;
} | null = null;

/**
 * Where a call's inputs go in the shared memory, from float 16 on: an input
 * that is (a view of) the resident output is read where it is and the rest
 * are laid out after it, 16-float aligned. A number stands for an input of
 * that length that is written in place (never resident). Forgets the
 * resident output (the call is about to write) and counts the floats to
 * copy in.
 *
 * @internal
 * @param inputs The inputs, or the lengths of written ones.
 * @returns Each input's float offset, whether it must be copied in, and the
 * first free float after them.
 */
export function placeInputs<
  const T extends readonly (Float32Array | number)[],
>(
  inputs: T,
): {
  offs: { -readonly [K in keyof T]: number };
  copy: { -readonly [K in keyof T]: boolean };
  end: number;
};
export function placeInputs(
  inputs: readonly (Float32Array | number)[],
): { offs: number[]; copy: boolean[]; end: number } {
  const hits = inputs.map((a) =>
    typeof a === "number" ? -1 : residentOffset(a)
  );
  let end = hits.some((h) => h >= 0) ? residentEnd() : 16;
  const offs: number[] = [], copy: boolean[] = [];
  let copied = 0;
  inputs.forEach((a, i) => {
    const h = hits[i]!;
    const len = typeof a === "number" ? a : a.length;
    copy.push(h < 0);
    if (h >= 0) offs.push(h);
    else {
      offs.push(end);
      end += (len + 15) & ~15;
      copied += len;
    }
  });
  resident = null;
  countCopy(copied, 0);
  return { offs, copy, end };
}

/**
 * A fresh copy of a kernel's output `view`; when the view is in the shared
 * memory the copy is remembered as resident there until the next call.
 *
 * @internal
 * @param view The output, in shared memory.
 * @returns The copy.
 */
export function copyOut(view: Float32Array): Float32Array {
  const out = view.slice();
  if (onWasm(view)) {
    countCopy(0, view.length);
    resident = {
      buffer: out.buffer,
      byteOffset: out.byteOffset,
      floats: out.length,
      at: view.byteOffset / 4,
    };
  }
  return out;
}

/** Where `a` sits in the shared memory when it is (part of) the resident output, else -1. */
function residentOffset(a: Float32Array): number {
  const r = resident;
  if (r === null || a.buffer !== r.buffer) return -1;
  const start = a.byteOffset - r.byteOffset;
  if (start < 0 || start + a.byteLength > r.floats * 4) return -1;
  return r.at + start / 4;
}

/** The first 16-float boundary after the resident output (16 without one). */
function residentEnd(): number {
  const r = resident;
  return r === null ? 16 : (r.at + r.floats + 15) & ~15;
}

let copiedIn = 0;
let copiedOut = 0;

/**
 * Counts floats copied into or out of the shared memory (the price of
 * keeping tensors in ordinary arrays; see {@linkcode copyTraffic}).
 *
 * @internal
 * @param into Floats copied in.
 * @param out Floats copied out.
 * @returns Nothing.
 */
export function countCopy(into: number, out: number): void {
  copiedIn += into;
  copiedOut += out;
}

/**
 * The bytes copied into and out of the shared memory since the last call
 * (for measurements), and resets the counts.
 *
 * @internal
 * @returns The byte counts.
 */
export function copyTraffic(): { inBytes: number; outBytes: number } {
  const r = { inBytes: copiedIn * 4, outBytes: copiedOut * 4 };
  copiedIn = copiedOut = 0;
  return r;
}
