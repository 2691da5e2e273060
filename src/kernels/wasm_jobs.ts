/**
 * The memory-bound WebAssembly kernels of a training step (bias + relu, the
 * relu mask, max pooling) as thread-pool jobs: each range is an independent
 * slice of the output (rows, elements, images), computed exactly as one
 * call over the whole, so results do not depend on the split.
 *
 * @internal
 * @module
 */

import {
  JOB_BIAS_RELU,
  JOB_MAX_POOL,
  JOB_RELU_MASK,
  parallelRun,
} from "./threads.ts";
import { copyOut, kernelMode, wasm } from "./wasm/runtime.ts";

/** One range of an elementwise job. @internal */
export type ElementwiseRange = (
  in1: Float32Array,
  in2: Float32Array,
  out: Float32Array,
  ints: ArrayLike<number>,
  start: number,
  end: number,
) => void;

/**
 * The kernel of each elementwise job kind, for this module and the worker
 * threads.
 *
 * @internal
 */
export const ELEMENTWISE_JOBS: Readonly<Record<number, ElementwiseRange>> = {
  // Rows [r0, r1) of m channels.
  [JOB_BIAS_RELU]: (x, b, o, ints, r0, r1) => {
    const m = ints[0]!;
    wasm().biasRelu(
      x.byteOffset + r0 * m * 4,
      b.byteOffset,
      o.byteOffset + r0 * m * 4,
      (r1 - r0) * m,
      m,
    );
  },
  // Elements [s, e).
  [JOB_RELU_MASK]: (g, x, o, _ints, s, e) => {
    wasm().reluMask(
      g.byteOffset + s * 4,
      x.byteOffset + s * 4,
      o.byteOffset + s * 4,
      e - s,
    );
  },
  // Images [b0, b1); the pooled values, then their argmax (ints[0] each).
  [JOB_MAX_POOL]: (x, geo, o, ints, b0, b1) => {
    wasm().maxPool(
      x.byteOffset,
      geo.byteOffset,
      o.byteOffset,
      o.byteOffset + ints[0]! * 4,
      b0,
      b1,
    );
  },
};

/**
 * Runs an elementwise job over the thread pool (or on this thread when it
 * is small) on the WebAssembly path: a fresh output array, or `null` on the
 * typed-array path.
 *
 * @internal
 * @param kind The job kind.
 * @param ints The job's integer parameters.
 * @param in1 The first input.
 * @param in2 The second input.
 * @param outLen The output length.
 * @param total The units of work.
 * @param grain The split granularity.
 * @param effort The work, in the thread pool's floating-point operations.
 * @param init The output's start: written in full by the job, or zeros.
 * @returns The output, or `null`.
 */
export function runElementwiseJob(
  kind: number,
  ints: readonly number[],
  in1: Float32Array,
  in2: Float32Array,
  outLen: number,
  total: number,
  grain: number,
  effort: number,
  init: "zeros" | "written" = "written",
): Float32Array | null {
  if (kernelMode() !== "wasm") return null;
  const range = ELEMENTWISE_JOBS[kind]!;
  const shared = parallelRun(
    kind,
    ints,
    in1,
    in2,
    outLen,
    total,
    grain,
    effort,
    (a, b, out, s, e) => range(a, b, out, ints, s, e),
    init,
  );
  if (shared === null) return null;
  return copyOut(shared);
}
