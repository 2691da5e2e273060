/**
 * A small pool of worker threads for the heavy kernels.
 *
 * The workers are created once, lazily, on the first large enough job, and
 * reused. They share two buffers with the main thread: a control block
 * (`Int32Array` over a `SharedArrayBuffer`) that holds the job descriptor,
 * and a growable `SharedArrayBuffer` that holds the job's inputs and output.
 * Dispatch is synchronous: the main thread copies the inputs in, writes the
 * descriptor, wakes the workers with `Atomics.notify`, and then every thread,
 * the main one included, takes chunks of the work from a shared counter
 * (`Atomics.add`) until none are left; the main thread then sleeps in
 * `Atomics.wait` until every worker has finished, and the caller copies the
 * output out. Taking chunks rather than one fixed share each means that a
 * worker that wakes late, or a core busy with something else, costs little:
 * the other threads take its chunks. Waking a sleeping thread costs about
 * 0.1-0.2 ms on a virtual machine (the small CNN's step measured 0.55-0.9
 * ms a step in the main thread's wait), so both sides poll before they
 * sleep: a worker for {@linkcode WORKER_SPIN_POLLS} after its last job (the
 * next job of a training step usually comes sooner), the main thread for
 * `MAIN_SPIN_POLLS` for the workers to finish, as OpenMP runtimes do. The
 * chunks are disjoint ranges (rows of C, output rows, images, filter rows)
 * whose results do not depend on which thread computes them, so threaded
 * and single-thread results are identical.
 *
 * The pool is skipped (single-thread path) for small jobs, when
 * `SharedArrayBuffer`, `Atomics.wait` or workers are unavailable, when the
 * environment variable `TENSA_THREADS` is `1`, or after `setThreads(1)`.
 * Workers are unreferenced, so they never keep a program alive.
 *
 * @internal
 * @module
 */

import { isMainThread, Worker } from "node:worker_threads";
import {
  arenaMark,
  arenaRelease,
  countCopy,
  type KernelMode,
  kernelMode,
  memoryView,
  placeInputs,
  reserve,
  setArena,
  wasmShared,
} from "./wasm/runtime.ts";

/** Job kind: rows of a GEMM. @internal */
export const JOB_GEMM = 1;
/** Job kind: output rows of a forward convolution. @internal */
export const JOB_CONV_FORWARD = 2;
/** Job kind: images of a convolution input gradient. @internal */
export const JOB_CONV_BACKPROP_INPUT = 3;
/** Job kind: rows of a convolution filter gradient. @internal */
export const JOB_CONV_BACKPROP_FILTER = 4;
/** Job kind: output rows of a direct forward convolution. @internal */
export const JOB_DIRECT_FORWARD = 5;
/** Job kind: taps of a direct filter gradient. @internal */
export const JOB_DIRECT_FILTER = 6;
/** Job kind: rows of a GEMM by the WebAssembly kernel. @internal */
export const JOB_GEMM_WASM = 7;
/** Job kind: output lines of the WebAssembly column-free convolution. @internal */
export const JOB_WASM_FORWARD = 8;
/** Job kind: filter rows of the WebAssembly column-free filter gradient. @internal */
export const JOB_WASM_FILTER = 9;
/** Job kind: groups of a batched forward convolution. @internal */
export const JOB_BATCHED_FORWARD = 10;
/** Job kind: groups of a batched convolution input gradient. @internal */
export const JOB_BATCHED_INPUT = 11;
/** Job kind: groups of a batched convolution filter gradient. @internal */
export const JOB_BATCHED_FILTER = 12;
/** Job kind: rows of the WebAssembly bias + relu. @internal */
export const JOB_BIAS_RELU = 13;
/** Job kind: a range of the WebAssembly relu mask. @internal */
export const JOB_RELU_MASK = 14;
/** Job kind: images of the WebAssembly max pooling. @internal */
export const JOB_MAX_POOL = 15;
/** Job kind: partial filter gradients over fixed ranges of output positions. @internal */
export const JOB_FILTER_PARTS = 16;
// Job kind 17 was the WebAssembly max-pool scatter (the loop below it in
// pool.ts measured faster: no inputs to copy in, no output to copy out).
// Job kind 18 was the column-free input gradient over ranges of images; job
// 20 (groups of 8 images) does that now, masked or not, dense or scattered.
/** Job kind: images of the column-free convolution with its max pool. @internal */
export const JOB_CONV_POOL = 19;
/** Job kind: groups of images of the column-free input gradient (scattered or dense output gradient, masked or not). @internal */
export const JOB_INPUT_GROUPS = 20;
/** Job kind: leave the worker loop. @internal */
export const JOB_EXIT = -1;

/** Control block slot: job generation, bumped to wake the workers. @internal */
export const C_GEN = 0;
/** Control block slot: workers still running the current job. @internal */
export const C_PENDING = 1;
/** Control block slot: the job kind. @internal */
export const C_KIND = 2;
/** Control block slot: set by a worker whose share threw. @internal */
export const C_ERR = 3;
/** Control block slot: workers that have started. @internal */
export const C_READY = 4;
/** Control block slot: length of the first input (at float offset 0). @internal */
export const C_LEN1 = 5;
/** Control block slot: float offset of the second input. @internal */
export const C_OFF2 = 6;
/** Control block slot: length of the second input. @internal */
export const C_LEN2 = 7;
/** Control block slot: float offset of the output. @internal */
export const C_OFFOUT = 8;
/** Control block slot: length of the output. @internal */
export const C_LENOUT = 9;
/** Control block slot: the next chunk to take. @internal */
export const C_NEXT = 10;
/** Control block slot: the number of chunks. @internal */
export const C_CHUNKS = 11;
/** Control block slot: the work units' size. @internal */
export const C_GRAIN = 12;
/** Control block slot: the amount of work. @internal */
export const C_TOTAL = 13;
/** Control block slot: first of the job's integer parameters. @internal */
export const C_INTS = 16;
/** Number of integer parameters a job may have. @internal */
export const MAX_INTS = 32;
/** Control block slot: float offset of the first input. @internal */
export const C_OFF1 = C_INTS + MAX_INTS;
/** Control block slot: float offset of thread 0's scratch region. @internal */
export const C_SCRATCH = C_OFF1 + 1;
/** Control block slot: floats of scratch per thread. @internal */
export const C_SCRATCH_LEN = C_OFF1 + 2;

const MAX_WORKERS = 63;
const CTL_SIZE = C_SCRATCH_LEN + 1;
/**
 * Chunks per thread: enough to even out a late or slow thread (8 measured
 * faster than 4 on the small CNN's step: 7 of 8 alternating runs, by up to
 * 1.3 ms when the second core was slow; the main thread otherwise waited
 * for the worker's last chunk 0.2-0.3 ms a step).
 */
const CHUNKS_PER_THREAD = 8;
const MAX_THREADS = 8;
/**
 * Polls of the control block a worker makes for the next job before it
 * sleeps, about 10-20 ms (10-20 ns a poll measured; Intel's OpenMP waits
 * 200 ms by default): the worker's core stays busy during a training loop
 * and is released soon after the last job. Counted, not timed: one poll is
 * a single load, with no call in the loop.
 *
 * @internal
 */
export const WORKER_SPIN_POLLS = 1_000_000;
/** Polls the main thread makes for the workers to finish before it sleeps (1-2 ms). */
const MAIN_SPIN_POLLS = 100_000;
/**
 * Jobs below this many floating-point operations (or the effort their
 * caller counts instead) stay on one thread; the small CNN's first max pool
 * (1.2 million) gains from two now that a job's dispatch costs no wake-up.
 */
const MIN_FLOPS = 1e6;
/** Upper bound of the shared data buffer. */
const MAX_BYTES = 2 ** 30;
/** How long worker start-up may take before the pool is given up. */
const STARTUP_MS = 10000;

/**
 * What the pool posts to each worker (`worker.ts` checks it on arrival).
 *
 * @internal
 */
export interface WorkerInit {
  /** The control block. */
  ctl: SharedArrayBuffer;
  /** The growable data buffer of the typed-array kernels, or null with WebAssembly. */
  data: SharedArrayBuffer | null;
  /** The WebAssembly memory, or null with typed arrays. */
  memory: WebAssembly.Memory | null;
  /** The compiled kernel module, or null with typed arrays. */
  module: WebAssembly.Module | null;
  /** The worker's thread index, from 1. */
  index: number;
}

interface Pool {
  readonly workers: Worker[];
  readonly ctl: Int32Array;
  /** The job buffer of the typed-array kernels (`null` for WebAssembly). */
  readonly data: SharedArrayBuffer | null;
  readonly mode: KernelMode;
}

let requested: number | null = null;
let fallback: number | null = null;
let pool: Pool | null = null;
let unavailable = false;

function envThreads(): number | null {
  try {
    const deno = "Deno" in globalThis ? globalThis.Deno : undefined;
    if (deno === undefined) return null;
    const state = deno.permissions.querySync({
      name: "env",
      variable: "TENSA_THREADS",
    }).state;
    if (state !== "granted") return null;
    const v = deno.env.get("TENSA_THREADS");
    if (v === undefined) return null;
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_WORKERS + 1) : null;
  } catch {
    return null;
  }
}

function defaultThreads(): number {
  if (fallback !== null) return fallback;
  let n = 1;
  if (isMainThread) {
    const env = envThreads();
    if (env !== null) n = env;
    else {
      // Node before 21 has no navigator.
      const hc: unknown = "navigator" in globalThis
        ? globalThis.navigator?.hardwareConcurrency
        : undefined;
      n = typeof hc === "number" && hc >= 1 ? Math.min(hc, MAX_THREADS) : 1;
    }
  }
  fallback = n;
  return n;
}

/**
 * The number of threads the kernels may use (1 means no worker threads).
 *
 * @internal
 * @returns The thread count set by {@linkcode setThreads}, or else the value
 * of `TENSA_THREADS`, or else the number of cores (at most 8).
 */
export function getThreads(): number {
  if (!isMainThread) return 1;
  return requested ?? defaultThreads();
}

/**
 * Sets the number of threads the kernels may use; 1 turns the pool off and
 * terminates its workers.
 *
 * @internal
 * @param n A positive integer.
 * @returns Nothing.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS + 1) {
    throw new RangeError(
      `Expected threads to be an integer from 1 to ${
        MAX_WORKERS + 1
      } but found ${n}`,
    );
  }
  if (n !== getThreads()) shutdown();
  requested = n;
}

/**
 * The number of live worker threads (0 until a job first needs them).
 *
 * @internal
 * @returns The size of the pool.
 */
export function poolWorkers(): number {
  return pool === null ? 0 : pool.workers.length;
}

function shutdown(): void {
  const p = pool;
  if (p === null) return;
  pool = null;
  Atomics.store(p.ctl, C_KIND, JOB_EXIT);
  Atomics.add(p.ctl, C_GEN, 1);
  Atomics.notify(p.ctl, C_GEN);
  for (const w of p.workers) void w.terminate();
}

/** Whether the worker file may be read, asked without prompting. */
function canRead(url: URL): boolean {
  const deno = "Deno" in globalThis ? globalThis.Deno : undefined;
  if (deno === undefined) return true;
  try {
    return deno.permissions.querySync({ name: "read", path: url }).state ===
      "granted";
  } catch {
    return false;
  }
}

function startPool(size: number, mode: KernelMode): Pool | null {
  if (unavailable) return null;
  if (pool !== null && pool.workers.length === size && pool.mode === mode) {
    return pool;
  }
  shutdown();
  const workers: Worker[] = [];
  try {
    if (
      typeof SharedArrayBuffer !== "function" ||
      typeof Atomics?.wait !== "function"
    ) throw new Error("No shared memory");
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_SIZE * 4));
    const shared = mode === "wasm" ? wasmShared() : null;
    const data = shared === null
      ? new SharedArrayBuffer(0, { maxByteLength: MAX_BYTES })
      : null;
    if (data !== null && !data.growable) {
      throw new Error("No growable shared memory");
    }
    const url = new URL("./worker.ts", import.meta.url);
    if (url.protocol === "file:" && !canRead(url)) {
      throw new Error("No read access");
    }
    for (let i = 0; i < size; i++) {
      const w = new Worker(url, {
        workerData: {
          ctl: ctl.buffer,
          data,
          memory: shared?.memory ?? null,
          module: shared?.module ?? null,
          index: i + 1,
        } satisfies WorkerInit,
        // An explicit (empty) environment: by default the worker copies
        // process.env, which asks for env permission on a terminal.
        env: {},
      });
      w.unref();
      workers.push(w);
    }
    const deadline = performance.now() + STARTUP_MS;
    for (;;) {
      const ready = Atomics.load(ctl, C_READY);
      if (ready >= size) break;
      if (performance.now() > deadline) {
        throw new Error("Workers did not start");
      }
      Atomics.wait(ctl, C_READY, ready, 50);
    }
    pool = { workers, ctl, data, mode };
    return pool;
  } catch {
    for (const w of workers) void w.terminate();
    unavailable = true;
    return null;
  }
}

/**
 * The share of one thread: computes work range `[start, end)` of a job on
 * its inputs, writing its part of `out`.
 *
 * @internal
 */
export type Share = (
  in1: Float32Array,
  in2: Float32Array,
  out: Float32Array,
  start: number,
  end: number,
) => void;

function align(n: number): number {
  return (n + 15) & ~15;
}

/**
 * Where chunk `i` of a job starts (`i = chunks` gives the end of the last):
 * the work `[0, total)` cut into `chunks` ranges of whole units of `grain`,
 * of decreasing sizes (chunk `i` about `(chunks - i)` parts of
 * `chunks (chunks + 1) / 2`): the first ones large, the last ones small,
 * so that the thread that takes the last chunk keeps the others waiting
 * only briefly.
 */
function chunkStart(
  i: number,
  chunks: number,
  units: number,
  grain: number,
  total: number,
): number {
  const left = (chunks - i) / chunks;
  return Math.min(total, Math.round(units * (1 - left * left)) * grain);
}

/**
 * Runs chunks of the posted job, taken from the shared counter, until none
 * are left: the loop of every thread, the main one included.
 *
 * @internal
 * @param ctl The control block.
 * @param run Computes one range of the job.
 * @returns Nothing.
 */
export function takeChunks(
  ctl: Int32Array,
  run: (start: number, end: number) => void,
): void {
  const chunks = ctl[C_CHUNKS]!, grain = ctl[C_GRAIN]!, total = ctl[C_TOTAL]!;
  const units = Math.ceil(total / grain);
  for (;;) {
    const i = Atomics.add(ctl, C_NEXT, 1);
    if (i >= chunks) return;
    const start = chunkStart(i, chunks, units, grain, total);
    const end = chunkStart(i + 1, chunks, units, grain, total);
    if (start < end) run(start, end);
  }
}

/**
 * An input that writes itself into shared memory (saves a copy when the
 * caller would otherwise build it first): `length` float32 words.
 *
 * @internal
 */
export interface InputWriter {
  /** Its length in float32 words. */
  readonly length: number;
  /** Writes it into `dst` (exactly `length` words). */
  write(dst: Float32Array): void;
}

/**
 * Runs a job over the thread pool if it is large enough and the pool is
 * available. The work `[0, total)` is cut into a few chunks per thread, at
 * multiples of `grain`; the main thread runs the chunks it takes through
 * `share` and the workers run theirs through the kernel named by `kind`.
 * The output starts as a copy of `init`, or zeros, or (`"written"`) as
 * whatever the last job left there, for jobs that write every element.
 *
 * With the WebAssembly kernels the job always runs in the shared
 * `WebAssembly.Memory` (on this thread alone when it is small or there is
 * one thread), and each thread gets `scratch` floats of it for the job,
 * handed out by the arena of `wasm/runtime.ts`.
 *
 * @internal
 * @param kind The job kind the workers dispatch on.
 * @param ints The job's integer parameters.
 * @param in1 The first input, or a writer of it.
 * @param in2 The second input, or a writer of it.
 * @param outLen The output length.
 * @param total The amount of work.
 * @param grain The split granularity.
 * @param flops The job's floating-point operation count.
 * @param share The main thread's share.
 * @param init The initial output: an array to copy, `"zeros"`, or
 * `"written"` when the job overwrites every element.
 * @param scratch Floats of scratch memory per thread (WebAssembly only).
 * @returns A view of the output in shared memory, valid until the next job
 * (copy it out), or `null` if the caller must run the job itself.
 */
export function parallelRun(
  kind: number,
  ints: readonly number[],
  in1: Float32Array | InputWriter,
  in2: Float32Array | InputWriter,
  outLen: number,
  total: number,
  grain: number,
  flops: number,
  share: Share,
  init: Float32Array | "zeros" | "written",
  scratch = 0,
): Float32Array | null {
  if (!isMainThread || ints.length > MAX_INTS) return null;
  const mode = kernelMode();
  const threads = getThreads();
  const units = Math.ceil(total / grain);
  const parallel = !unavailable && flops >= MIN_FLOPS && threads >= 2 &&
    Math.min(threads, units) >= 2;
  if (!parallel && mode === "js") return null;
  const chunks = parallel ? Math.min(units, threads * CHUNKS_PER_THREAD) : 1;
  // Float offsets: the inputs, the output, then one scratch region a thread.
  // With WebAssembly an input that is the previous call's output, still in
  // the memory, is read where it is (see placeInputs).
  let off1 = 0, off2 = align(in1.length), offOut = off2 + align(in2.length);
  let copy1 = true, copy2 = true;
  if (mode === "wasm") {
    const place = placeInputs([
      in1 instanceof Float32Array ? in1 : in1.length,
      in2 instanceof Float32Array ? in2 : in2.length,
    ]);
    [off1, off2] = place.offs;
    [copy1, copy2] = place.copy;
    offOut = place.end;
  }
  const scratchLen = mode === "wasm" ? align(scratch) : 0;
  const offScratch = align(offOut + outLen);
  const floats = offScratch + scratchLen * (parallel ? threads : 1);
  let p: Pool | null = null;
  if (parallel) {
    p = startPool(threads - 1, mode);
    if (p === null && mode === "js") return null;
  }
  let buf: ArrayBufferLike;
  if (mode === "wasm") {
    if (!reserve(floats)) return null;
    buf = memoryView().buffer;
  } else {
    if (floats * 4 > MAX_BYTES) return null;
    const data = p!.data!;
    if (data.byteLength < floats * 4) data.grow(floats * 4);
    buf = data;
  }
  const a = new Float32Array(buf, off1 * 4, in1.length);
  const b = new Float32Array(buf, off2 * 4, in2.length);
  const out = new Float32Array(buf, offOut * 4, outLen);
  if (copy1) {
    if (in1 instanceof Float32Array) a.set(in1);
    else in1.write(a);
  }
  if (copy2) {
    if (in2 instanceof Float32Array) b.set(in2);
    else in2.write(b);
  }
  if (init === "zeros") out.fill(0);
  else if (init !== "written") out.set(init);
  if (mode === "wasm" && typeof init !== "string") countCopy(outLen, 0);
  if (p === null) {
    // Small job, one thread or no pool: this thread runs all of it in place.
    setArena(offScratch, scratchLen);
    try {
      share(a, b, out, 0, total);
    } finally {
      setArena(0, 0);
    }
    return out;
  }
  const ctl = p.ctl;
  ctl[C_KIND] = kind;
  ctl[C_OFF1] = off1;
  ctl[C_LEN1] = in1.length;
  ctl[C_OFF2] = off2;
  ctl[C_LEN2] = in2.length;
  ctl[C_OFFOUT] = offOut;
  ctl[C_LENOUT] = outLen;
  ctl[C_SCRATCH] = offScratch;
  ctl[C_SCRATCH_LEN] = scratchLen;
  for (let i = 0; i < ints.length; i++) ctl[C_INTS + i] = ints[i]!;
  ctl[C_CHUNKS] = chunks;
  ctl[C_GRAIN] = grain;
  ctl[C_TOTAL] = total;
  const nw = p.workers.length;
  Atomics.store(ctl, C_NEXT, 0);
  Atomics.store(ctl, C_ERR, 0);
  Atomics.store(ctl, C_PENDING, nw);
  Atomics.add(ctl, C_GEN, 1);
  Atomics.notify(ctl, C_GEN);
  let failure: unknown = null;
  setArena(offScratch, scratchLen);
  try {
    takeChunks(ctl, (start, end) => {
      const mark = arenaMark();
      share(a, b, out, start, end);
      arenaRelease(mark);
    });
  } catch (e) {
    failure = e;
    // Leave no chunk behind for the workers to start.
    Atomics.store(ctl, C_NEXT, chunks);
  } finally {
    setArena(0, 0);
  }
  // Poll: the workers' last chunks usually end within a fraction of this.
  for (let i = 0; i < MAIN_SPIN_POLLS; i++) {
    if (Atomics.load(ctl, C_PENDING) === 0) break;
  }
  for (;;) {
    const pending = Atomics.load(ctl, C_PENDING);
    if (pending === 0) break;
    Atomics.wait(ctl, C_PENDING, pending);
  }
  if (failure !== null) throw failure;
  if (Atomics.load(ctl, C_ERR) !== 0) {
    // A worker failed: give the pool up and let the caller run single-threaded.
    shutdown();
    unavailable = true;
    return null;
  }
  return out;
}
