/**
 * The immutable tensor value and its constructors.
 *
 * A tensor is a shape, a dtype and a flat row-major buffer that nothing outside
 * this module can reach: readers hand out copies, and no method mutates.
 *
 * @module
 */

/** A dimension: a number literal (checked at compile time) or `number` (checked at run time). */
export type Dim = number;

/** A shape: a readonly tuple of dimensions. */
export type Shape = readonly Dim[];

/** The element types a tensor can hold: `"float32"` for values, `"int32"` for labels and indices. */
export type DType = "float32" | "int32";

/** The typed array that holds a tensor of dtype `D`. */
export type DataOf<D extends DType> = D extends "int32" ? Int32Array
  : Float32Array;

/** Nested arrays of numbers as returned by {@linkcode Tensor.toArray} for shape `S`. */
export type NestedArray<S extends Shape> = number extends S["length"]
  ? number | unknown[]
  : S extends readonly [] ? number
  : S extends readonly [Dim, ...infer R extends Shape] ? NestedArray<R>[]
  : unknown[];

/** Anything {@linkcode tensor} accepts as a nested literal. */
export type NestedInput = number | readonly NestedInput[];

/** The shape of a nested array literal, as a tuple of literal lengths. */
export type ShapeOfNested<T> = T extends number ? []
  : T extends readonly [] ? [0]
  : T extends readonly [infer H, ...unknown[]]
    ? [T["length"], ...ShapeOfNested<H>]
  : T extends readonly (infer E)[] ? [number, ...ShapeOfNested<E>]
  : never;

/** A shape tuple with `readonly` removed: `readonly [2, 3]` becomes `[2, 3]`. */
export type Mutable<S extends Shape> = { -readonly [K in keyof S]: S[K] };

/** A tensor of any shape and dtype. */
export type AnyTensor = Tensor<Shape, DType>;

let makeTensor: <S extends Shape, D extends DType>(
  shape: S,
  dtype: D,
  data: DataOf<D> | undefined,
) => Tensor<S, D>;
let readData: <D extends DType>(t: Tensor<Shape, D>) => DataOf<D>;

/**
 * An immutable n-dimensional array with a statically typed shape `S` and dtype `D`.
 *
 * Build tensors with {@linkcode tensor}, {@linkcode zeros}, {@linkcode ones},
 * {@linkcode full}, {@linkcode arange} or {@linkcode eye}; combine them with
 * the functions of this library. Tensors are plain garbage-collected values:
 * there is nothing to dispose.
 *
 * @typeParam S The shape, a readonly tuple of dims.
 * @typeParam D The dtype.
 *
 * @example Reading a tensor
 * ```ts
 * import { tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = tensor([[1, 2, 3], [4, 5, 6]]);
 * assertEquals(t.shape, [2, 3]);
 * assertEquals(t.rank, 2);
 * assertEquals(t.size, 6);
 * assertEquals(t.dtype, "float32");
 * assertEquals(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
 * ```
 */
export class Tensor<
  out S extends Shape = Shape,
  out D extends DType = "float32",
> {
  /** The dimensions, outermost first. */
  readonly shape: S;
  /** The element type. */
  readonly dtype: D;
  #data: DataOf<D> | undefined;

  static {
    makeTensor = (shape, dtype, data) => {
      const t = new Tensor(shape, dtype);
      t.#data = data;
      return t;
    };
    readData = (t) => {
      const c = t.concrete();
      if (c.#data === undefined) {
        const later = deferred.get(c);
        if (later === undefined) {
          throw new TypeError("Expected a concrete tensor but found a tracer");
        }
        // Made once; the recipe goes with the first read (and stays if
        // making fails, so that a later read tries again).
        const data = later.make();
        if (!sameKind(data, c.dtype)) {
          throw new TypeError(
            `Expected ${c.dtype} values from a deferred tensor of shape [${c.shape}]`,
          );
        }
        deferred.delete(c);
        c.#data = data;
      }
      return c.#data;
    };
  }

  /**
   * Creates the shell of a tensor; values are attached by the library.
   * Users build tensors with {@linkcode tensor} and friends.
   *
   * @param shape The dimensions.
   * @param dtype The element type.
   */
  protected constructor(shape: S, dtype: D) {
    // A frozen copy of the tuple: TypeScript types the copy of a generic
    // tuple as `readonly [...S]`, which it does not relate back to `S`.
    this.shape = Object.freeze([...shape]) as unknown as S;
    this.dtype = dtype;
  }

  /**
   * The tensor that holds this tensor's values: itself, or for a traced
   * tensor the value it stands for.
   *
   * @returns A tensor with data.
   */
  protected concrete(): Tensor<S, D> {
    return this;
  }

  /** The number of dimensions. */
  get rank(): S["length"] {
    return this.shape.length;
  }

  /** The number of elements (the product of the dims; 1 for a scalar). */
  get size(): number {
    return sizeOf(this.shape);
  }

  /**
   * A fresh copy of the values, flat and row-major.
   *
   * @returns A new Float32Array or Int32Array; changing it does not change the tensor.
   */
  toFlat(): DataOf<D>;
  toFlat(): Float32Array | Int32Array {
    return readData(this).slice();
  }

  /**
   * The values as nested arrays of numbers.
   *
   * @returns Nested arrays with the tensor's shape; a number for a scalar.
   */
  toArray<T extends Shape>(this: Tensor<T, DType>): NestedArray<T>;
  toArray(this: AnyTensor): unknown {
    const data = readData(this);
    const shape = this.shape;
    type Nested = number | Nested[];
    const build = (axis: number, offset: number): Nested => {
      const n = shape[axis];
      if (n === undefined) {
        const v = data[offset];
        if (v === undefined) {
          throw new RangeError(
            `Expected a value at offset ${offset} but found ${data.length} values`,
          );
        }
        return v;
      }
      const stride = sizeOf(shape.slice(axis + 1));
      const out: Nested[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = build(axis + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }

  /**
   * The single value of a tensor with one element.
   *
   * @returns The value as a number.
   * @throws {RangeError} If the tensor has more or fewer than one element.
   */
  item(): number {
    const v = this.size === 1 ? readData(this)[0] : undefined;
    if (v === undefined) {
      throw new RangeError(
        `Expected a tensor with one element but found shape [${
          this.shape.join(", ")
        }]`,
      );
    }
    return v;
  }

  /**
   * A short description with the shape, dtype and (for small tensors) values.
   *
   * @returns Text such as `Tensor<[2, 2], float32> [[1, 2], [3, 4]]`.
   */
  toString(): string {
    const head = `Tensor<[${this.shape.join(", ")}], ${this.dtype}>`;
    if (this.size > 64) return head;
    try {
      return `${head} ${JSON.stringify(this.toArray())}`;
    } catch {
      return head;
    }
  }
}

/**
 * The number of elements of a shape.
 *
 * @param shape The dims.
 * @returns Their product (1 for the empty shape).
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Internal: wraps a typed array (owned from now on) as a tensor. Not exported from mod.ts. */
export function fromData<S extends Shape, D extends DType>(
  shape: S,
  dtype: D,
  data: DataOf<D>,
): Tensor<S, D> {
  return makeTensor(shape, dtype, data);
}

/** How a deferred tensor makes its values, and what they are. */
interface Deferred {
  readonly make: () => Float32Array | Int32Array;
  readonly recipe: object;
}

/** The tensors whose values are not made yet. */
const deferred = new WeakMap<AnyTensor, Deferred>();

function sameKind<D extends DType>(
  data: Float32Array | Int32Array,
  dtype: D,
): data is DataOf<D> {
  return dtype === "int32"
    ? data instanceof Int32Array
    : data instanceof Float32Array;
}

/**
 * Internal: a tensor whose values `make` computes on their first read (by
 * any kernel or method); until then {@linkcode recipeOf} returns `recipe`,
 * so that a kernel that can use the values without making them (a max pool
 * fused with the convolution that makes its input) may. Tensors are
 * immutable, so when the values are made does not change them.
 */
export function deferredTensor<S extends Shape, D extends DType>(
  shape: S,
  dtype: D,
  make: () => DataOf<D>,
  recipe: object,
): Tensor<S, D> {
  const t = makeTensor<S, D>(shape, dtype, undefined);
  deferred.set(t, { make, recipe });
  return t;
}

/** Internal: the recipe of a deferred tensor whose values are not made yet. */
export function recipeOf(t: AnyTensor): object | undefined {
  return deferred.get(t)?.recipe;
}

/** Internal: the values of a tensor (or of the value a tracer stands for). Never mutate. */
export function dataOf<D extends DType>(t: Tensor<Shape, D>): DataOf<D> {
  return readData(t);
}

/**
 * Internal: the float32 values of a tensor, for kernels. Throws if the tensor
 * holds int32 (a checked read, not a cast). Never mutate.
 */
export function floatsOf(t: AnyTensor): Float32Array {
  const d = readData(t);
  if (!(d instanceof Float32Array)) {
    throw new TypeError(
      `Expected a float32 tensor but found ${t.dtype} of shape [${t.shape}]`,
    );
  }
  return d;
}

/** Internal: the int32 values of a tensor; throws if it holds float32. Never mutate. */
export function intsOf(t: AnyTensor): Int32Array {
  const d = readData(t);
  if (!(d instanceof Int32Array)) {
    throw new TypeError(
      `Expected an int32 tensor but found ${t.dtype} of shape [${t.shape}]`,
    );
  }
  return d;
}

/**
 * Internal: whether a tensor holds float32 values (a type guard for untyped
 * code that must hand a float32 tensor on).
 */
export function isFloat32(t: AnyTensor): t is Tensor<Shape, "float32"> {
  return t.dtype === "float32";
}

/**
 * Internal: dim `i` of a shape (negative counts from the end), with a clear
 * error instead of `undefined` when the shape has no such axis.
 */
export function dimOf(shape: Shape, i: number): number {
  const d = shape[i < 0 ? shape.length + i : i];
  if (d === undefined) {
    throw new RangeError(
      `Expected a shape with an axis ${i} but found [${shape}] (rank ${shape.length})`,
    );
  }
  return d;
}

function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `Expected ${what} dims to be non-negative integers but found [${
          shape.join(", ")
        }]`,
      );
    }
  }
}

/**
 * Internal: checks at run time that `dtype` is one of the dtypes (callers
 * from plain JavaScript can pass anything).
 *
 * @param dtype The value given as a dtype.
 * @param what Where it was given, for the message.
 * @returns The dtype.
 * @throws {TypeError} If it is not `"float32"` or `"int32"`.
 */
export function checkDType(dtype: unknown, what = "dtype"): DType {
  if (dtype !== "float32" && dtype !== "int32") {
    throw new TypeError(
      `Expected ${what} to be "float32" or "int32" but found ${
        typeof dtype === "string" ? `"${dtype}"` : String(dtype)
      }`,
    );
  }
  return dtype;
}

const INT32_MIN = -(2 ** 31), INT32_LIMIT = 2 ** 31;

/** Throws unless `v` truncates to a 32-bit signed integer. */
function checkInt32(v: number, where: string): void {
  // Truncation toward zero keeps (-2^31 - 1, 2^31) in range.
  if (!(v > INT32_MIN - 1 && v < INT32_LIMIT)) {
    throw new RangeError(
      `Expected int32 values in [-2147483648, 2147483647] but found ${v}${where}`,
    );
  }
}

function dtypeOfInput(data: unknown, dtype: unknown): DType {
  if (dtype !== undefined) return checkDType(dtype);
  return data instanceof Int32Array ? "int32" : "float32";
}

function allocate<D extends DType>(dtype: D, n: number): DataOf<D>;
function allocate(dtype: DType, n: number): Float32Array | Int32Array {
  return dtype === "int32" ? new Int32Array(n) : new Float32Array(n);
}

/** Options of the tensor constructors. */
export interface DTypeOptions<D extends DType> {
  /** The element type; defaults to `"float32"` (or `"int32"` for an Int32Array). */
  dtype?: D;
}

/** The dtype a flat input implies when none is given. */
export type DTypeOfFlat<T> = T extends Int32Array ? "int32" : "float32";

/**
 * Makes a tensor from a nested array literal (the shape is inferred, as
 * literal dims) or from flat values and a shape.
 *
 * The values are copied: changing the input afterwards does not change the
 * tensor. An Int32Array gives an int32 tensor; anything else float32 unless
 * `dtype` says otherwise (int32 values are truncated toward zero).
 *
 * @param values Nested arrays, or flat values when `shape` is given.
 * @param shape The shape of flat values.
 * @param options The dtype.
 * @returns The new tensor.
 * @throws {RangeError} If nested rows are ragged, the flat length differs from the shape's size, or an int32 value is outside [-2^31, 2^31 - 1] (or not a number).
 * @throws {TypeError} If `dtype` is neither `"float32"` nor `"int32"`.
 *
 * @example From nested arrays
 * ```ts
 * import { tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = tensor([[1, 2, 3], [4, 5, 6]]); // Tensor<[2, 3]>
 * assertEquals(t.shape, [2, 3]);
 * ```
 *
 * @example From flat values and a shape
 * ```ts
 * import { tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const labels = tensor(new Int32Array([3, 1, 4]), [3]);
 * assertEquals(labels.dtype, "int32");
 * assertEquals(labels.toArray(), [3, 1, 4]);
 * ```
 */
export function tensor<const T extends NestedInput>(
  values: T,
): Tensor<ShapeOfNested<T>, "float32">;
/**
 * Makes a tensor from flat values (an array or typed array, copied) and a shape.
 *
 * @param values The values, row-major; as many as the shape's size.
 * @param shape The dims.
 * @param options The dtype (default: int32 for an Int32Array, else float32).
 * @returns The new tensor.
 * @throws {RangeError} If the number of values differs from the shape's size, or an int32 value is outside [-2^31, 2^31 - 1] (or not a number).
 * @throws {TypeError} If `dtype` is neither `"float32"` nor `"int32"`.
 *
 * @example
 * ```ts
 * import { tensor } from "@tensa/tensa";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(tensor([1, 2, 3, 4], [2, 2]).toArray(), [[1, 2], [3, 4]]);
 * assertThrows(() => tensor([2 ** 40], [1], { dtype: "int32" }), RangeError);
 * ```
 */
export function tensor<
  const S extends Shape,
  F extends ArrayLike<number>,
  D extends DType = DTypeOfFlat<F>,
>(
  values: F,
  shape: S,
  options?: DTypeOptions<D>,
): Tensor<Mutable<S>, NoInfer<D>>;
export function tensor(
  values: NestedInput | ArrayLike<number>,
  shape?: Shape,
  options?: DTypeOptions<DType>,
): AnyTensor {
  if (shape !== undefined) {
    checkShape(shape, "shape");
    const n = sizeOf(shape);
    if (
      typeof values !== "object" || values === null || values.length !== n
    ) {
      const len = typeof values === "object" && values !== null
        ? values.length
        : "a number";
      throw new RangeError(
        `Expected ${n} values for shape [${shape.join(", ")}] but found ${len}`,
      );
    }
    const dtype = dtypeOfInput(values, options?.dtype);
    const data = allocate(dtype, n);
    // Number(v) is the conversion a typed array applies when it stores v.
    if (dtype === "int32" && !(values instanceof Int32Array)) {
      for (let i = 0; i < n; i++) {
        checkInt32(Number(values[i]), ` at index ${i}`);
      }
    }
    for (let i = 0; i < n; i++) data[i] = Number(values[i]);
    return fromData(shape, dtype, data);
  }
  const dims: number[] = [];
  let probe: unknown = values;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const data = new Float32Array(sizeOf(dims));
  let k = 0;
  const walk = (v: unknown, axis: number, path: string): void => {
    if (axis === dims.length) {
      if (typeof v !== "number") {
        throw new RangeError(
          `Expected a number at ${path || "the top"} but found an array`,
        );
      }
      data[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[axis]) {
      const found = Array.isArray(v) ? `length ${v.length}` : "a number";
      throw new RangeError(
        `Expected an array of length ${dims[axis]} at ${
          path || "the top"
        } but found ${found}: nested arrays must not be ragged`,
      );
    }
    v.forEach((c: unknown, i) => walk(c, axis + 1, `${path}[${i}]`));
  };
  walk(values, 0, "");
  return fromData(dims, "float32", data);
}

/**
 * A tensor of the given shape filled with `value`.
 *
 * @param shape The dims.
 * @param value The fill value.
 * @param options The dtype (float32 by default).
 * @returns The new tensor.
 * @throws {TypeError} If `dtype` is neither `"float32"` nor `"int32"`.
 * @throws {RangeError} If the dtype is int32 and `value` is outside [-2^31, 2^31 - 1] (or not a number).
 *
 * @example
 * ```ts
 * import { full } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(full([2, 2], 7).toArray(), [[7, 7], [7, 7]]);
 * ```
 */
export function full<const S extends Shape, D extends DType = "float32">(
  shape: S,
  value: number,
  options?: DTypeOptions<D>,
): Tensor<Mutable<S>, NoInfer<D>>;
export function full(
  shape: Shape,
  value: number,
  options?: DTypeOptions<DType>,
): AnyTensor {
  checkShape(shape, "shape");
  const dtype = checkDType(options?.dtype ?? "float32");
  if (dtype === "int32") checkInt32(value, "");
  const data = allocate(dtype, sizeOf(shape));
  if (value !== 0) data.fill(value);
  return fromData(shape, dtype, data);
}

/**
 * A tensor of zeros.
 *
 * @param shape The dims.
 * @param options The dtype (float32 by default).
 * @returns The new tensor.
 *
 * @example
 * ```ts
 * import { zeros } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(zeros([3]).toArray(), [0, 0, 0]);
 * ```
 */
export function zeros<const S extends Shape, D extends DType = "float32">(
  shape: S,
  options?: DTypeOptions<D>,
): Tensor<Mutable<S>, NoInfer<D>> {
  return full(shape, 0, options);
}

/**
 * A tensor of ones.
 *
 * @param shape The dims.
 * @param options The dtype (float32 by default).
 * @returns The new tensor.
 *
 * @example
 * ```ts
 * import { ones } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(ones([2]).toArray(), [1, 1]);
 * ```
 */
export function ones<const S extends Shape, D extends DType = "float32">(
  shape: S,
  options?: DTypeOptions<D>,
): Tensor<Mutable<S>, NoInfer<D>> {
  return full(shape, 1, options);
}

/**
 * The numbers `start, start + step, ...` below `stop`, as a 1-D tensor.
 * With one argument, `arange(n)` is `0, 1, ..., n - 1`.
 *
 * @param start The first value (or the stop when it is the only argument).
 * @param stop The bound, excluded.
 * @param step The increment, not zero.
 * @returns A 1-D float32 tensor.
 * @throws {RangeError} If `step` is zero or not finite.
 *
 * @example
 * ```ts
 * import { arange } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(arange(4).toArray(), [0, 1, 2, 3]);
 * assertEquals(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
 * ```
 */
export function arange(
  start: number,
  stop?: number,
  step = 1,
): Tensor<[number], "float32"> {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(
      `Expected step to be a finite non-zero number but found ${step}`,
    );
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  const dims: [number] = [n];
  return fromData(dims, "float32", data);
}

/**
 * The `n` by `n` identity matrix.
 *
 * @param n The size.
 * @returns A float32 tensor of shape `[n, n]`.
 *
 * @example
 * ```ts
 * import { eye } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const i = eye(2); // Tensor<[2, 2]>
 * assertEquals(i.toArray(), [[1, 0], [0, 1]]);
 * ```
 */
export function eye<const N extends number>(n: N): Tensor<[N, N], "float32"> {
  checkShape([n], "eye");
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  const dims: [N, N] = [n, n];
  return fromData(dims, "float32", data);
}

/** Internal: a fresh zero-filled typed array of the dtype. */
export function allocData<D extends DType>(dtype: D, n: number): DataOf<D> {
  return allocate(dtype, n);
}
