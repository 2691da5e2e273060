/**
 * The body of a kernel worker thread (see `threads.ts`): waits on the shared
 * control block for a job, runs its range of the job, signals completion.
 *
 * @internal
 * @module
 */

import { workerData } from "node:worker_threads";
import { gemmRange, gemmRangeWasm, packedView } from "./gemm.ts";
import {
  arenaMark,
  arenaRelease,
  attach,
  memoryView,
  setArena,
} from "./wasm/runtime.ts";
import { CONV_INT_JOBS, CONV_JOBS, geometryFromInts } from "./conv2d.ts";
import { BATCHED_JOBS } from "./conv2d_batched.ts";
import { ELEMENTWISE_JOBS } from "./wasm_jobs.ts";
import {
  C_ERR,
  C_GEN,
  C_INTS,
  C_KIND,
  C_LEN1,
  C_LEN2,
  C_LENOUT,
  C_OFF1,
  C_OFF2,
  C_OFFOUT,
  C_PENDING,
  C_READY,
  C_SCRATCH,
  C_SCRATCH_LEN,
  JOB_EXIT,
  JOB_GEMM,
  JOB_GEMM_WASM,
  MAX_INTS,
  takeChunks,
  WORKER_SPIN_POLLS,
  type WorkerInit,
} from "./threads.ts";

/** The pool's {@linkcode WorkerInit}, checked. */
function checkInit(x: unknown): WorkerInit {
  if (
    typeof x === "object" && x !== null && "ctl" in x && "data" in x &&
    "memory" in x && "module" in x && "index" in x
  ) {
    const { ctl, data, memory, module, index } = x;
    if (
      ctl instanceof SharedArrayBuffer &&
      (data === null || data instanceof SharedArrayBuffer) &&
      (memory === null || memory instanceof WebAssembly.Memory) &&
      (module === null || module instanceof WebAssembly.Module) &&
      typeof index === "number"
    ) {
      return { ctl, data, memory, module, index };
    }
  }
  throw new TypeError(
    "Expected the worker data to be the thread pool's WorkerInit",
  );
}

const init = checkInit(workerData);
const ctl = new Int32Array(init.ctl);
if (init.memory !== null && init.module !== null) {
  attach(init.memory, init.module);
}

function run(kind: number, start: number, end: number): void {
  const data = init.data ?? memoryView().buffer;
  const a = new Float32Array(data, ctl[C_OFF1]! * 4, ctl[C_LEN1]!);
  const b = new Float32Array(data, ctl[C_OFF2]! * 4, ctl[C_LEN2]!);
  const out = new Float32Array(data, ctl[C_OFFOUT]! * 4, ctl[C_LENOUT]!);
  const ints = ctl.slice(C_INTS, C_INTS + MAX_INTS);
  if (kind === JOB_GEMM) {
    gemmRange(a, packedView(b), out, ints, start, end);
    return;
  }
  if (kind === JOB_GEMM_WASM) {
    gemmRangeWasm(a, b, out, ints, start, end);
    return;
  }
  const simple = ELEMENTWISE_JOBS[kind] ?? CONV_INT_JOBS[kind];
  if (simple !== undefined) {
    simple(a, b, out, ints, start, end);
    return;
  }
  const range = CONV_JOBS[kind] ?? BATCHED_JOBS[kind];
  if (range === undefined) {
    throw new RangeError(`Expected a known job kind but found ${kind}`);
  }
  range(a, b, geometryFromInts(ints), out, start, end);
}

// Read the generation before announcing readiness: no job is posted before
// every worker is ready, so none can be missed.
let gen = Atomics.load(ctl, C_GEN);
Atomics.add(ctl, C_READY, 1);
Atomics.notify(ctl, C_READY);
for (;;) {
  // Poll for a while before sleeping: a sleeping thread wakes 0.1-0.2 ms
  // late on a virtual machine (see WORKER_SPIN_POLLS).
  for (let i = 0; i < WORKER_SPIN_POLLS; i++) {
    if (Atomics.load(ctl, C_GEN) !== gen) break;
  }
  Atomics.wait(ctl, C_GEN, gen);
  const now = Atomics.load(ctl, C_GEN);
  if (now === gen) continue;
  gen = now;
  const kind = Atomics.load(ctl, C_KIND);
  if (kind === JOB_EXIT) break;
  const len = ctl[C_SCRATCH_LEN]!;
  setArena(ctl[C_SCRATCH]! + init.index * len, len);
  try {
    takeChunks(ctl, (start, end) => {
      const mark = arenaMark();
      run(kind, start, end);
      arenaRelease(mark);
    });
  } catch {
    Atomics.store(ctl, C_ERR, 1);
  } finally {
    setArena(0, 0);
  }
  if (Atomics.sub(ctl, C_PENDING, 1) === 1) Atomics.notify(ctl, C_PENDING);
}
