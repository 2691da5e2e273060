/**
 * Elementwise, broadcasting, layout and reduction kernels.
 *
 * Typed arrays and integers in, a fresh typed array out; inputs are never
 * mutated. Each operation is selected by a switch outside its loop so that
 * inner loops hold no calls.
 *
 * @internal
 * @module
 */

import { stageRun, wasm } from "./wasm/runtime.ts";
import { runElementwiseJob } from "./wasm_jobs.ts";
import { JOB_BIAS_RELU, JOB_RELU_MASK } from "./threads.ts";

/** Arrays from this length run the WebAssembly kernels (copies included). */
const WASM_MIN = 4096;

/** Codes of the binary elementwise operations. @internal */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "max"
  | "min"
  | "eq"
  | "ne"
  | "gt"
  | "ge"
  | "lt"
  | "le";

/** Codes of the unary elementwise operations. @internal */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "abs"
  | "sign"
  | "relu"
  | "sigmoid"
  | "tanh"
  | "step";

type Arr = Float32Array | Int32Array;

/**
 * A fresh zero-filled array of `n` elements of the same kind as `x`. The
 * signature says what the `instanceof` test guarantees, which TypeScript
 * cannot narrow a type parameter by.
 */
function allocLike<A extends Arr>(x: A, n: number): A;
function allocLike(x: Arr, n: number): Arr {
  return x instanceof Int32Array ? new Int32Array(n) : new Float32Array(n);
}

function same(op: BinaryOp, a: Arr, b: Arr, o: Arr, n: number): void {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) o[i] = a[i]! + b[i]!;
      return;
    case "sub":
      for (let i = 0; i < n; i++) o[i] = a[i]! - b[i]!;
      return;
    case "mul":
      for (let i = 0; i < n; i++) o[i] = a[i]! * b[i]!;
      return;
    case "div":
      for (let i = 0; i < n; i++) o[i] = a[i]! / b[i]!;
      return;
    case "pow":
      for (let i = 0; i < n; i++) o[i] = Math.pow(a[i]!, b[i]!);
      return;
    case "max":
      for (let i = 0; i < n; i++) {
        const x = a[i]!, y = b[i]!;
        o[i] = x >= y ? x : y;
      }
      return;
    case "min":
      for (let i = 0; i < n; i++) {
        const x = a[i]!, y = b[i]!;
        o[i] = x <= y ? x : y;
      }
      return;
    case "eq":
      for (let i = 0; i < n; i++) o[i] = a[i]! === b[i]! ? 1 : 0;
      return;
    case "ne":
      for (let i = 0; i < n; i++) o[i] = a[i]! !== b[i]! ? 1 : 0;
      return;
    case "gt":
      for (let i = 0; i < n; i++) o[i] = a[i]! > b[i]! ? 1 : 0;
      return;
    case "ge":
      for (let i = 0; i < n; i++) o[i] = a[i]! >= b[i]! ? 1 : 0;
      return;
    case "lt":
      for (let i = 0; i < n; i++) o[i] = a[i]! < b[i]! ? 1 : 0;
      return;
    case "le":
      for (let i = 0; i < n; i++) o[i] = a[i]! <= b[i]! ? 1 : 0;
      return;
  }
}

function withScalar(
  op: BinaryOp,
  a: Arr,
  s: number,
  o: Arr,
  n: number,
  scalarFirst: boolean,
): void {
  if (scalarFirst) {
    switch (op) {
      case "sub":
        for (let i = 0; i < n; i++) o[i] = s - a[i]!;
        return;
      case "div":
        for (let i = 0; i < n; i++) o[i] = s / a[i]!;
        return;
      case "pow":
        for (let i = 0; i < n; i++) o[i] = Math.pow(s, a[i]!);
        return;
      case "gt":
        return withScalar("lt", a, s, o, n, false);
      case "ge":
        return withScalar("le", a, s, o, n, false);
      case "lt":
        return withScalar("gt", a, s, o, n, false);
      case "le":
        return withScalar("ge", a, s, o, n, false);
      default:
        return withScalar(op, a, s, o, n, false);
    }
  }
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) o[i] = a[i]! + s;
      return;
    case "sub":
      for (let i = 0; i < n; i++) o[i] = a[i]! - s;
      return;
    case "mul":
      for (let i = 0; i < n; i++) o[i] = a[i]! * s;
      return;
    case "div":
      for (let i = 0; i < n; i++) o[i] = a[i]! / s;
      return;
    case "pow":
      if (s === 2) { for (let i = 0; i < n; i++) o[i] = a[i]! * a[i]!; }
      else for (let i = 0; i < n; i++) o[i] = Math.pow(a[i]!, s);
      return;
    case "max":
      for (let i = 0; i < n; i++) {
        const x = a[i]!;
        o[i] = x >= s ? x : s;
      }
      return;
    case "min":
      for (let i = 0; i < n; i++) {
        const x = a[i]!;
        o[i] = x <= s ? x : s;
      }
      return;
    case "eq":
      for (let i = 0; i < n; i++) o[i] = a[i]! === s ? 1 : 0;
      return;
    case "ne":
      for (let i = 0; i < n; i++) o[i] = a[i]! !== s ? 1 : 0;
      return;
    case "gt":
      for (let i = 0; i < n; i++) o[i] = a[i]! > s ? 1 : 0;
      return;
    case "ge":
      for (let i = 0; i < n; i++) o[i] = a[i]! >= s ? 1 : 0;
      return;
    case "lt":
      for (let i = 0; i < n; i++) o[i] = a[i]! < s ? 1 : 0;
      return;
    case "le":
      for (let i = 0; i < n; i++) o[i] = a[i]! <= s ? 1 : 0;
      return;
  }
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Copies `x` of shape `from` broadcast to shape `to` (NumPy rules; `from` is
 * right-aligned against `to`).
 *
 * @internal
 */
export function broadcastTo<A extends Arr>(
  x: A,
  from: readonly number[],
  to: readonly number[],
): A {
  const n = sizeOf(to);
  const out = allocLike(x, n);
  const rank = to.length;
  const lead = rank - from.length;
  // Strides of x in the output's index space (0 on broadcast axes).
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    strides[lead + i] = from[i] === 1 ? 0 : s;
    s *= from[i]!;
  }
  if (rank === 0) {
    out[0] = x[0]!;
    return out;
  }
  const inner = to[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < n; o += inner) {
    if (innerStride === 0) out.fill(x[src]!, o, o + inner);
    else if (innerStride === 1) out.set(x.subarray(src, src + inner), o);
    else for (let j = 0; j < inner; j++) out[o + j] = x[src + j * innerStride]!;
    // advance the outer index
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]!++;
      src += strides[ax]!;
      if (idx[ax]! < to[ax]!) break;
      src -= strides[ax]! * to[ax]!;
      idx[ax] = 0;
    }
  }
  return out;
}

/** Whether `b` (right-aligned, leading 1s ignored) equals the trailing dims of `out`. */
function isSuffix(b: readonly number[], out: readonly number[]): boolean {
  let i = 0;
  while (i < b.length && b[i] === 1) i++;
  const k = b.length - i;
  if (k === 0 || k > out.length) return false;
  for (let j = 0; j < k; j++) {
    if (b[i + j] !== out[out.length - k + j]) return false;
  }
  return true;
}

/** `o[r*m + j] = a[r*m + j] op b[j]` for every row r. */
function rowwise(
  op: "add" | "sub" | "mul" | "div",
  a: Arr,
  b: Arr,
  o: Arr,
  n: number,
  m: number,
): void {
  for (let base = 0; base < n; base += m) {
    switch (op) {
      case "add":
        for (let j = 0; j < m; j++) o[base + j] = a[base + j]! + b[j]!;
        break;
      case "sub":
        for (let j = 0; j < m; j++) o[base + j] = a[base + j]! - b[j]!;
        break;
      case "mul":
        for (let j = 0; j < m; j++) o[base + j] = a[base + j]! * b[j]!;
        break;
      case "div":
        for (let j = 0; j < m; j++) o[base + j] = a[base + j]! / b[j]!;
        break;
    }
  }
}

/**
 * A binary elementwise operation with NumPy broadcasting. Comparisons give 1
 * or 0. The result has the dtype `outInt ? int32 : float32`.
 *
 * @internal
 */
export function binary(
  op: BinaryOp,
  a: Arr,
  aShape: readonly number[],
  b: Arr,
  bShape: readonly number[],
  outShape: readonly number[],
  outInt: boolean,
): Arr {
  const n = sizeOf(outShape);
  const o = outInt ? new Int32Array(n) : new Float32Array(n);
  if (a.length === n && b.length === n) {
    same(op, a, b, o, n);
  } else if (a.length === n && b.length === 1) {
    withScalar(op, a, b[0]!, o, n, false);
  } else if (a.length === 1 && b.length === n) {
    withScalar(op, b, a[0]!, o, n, true);
  } else if (
    a.length === n && isSuffix(bShape, outShape) &&
    (op === "add" || op === "sub" || op === "mul" || op === "div")
  ) {
    // The common bias case: b repeats along the leading axes of a.
    rowwise(op, a, b, o, n, b.length);
  } else {
    const fa = a.length === n ? a : broadcastTo(a, aShape, outShape);
    const fb = b.length === n ? b : broadcastTo(b, bShape, outShape);
    same(op, fa, fb, o, n);
  }
  if (outInt && (op === "div" || op === "pow")) {
    for (let i = 0; i < n; i++) o[i] = Math.trunc(o[i]!);
  }
  return o;
}

/**
 * `g * (x > 0)` elementwise on arrays of the same length: the derivative of
 * relu applied to `g`, in one pass.
 *
 * @internal
 */
export function reluMask(g: Float32Array, x: Float32Array): Float32Array {
  const n = g.length;
  if (n >= WASM_MIN) {
    const r = runElementwiseJob(JOB_RELU_MASK, [], g, x, n, n, 256, 8 * n);
    if (r !== null) return r;
  }
  const o = new Float32Array(n);
  // Branch-free (a data-dependent branch costs 5x on activations of random
  // sign): keep g's bits where x > 0, else all zero bits (+0).
  const gi = bits(g), oi = bits(o);
  for (let i = 0; i < n; i++) oi[i] = gi[i]! & -(x[i]! > 0);
  return o;
}

/**
 * `relu(x + b)` with `b` repeating along the leading axes of `x` (a bias per
 * channel), in one pass: the sum is rounded to float32 and then masked, so
 * the result is exactly that of the bias add followed by relu.
 *
 * @internal
 */
export function biasRelu(x: Float32Array, b: Float32Array): Float32Array {
  const n = x.length, m = b.length;
  if (n >= WASM_MIN && m > 0 && m % 4 === 0) {
    const rows = n / m;
    const grain = Math.max(1, Math.ceil(256 / m));
    const r = runElementwiseJob(
      JOB_BIAS_RELU,
      [m],
      x,
      b,
      n,
      rows,
      grain,
      8 * n,
    );
    if (r !== null) return r;
  }
  const o = new Float32Array(n);
  const oi = bits(o);
  for (let base = 0; base < n; base += m) {
    for (let j = 0; j < m; j++) {
      const k = base + j;
      o[k] = x[k]! + b[j]!;
      oi[k] = oi[k]! & -(o[k]! > 0);
    }
  }
  return o;
}

/** The bits of a float array (same memory, no copy). */
function bits(a: Float32Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length);
}

/**
 * A unary elementwise operation.
 *
 * @internal
 */
export function unary(op: UnaryOp, x: Arr): Arr {
  const n = x.length;
  const o = x instanceof Int32Array ? new Int32Array(n) : new Float32Array(n);
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) o[i] = -x[i]!;
      break;
    case "exp":
      for (let i = 0; i < n; i++) o[i] = Math.exp(x[i]!);
      break;
    case "log":
      for (let i = 0; i < n; i++) o[i] = Math.log(x[i]!);
      break;
    case "sqrt":
      for (let i = 0; i < n; i++) o[i] = Math.sqrt(x[i]!);
      break;
    case "abs":
      for (let i = 0; i < n; i++) o[i] = Math.abs(x[i]!);
      break;
    case "sign":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        o[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
      }
      break;
    case "relu":
      if (x instanceof Float32Array && o instanceof Float32Array) {
        // Branch-free, as in reluMask: x's bits where x > 0 (NaN gives 0).
        const xi = bits(x), oi = bits(o);
        for (let i = 0; i < n; i++) oi[i] = xi[i]! & -(x[i]! > 0);
      } else {
        for (let i = 0; i < n; i++) {
          const v = x[i]!;
          o[i] = v > 0 ? v : 0;
        }
      }
      break;
    case "step":
      for (let i = 0; i < n; i++) o[i] = +(x[i]! > 0);
      break;
    case "sigmoid":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        // Stable on both sides: never exp of a large positive number.
        if (v >= 0) o[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          o[i] = e / (1 + e);
        }
      }
      break;
    case "tanh":
      for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i]!);
      break;
  }
  return o;
}

/**
 * `cond ? a : b` elementwise on arrays of the same length (`cond` nonzero is true).
 *
 * @internal
 */
export function select<A extends Arr>(cond: Arr, a: A, b: A): A {
  const n = cond.length;
  const o = allocLike(a, n);
  for (let i = 0; i < n; i++) o[i] = cond[i] !== 0 ? a[i]! : b[i]!;
  return o;
}

/** Converts between dtypes (float to int truncates toward zero). @internal */
export function cast(x: Arr, toInt: boolean): Arr {
  if (toInt) {
    const o = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) o[i] = Math.trunc(x[i]!);
    return o;
  }
  return Float32Array.from(x);
}

/**
 * Reduces the middle axis of `x` seen as `[outer, mid, inner]`: an array of
 * the same kind as `x`.
 *
 * @internal
 */
export function reduce<A extends Arr>(
  op: "sum" | "max",
  x: A,
  outer: number,
  mid: number,
  inner: number,
): A;
export function reduce(
  op: "sum" | "max",
  x: Arr,
  outer: number,
  mid: number,
  inner: number,
): Arr {
  const o = x instanceof Int32Array
    ? new Int32Array(outer * inner)
    : new Float32Array(outer * inner);
  if (op === "sum") {
    if (inner === 1) {
      for (let i = 0; i < outer; i++) {
        let s = 0;
        const base = i * mid;
        for (let j = 0; j < mid; j++) s += x[base + j]!;
        o[i] = s;
      }
      return o;
    }
    if (
      x instanceof Float32Array && inner % 4 === 0 && x.length >= WASM_MIN
    ) {
      // The same float64 sums, four columns at a time in WebAssembly.
      const r = stageRun([x], outer * inner, ([px], po) => {
        wasm().sumMid(px!, po, outer, mid, inner);
      });
      if (r !== null) return r;
    }
    // Accumulate in float64 rows for accuracy.
    const acc = new Float64Array(inner);
    for (let i = 0; i < outer; i++) {
      acc.fill(0);
      const base = i * mid * inner;
      for (let j = 0; j < mid; j++) {
        const row = base + j * inner;
        for (let k = 0; k < inner; k++) acc[k]! += x[row + k]!;
      }
      for (let k = 0; k < inner; k++) o[i * inner + k] = acc[k]!;
    }
    return o;
  }
  for (let i = 0; i < outer; i++) {
    const base = i * mid * inner;
    for (let k = 0; k < inner; k++) {
      let m = -Infinity;
      for (let j = 0; j < mid; j++) {
        const v = x[base + j * inner + k]!;
        if (v > m || v !== v) m = v;
        if (m !== m) break;
      }
      o[i * inner + k] = m;
    }
  }
  return o;
}

/**
 * Index of the largest value along the middle axis of `[outer, mid, inner]`
 * (the first one on ties).
 *
 * @internal
 */
export function argmax(
  x: Arr,
  outer: number,
  mid: number,
  inner: number,
): Int32Array {
  const o = new Int32Array(outer * inner);
  for (let i = 0; i < outer; i++) {
    const base = i * mid * inner;
    for (let k = 0; k < inner; k++) {
      let m = -Infinity, at = 0;
      for (let j = 0; j < mid; j++) {
        const v = x[base + j * inner + k]!;
        if (v > m) {
          m = v;
          at = j;
        }
      }
      o[i * inner + k] = at;
    }
  }
  return o;
}

/**
 * Permutes the axes of `x` (`out.shape[i] = shape[perm[i]]`).
 *
 * @internal
 */
export function transpose<A extends Arr>(
  x: A,
  shape: readonly number[],
  perm: readonly number[],
): A {
  const rank = shape.length;
  const n = x.length;
  const out = allocLike(x, n);
  if (rank === 0) {
    out[0] = x[0]!;
    return out;
  }
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const strides = perm.map((p) => inStrides[p]!);
  if (rank === 2) {
    const r = outShape[0]!, c = outShape[1]!;
    const s0 = strides[0]!, s1 = strides[1]!;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) out[i * c + j] = x[i * s0 + j * s1]!;
    }
    return out;
  }
  const inner = outShape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = x[src + j * innerStride]!;
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]!++;
      src += strides[ax]!;
      if (idx[ax]! < outShape[ax]!) break;
      src -= strides[ax]! * outShape[ax]!;
      idx[ax] = 0;
    }
  }
  return out;
}

/**
 * Rows of `x` (seen as `[rows, rowSize]`) picked by `indices`.
 *
 * @internal
 */
export function gatherRows<A extends Arr>(
  x: A,
  rowSize: number,
  indices: Int32Array,
): A {
  const n = indices.length * rowSize;
  const out = allocLike(x, n);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    out.set(x.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return out;
}

/**
 * The transpose of {@linkcode gatherRows}: adds each row of `y` into row
 * `indices[i]` of a zero `[rows, rowSize]` array.
 *
 * @internal
 */
export function scatterAddRows(
  y: Float32Array,
  rowSize: number,
  indices: Int32Array,
  rows: number,
): Float32Array {
  const out = new Float32Array(rows * rowSize);
  for (let i = 0; i < indices.length; i++) {
    const dst = indices[i]! * rowSize, src = i * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j]! += y[src + j]!;
  }
  return out;
}

/**
 * Copies the block `[start, start + len)` of axis `axis` from `x`, seen as
 * `[outer, dim, inner]`, or (when `pad` is true) the inverse: places `x` into
 * a zero array whose axis has size `dim`.
 *
 * @internal
 */
export function sliceAxis<A extends Arr>(
  x: A,
  outer: number,
  dim: number,
  inner: number,
  start: number,
  len: number,
  pad: boolean,
): A {
  const n = outer * (pad ? dim : len) * inner;
  const out = allocLike(x, n);
  for (let i = 0; i < outer; i++) {
    const big = (i * dim + start) * inner;
    const small = i * len * inner;
    if (pad) out.set(x.subarray(small, small + len * inner), big);
    else out.set(x.subarray(big, big + len * inner), small);
  }
  return out;
}

/**
 * One-hot rows: `out[i, labels[i]] = 1`.
 *
 * @internal
 */
export function oneHot(labels: Arr, depth: number): Float32Array {
  const out = new Float32Array(labels.length * depth);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l >= 0 && l < depth) out[i * depth + l] = 1;
  }
  return out;
}
