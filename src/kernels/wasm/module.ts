/**
 * The kernel module: every WebAssembly kernel of `src/kernels/wasm/`
 * emitted into one module over the shared memory `tensa.memory`.
 *
 * @internal
 * @module
 */

import { ModuleBuilder } from "./builder.ts";
import { addGemm } from "./gemm_module.ts";
import {
  addConvData,
  addConvFilter,
  addConvForward,
  addConvInput,
} from "./conv_module.ts";
import { addElementwise, addSumMid } from "./elementwise_module.ts";
import { addBernoulliMask, addThreefry } from "./random_module.ts";
import { addAdam } from "./optim_module.ts";
import { addMaxPool, addUnpool } from "./pool_module.ts";

/**
 * The kernel module's bytes; `relaxed` uses `f32x4.relaxed_madd` (relaxed
 * SIMD) for the multiply-adds, else a multiply and an add.
 *
 * @internal
 * @param relaxed Whether to use relaxed SIMD.
 * @returns The module's bytes.
 */
export function kernelModuleBytes(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder(true);
  const { micro, microS, microTS } = addGemm(mb, relaxed);
  addConvData(mb);
  addConvForward(mb, microS);
  addConvFilter(mb, microTS);
  addConvInput(mb, micro);
  addElementwise(mb);
  addSumMid(mb);
  addThreefry(mb);
  addAdam(mb);
  addMaxPool(mb);
  addBernoulliMask(mb);
  addUnpool(mb);
  return mb.bytes();
}
