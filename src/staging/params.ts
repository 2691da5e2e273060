/**
 * Reading the parameters of a staged equation. An equation keeps its
 * primitive's params as `unknown` (a program mixes every primitive); the
 * shape rules, the jit planner and the exporters read them by name through
 * these readers, which check each value at run time and name the primitive
 * and the parameter when one is missing or of the wrong kind.
 *
 * @internal
 * @module
 */

import { checkDType, type DType, type Shape } from "../tensor.ts";
import type { Conv2dGeometry } from "../shape/check.ts";
import type { Pool2dGeometry } from "../kernels/pool.ts";

/** The parameter `key` of a primitive's params, unchecked in kind. */
function field(params: unknown, key: string, prim: string): unknown {
  if (typeof params !== "object" || params === null || !(key in params)) {
    throw new TypeError(
      `Internal error: expected the params of ${prim} to have ${key} but found ${
        JSON.stringify(params)
      }`,
    );
  }
  const v: unknown = Reflect.get(params, key);
  return v;
}

function wrongKind(prim: string, key: string, kind: string, v: unknown): never {
  throw new TypeError(
    `Internal error: expected the param ${key} of ${prim} to be ${kind} but found ${
      JSON.stringify(v)
    }`,
  );
}

/** A number parameter. @internal */
export function numberParam(
  params: unknown,
  key: string,
  prim: string,
): number {
  const v = field(params, key, prim);
  return typeof v === "number" ? v : wrongKind(prim, key, "a number", v);
}

/** A boolean parameter. @internal */
export function booleanParam(
  params: unknown,
  key: string,
  prim: string,
): boolean {
  const v = field(params, key, prim);
  return typeof v === "boolean" ? v : wrongKind(prim, key, "a boolean", v);
}

/** A list of numbers (axes, a permutation, a shape). @internal */
export function numbersParam(
  params: unknown,
  key: string,
  prim: string,
): readonly number[] {
  const v = field(params, key, prim);
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) {
    return wrongKind(prim, key, "a list of numbers", v);
  }
  const out: number[] = v;
  return out;
}

/** A shape parameter. @internal */
export function shapeParam(params: unknown, key: string, prim: string): Shape {
  return numbersParam(params, key, prim);
}

/** A dtype parameter. @internal */
export function dtypeParam(params: unknown, key: string, prim: string): DType {
  return checkDType(field(params, key, prim), `the param ${key} of ${prim}`);
}

/** The axes and keepDims of a reduction. @internal */
export interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

/** The params of `sum` or `max` (a reduction). @internal */
export function reduceParams(params: unknown, prim: string): ReduceParams {
  return {
    axes: numbersParam(params, "axes", prim),
    keepDims: booleanParam(params, "keepDims", prim),
  };
}

/** The geometry of a pooling primitive, every field checked. @internal */
export function poolParams(params: unknown, prim: string): Pool2dGeometry {
  const num = (key: string) => numberParam(params, key, prim);
  return {
    n: num("n"),
    h: num("h"),
    w: num("w"),
    c: num("c"),
    kh: num("kh"),
    kw: num("kw"),
    outH: num("outH"),
    outW: num("outW"),
    strideH: num("strideH"),
    strideW: num("strideW"),
    padTop: num("padTop"),
    padBottom: num("padBottom"),
    padLeft: num("padLeft"),
    padRight: num("padRight"),
  };
}

/** The geometry of a convolution primitive, every field checked. @internal */
export function convParams(params: unknown, prim: string): Conv2dGeometry {
  const num = (key: string) => numberParam(params, key, prim);
  return {
    ...poolParams(params, prim),
    o: num("o"),
    dilH: num("dilH"),
    dilW: num("dilW"),
  };
}

/**
 * The operand transposes of a `matmul` equation: none when it has no
 * params (the forward product), else its checked flags. @internal
 */
export function matmulParams(
  params: unknown,
  prim: string,
): { transA: boolean; transB: boolean } {
  if (params === undefined) return { transA: false, transB: false };
  return {
    transA: booleanParam(params, "transA", prim),
    transB: booleanParam(params, "transB", prim),
  };
}
