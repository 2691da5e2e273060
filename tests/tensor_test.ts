import { assertEquals, assertThrows } from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import { arange, eye, full, ones, type Tensor, tensor, zeros } from "../mod.ts";
import { deferredTensor, recipeOf } from "../src/tensor.ts";

Deno.test("tensor infers literal shapes from nested arrays", () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assertType<IsExact<typeof t, Tensor<[2, 3]>>>(true);
  assertType<IsExact<typeof t, Tensor<[2, 3], "float32">>>(true);
  assertEquals(t.shape, [2, 3]);
  assertEquals(t.rank, 2);
  assertEquals(t.size, 6);
  assertEquals(t.dtype, "float32");
  assertEquals(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  const s = tensor(5);
  assertType<IsExact<typeof s, Tensor<[], "float32">>>(true);
  assertEquals(s.item(), 5);
  assertEquals(s.shape, []);
  const cube = tensor([[[1], [2]], [[3], [4]]]);
  assertType<IsExact<typeof cube, Tensor<[2, 2, 1]>>>(true);
});

Deno.test("tensor from flat values and a shape; Int32Array gives int32", () => {
  const f = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
  assertType<IsExact<typeof f, Tensor<[3, 2], "float32">>>(true);
  assertEquals(f.toArray(), [[1, 2], [3, 4], [5, 6]]);
  const i = tensor(new Int32Array([7, 8]), [2]);
  assertType<IsExact<typeof i, Tensor<[2], "int32">>>(true);
  assertEquals(i.dtype, "int32");
  assertEquals(i.toFlat(), new Int32Array([7, 8]));
  const c = tensor([1.9, -1.9], [2], { dtype: "int32" });
  assertEquals(c.toArray(), [1, -1]);
});

Deno.test("tensors are immutable: inputs are copied and readers hand out copies", () => {
  const src = new Float32Array([1, 2, 3]);
  const t = tensor(src, [3]);
  src[0] = 100;
  assertEquals(t.toArray(), [1, 2, 3]);
  const flat = t.toFlat();
  flat[1] = 100;
  assertEquals(t.toArray(), [1, 2, 3]);
  const arr = t.toArray();
  arr[2] = 100;
  assertEquals(t.toArray(), [1, 2, 3]);
  assertThrows(() => {
    (t.shape as unknown as number[])[0] = 5;
  }, TypeError);
  assertEquals(t.shape, [3]);
});

Deno.test("constructors", () => {
  const z = zeros([2, 2]);
  assertType<IsExact<typeof z, Tensor<[2, 2], "float32">>>(true);
  assertEquals(z.toArray(), [[0, 0], [0, 0]]);
  assertEquals(
    ones([3], { dtype: "int32" }).toFlat(),
    new Int32Array([1, 1, 1]),
  );
  assertEquals(full([2], 2.5).toArray(), [2.5, 2.5]);
  assertEquals(arange(3).toArray(), [0, 1, 2]);
  assertEquals(arange(2, 5).toArray(), [2, 3, 4]);
  assertEquals(arange(5, 2, -1).toArray(), [5, 4, 3]);
  const e = eye(3);
  assertType<IsExact<typeof e, Tensor<[3, 3], "float32">>>(true);
  assertEquals(e.toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
});

Deno.test("constructor errors name the problem and the values", () => {
  assertThrows(
    () => tensor([1, 2, 3], [2, 2]),
    RangeError,
    "Expected 4 values for shape [2, 2] but found 3",
  );
  assertThrows(
    () => tensor([[1, 2], [3]] as number[][]),
    RangeError,
    "Expected an array of length 2 at [1] but found length 1: nested arrays must not be ragged",
  );
  assertThrows(
    () => zeros([2, -1]),
    RangeError,
    "Expected shape dims to be non-negative integers but found [2, -1]",
  );
  assertThrows(
    () => arange(0, 1, 0),
    RangeError,
    "Expected step to be a finite non-zero number but found 0",
  );
  assertThrows(
    () => tensor([1, 2]).item(),
    RangeError,
    "Expected a tensor with one element but found shape [2]",
  );
});

Deno.test("run-time checks for callers without types: dtype names and the int32 range", () => {
  // What plain JavaScript can pass: the types would reject these.
  const float64 = { dtype: "float64" } as unknown as { dtype: "float32" };
  assertThrows(
    () => tensor([1, 2], [2], float64),
    TypeError,
    'Expected dtype to be "float32" or "int32" but found "float64"',
  );
  assertThrows(
    () => zeros([2], float64),
    TypeError,
    'Expected dtype to be "float32" or "int32" but found "float64"',
  );
  assertThrows(
    () => full([2], 1, { dtype: 32 } as unknown as { dtype: "int32" }),
    TypeError,
    'Expected dtype to be "float32" or "int32" but found 32',
  );
  assertThrows(
    () => tensor([1, 2 ** 40], [2], { dtype: "int32" }),
    RangeError,
    "Expected int32 values in [-2147483648, 2147483647] but found 1099511627776 at index 1",
  );
  assertThrows(
    () => tensor([NaN], [1], { dtype: "int32" }),
    RangeError,
    "Expected int32 values in [-2147483648, 2147483647] but found NaN at index 0",
  );
  assertThrows(
    () => full([1], 2 ** 31, { dtype: "int32" }),
    RangeError,
    "Expected int32 values in [-2147483648, 2147483647] but found 2147483648",
  );
  // The ends of the range, and truncation toward zero inside it, still work.
  assertEquals(
    tensor([2 ** 31 - 1, -(2 ** 31), -2.7, 2147483647.9], [4], {
      dtype: "int32",
    })
      .toArray(),
    [2147483647, -2147483648, -2, 2147483647],
  );
  assertEquals(full([1], -(2 ** 31), { dtype: "int32" }).toArray(), [
    -(2 ** 31),
  ]);
});

Deno.test("toString shows shape, dtype and small values", () => {
  assertEquals(String(tensor([[1, 2]])), "Tensor<[1, 2], float32> [[1,2]]");
  assertEquals(String(zeros([100])), "Tensor<[100], float32>");
});

Deno.test("tensor(flat, shape) keeps the literal shape for every kind of flat input", () => {
  const i32 = tensor(new Int32Array(43), [43]);
  assertType<IsExact<typeof i32, Tensor<[43], "int32">>>(true);
  assertEquals([i32.shape, i32.dtype], [[43], "int32"]);
  const f32 = tensor(new Float32Array(6), [2, 3]);
  assertType<IsExact<typeof f32, Tensor<[2, 3], "float32">>>(true);
  assertEquals([f32.shape, f32.dtype], [[2, 3], "float32"]);
  const f64 = tensor(new Float64Array([1, 2]), [2, 1]);
  assertType<IsExact<typeof f64, Tensor<[2, 1], "float32">>>(true);
  assertEquals([f64.shape, f64.dtype], [[2, 1], "float32"]);
  const u8 = tensor(new Uint8Array([1, 2, 3]), [1, 3]);
  assertType<IsExact<typeof u8, Tensor<[1, 3], "float32">>>(true);
  assertEquals(u8.toArray(), [[1, 2, 3]]);
  const nums: number[] = [1, 2, 3, 4];
  const arr = tensor(nums, [2, 2]);
  assertType<IsExact<typeof arr, Tensor<[2, 2], "float32">>>(true);
  const ro: readonly number[] = [1, 2];
  const fromRo = tensor(ro, [2]);
  assertType<IsExact<typeof fromRo, Tensor<[2], "float32">>>(true);
  const scalar = tensor(new Float32Array([7]), []);
  assertType<IsExact<typeof scalar, Tensor<[], "float32">>>(true);
  assertEquals(scalar.item(), 7);
  // An explicit dtype wins over the kind of the input.
  const asInt = tensor([1, 2], [2], { dtype: "int32" });
  assertType<IsExact<typeof asInt, Tensor<[2], "int32">>>(true);
  assertEquals(asInt.dtype, "int32");
  // @ts-expect-error: an int32 tensor is not a float32 one
  const _notFloat: Tensor<[2], "float32"> = asInt;
  const asFloat = tensor(new Int32Array([1, 2]), [2], { dtype: "float32" });
  assertType<IsExact<typeof asFloat, Tensor<[2], "float32">>>(true);
  assertEquals(asFloat.dtype, "float32");
  // A shape known only at run time stays dynamic.
  const dims: number[] = [43];
  const dyn = tensor(new Int32Array(43), dims);
  assertType<IsExact<typeof dyn, Tensor<number[], "int32">>>(true);
  assertEquals(dyn.shape, [43]);
  // @ts-expect-error: a shape known only at run time is not the literal [43]
  const _notLiteral: Tensor<[43], "int32"> = dyn;
  // The literal dims make a wrong label count a compile error.
  const labels = tensor(new Int32Array(43), [43]);
  // @ts-expect-error: 43 labels are not 41
  const wrong: Tensor<[41], "int32"> = labels;
  assertEquals(wrong.shape, [43]);
  // The annotation of the variable does not choose the dtype: an Int32Array
  // without a dtype option is int32 whatever the left side says.
  // @ts-expect-error: an Int32Array gives int32, not float32
  const _annotated: Tensor<[2], "float32"> = tensor(new Int32Array(2), [2]);
  // Likewise zeros, ones and full are float32 unless their dtype option says.
  // @ts-expect-error: zeros without a dtype is float32
  const _z: Tensor<[2], "int32"> = zeros([2]);
  // @ts-expect-error: ones without a dtype is float32
  const _o: Tensor<[2], "int32"> = ones([2]);
  // @ts-expect-error: full without a dtype is float32
  const _f: Tensor<[2], "int32"> = full([2], 1);
  const zi: Tensor<[2], "int32"> = zeros([2], { dtype: "int32" });
  assertEquals(zi.dtype, "int32");
});

Deno.test("a deferred tensor is made once, on its first read; a failed make leaves it deferred", () => {
  let calls = 0;
  const recipe = { what: "test" };
  const t = deferredTensor([2], "float32", () => {
    calls++;
    if (calls === 1) throw new RangeError("no room");
    return new Float32Array([1, 2]);
  }, recipe);
  assertEquals(t.shape, [2]);
  assertEquals(recipeOf(t), recipe);
  assertThrows(() => t.toFlat(), RangeError, "no room");
  assertEquals(recipeOf(t), recipe);
  assertEquals(t.toArray(), [1, 2]);
  assertEquals(t.toFlat(), new Float32Array([1, 2]));
  assertEquals(calls, 2);
  assertEquals(recipeOf(t), undefined);
  const ints = deferredTensor([1], "int32", () => new Int32Array([7]), {});
  assertEquals(ints.item(), 7);
});
