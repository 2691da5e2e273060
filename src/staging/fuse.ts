/**
 * Fused elementwise kernels: a chain of elementwise primitives over one
 * iteration space, optionally ending in a sum or max over a block of axes,
 * computed in a single pass over memory. Each intermediate is rounded to
 * float32 (or wrapped to int32) exactly as the eager kernels store it, and
 * sums accumulate in float64 in the eager order, so a fused chain gives the
 * same bits as the eager one.
 *
 * Two executors share one description: a tile interpreter (each op runs its
 * own tight loop over a tile of values held in a typed array, so stores
 * round as eager's do and the tiles stay in cache; the default, and the
 * faster in V8 on the measured chains) and a generated JavaScript function
 * (one loop, every op inlined per element, rounded with `Math.fround`).
 *
 * @internal
 * @module
 */

import type { DType, Shape } from "../tensor.ts";
import { broadcastTo as broadcastKernel } from "../kernels/elementwise.ts";

type Arr = Float32Array | Int32Array;

/** Where an operand of a fused op comes from. @internal */
export type Operand =
  | { readonly kind: "temp"; readonly id: number }
  | { readonly kind: "ext"; readonly index: number };

/** One elementwise op of a fused chain. @internal */
export interface FusedOp {
  readonly prim: string;
  readonly ins: readonly Operand[];
  /** The temp it defines. */
  readonly out: number;
  readonly dtype: DType;
}

/** A fused chain. @internal */
export interface FusedSpec {
  /** The iteration space. */
  readonly shape: Shape;
  /** The inputs read from memory, each broadcast to `shape`. */
  readonly exts: readonly { readonly shape: Shape; readonly dtype: DType }[];
  readonly ops: readonly FusedOp[];
  /** Temps written out in full (shape `shape`). */
  readonly writes: readonly number[];
  /** A terminal reduction of one temp over a contiguous block of axes. */
  readonly reduce?: {
    readonly op: "sum" | "max";
    readonly temp: number;
    readonly axes: readonly number[];
  };
}

/** The elementwise primitives a chain may hold. @internal */
export const FUSIBLE: ReadonlySet<string> = new Set([
  "neg",
  "exp",
  "log",
  "sqrt",
  "abs",
  "sign",
  "step",
  "sigmoid",
  "tanh",
  "relu",
  "stopGradient",
  "reluMask",
  "biasRelu",
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "max",
  "min",
  "eq",
  "ne",
  "gt",
  "ge",
  "lt",
  "le",
  "where",
  "cast",
]);

function sizeOf(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/** How an input is indexed in the `[outer, inner]` loop. */
type Mode =
  | { kind: "i" }
  | { kind: "j" }
  | { kind: "o" }
  | { kind: "scalar" }
  | { kind: "block"; inner: number; mid: number }
  | { kind: "materialize" };

function modeOf(ext: Shape, s: Shape, split: number): Mode {
  const r = s.length;
  if (sizeOf(ext) === 1) return { kind: "scalar" };
  const e = [...new Array<number>(r - ext.length).fill(1), ...ext];
  const match = (d: number) => e[d] === s[d];
  const one = (d: number) => e[d] === 1 || s[d] === 1;
  const all = (from: number, to: number, f: (d: number) => boolean) => {
    for (let d = from; d < to; d++) if (!f(d)) return false;
    return true;
  };
  if (all(0, r, match)) return { kind: "i" };
  if (all(0, split, one) && all(split, r, match)) return { kind: "j" };
  if (all(0, split, match) && all(split, r, one)) return { kind: "o" };
  // One contiguous block of matching dims, ones elsewhere.
  let a = 0;
  while (a < r && one(a) && !(match(a) && s[a] !== 1)) a++;
  let b = a;
  while (b < r && match(b)) b++;
  if (all(b, r, one)) {
    return {
      kind: "block",
      inner: sizeOf(s.slice(b)),
      mid: sizeOf(s.slice(a, b)),
    };
  }
  return { kind: "materialize" };
}

/** The split point of the loop: the reduced trailing block, or the last axis. */
function splitOf(spec: FusedSpec): number {
  const r = spec.shape.length;
  const red = spec.reduce;
  if (red !== undefined) {
    const [a] = red.axes;
    if (a !== undefined && red.axes[red.axes.length - 1] === r - 1) return a;
  }
  return Math.max(0, r - 1);
}

/** The reduction's output size and how an element index maps to its slot. */
function reduceLayout(
  s: Shape,
  red: NonNullable<FusedSpec["reduce"]>,
): { size: number; inner: number; mid: number; trailing: boolean } {
  const a = red.axes[0] ?? 0, b = (red.axes[red.axes.length - 1] ?? -1) + 1;
  const inner = sizeOf(s.slice(b));
  const mid = red.axes.length === 0 ? 1 : sizeOf(s.slice(a, b));
  return {
    size: sizeOf(s) / mid,
    inner,
    mid,
    trailing: b === s.length && red.axes.length > 0,
  };
}

/** The JavaScript expression of one op (before rounding). */
function expr(prim: string, a: string[], dtype: DType): string {
  const [x, y, z] = a;
  switch (prim) {
    case "neg":
      return `-${x}`;
    case "exp":
    case "log":
    case "sqrt":
    case "abs":
    case "tanh":
      return `Math.${prim}(${x})`;
    case "sign":
      return `(${x} > 0 ? 1 : ${x} < 0 ? -1 : 0)`;
    case "step":
      return `(${x} > 0 ? 1 : 0)`;
    case "sigmoid":
      return `sigmoid(${x})`;
    case "relu":
      return `(${x} > 0 ? ${x} : 0)`;
    case "stopGradient":
      return `${x}`;
    case "reluMask":
      return `(${y} > 0 ? ${x} : 0)`;
    case "add":
      return `${x} + ${y}`;
    case "sub":
      return `${x} - ${y}`;
    case "mul":
      return `${x} * ${y}`;
    case "div":
      return `${x} / ${y}`;
    case "pow":
      return `Math.pow(${x}, ${y})`;
    case "max":
      return `(${x} >= ${y} ? ${x} : ${y})`;
    case "min":
      return `(${x} <= ${y} ? ${x} : ${y})`;
    case "eq":
      return `(${x} === ${y} ? 1 : 0)`;
    case "ne":
      return `(${x} !== ${y} ? 1 : 0)`;
    case "gt":
      return `(${x} > ${y} ? 1 : 0)`;
    case "ge":
      return `(${x} >= ${y} ? 1 : 0)`;
    case "lt":
      return `(${x} < ${y} ? 1 : 0)`;
    case "le":
      return `(${x} <= ${y} ? 1 : 0)`;
    case "where":
      return `(${x} !== 0 ? ${y} : ${z})`;
    case "cast":
      return dtype === "int32" ? `Math.trunc(${x})` : `${x}`;
  }
  throw new TypeError(`Cannot fuse the primitive ${prim}`);
}

/** Ops whose result is one of their operands or a small integer. */
const SELECTS = new Set([
  "neg",
  "abs",
  "sign",
  "step",
  "relu",
  "stopGradient",
  "reluMask",
  "max",
  "min",
  "eq",
  "ne",
  "gt",
  "ge",
  "lt",
  "le",
  "where",
]);

function rounded(prim: string, a: string[], dtype: DType): string {
  if (prim === "biasRelu") {
    return `relu32(Math.fround(${a[0]} + ${a[1]}))`;
  }
  const e = expr(prim, a, dtype);
  if (dtype === "int32") return `(${e}) | 0`;
  // A selection of float32 operands (or 0, 1, -1) needs no rounding.
  return SELECTS.has(prim) ? e : `Math.fround(${e})`;
}

function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

function relu32(v: number): number {
  return v > 0 ? v : 0;
}

/** A compiled fused chain: reads the inputs, writes the outputs. @internal */
export type FusedKernel = (
  exts: readonly Arr[],
  writes: readonly Arr[],
  reduced: Arr | null,
) => void;

/** Inputs whose broadcast pattern needs a copy first, materialized per call. */
function prepare(
  spec: FusedSpec,
  modes: readonly Mode[],
  exts: readonly Arr[],
): Arr[] {
  return exts.map((x, k) => {
    const mode = modes[k], ext = spec.exts[k];
    if (mode === undefined || ext === undefined) {
      throw new RangeError(
        `Internal error: expected ${spec.exts.length} inputs to a fused chain but found ${exts.length}`,
      );
    }
    return mode.kind === "materialize"
      ? broadcastKernel(x, ext.shape, spec.shape)
      : x;
  });
}

/**
 * Generates one JavaScript function for the chain: a loop over
 * `[outer, inner]` with every op inlined.
 *
 * @internal
 */
export function compileFused(spec: FusedSpec): FusedKernel {
  const s = spec.shape;
  const split = splitOf(spec);
  const outer = sizeOf(s.slice(0, split)), inner = sizeOf(s.slice(split));
  const modes = spec.exts.map((e) => modeOf(e.shape, s, split));
  const pre: string[] = [], row: string[] = [], body: string[] = [];
  const scalars: string[] = [];
  modes.forEach((m, k) => {
    const load = `x${k}`;
    switch (m.kind) {
      case "scalar":
        pre.push(`const ${load} = e${k}[0];`);
        scalars.push(load);
        break;
      case "o":
        row.push(`const ${load} = e${k}[o];`);
        break;
      case "j":
        body.push(`const ${load} = e${k}[j];`);
        break;
      case "block": {
        const q = m.inner === 1 ? "i" : `((i / ${m.inner}) | 0)`;
        body.push(`const ${load} = e${k}[${q} % ${m.mid}];`);
        break;
      }
      default:
        body.push(`const ${load} = e${k}[i];`);
    }
  });
  const name = (o: Operand) => (o.kind === "ext" ? `x${o.index}` : `t${o.id}`);
  for (const op of spec.ops) {
    body.push(
      `const t${op.out} = ${rounded(op.prim, op.ins.map(name), op.dtype)};`,
    );
  }
  spec.writes.forEach((t, w) => body.push(`w${w}[i] = t${t};`));
  const red = spec.reduce;
  const lay = red === undefined ? undefined : reduceLayout(s, red);
  const init = red?.op === "max" ? "-Infinity" : "0";
  if (red !== undefined && lay !== undefined) {
    const update = (acc: string) =>
      red.op === "sum"
        ? `${acc} += t${red.temp};`
        : `{ const v = t${red.temp}; if (v > ${acc} || v !== v) ${acc} = v; }`;
    if (lay.trailing) body.push(update("acc"));
    else {
      pre.push(`const A = new Float64Array(${lay.size}).fill(${init});`);
      const slot = lay.inner === 1
        ? `((i / ${lay.mid}) | 0)`
        : `((i / ${
          lay.mid * lay.inner
        }) | 0) * ${lay.inner} + i % ${lay.inner}`;
      body.push(update(`A[${slot}]`));
    }
  }
  const trailing = lay?.trailing === true;
  const arrays = [
    ...spec.exts.map((_, k) => `e${k}`),
    ...spec.writes.map((_, w) => `w${w}`),
    ...(lay !== undefined && !trailing ? ["A"] : []),
    ...scalars,
  ].join(", ");
  // The loop runs in a small function called once per chunk, so that V8
  // optimises it whole instead of by on-stack replacement.
  const part = [
    `function part(o, j0, j1, acc, ${arrays}) {`,
    ...row,
    `for (let j = j0; j < j1; j++) {`,
    `const i = o * ${inner} + j;`,
    ...body,
    "}",
    "return acc;",
    "}",
  ].join("\n");
  const chunk = Math.min(inner, CHUNK);
  const driver = [
    ...spec.exts.map((_, k) => `const e${k} = exts[${k}];`),
    ...spec.writes.map((_, w) => `const w${w} = writes[${w}];`),
    "const r = reduced;",
    ...pre,
    `for (let o = 0; o < ${outer}; o++) {`,
    `let acc = ${init};`,
    `for (let j0 = 0; j0 < ${inner}; j0 += ${chunk}) {`,
    `acc = part(o, j0, Math.min(${inner}, j0 + ${chunk}), acc, ${arrays});`,
    "}",
    trailing ? "r[o] = acc;" : "",
    "}",
    lay !== undefined && !trailing
      ? "for (let k = 0; k < A.length; k++) r[k] = A[k];"
      : "",
  ].join("\n");
  // Code generated at run time has no static type: its signature is asserted.
  const make = new Function(
    "sigmoid",
    "relu32",
    `${part}\nreturn function fused(exts, writes, reduced) {\n${driver}\n};`,
  ) as (
    s: typeof sigmoid,
    r: typeof relu32,
  ) => FusedKernel;
  const kernel = make(sigmoid, relu32);
  if (!modes.some((m) => m.kind === "materialize")) return kernel;
  return (exts, writes, reduced) =>
    kernel(prepare(spec, modes, exts), writes, reduced);
}

/** Elements per call of a generated chunk function. */
const CHUNK = 4096;

// ------------------------------------------------------- tile interpreter

const TILE = 1024;

/** A tile of a temp: its values and, for float32, the same memory as bits. */
interface Tile {
  readonly dtype: DType;
  readonly v: Arr;
  readonly bits: Int32Array;
}

function newTile(dtype: DType): Tile {
  const v = dtype === "int32" ? new Int32Array(TILE) : new Float32Array(TILE);
  return { dtype, v, bits: new Int32Array(v.buffer) };
}

function unaryTile(
  prim: string,
  a: Arr,
  ao: number,
  o: Tile,
  len: number,
): void {
  const v = o.v;
  switch (prim) {
    case "neg":
      for (let q = 0; q < len; q++) v[q] = -a[ao + q]!;
      return;
    case "exp":
      for (let q = 0; q < len; q++) v[q] = Math.exp(a[ao + q]!);
      return;
    case "log":
      for (let q = 0; q < len; q++) v[q] = Math.log(a[ao + q]!);
      return;
    case "sqrt":
      for (let q = 0; q < len; q++) v[q] = Math.sqrt(a[ao + q]!);
      return;
    case "abs":
      for (let q = 0; q < len; q++) v[q] = Math.abs(a[ao + q]!);
      return;
    case "tanh":
      for (let q = 0; q < len; q++) v[q] = Math.tanh(a[ao + q]!);
      return;
    case "sign":
      for (let q = 0; q < len; q++) {
        const x = a[ao + q]!;
        v[q] = x > 0 ? 1 : x < 0 ? -1 : 0;
      }
      return;
    case "step":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q]! > 0);
      return;
    case "sigmoid":
      for (let q = 0; q < len; q++) v[q] = sigmoid(a[ao + q]!);
      return;
    case "relu":
      if (v instanceof Float32Array) {
        // Branch-free, as the eager kernel: the bits where positive, else +0.
        for (let q = 0; q < len; q++) v[q] = a[ao + q]!;
        const b = o.bits;
        for (let q = 0; q < len; q++) b[q] = b[q]! & -(v[q]! > 0);
      } else for (let q = 0; q < len; q++) v[q] = relu32(a[ao + q]!);
      return;
    case "stopGradient":
      for (let q = 0; q < len; q++) v[q] = a[ao + q]!;
      return;
  }
  throw new TypeError(`Cannot fuse the primitive ${prim}`);
}

function binaryTile(
  prim: string,
  a: Arr,
  ao: number,
  b: Arr,
  bo: number,
  o: Tile,
  len: number,
): void {
  const v = o.v;
  switch (prim) {
    case "add":
      for (let q = 0; q < len; q++) v[q] = a[ao + q]! + b[bo + q]!;
      return;
    case "sub":
      for (let q = 0; q < len; q++) v[q] = a[ao + q]! - b[bo + q]!;
      return;
    case "mul":
      for (let q = 0; q < len; q++) v[q] = a[ao + q]! * b[bo + q]!;
      return;
    case "div":
      for (let q = 0; q < len; q++) v[q] = a[ao + q]! / b[bo + q]!;
      return;
    case "pow":
      for (let q = 0; q < len; q++) v[q] = Math.pow(a[ao + q]!, b[bo + q]!);
      return;
    case "max":
      for (let q = 0; q < len; q++) {
        const x = a[ao + q]!, y = b[bo + q]!;
        v[q] = x >= y ? x : y;
      }
      return;
    case "min":
      for (let q = 0; q < len; q++) {
        const x = a[ao + q]!, y = b[bo + q]!;
        v[q] = x <= y ? x : y;
      }
      return;
    case "eq":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q] === b[bo + q]);
      return;
    case "ne":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q] !== b[bo + q]);
      return;
    case "gt":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q]! > b[bo + q]!);
      return;
    case "ge":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q]! >= b[bo + q]!);
      return;
    case "lt":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q]! < b[bo + q]!);
      return;
    case "le":
      for (let q = 0; q < len; q++) v[q] = +(a[ao + q]! <= b[bo + q]!);
      return;
    case "reluMask": {
      for (let q = 0; q < len; q++) v[q] = a[ao + q]!;
      const bits = o.bits;
      for (let q = 0; q < len; q++) bits[q] = bits[q]! & -(b[bo + q]! > 0);
      return;
    }
    case "biasRelu": {
      for (let q = 0; q < len; q++) v[q] = a[ao + q]! + b[bo + q]!;
      const bits = o.bits;
      for (let q = 0; q < len; q++) bits[q] = bits[q]! & -(v[q]! > 0);
      return;
    }
  }
  throw new TypeError(`Cannot fuse the primitive ${prim}`);
}

/**
 * Interprets the chain tile by tile: each op runs the loop of its eager
 * kernel over a tile held in a typed array (so it rounds as eager does),
 * and intermediates stay in cache instead of going to memory.
 *
 * @internal
 */
export function interpretFused(spec: FusedSpec): FusedKernel {
  const s = spec.shape;
  const n = sizeOf(s);
  // Tiles are shared by temps whose lives do not overlap, to stay in cache.
  const lastUse = new Map<number, number>();
  spec.ops.forEach((op, k) => {
    for (const o of op.ins) if (o.kind === "temp") lastUse.set(o.id, k);
  });
  for (const t of spec.writes) lastUse.set(t, Infinity);
  if (spec.reduce !== undefined) lastUse.set(spec.reduce.temp, Infinity);
  const temps = new Map<number, Tile>();
  const free: Record<DType, Tile[]> = { float32: [], int32: [] };
  spec.ops.forEach((op, k) => {
    temps.set(op.out, free[op.dtype].pop() ?? newTile(op.dtype));
    for (const o of op.ins) {
      if (o.kind === "temp" && lastUse.get(o.id) === k) {
        const t = tempOf(temps, o.id);
        free[t.dtype].push(t);
        lastUse.delete(o.id);
      }
    }
  });
  // Inputs are read in full (or as one value); other patterns are copied out first.
  const modes: Mode[] = spec.exts.map((e) =>
    sizeOf(e.shape) === 1
      ? { kind: "scalar" }
      : sizeOf(e.shape) === n
      ? { kind: "i" }
      : { kind: "materialize" }
  );
  // Each input's source: its values this call and the offset of this tile in them.
  const sources: Source[] = spec.exts.map((e, k) => {
    const tile = newTile(e.dtype).v;
    return { scalar: modes[k]?.kind === "scalar", tile, arr: tile, off: 0 };
  });
  const read = (o: Operand): Tile | Source => {
    if (o.kind === "temp") return tempOf(temps, o.id);
    const src = sources[o.index];
    if (src === undefined) {
      throw new RangeError(
        `Internal error: a fused op reads input ${o.index} of ${sources.length}`,
      );
    }
    return src;
  };
  const steps = spec.ops.map((op) => stepOf(op, tempOf(temps, op.out), read));
  const writeTiles = spec.writes.map((t) => tempOf(temps, t));
  const red = spec.reduce;
  const reduce = red === undefined ? undefined : {
    op: red.op,
    src: tempOf(temps, red.temp).v,
    lay: reduceLayout(s, red),
  };
  return (exts0, writes, reduced) => {
    const exts = prepare(spec, modes, exts0);
    exts.forEach((x, k) => {
      const src = sources[k];
      if (src === undefined) return;
      src.arr = x;
      if (src.scalar) src.tile.fill(x[0] ?? 0);
    });
    const acc = reduce === undefined
      ? null
      : new Float64Array(reduce.lay.size).fill(
        reduce.op === "sum" ? 0 : -Infinity,
      );
    for (let start = 0; start < n; start += TILE) {
      const len = Math.min(TILE, n - start);
      for (const src of sources) src.off = src.scalar ? 0 : start;
      for (const st of steps) {
        const out = st.out;
        const [a, ao] = operand(st.a);
        if (st.kind === "where") {
          const [b, bo] = operand(st.b), [c, co] = operand(st.c);
          const v = out.v;
          for (let q = 0; q < len; q++) {
            v[q] = a[ao + q] !== 0 ? b[bo + q]! : c[co + q]!;
          }
        } else if (st.kind === "cast") {
          const v = out.v;
          if (st.dtype === "int32") {
            for (let q = 0; q < len; q++) v[q] = Math.trunc(a[ao + q]!);
          } else for (let q = 0; q < len; q++) v[q] = a[ao + q]!;
        } else if (st.kind === "binary") {
          const [b, bo] = operand(st.b);
          binaryTile(st.prim, a, ao, b, bo, out, len);
        } else unaryTile(st.prim, a, ao, out, len);
      }
      for (const [w, t] of writeTiles.entries()) {
        const dst = writes[w];
        if (dst === undefined) throw missingOutput(writeTiles.length, writes);
        dst.set(t.v.subarray(0, len), start);
      }
      if (acc !== null && reduce !== undefined) {
        const { src, lay: l } = reduce, block = l.mid * l.inner;
        for (let q = 0; q < len; q++) {
          const i = start + q;
          const slot = Math.floor(i / block) * l.inner + (i % l.inner);
          const v = src[q]!;
          if (reduce.op === "sum") acc[slot]! += v;
          else if (v > acc[slot]! || v !== v) acc[slot] = v;
        }
      }
    }
    if (acc !== null) {
      if (reduced === null) {
        throw new RangeError(
          "Internal error: a fused chain with a reduction was given no output for it",
        );
      }
      reduced.set(acc);
    }
  };
}

function missingOutput(n: number, writes: readonly Arr[]): RangeError {
  return new RangeError(
    `Internal error: expected ${n} outputs of a fused chain but found ${writes.length}`,
  );
}

/** An input of a fused chain as the interpreter reads it. */
interface Source {
  readonly scalar: boolean;
  /** The input's one value, repeated over a tile (for a scalar input). */
  readonly tile: Arr;
  /** The input's values, this call. */
  arr: Arr;
  /** Where this tile starts in `arr`. */
  off: number;
}

/** A fused op with its operands resolved, checked for its arity once. */
type TileStep =
  | { kind: "unary"; prim: string; out: Tile; a: Tile | Source }
  | {
    kind: "binary";
    prim: string;
    out: Tile;
    a: Tile | Source;
    b: Tile | Source;
  }
  | {
    kind: "where";
    out: Tile;
    a: Tile | Source;
    b: Tile | Source;
    c: Tile | Source;
  }
  | { kind: "cast"; dtype: DType; out: Tile; a: Tile | Source };

function stepOf(
  op: FusedOp,
  out: Tile,
  read: (o: Operand) => Tile | Source,
): TileStep {
  const [a, b, c] = op.ins.map(read);
  if (a === undefined) {
    throw new RangeError(`Internal error: a fused ${op.prim} has no input`);
  }
  if (op.prim === "where") {
    if (b === undefined || c === undefined) {
      throw new RangeError(
        `Internal error: a fused where needs 3 inputs but found ${op.ins.length}`,
      );
    }
    return { kind: "where", out, a, b, c };
  }
  if (op.prim === "cast") return { kind: "cast", dtype: op.dtype, out, a };
  if (op.ins.length === 2 && b !== undefined) {
    return { kind: "binary", prim: op.prim, out, a, b };
  }
  return { kind: "unary", prim: op.prim, out, a };
}

/** The values of an operand and the offset of this tile in them. */
function operand(x: Tile | Source): [Arr, number] {
  if ("v" in x) return [x.v, 0];
  return x.scalar ? [x.tile, 0] : [x.arr, x.off];
}

/** A temp's tile, checked: every temp is defined by an op of the chain. */
function tempOf(m: ReadonlyMap<number, Tile>, id: number): Tile {
  const t = m.get(id);
  if (t === undefined) {
    throw new RangeError(
      `Internal error: temp ${id} is not defined by the fused chain`,
    );
  }
  return t;
}
