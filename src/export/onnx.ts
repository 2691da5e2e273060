/**
 * ONNX export: stages a function of tensors and writes the program as an
 * ONNX ModelProto (opset 17), with the tensors it uses from outside as
 * initializers. Images stay NHWC at the model's edges; convolutions and
 * pools run in ONNX's NCHW between transposes, and chains of them share one
 * transpose in and one out.
 *
 * @module
 */

import {
  type AnyTensor,
  dataOf,
  dimOf,
  type DType,
  type Shape,
} from "../tensor.ts";
import * as lax from "../ops/lax.ts";
import type { Pool2dGeometry } from "../kernels/pool.ts";
import {
  booleanParam,
  convParams,
  matmulParams,
  numberParam,
  numbersParam,
  poolParams,
  reduceParams,
} from "../staging/params.ts";
import { signatureOf, stage } from "../staging/trace.ts";
import {
  type Equation,
  inputOf,
  lookup,
  type Program,
  type Var,
} from "../staging/ir.ts";
import { ProtoWriter } from "./protobuf.ts";

/** Options of {@linkcode exportOnnx}. */
export interface ExportOnnxOptions {
  /** Names of the graph inputs, one per tensor leaf of the arguments (default `input_0`, `input_1`, ...). */
  inputNames?: readonly string[];
  /** Names of the graph outputs, one per tensor leaf of the result (default `output_0`, ...). */
  outputNames?: readonly string[];
  /**
   * Makes the first dim of every input and output symbolic, with this name
   * (such as `"batch"`), so that the model runs on any batch size.
   */
  batchDim?: string;
  /** The graph's name (default `"tensa"`). */
  graphName?: string;
}

const OPSET = 17;
const IR_VERSION = 8;

// TensorProto.DataType
const FLOAT = 1, INT32 = 6, INT64 = 7, BOOL = 9;
const ONNX_DTYPE: Record<DType, number> = { float32: FLOAT, int32: INT32 };

type Attr =
  | { name: string; i: number }
  | { name: string; ints: readonly number[] }
  | { name: string; f: number };

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attr[];
}

interface Init {
  name: string;
  dims: readonly number[];
  type: number;
  raw: Uint8Array;
}

function rawOf(type: number, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const size = type === INT64 ? 8 : 4;
  const buf = new Uint8Array(n * size);
  const dv = new DataView(buf.buffer);
  for (const [i, v] of Array.from(values).entries()) {
    if (type === INT64) dv.setBigInt64(i * 8, BigInt(v), true);
    else if (type === FLOAT) dv.setFloat32(i * 4, v, true);
    else dv.setInt32(i * 4, v, true);
  }
  return buf;
}

/** The ONNX graph being built. */
class Graph {
  readonly nodes: Node[] = [];
  readonly inits = new Map<string, Init>();
  #n = 0;
  #consts = new Map<string, string>();

  fresh(prefix: string): string {
    return `${prefix}${this.#n++}`;
  }

  node(
    op: string,
    inputs: string[],
    attrs: Attr[] = [],
    output = this.fresh(`${op.toLowerCase()}_`),
  ): string {
    this.nodes.push({ op, inputs, outputs: [output], attrs });
    return output;
  }

  init(
    name: string,
    dims: readonly number[],
    type: number,
    values: ArrayLike<number>,
  ): string {
    this.inits.set(name, { name, dims, type, raw: rawOf(type, values) });
    return name;
  }

  /** A small constant (shared among nodes that use the same values). */
  const(
    type: number,
    values: readonly number[],
    dims: readonly number[] = [values.length],
  ): string {
    const key = `${type}:${dims.join(",")}:${values.join(",")}`;
    let name = this.#consts.get(key);
    if (name === undefined) {
      name = this.init(this.fresh("k"), dims, type, values);
      this.#consts.set(key, name);
    }
    return name;
  }

  ints(values: readonly number[]): string {
    return this.const(INT64, values);
  }
}

/** What an emitter sees of the program and the graph. */
class Ctx {
  readonly g = new Graph();
  readonly names = new Map<Var, string>();
  readonly constOf = new Map<Var, AnyTensor>();
  readonly producer = new Map<Var, Equation>();
  readonly uses = new Map<Var, number>();
  /** NCHW twins of NHWC values: the same data, already transposed. */
  readonly nchw = new Map<string, string>();
  readonly batched = new Set<Var>();
  constructor(readonly program: Program, readonly batch: number | undefined) {}

  name(v: Var): string {
    const n = this.names.get(v);
    if (n !== undefined) return n;
    const c = lookup(this.constOf, v, "value");
    const name = this.g.init(
      this.g.fresh("c"),
      c.shape,
      ONNX_DTYPE[c.dtype],
      dataOf(c),
    );
    this.names.set(v, name);
    return name;
  }

  /** The equation of primitive `prim` that writes `v`, if that is what writes it. */
  producedBy(v: Var | undefined, prim: string): Equation | undefined {
    const q = v === undefined ? undefined : this.producer.get(v);
    return q?.primitive === prim ? q : undefined;
  }

  /** The NCHW form of an NHWC value, reusing a twin when one exists. */
  toNCHW(name: string): string {
    const t = this.nchw.get(name);
    if (t !== undefined) return t;
    const out = this.g.node("Transpose", [name], [{
      name: "perm",
      ints: [0, 3, 1, 2],
    }]);
    this.nchw.set(name, out);
    return out;
  }

  /** The NHWC value of an NCHW result, remembering the twin. */
  fromNCHW(nchwName: string, out: string): string {
    this.g.node(
      "Transpose",
      [nchwName],
      [{ name: "perm", ints: [0, 2, 3, 1] }],
      out,
    );
    this.nchw.set(out, nchwName);
    return out;
  }

  /** A shape for a shape-taking node, with the batch dim left to the runtime. */
  shapeWithBatch(e: Equation, shape: Shape, copyCode: number): number[] {
    const s = [...shape];
    const batched = e.inputs.some((v) => this.batched.has(v));
    if (this.batch !== undefined && batched && s[0] === this.batch) {
      s[0] = copyCode;
    }
    return s;
  }
}

type Emitter = (ctx: Ctx, e: Equation, ins: string[], out: string) => void;

/** The name of input `i` of `e`, checked: a missing one is an internal error. */
function arg(e: Equation, ins: readonly string[], i: number): string {
  const name = ins[i];
  if (name === undefined) {
    throw new RangeError(
      `Internal error: expected ${e.primitive} to have an input ${i} but found ${ins.length} inputs`,
    );
  }
  return name;
}

const simple = (op: string): Emitter => (ctx, _e, ins, out) => {
  ctx.g.node(op, ins, [], out);
};

/** A unary op that commutes with layout: also applied to the NCHW twin. */
const unaryLayout = (op: string): Emitter => (ctx, e, ins, out) => {
  const x = arg(e, ins, 0);
  ctx.g.node(op, [x], [], out);
  const t = ctx.nchw.get(x);
  if (t !== undefined) ctx.nchw.set(out, ctx.g.node(op, [t]));
};

const compare = (op: string): Emitter => (ctx, _e, ins, out) => {
  const b = ctx.g.node(op, ins);
  ctx.g.node("Cast", [b], [{ name: "to", i: INT32 }], out);
};

/** The window attributes of a Conv (with its dilations) or a pool (without). */
function convAttrs(
  g: Pool2dGeometry,
  dilations?: readonly [number, number],
): Attr[] {
  const a: Attr[] = [
    { name: "kernel_shape", ints: [g.kh, g.kw] },
    { name: "strides", ints: [g.strideH, g.strideW] },
    { name: "pads", ints: [g.padTop, g.padLeft, g.padBottom, g.padRight] },
  ];
  if (dilations !== undefined) a.push({ name: "dilations", ints: dilations });
  return a;
}

/** `x - logSumExp(x)` as tensa builds it: the x and axis of a log-softmax, or null. */
function matchLogSoftmax(
  ctx: Ctx,
  e: Equation,
): { x: Var; axis: number } | null {
  const p = (v: Var | undefined, name: string) => ctx.producedBy(v, name);
  if (e.primitive !== "sub") return null;
  const [x, r] = e.inputs;
  if (x === undefined) return null;
  const add = p(r, "add");
  const log = p(add?.inputs[0], "log");
  const s = p(log?.inputs[0], "sum");
  const ex = p(s?.inputs[0], "exp");
  const d = p(ex?.inputs[0], "sub");
  const stop = p(d?.inputs[1], "stopGradient");
  const m = p(stop?.inputs[0], "max");
  if (!add || !s || !d || !stop || !m || m.inputs.length !== 1) return null;
  if (add.inputs[1] !== stop.outputs[0]) return null;
  if (d.inputs[0] !== x || m.inputs[0] !== x) return null;
  const sp = reduceParams(s.params, s.primitive);
  const mp = reduceParams(m.params, m.primitive);
  const [axis] = sp.axes;
  if (
    axis === undefined || sp.axes.length !== 1 || mp.axes.length !== 1 ||
    axis !== mp.axes[0]
  ) return null;
  return { x, axis };
}

/**
 * Batch norm at inference as tensa builds it, `(x - mean) / sqrt(var + eps)
 * * scale + offset` with constant per-channel statistics, as one
 * BatchNormalization node (on the NCHW form of an image). Returns false when
 * `e` does not end that pattern.
 */
function emitBatchNorm(ctx: Ctx, e: Equation, out: string): boolean {
  const p = (v: Var | undefined, name: string) => ctx.producedBy(v, name);
  const [eOut, offset] = e.inputs;
  const mul = p(eOut, "mul");
  const div = p(mul?.inputs[0], "div");
  const sub = p(div?.inputs[0], "sub");
  const sqrt = p(div?.inputs[1], "sqrt");
  const veps = p(sqrt?.inputs[0], "add");
  if (!mul || !div || !sub || !sqrt || !veps) return false;
  const [x, vMean] = sub.inputs, [vVar, vEps] = veps.inputs;
  const vScale = mul.inputs[1];
  if (x === undefined || vEps === undefined) return false;
  const rank = x.shape.length;
  const c = x.shape[rank - 1];
  const perChannel = (v: Var | undefined): v is Var =>
    v !== undefined && ctx.constOf.has(v) && v.shape.length === 1 &&
    v.shape[0] === c;
  const eps = ctx.constOf.get(vEps);
  const epsilon = eps?.size === 1 ? dataOf(eps).at(0) : undefined;
  if (
    !perChannel(vMean) || !perChannel(vVar) || !perChannel(vScale) ||
    !perChannel(offset) || epsilon === undefined ||
    (rank !== 2 && rank !== 4)
  ) {
    return false;
  }
  // Named in this order (mean, variance, scale, shift): initializers are numbered by it.
  const mean = ctx.name(vMean), variance = ctx.name(vVar);
  const scale = ctx.name(vScale), shift = ctx.name(offset);
  const attrs: Attr[] = [{ name: "epsilon", f: epsilon }];
  const inputs = [scale, shift, mean, variance];
  if (rank === 2) {
    ctx.g.node("BatchNormalization", [ctx.name(x), ...inputs], attrs, out);
  } else {
    const y = ctx.g.node(
      "BatchNormalization",
      [ctx.toNCHW(ctx.name(x)), ...inputs],
      attrs,
    );
    ctx.fromNCHW(y, out);
  }
  return true;
}

/** Whether a matmul equation reads no operand transposed. */
function isPlainProduct(params: unknown): boolean {
  const { transA, transB } = matmulParams(params, "matmul");
  return !transA && !transB;
}

const EMITTERS: Record<string, Emitter> = {
  add: (ctx, e, ins, out) => {
    if (emitBatchNorm(ctx, e, out)) return;
    // matmul + bias: one Gemm.
    const mm = ctx.producer.get(inputOf(e, 0));
    const bias = inputOf(e, 1);
    const [a, w] = mm?.inputs ?? [];
    if (
      mm?.primitive === "matmul" && isPlainProduct(mm.params) &&
      ctx.uses.get(mm.outputs[0]) === 1 &&
      a !== undefined && w !== undefined &&
      a.shape.length === 2 && w.shape.length === 2 &&
      bias.shape.length === 1
    ) {
      ctx.g.node(
        "Gemm",
        [ctx.name(a), ctx.name(w), arg(e, ins, 1)],
        [],
        out,
      );
      return;
    }
    ctx.g.node("Add", ins, [], out);
  },
  sub: (ctx, e, ins, out) => {
    const m = matchLogSoftmax(ctx, e);
    if (m !== null) {
      ctx.g.node(
        "LogSoftmax",
        [ctx.name(m.x)],
        [{ name: "axis", i: m.axis }],
        out,
      );
      return;
    }
    ctx.g.node("Sub", ins, [], out);
  },
  mul: simple("Mul"),
  div: (ctx, e, ins, out) => {
    // mean over H and W of an NHWC image: GlobalAveragePool.
    const s = ctx.producer.get(inputOf(e, 0));
    const c = ctx.constOf.get(inputOf(e, 1));
    const x = s?.inputs[0];
    const sp = s?.primitive === "sum"
      ? reduceParams(s.params, s.primitive)
      : undefined;
    if (
      sp !== undefined && x !== undefined && x.shape.length === 4 &&
      sp.axes.join() === "1,2" && !sp.keepDims && c !== undefined &&
      c.size === 1 &&
      dataOf(c)[0] === dimOf(x.shape, 1) * dimOf(x.shape, 2)
    ) {
      const pooled = ctx.g.node("GlobalAveragePool", [ctx.toNCHW(ctx.name(x))]);
      ctx.g.node("Flatten", [pooled], [{ name: "axis", i: 1 }], out);
      return;
    }
    ctx.g.node("Div", ins, [], out);
  },
  pow: simple("Pow"),
  min: simple("Min"),
  max: (ctx, e, ins, out) => {
    if (e.inputs.length === 2) {
      ctx.g.node("Max", ins, [], out);
      return;
    }
    const p = reduceParams(e.params, e.primitive);
    ctx.g.node("ReduceMax", ins, [
      { name: "axes", ints: p.axes },
      { name: "keepdims", i: p.keepDims ? 1 : 0 },
    ], out);
  },
  sum: (ctx, e, ins, out) => {
    const p = reduceParams(e.params, e.primitive);
    if (p.axes.length === 0) {
      ctx.g.node("Identity", ins, [], out);
      return;
    }
    ctx.g.node("ReduceSum", [arg(e, ins, 0), ctx.g.ints(p.axes)], [
      { name: "keepdims", i: p.keepDims ? 1 : 0 },
    ], out);
  },
  argmax: (ctx, e, ins, out) => {
    const a = ctx.g.node("ArgMax", ins, [
      { name: "axis", i: numberParam(e.params, "axis", e.primitive) },
      {
        name: "keepdims",
        i: booleanParam(e.params, "keepDims", e.primitive) ? 1 : 0,
      },
    ]);
    ctx.g.node("Cast", [a], [{ name: "to", i: INT32 }], out);
  },
  eq: compare("Equal"),
  gt: compare("Greater"),
  ge: compare("GreaterOrEqual"),
  lt: compare("Less"),
  le: compare("LessOrEqual"),
  ne: (ctx, _e, ins, out) => {
    const b = ctx.g.node("Not", [ctx.g.node("Equal", ins)]);
    ctx.g.node("Cast", [b], [{ name: "to", i: INT32 }], out);
  },
  where: (ctx, e, ins, out) => {
    const c = arg(e, ins, 0), a = arg(e, ins, 1), b = arg(e, ins, 2);
    const cond = ctx.g.node("Cast", [c], [{ name: "to", i: BOOL }]);
    ctx.g.node("Where", [cond, a, b], [], out);
  },
  neg: unaryLayout("Neg"),
  exp: (ctx, e, ins, out) => {
    const src = ctx.producer.get(inputOf(e, 0));
    const m = src === undefined ? null : matchLogSoftmax(ctx, src);
    if (m !== null) {
      ctx.g.node(
        "Softmax",
        [ctx.name(m.x)],
        [{ name: "axis", i: m.axis }],
        out,
      );
      return;
    }
    ctx.g.node("Exp", ins, [], out);
  },
  log: unaryLayout("Log"),
  sqrt: unaryLayout("Sqrt"),
  abs: unaryLayout("Abs"),
  sign: unaryLayout("Sign"),
  relu: unaryLayout("Relu"),
  sigmoid: unaryLayout("Sigmoid"),
  tanh: unaryLayout("Tanh"),
  stopGradient: unaryLayout("Identity"),
  step: (ctx, e, ins, out) => {
    const zero = ctx.g.const(ONNX_DTYPE[inputOf(e, 0).dtype], [0], []);
    const b = ctx.g.node("Greater", [arg(e, ins, 0), zero]);
    ctx.g.node("Cast", [b], [{
      name: "to",
      i: ONNX_DTYPE[e.outputs[0].dtype],
    }], out);
  },
  softmaxCrossEntropy: (ctx, e, ins, out) => {
    // -sum(t * logSoftmax(z)) / B
    const z = arg(e, ins, 0), t = arg(e, ins, 1);
    const b = dimOf(inputOf(e, 0).shape, 0);
    const lp = ctx.g.node("LogSoftmax", [z], [{ name: "axis", i: -1 }]);
    const s = ctx.g.node("ReduceSum", [
      ctx.g.node("Mul", [lp, t]),
      ctx.g.ints([0, 1]),
    ], [{ name: "keepdims", i: 0 }]);
    ctx.g.node(
      "Div",
      [
        ctx.g.node("Neg", [s]),
        ctx.g.const(FLOAT, [b], []),
      ],
      [],
      out,
    );
  },
  softmaxCrossEntropyGrad: (ctx, e, ins, out) => {
    // (softmax(z) * sum(t) - t) / B, sums over the classes
    const z = arg(e, ins, 0), t = arg(e, ins, 1);
    const b = dimOf(inputOf(e, 0).shape, 0);
    const sm = ctx.g.node("Softmax", [z], [{ name: "axis", i: -1 }]);
    const total = ctx.g.node("ReduceSum", [t, ctx.g.ints([1])], [
      { name: "keepdims", i: 1 },
    ]);
    ctx.g.node(
      "Div",
      [
        ctx.g.node("Sub", [ctx.g.node("Mul", [sm, total]), t]),
        ctx.g.const(FLOAT, [b], []),
      ],
      [],
      out,
    );
  },
  reluMask: (ctx, e, ins, out) => {
    const g = arg(e, ins, 0), x = arg(e, ins, 1);
    const zero = ctx.g.const(FLOAT, [0], []);
    const m = ctx.g.node("Cast", [ctx.g.node("Greater", [x, zero])], [{
      name: "to",
      i: FLOAT,
    }]);
    ctx.g.node("Mul", [g, m], [], out);
  },
  biasRelu: (ctx, e, ins, out) => {
    const x = arg(e, ins, 0), b = arg(e, ins, 1);
    ctx.g.node("Relu", [ctx.g.node("Add", [x, b])], [], out);
    const t = ctx.nchw.get(x);
    if (t !== undefined && inputOf(e, 0).shape.length === 4) {
      const c = dimOf(inputOf(e, 1).shape, 0);
      const bc = ctx.g.node("Reshape", [b, ctx.g.ints([c, 1, 1])]);
      ctx.nchw.set(out, ctx.g.node("Relu", [ctx.g.node("Add", [t, bc])]));
    }
  },
  matmul: (ctx, e, ins, out) => {
    // An operand read transposed (a derivative's product) gets a Transpose
    // of its last two axes first.
    const flags = matmulParams(e.params, e.primitive);
    const [a, b] = [arg(e, ins, 0), arg(e, ins, 1)];
    const swap = (name: string, i: number, t: boolean): string => {
      if (!t) return name;
      const r = inputOf(e, i).shape.length;
      const perm = [...Array(r).keys()];
      [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
      return ctx.g.node("Transpose", [name], [{ name: "perm", ints: perm }]);
    };
    ctx.g.node(
      "MatMul",
      [swap(a, 0, flags.transA), swap(b, 1, flags.transB)],
      [],
      out,
    );
  },
  conv2d: (ctx, e, ins, out) => {
    const x = arg(e, ins, 0), w = arg(e, ins, 1);
    const g = convParams(e.params, e.primitive);
    const wv = inputOf(e, 1);
    const c = ctx.constOf.get(wv);
    const perm = [3, 2, 0, 1];
    const wt = c !== undefined
      ? ctx.g.init(
        ctx.g.fresh("w"),
        perm.map((a) => dimOf(c.shape, a)),
        FLOAT,
        dataOf(lax.transpose(c, perm)),
      )
      : ctx.g.node("Transpose", [w], [{ name: "perm", ints: perm }]);
    const y = ctx.g.node(
      "Conv",
      [ctx.toNCHW(x), wt],
      convAttrs(g, [g.dilH, g.dilW]),
    );
    ctx.fromNCHW(y, out);
  },
  maxPool2d: (ctx, e, ins, out) => {
    const y = ctx.g.node(
      "MaxPool",
      [ctx.toNCHW(arg(e, ins, 0))],
      convAttrs(poolParams(e.params, e.primitive)),
    );
    ctx.fromNCHW(y, out);
  },
  avgPool2d: (ctx, e, ins, out) => {
    const y = ctx.g.node("AveragePool", [ctx.toNCHW(arg(e, ins, 0))], [
      ...convAttrs(poolParams(e.params, e.primitive)),
      { name: "count_include_pad", i: 0 },
    ]);
    ctx.fromNCHW(y, out);
  },
  reshape: (ctx, e, ins, out) => {
    const x = arg(e, ins, 0), v = inputOf(e, 0);
    const shape = ctx.shapeWithBatch(e, e.outputs[0].shape, 0);
    if (ctx.batch !== undefined && ctx.batched.has(v) && shape[0] !== 0) {
      throw new RangeError(
        `Cannot export a reshape of [${v.shape.join(", ")}] to [${
          e.outputs[0].shape.join(", ")
        }] with a symbolic batch dim: the reshape does not keep the batch dim first`,
      );
    }
    ctx.g.node("Reshape", [x, ctx.g.ints(shape)], [], out);
  },
  broadcastTo: (ctx, e, ins, out) => {
    ctx.g.node(
      "Expand",
      [
        arg(e, ins, 0),
        ctx.g.ints(ctx.shapeWithBatch(e, e.outputs[0].shape, 1)),
      ],
      [],
      out,
    );
  },
  transpose: (ctx, e, ins, out) => {
    ctx.g.node("Transpose", [arg(e, ins, 0)], [{
      name: "perm",
      ints: numbersParam(e.params, "perm", e.primitive),
    }], out);
  },
  slice: (ctx, e, ins, out) => {
    const x = arg(e, ins, 0);
    const num = (k: string) => numberParam(e.params, k, e.primitive);
    const p = { axis: num("axis"), start: num("start"), len: num("len") };
    batchAxisCheck(ctx, e, p.axis);
    ctx.g.node(
      "Slice",
      [
        x,
        ctx.g.ints([p.start]),
        ctx.g.ints([p.start + p.len]),
        ctx.g.ints([p.axis]),
      ],
      [],
      out,
    );
  },
  pad: (ctx, e, ins, out) => {
    const x = arg(e, ins, 0);
    const num = (k: string) => numberParam(e.params, k, e.primitive);
    const p = {
      axis: num("axis"),
      start: num("start"),
      len: num("len"),
      dim: num("dim"),
    };
    batchAxisCheck(ctx, e, p.axis);
    const r = inputOf(e, 0).shape.length;
    const pads = new Array<number>(2 * r).fill(0);
    pads[p.axis] = p.start;
    pads[r + p.axis] = p.dim - p.start - p.len;
    ctx.g.node("Pad", [x, ctx.g.ints(pads)], [], out);
  },
  concat: (ctx, e, ins, out) => {
    const axis = numberParam(e.params, "axis", e.primitive);
    batchAxisCheck(ctx, e, axis);
    ctx.g.node("Concat", ins, [{ name: "axis", i: axis }], out);
  },
  gather: (ctx, _e, ins, out) => {
    ctx.g.node("Gather", ins, [{ name: "axis", i: 0 }], out);
  },
  oneHot: (ctx, e, ins, out) => {
    const depth = numberParam(e.params, "depth", e.primitive);
    ctx.g.node("OneHot", [
      arg(e, ins, 0),
      ctx.g.const(FLOAT, [depth], []),
      ctx.g.const(FLOAT, [0, 1]),
    ], [
      { name: "axis", i: -1 },
    ], out);
  },
  cast: (ctx, e, ins, out) => {
    ctx.g.node("Cast", ins, [{
      name: "to",
      i: ONNX_DTYPE[e.outputs[0].dtype],
    }], out);
  },
};

function batchAxisCheck(ctx: Ctx, e: Equation, axis: number): void {
  if (
    ctx.batch !== undefined && axis === 0 &&
    e.inputs.some((v) => ctx.batched.has(v))
  ) {
    throw new RangeError(
      `Cannot export ${e.primitive} along axis 0 with a symbolic batch dim: axis 0 is the batch`,
    );
  }
}

/** Emits the nodes of a program (or of a custom-derivative function's body) whose inputs are named. */
function emitProgram(ctx: Ctx, program: Program): void {
  for (const c of program.constants) ctx.constOf.set(c.v, c.value);
  for (const e of program.equations) {
    for (const o of e.outputs) ctx.producer.set(o, e);
    for (const v of e.inputs) ctx.uses.set(v, (ctx.uses.get(v) ?? 0) + 1);
  }
  for (const v of program.outputs) ctx.uses.set(v, (ctx.uses.get(v) ?? 0) + 1);
  const batch = ctx.batch;
  for (const e of program.equations) {
    const out = e.outputs[0];
    const reducesBatch = e.primitive === "sum" &&
      numbersParam(e.params, "axes", e.primitive).includes(0);
    if (
      batch !== undefined && out.shape[0] === batch && !reducesBatch &&
      e.inputs.some((v) => ctx.batched.has(v))
    ) ctx.batched.add(out);
    if (e.body !== undefined) {
      // A function with a custom derivative: its forward, inline.
      e.body.inputs.forEach((v, i) => {
        const x = inputOf(e, i);
        ctx.names.set(v, ctx.name(x));
        if (ctx.batched.has(x)) ctx.batched.add(v);
      });
      emitProgram(ctx, e.body);
      const [result] = e.body.outputs;
      if (result === undefined) {
        throw new RangeError(
          `Internal error: the staged body of ${e.primitive} has no output`,
        );
      }
      ctx.names.set(out, ctx.name(result));
      continue;
    }
    const emit = Object.hasOwn(EMITTERS, e.primitive)
      ? EMITTERS[e.primitive]
      : undefined;
    if (emit === undefined) {
      throw new TypeError(
        `Cannot export the primitive ${e.primitive} to ONNX: it has no mapping (mapped: ${
          ONNX_MAPPED.join(", ")
        })`,
      );
    }
    const name = ctx.g.fresh("v");
    ctx.names.set(out, name);
    emit(ctx, e, e.inputs.map((v) => ctx.name(v)), name);
  }
}

/** The ONNX primitives `exportOnnx` maps, by tensa primitive name. @internal */
export const ONNX_MAPPED: readonly string[] = Object.keys(EMITTERS);

function valueInfo(
  name: string,
  v: Var,
  batchDim: string | undefined,
): ProtoWriter {
  const shape = new ProtoWriter();
  v.shape.forEach((d, i) => {
    const dim = new ProtoWriter();
    if (i === 0 && batchDim !== undefined) dim.string(2, batchDim);
    else dim.int(1, d);
    shape.message(1, dim);
  });
  const tensorType = new ProtoWriter().int(1, ONNX_DTYPE[v.dtype]).message(
    2,
    shape,
  );
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, type);
}

function attrProto(a: Attr): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  if ("i" in a) return w.int(3, a.i).int(20, 2);
  if ("f" in a) return w.float(2, a.f).int(20, 1);
  for (const x of a.ints) w.int(8, x);
  return w.int(20, 7);
}

function checkNames(
  what: string,
  names: readonly string[] | undefined,
  n: number,
): string[] {
  if (names === undefined) {
    return Array.from({ length: n }, (_, i) => `${what}_${i}`);
  }
  if (names.length !== n) {
    throw new RangeError(
      `Expected ${n} ${what} names (one per tensor) but found ${names.length}`,
    );
  }
  if (new Set(names).size !== n || names.some((s) => s.length === 0)) {
    throw new RangeError(
      `Expected distinct non-empty ${what} names but found [${
        names.join(", ")
      }]`,
    );
  }
  return [...names];
}

/** Each variable with its name (checked: one name per variable). */
function named(
  vars: readonly Var[],
  names: readonly string[],
): { v: Var; name: string }[] {
  return vars.map((v, i) => {
    const name = names[i];
    if (name === undefined) {
      throw new RangeError(
        `Internal error: expected ${vars.length} names but found ${names.length}`,
      );
    }
    return { v, name };
  });
}

/**
 * Exports a function of tensors as an ONNX model (a ModelProto at opset 17):
 * `f` is staged on arguments shaped like `exampleArgs`; the tensor leaves of
 * the arguments become the graph's inputs, the tensors `f` uses from outside
 * (weights) become initializers, and the tensor leaves of the result become
 * its outputs. Images stay NHWC: the model takes exactly what `f` takes.
 *
 * Mapped: the elementwise arithmetic and comparisons, Relu, Tanh, Sigmoid,
 * Exp, Log, Sqrt, Abs, Sign, MatMul (Gemm with a bias), Conv (stride,
 * padding, dilation), MaxPool, AveragePool, GlobalAveragePool, Softmax,
 * LogSoftmax, BatchNormalization (batch norm at inference), ReduceSum,
 * ReduceMax, ArgMax, Reshape, Flatten, Transpose, Expand, Concat, Slice, Pad,
 * Gather, OneHot, Cast and Where. Dropout at inference is the identity and
 * leaves no node.
 *
 * @param f The function, such as `(x) => model.apply(params, x)`.
 * @param exampleArgs Arguments of the shapes and dtypes the model takes.
 * @param options Input and output names, a symbolic batch dim, the graph name.
 * @returns The bytes of the `.onnx` file.
 * @throws {TypeError} If `f` uses a primitive that has no ONNX mapping (the message names it).
 * @throws {RangeError} If the names do not match the inputs or outputs, or the batch dim cannot be made symbolic.
 *
 * @example Exporting a small classifier
 * ```ts
 * import { exportOnnx, key, nn, zeros } from "@tensa/tensa";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const model = nn.sequential(nn.dense({ units: 3 }), nn.relu(), nn.dense({ units: 2 }));
 * const params = model.init(key(0), [4]);
 * const bytes = exportOnnx((x) => model.apply(params, x), [zeros([1, 4])], {
 *   inputNames: ["x"],
 *   outputNames: ["logits"],
 *   batchDim: "batch",
 * });
 * assertEquals(bytes[0], 0x08); // field 1 (ir_version), a varint
 * assert(bytes.length > 4 * (4 * 3 + 3 * 2)); // holds the weights
 * ```
 */
export function exportOnnx<A extends readonly unknown[]>(
  f: (...args: A) => unknown,
  exampleArgs: A,
  options: ExportOnnxOptions = {},
): Uint8Array {
  const program = stage(f, signatureOf(exampleArgs));
  return programToOnnx(program, options);
}

/** Writes a staged program as an ONNX model. @internal */
export function programToOnnx(
  program: Program,
  options: ExportOnnxOptions = {},
): Uint8Array {
  const inNames = checkNames(
    "input",
    options.inputNames,
    program.inputs.length,
  );
  const outNames = checkNames(
    "output",
    options.outputNames,
    program.outputs.length,
  );
  const batchDim = options.batchDim;
  let batch: number | undefined;
  if (batchDim !== undefined) {
    const firsts = [...program.inputs, ...program.outputs].map((v) =>
      v.shape[0]
    );
    batch = firsts[0];
    if (batch === undefined || firsts.some((d) => d !== batch)) {
      throw new RangeError(
        `Expected every input and output to have the same first (batch) dim for a symbolic batch dim but found [${
          firsts.map((d) => d ?? "scalar").join(", ")
        }]`,
      );
    }
  }
  const ctx = new Ctx(program, batch);
  const inputs = named(program.inputs, inNames);
  for (const { v, name } of inputs) {
    ctx.names.set(v, name);
    ctx.batched.add(v);
  }
  emitProgram(ctx, program);
  const internal = new Set([
    ...ctx.g.nodes.flatMap((n) => n.outputs),
    ...ctx.g.inits.keys(),
  ]);
  const clash = inNames.find((n) => internal.has(n)) ??
    outNames.find((n) => internal.has(n) || inNames.includes(n));
  if (clash !== undefined) {
    throw new RangeError(
      `Cannot name a graph input or output ${clash}: exportOnnx uses that name inside the graph; choose another`,
    );
  }
  const outputs = named(program.outputs, outNames).map(({ v, name }) => {
    ctx.g.node("Identity", [ctx.name(v)], [], name);
    return valueInfo(name, v, batchDim);
  });
  // Keep only the nodes and initializers the outputs need.
  const live = new Set(outNames);
  const kept: Node[] = [];
  for (const n of ctx.g.nodes.slice().reverse()) {
    if (!n.outputs.some((o) => live.has(o))) continue;
    kept.push(n);
    for (const x of n.inputs) live.add(x);
  }
  kept.reverse();
  const graph = new ProtoWriter();
  for (const n of kept) {
    const w = new ProtoWriter();
    for (const x of n.inputs) w.string(1, x);
    for (const x of n.outputs) w.string(2, x);
    w.string(4, n.op);
    for (const a of n.attrs) w.message(5, attrProto(a));
    graph.message(1, w);
  }
  graph.string(2, options.graphName ?? "tensa");
  for (const init of ctx.g.inits.values()) {
    if (!live.has(init.name)) continue;
    const t = new ProtoWriter();
    for (const d of init.dims) t.int(1, d);
    t.int(2, init.type).string(8, init.name).bytes(9, init.raw);
    graph.message(5, t);
  }
  for (const { v, name } of inputs) {
    graph.message(11, valueInfo(name, v, batchDim));
  }
  for (const o of outputs) graph.message(12, o);
  return new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, "tensa")
    .string(3, "0.1.0")
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, "").int(2, OPSET))
    .finish();
}
