/**
 * A small pool of worker threads for the heavy kernels.
 *
 * The workers are created once, lazily, on the first large enough job, and
 * reused. They share two buffers with the main thread: a control block
 * (`Int32Array` over a `SharedArrayBuffer`) that holds the job descriptor,
 * and a growable `SharedArrayBuffer` that holds the job's inputs and output.
 * Dispatch is synchronous: the main thread copies the inputs in, writes the
 * descriptor, wakes the workers with `Atomics.notify`, computes its own share,
 * then sleeps in `Atomics.wait` until every worker has finished, and the
 * caller copies the output out. Each job splits its work into disjoint
 * ranges (rows of C, output rows, images, filter rows) whose results do not
 * depend on the split, so threaded and single-thread results are identical.
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
/** Control block slot: first of the job's integer parameters. @internal */
export const C_INTS = 16;
/** Number of integer parameters a job may have. @internal */
export const MAX_INTS = 32;
/** Control block slot: first of the (start, end) work ranges, one pair per worker. @internal */
export const C_RANGES = C_INTS + MAX_INTS;

const MAX_WORKERS = 63;
const CTL_SIZE = C_RANGES + 2 * MAX_WORKERS;
const MAX_THREADS = 8;
/** Jobs below this many floating-point operations stay on one thread. */
const MIN_FLOPS = 2e6;
/** Upper bound of the shared data buffer. */
const MAX_BYTES = 2 ** 30;
/** How long worker start-up may take before the pool is given up. */
const STARTUP_MS = 10000;

interface Pool {
  readonly workers: Worker[];
  readonly ctl: Int32Array;
  readonly data: SharedArrayBuffer;
}

let requested: number | null = null;
let fallback: number | null = null;
let pool: Pool | null = null;
let unavailable = false;

function envThreads(): number | null {
  try {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
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
      const hc =
        (globalThis as { navigator?: { hardwareConcurrency?: number } })
          .navigator?.hardwareConcurrency;
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
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) return true;
  try {
    return deno.permissions.querySync({ name: "read", path: url }).state ===
      "granted";
  } catch {
    return false;
  }
}

function startPool(size: number): Pool | null {
  if (unavailable) return null;
  if (pool !== null && pool.workers.length === size) return pool;
  shutdown();
  const workers: Worker[] = [];
  try {
    if (
      typeof SharedArrayBuffer !== "function" ||
      typeof Atomics?.wait !== "function"
    ) throw new Error("No shared memory");
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_SIZE * 4));
    const data = new SharedArrayBuffer(0, { maxByteLength: MAX_BYTES });
    if (!data.growable) throw new Error("No growable shared memory");
    const url = new URL("./worker.ts", import.meta.url);
    if (url.protocol === "file:" && !canRead(url)) {
      throw new Error("No read access");
    }
    for (let i = 0; i < size; i++) {
      const w = new Worker(url, { workerData: { ctl: ctl.buffer, data } });
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
    pool = { workers, ctl, data };
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
 * Runs a job over the thread pool if it is large enough and the pool is
 * available. The work `[0, total)` is split into one range per thread, at
 * multiples of `grain`; the main thread runs the first range through
 * `share` and the workers run the others through the kernel named by
 * `kind`. The output starts as a copy of `outInit`, or zeros.
 *
 * @internal
 * @param kind The job kind the workers dispatch on.
 * @param ints The job's integer parameters.
 * @param in1 The first input.
 * @param in2 The second input.
 * @param outLen The output length.
 * @param total The amount of work.
 * @param grain The split granularity.
 * @param flops The job's floating-point operation count.
 * @param share The main thread's share.
 * @param outInit The initial output, if not zeros.
 * @returns A view of the output in shared memory, valid until the next job
 * (copy it out), or `null` if the caller must run the job itself.
 */
export function parallelRun(
  kind: number,
  ints: readonly number[],
  in1: Float32Array,
  in2: Float32Array,
  outLen: number,
  total: number,
  grain: number,
  flops: number,
  share: Share,
  outInit?: Float32Array,
): Float32Array | null {
  if (unavailable || flops < MIN_FLOPS || !isMainThread) return null;
  const threads = getThreads();
  if (threads < 2) return null;
  const units = Math.ceil(total / grain);
  const parts = Math.min(threads, units);
  if (parts < 2) return null;
  const off2 = align(in1.length);
  const offOut = off2 + align(in2.length);
  const bytes = (offOut + outLen) * 4;
  if (bytes > MAX_BYTES || ints.length > MAX_INTS) return null;
  const p = startPool(threads - 1);
  if (p === null) return null;
  const { ctl, data } = p;
  if (data.byteLength < bytes) data.grow(bytes);
  const a = new Float32Array(data, 0, in1.length);
  const b = new Float32Array(data, off2 * 4, in2.length);
  const out = new Float32Array(data, offOut * 4, outLen);
  a.set(in1);
  b.set(in2);
  if (outInit !== undefined) out.set(outInit);
  else out.fill(0);
  ctl[C_KIND] = kind;
  ctl[C_LEN1] = in1.length;
  ctl[C_OFF2] = off2;
  ctl[C_LEN2] = in2.length;
  ctl[C_OFFOUT] = offOut;
  ctl[C_LENOUT] = outLen;
  for (let i = 0; i < ints.length; i++) ctl[C_INTS + i] = ints[i]!;
  const bound = (i: number) =>
    Math.min(total, Math.round((units * i) / parts) * grain);
  const nw = p.workers.length;
  for (let i = 0; i < nw; i++) {
    const part = i + 1;
    ctl[C_RANGES + 2 * i] = part < parts ? bound(part) : 0;
    ctl[C_RANGES + 2 * i + 1] = part < parts ? bound(part + 1) : 0;
  }
  Atomics.store(ctl, C_ERR, 0);
  Atomics.store(ctl, C_PENDING, nw);
  Atomics.add(ctl, C_GEN, 1);
  Atomics.notify(ctl, C_GEN);
  let failure: unknown = null;
  try {
    share(a, b, out, 0, bound(1));
  } catch (e) {
    failure = e;
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
