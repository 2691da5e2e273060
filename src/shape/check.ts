/**
 * Shape rules at run time: the twins of the type-level rules in `rules.ts`.
 *
 * Each function `xShape(...)` returns the resulting shape as a plain array, or
 * throws a `RangeError` whose message is exactly the text of the
 * {@linkcode ShapeError} that the type `XShape<...>` resolves to for the same
 * literal shapes. Axes may be negative, counted from the end.
 *
 * @module
 */

import { dimOf, type DType, type Shape } from "../tensor.ts";
import { showShape } from "./errors.ts";
import type {
  Conv2dOptions,
  Padding2d,
  Pool2dOptions,
  Size2d,
} from "./rules.ts";

function sizeOf(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/**
 * The index in `[0, rank)` of an axis given as `-rank .. rank - 1`.
 *
 * @param s The shape the axis belongs to.
 * @param axis The axis, negative counted from the end.
 * @returns The non-negative axis index.
 * @throws {RangeError} If the axis is out of range or not an integer.
 */
export function normalizeAxis(s: Shape, axis: number): number {
  const r = s.length;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) {
    throw new RangeError(
      `Axis ${axis} is out of range for shape ${showShape(s)} of rank ${r}`,
    );
  }
  return axis < 0 ? axis + r : axis;
}

/**
 * The shape of an elementwise result under NumPy broadcasting: shapes are
 * aligned on the right and each pair of dims must be equal or contain a 1.
 *
 * @param a The first operand's shape.
 * @param b The second operand's shape.
 * @returns The broadcast shape.
 * @throws {RangeError} If a pair of dims differs and neither is 1.
 */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 1; i <= r; i++) {
    // A missing leading dim broadcasts like a 1.
    const x = a[a.length - i] ?? 1;
    const y = b[b.length - i] ?? 1;
    if (x === y || y === 1) out[r - i] = x;
    else if (x === 1) out[r - i] = y;
    else {
      throw new RangeError(
        `Cannot broadcast shapes ${showShape(a)} and ${
          showShape(b)
        }: dims ${x} and ${y} differ and neither is 1`,
      );
    }
  }
  return out;
}

/**
 * The shape of the matrix product of `a` (`[...batch, m, k]`) and `b`
 * (`[...batch, k, n]`): `[...broadcast batch, m, n]`.
 *
 * @param a The left operand's shape, rank 2 or more.
 * @param b The right operand's shape, rank 2 or more.
 * @returns The product's shape.
 * @throws {RangeError} If a rank is below 2, the inner dims differ or the batch dims do not broadcast.
 */
export function matmulShape(a: Shape, b: Shape): number[] {
  // Built only when a check fails (this runs on every call).
  const head = (): string =>
    `Cannot multiply matrices of shapes ${showShape(a)} and ${showShape(b)}`;
  if (a.length < 2 || b.length < 2) {
    throw new RangeError(`${head()}: both need rank 2 or more`);
  }
  const k1 = dimOf(a, -1);
  const k2 = dimOf(b, -2);
  if (k1 !== k2) {
    throw new RangeError(`${head()}: inner dimensions ${k1} and ${k2} differ`);
  }
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  return [...batch, dimOf(a, -2), dimOf(b, -1)];
}

/**
 * The shape of `s` with its axes permuted: dim `i` of the result is dim
 * `perm[i]` of `s`.
 *
 * @param s The input shape.
 * @param perm A permutation of the axes (negative counted from the end); reverses them when omitted.
 * @returns The permuted shape.
 * @throws {RangeError} If `perm` is not a permutation of the axes of `s`.
 */
export function transposeShape(s: Shape, perm?: Shape): number[] {
  if (perm === undefined) return [...s].reverse();
  const r = s.length;
  const seen = new Array<boolean>(r).fill(false);
  const out: number[] = [];
  let ok = perm.length === r;
  for (const p of perm) {
    if (!ok) break;
    const i = p < 0 ? p + r : p;
    if (!Number.isInteger(p) || i < 0 || i >= r || seen[i]) ok = false;
    else {
      seen[i] = true;
      out.push(dimOf(s, i));
    }
  }
  if (!ok) {
    throw new RangeError(
      `Cannot transpose shape ${showShape(s)} with permutation ${
        showShape(perm)
      }: it must list each axis from 0 to ${r - 1} exactly once`,
    );
  }
  return out;
}

/**
 * The target shape `t` of a reshape of `s`, with its one allowed -1 dim
 * replaced by the inferred size.
 *
 * @param s The input shape.
 * @param t The target shape, possibly with one -1.
 * @returns The target shape with the -1 filled in.
 * @throws {RangeError} If the element counts differ, more than one dim is -1 or a dim is invalid.
 */
export function reshapeShape(s: Shape, t: Shape): number[] {
  if (t.some((d) => d !== -1 && !(Number.isInteger(d) && d >= 0))) {
    throw new RangeError(
      `Cannot reshape ${showShape(s)} to ${
        showShape(t)
      }: dims must be non-negative integers or -1`,
    );
  }
  const free = t.filter((d) => d === -1).length;
  if (free > 1) {
    throw new RangeError(
      `Cannot reshape ${showShape(s)} to ${
        showShape(t)
      }: at most one dim may be -1`,
    );
  }
  const n = sizeOf(s);
  const m = sizeOf(t.filter((d) => d !== -1));
  const head = (): string =>
    `Cannot reshape ${showShape(s)} (${n} elements) to ${showShape(t)}`;
  if (free === 0) {
    if (n !== m) throw new RangeError(`${head()} (${m} elements)`);
    return [...t];
  }
  if (m === 0) {
    throw new RangeError(
      `${head()}: the -1 dim cannot be inferred when the other dims multiply to 0`,
    );
  }
  if (n % m !== 0) {
    throw new RangeError(`${head()}: ${n} is not divisible by ${m}`);
  }
  return t.map((d) => d === -1 ? n / m : d);
}

/**
 * The shape `[s0, product of the other dims]` (`[s0, 1]` for rank 1).
 *
 * @param s The input shape, rank 1 or more.
 * @returns The flattened shape.
 * @throws {RangeError} If `s` is a scalar shape.
 */
export function flattenShape(s: Shape): number[] {
  const [d0, ...rest] = s;
  if (d0 === undefined) {
    throw new RangeError(
      "Cannot flatten a scalar: flatten needs rank 1 or more",
    );
  }
  return [d0, sizeOf(rest)];
}

/**
 * The shape `s` without the axis `axis`, whose dim must be 1.
 *
 * @param s The input shape.
 * @param axis The axis to remove, negative counted from the end.
 * @returns The squeezed shape.
 * @throws {RangeError} If the axis is out of range or its dim is not 1.
 */
export function squeezeShape(s: Shape, axis: number): number[] {
  const i = normalizeAxis(s, axis);
  if (s[i] !== 1) {
    throw new RangeError(
      `Cannot squeeze axis ${axis} of shape ${showShape(s)}: its dim is ${
        s[i]
      }, not 1`,
    );
  }
  return s.filter((_, j) => j !== i);
}

/**
 * The shape `s` with a 1 inserted at axis `axis` of the result, which ranges
 * over `-rank - 1 .. rank` (-1 appends).
 *
 * @param s The input shape.
 * @param axis Where the new axis goes, negative counted from the end.
 * @returns The expanded shape.
 * @throws {RangeError} If the axis is out of range.
 */
export function expandDimsShape(s: Shape, axis: number): number[] {
  const r = s.length;
  if (!Number.isInteger(axis) || axis < -r - 1 || axis > r) {
    throw new RangeError(
      `Axis ${axis} is out of range for shape ${showShape(s)} of rank ${r}`,
    );
  }
  const i = axis < 0 ? axis + r + 1 : axis;
  return [...s.slice(0, i), 1, ...s.slice(i)];
}

/**
 * The shape of the concatenation of tensors of shapes `shapes` along `axis`:
 * all ranks equal, all dims equal except on `axis`, where they add up.
 *
 * @param shapes The shapes, at least one.
 * @param axis The axis to join along, negative counted from the end.
 * @returns The joined shape.
 * @throws {RangeError} If the list is empty, the axis is out of range, or the ranks or other dims differ.
 */
export function concatShape(shapes: readonly Shape[], axis: number): number[] {
  const [a, ...rest] = shapes;
  if (a === undefined) {
    throw new RangeError("Cannot concatenate an empty list of shapes");
  }
  const i = normalizeAxis(a, axis);
  const out = [...a];
  for (const b of rest) {
    if (b.length !== a.length) {
      throw new RangeError(
        `Cannot concatenate shapes ${showShape(a)} and ${
          showShape(b)
        }: ranks ${a.length} and ${b.length} differ`,
      );
    }
    for (let j = 0; j < a.length; j++) {
      if (j !== i && a[j] !== b[j]) {
        throw new RangeError(
          `Cannot concatenate shapes ${showShape(a)} and ${
            showShape(b)
          } along axis ${axis}: dims at axis ${j} are ${a[j]} and ${b[j]}`,
        );
      }
    }
    out[i] = dimOf(out, i) + dimOf(b, i);
  }
  return out;
}

/**
 * The shape of rows `start` (inclusive) to `end` (exclusive) of the first
 * axis of `s`: `[end - start, ...rest]`.
 *
 * @param s The input shape, rank 1 or more.
 * @param start The first row taken.
 * @param end One past the last row taken.
 * @returns The sliced shape.
 * @throws {RangeError} If `s` is a scalar shape or not `0 <= start <= end <= s[0]`.
 */
export function sliceShape(s: Shape, start: number, end: number): number[] {
  const [d0, ...rest] = s;
  if (d0 === undefined) {
    throw new RangeError("Cannot slice a scalar: slice needs rank 1 or more");
  }
  if (
    !Number.isInteger(start) || !Number.isInteger(end) || start < 0 ||
    start > end || end > d0
  ) {
    throw new RangeError(
      `Cannot slice rows ${start} to ${end} of shape ${
        showShape(s)
      }: need 0 <= start <= end <= ${d0}`,
    );
  }
  return [end - start, ...rest];
}

/**
 * The shape left after reducing `s` over `axis`: the reduced axes are
 * removed, or kept as 1 when `keepDims` is true.
 *
 * @param s The input shape.
 * @param axis One axis, a list of axes (negative counted from the end), or `undefined` for all axes.
 * @param keepDims Whether reduced axes stay as dims of size 1; defaults to false.
 * @returns The reduced shape.
 * @throws {RangeError} If an axis is out of range or listed twice.
 */
export function reduceShape(
  s: Shape,
  axis?: number | Shape,
  keepDims = false,
): number[] {
  const given: Shape = typeof axis === "number"
    ? [axis]
    : axis ?? s.map((_, i) => i);
  const listed = new Set<number>();
  for (const a of given.map((g) => normalizeAxis(s, g))) {
    if (listed.has(a)) {
      throw new RangeError(
        `Cannot reduce shape ${showShape(s)} over axes ${
          showShape(given)
        }: axis ${a} is listed twice`,
      );
    }
    listed.add(a);
  }
  const out: number[] = [];
  s.forEach((d, i) => {
    if (!listed.has(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/**
 * The padding `[before, after]` of one spatial axis under `"same"` padding
 * (TensorFlow convention): the output size is `ceil(inSize / stride)` and
 * the odd pixel, if any, goes after.
 *
 * @param inSize The input size along the axis.
 * @param k The kernel (or window) size along the axis.
 * @param s The stride.
 * @param d The dilation.
 * @returns The padding before and after.
 */
export function samePadding(
  inSize: number,
  k: number,
  s: number,
  d: number,
): [number, number] {
  const out = Math.ceil(inSize / s);
  const ek = d * (k - 1) + 1;
  const total = Math.max((out - 1) * s + ek - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Everything a 2-D convolution or pooling kernel needs to know about its geometry. */
export interface Conv2dGeometry {
  /** Batch size. */
  n: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Input channels. */
  c: number;
  /** Kernel (or window) height. */
  kh: number;
  /** Kernel (or window) width. */
  kw: number;
  /** Output channels (equal to `c` for pooling). */
  o: number;
  /** Output height. */
  outH: number;
  /** Output width. */
  outW: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Vertical dilation (1 for pooling). */
  dilH: number;
  /** Horizontal dilation (1 for pooling). */
  dilW: number;
  /** Rows of padding above. */
  padTop: number;
  /** Rows of padding below. */
  padBottom: number;
  /** Columns of padding on the left. */
  padLeft: number;
  /** Columns of padding on the right. */
  padRight: number;
}

function pairOption(name: string, v: Size2d): [number, number] {
  const pair: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  // Untyped callers may pass anything: every element is checked.
  for (const x of pair) {
    if (typeof x !== "number" || !Number.isInteger(x) || x <= 0) {
      throw new RangeError(
        `Expected ${name} to be a positive integer but found ${x}`,
      );
    }
  }
  return pair;
}

type Pads = [number, number, number, number];

/** Whether `p` is `[[top, bottom], [left, right]]` (untyped callers may pass anything). */
function isPadPairs(
  p: unknown,
): p is readonly [readonly [number, number], readonly [number, number]] {
  return Array.isArray(p) && p.length === 2 &&
    p.every((q) => Array.isArray(q) && q.length === 2);
}

/** `[top, bottom, left, right]`, or `"same"`. */
function padsOption(p: Padding2d): Pads | "same" {
  if (p === "same") return "same";
  if (p === "valid") return [0, 0, 0, 0];
  let pads: Pads;
  if (typeof p === "number") pads = [p, p, p, p];
  else if (isPadPairs(p)) {
    const [[top, bottom], [left, right]] = p;
    pads = [top, bottom, left, right];
  } else {
    throw new TypeError(
      `Expected padding to be "valid", "same", a number or [[top, bottom], [left, right]] but found ${
        JSON.stringify(p)
      }`,
    );
  }
  for (const x of pads) {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0) {
      throw new RangeError(
        `Expected padding to be non-negative integers but found ${x}`,
      );
    }
  }
  return pads;
}

/** Output size and padding of one spatial axis, or the padded size when the window does not fit. */
function axisGeometry(
  inSize: number,
  k: number,
  s: number,
  d: number,
  pads: readonly [number, number] | "same",
): { out: number; before: number; after: number } | {
  tooLarge: [number, number];
} {
  const [before, after] = pads === "same" ? samePadding(inSize, k, s, d) : pads;
  if (pads === "same") {
    return { out: Math.ceil(inSize / s), before, after };
  }
  const ek = d * (k - 1) + 1;
  const padded = inSize + before + after;
  if (ek > padded) return { tooLarge: [ek, padded] };
  return { out: Math.floor((padded - ek) / s) + 1, before, after };
}

/** Both spatial axes; `tooLarge` names the failing axis. */
function spatialGeometry(
  h: number,
  w: number,
  kh: number,
  kw: number,
  stride: [number, number],
  dil: [number, number],
  pads: Pads | "same",
  tooLarge: (axis: string, ek: number, padded: number) => never,
): Pick<
  Conv2dGeometry,
  "outH" | "outW" | "padTop" | "padBottom" | "padLeft" | "padRight"
> {
  const gh = axisGeometry(
    h,
    kh,
    stride[0],
    dil[0],
    pads === "same" ? "same" : [pads[0], pads[1]],
  );
  if ("tooLarge" in gh) return tooLarge("height", ...gh.tooLarge);
  const gw = axisGeometry(
    w,
    kw,
    stride[1],
    dil[1],
    pads === "same" ? "same" : [pads[2], pads[3]],
  );
  if ("tooLarge" in gw) return tooLarge("width", ...gw.tooLarge);
  return {
    outH: gh.out,
    outW: gw.out,
    padTop: gh.before,
    padBottom: gh.after,
    padLeft: gw.before,
    padRight: gw.after,
  };
}

/** The dims of a shape of rank 4, or `undefined` for another rank (the twin of `AsRank4`). */
function rank4(s: Shape): Pads | undefined {
  const [a, b, c, d, ...rest] = s;
  if (
    a === undefined || b === undefined || c === undefined || d === undefined ||
    rest.length > 0
  ) return undefined;
  return [a, b, c, d];
}

/** The dims of a pooling input, which must have rank 4. */
function poolInput(s: Shape): Pads {
  const x4 = rank4(s);
  if (x4 === undefined) {
    throw new RangeError(
      `Cannot pool input ${showShape(s)}: input must have rank 4 (NHWC)`,
    );
  }
  return x4;
}

/**
 * The geometry of a 2-D convolution of an NHWC input `[N, H, W, C]` with a
 * kernel `[kH, kW, C, O]`: sizes, strides, dilations, paddings and output size.
 *
 * @param xShape The input shape `[N, H, W, C]`.
 * @param wShape The kernel shape `[kH, kW, C, O]`.
 * @param opts Stride (default 1), padding (default `"valid"`) and dilation (default 1).
 * @returns The numbers a convolution kernel loops over.
 * @throws {RangeError} If a rank is not 4, an option is invalid, the channels differ or the kernel does not fit.
 */
export function conv2dGeometry(
  xShape: Shape,
  wShape: Shape,
  opts: Conv2dOptions = {},
): Conv2dGeometry {
  const head = (): string =>
    `Cannot convolve input ${showShape(xShape)} with kernel ${
      showShape(wShape)
    }`;
  const x4 = rank4(xShape), w4 = rank4(wShape);
  if (x4 === undefined || w4 === undefined) {
    throw new RangeError(
      `${head()}: input must have rank 4 (NHWC) and kernel rank 4 (kH, kW, in, out)`,
    );
  }
  const [n, h, w, c] = x4;
  const [kh, kw, c2, o] = w4;
  const stride = pairOption("stride", opts.stride ?? 1);
  const dil = pairOption("dilation", opts.dilation ?? 1);
  const pads = padsOption(opts.padding ?? "valid");
  if (c !== c2) {
    throw new RangeError(
      `${head()}: input channels ${c} and kernel in-channels ${c2} differ`,
    );
  }
  const spatial = spatialGeometry(
    h,
    w,
    kh,
    kw,
    stride,
    dil,
    pads,
    (axis, ek, padded) => {
      throw new RangeError(
        `${head()}: the dilated kernel ${axis} ${ek} exceeds the padded input ${axis} ${padded}`,
      );
    },
  );
  return {
    n,
    h,
    w,
    c,
    kh,
    kw,
    o,
    strideH: stride[0],
    strideW: stride[1],
    dilH: dil[0],
    dilW: dil[1],
    ...spatial,
  };
}

/**
 * The output shape `[N, outH, outW, O]` of a 2-D convolution of an NHWC input
 * with a kernel `[kH, kW, C, O]`.
 *
 * @param x The input shape `[N, H, W, C]`.
 * @param w The kernel shape `[kH, kW, C, O]`.
 * @param opts Stride (default 1), padding (default `"valid"`) and dilation (default 1).
 * @returns The output shape.
 * @throws {RangeError} If a rank is not 4, an option is invalid, the channels differ or the kernel does not fit.
 */
export function conv2dShape(
  x: Shape,
  w: Shape,
  opts: Conv2dOptions = {},
): number[] {
  const g = conv2dGeometry(x, w, opts);
  return [g.n, g.outH, g.outW, g.o];
}

/**
 * The geometry of a 2-D pooling of an NHWC input: as
 * {@linkcode conv2dGeometry} with `kh`/`kw` the window, `o = c` and dilation 1.
 *
 * @param xShape The input shape `[N, H, W, C]`.
 * @param opts Window size, stride (default: the window size) and padding (default `"valid"`).
 * @returns The numbers a pooling kernel loops over.
 * @throws {RangeError} If the rank is not 4, an option is invalid or the window does not fit.
 */
export function pool2dGeometry(
  xShape: Shape,
  opts: Pool2dOptions,
): Conv2dGeometry {
  const [n, h, w, c] = poolInput(xShape);
  const [kh, kw] = pairOption("size", opts.size);
  const stride = pairOption("stride", opts.stride ?? [kh, kw]);
  const pads = padsOption(opts.padding ?? "valid");
  const spatial = spatialGeometry(
    h,
    w,
    kh,
    kw,
    stride,
    [1, 1],
    pads,
    (axis, ek, padded) => {
      throw new RangeError(
        `Cannot pool input ${
          showShape(xShape)
        } with window ${kh}x${kw}: the window ${axis} ${ek} exceeds the padded input ${axis} ${padded}`,
      );
    },
  );
  return {
    n,
    h,
    w,
    c,
    kh,
    kw,
    o: c,
    strideH: stride[0],
    strideW: stride[1],
    dilH: 1,
    dilW: 1,
    ...spatial,
  };
}

/**
 * The output shape `[N, outH, outW, C]` of a 2-D pooling of an NHWC input.
 *
 * @param x The input shape `[N, H, W, C]`.
 * @param opts Window size, stride (default: the window size) and padding (default `"valid"`).
 * @returns The output shape.
 * @throws {RangeError} If the rank is not 4, an option is invalid or the window does not fit.
 */
export function pool2dShape(x: Shape, opts: Pool2dOptions): number[] {
  const g = pool2dGeometry(x, opts);
  return [g.n, g.outH, g.outW, g.c];
}

/**
 * The output shape `[N, C]` of a global average pooling of an NHWC input
 * (the mean over height and width).
 *
 * @param x The input shape `[N, H, W, C]`.
 * @returns The output shape.
 * @throws {RangeError} If the rank is not 4.
 */
export function globalPool2dShape(x: Shape): number[] {
  const [n, , , c] = poolInput(x);
  return [n, c];
}

/**
 * The shape of `x + bias` for a bias with one value per channel (the last
 * axis of `x`): the shape of `x`.
 *
 * @param x The input shape `[..., C]`.
 * @param bias The bias shape, which must be `[C]`.
 * @returns The shape of `x`.
 * @throws {RangeError} If `bias` is not `[C]` for the last dim `C` of `x`.
 */
export function biasAddShape(x: Shape, bias: Shape): number[] {
  const c = x[x.length - 1];
  if (bias.length !== 1 || c === undefined || bias[0] !== c) {
    throw new RangeError(
      `Cannot add a bias of shape ${showShape(bias)} to channels of ${
        showShape(x)
      }: expected [${c ?? "C"}]`,
    );
  }
  return [...x];
}

/**
 * The output shape `[B, units]` of a dense layer on an input `[B, features]`.
 *
 * @param s The input shape `[batch, features]`.
 * @param units The number of units.
 * @param inputs The feature count the layer was declared for, if any.
 * @returns The output shape.
 * @throws {RangeError} If `s` is not of rank 2 or its features differ from `inputs`.
 */
export function denseShape(s: Shape, units: number, inputs?: number): number[] {
  const [b, f, ...rest] = s;
  if (b === undefined || f === undefined || rest.length > 0) {
    throw new RangeError(
      `dense needs a rank-2 input [batch, features] but found ${
        showShape(s)
      }: add flatten() before it`,
    );
  }
  if (inputs !== undefined && inputs !== f) {
    throw new RangeError(
      `dense expects ${inputs} input features but found ${f}`,
    );
  }
  return [b, units];
}

/**
 * The shape of the cross-entropy between logits `[B, C]` and labels: int32
 * class indices `[B]` or float32 targets `[B, C]`. The loss is a scalar.
 *
 * @param logits The logits' shape `[batch, classes]`.
 * @param labels The labels' shape.
 * @param dtype The labels' dtype.
 * @returns The scalar shape `[]`.
 * @throws {RangeError} If the logits are not of rank 2 or the labels do not fit them.
 */
export function crossEntropyShape(
  logits: Shape,
  labels: Shape,
  dtype: DType,
): number[] {
  const [b, c, ...rest] = logits;
  if (b === undefined || c === undefined || rest.length > 0) {
    throw new RangeError(
      `Expected logits of rank 2 [batch, classes] but found shape ${
        showShape(logits)
      }`,
    );
  }
  const want = dtype === "int32" ? [b] : [b, c];
  if (
    labels.length !== want.length || labels.some((d, i) => d !== want[i])
  ) {
    throw new RangeError(
      `Expected ${dtype === "int32" ? "labels" : "targets"} of shape ${
        showShape(want)
      } for logits ${showShape(logits)} but found ${showShape(labels)}`,
    );
  }
  return [];
}
