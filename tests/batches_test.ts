import { assertEquals, assertThrows } from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import { batches, type Tensor, tensor, zeros } from "../mod.ts";

// Five examples of shape [2, 2]; example i holds i*10 + 0..3, label 100 + i.
const n = 5;
const x = tensor(
  Float32Array.from(
    { length: n * 4 },
    (_, k) => Math.floor(k / 4) * 10 + k % 4,
  ),
  [n, 2, 2],
);
const y = tensor(Int32Array.from({ length: n }, (_, i) => 100 + i), [n]);

Deno.test("batches in order by default, last batch smaller, index counts up", () => {
  const got = [...batches(x, y, 2)];
  assertEquals(got.map((b) => b.index), [0, 1, 2]);
  assertEquals(got.map((b) => b.x.shape), [[2, 2, 2], [2, 2, 2], [1, 2, 2]]);
  assertEquals(got.map((b) => b.y.toArray()), [[100, 101], [102, 103], [104]]);
  assertEquals(got[2]!.x.toArray(), [[[40, 41], [42, 43]]]);
  assertEquals(got[0]!.x.dtype, "float32");
  assertEquals(got[0]!.y.dtype, "int32");
  // A batch as large as the data set, or larger, gives one batch.
  assertEquals([...batches(x, y, 5)].length, 1);
  assertEquals([...batches(x, y, 64)][0]!.y.shape, [5]);
  // dropLast drops only a smaller last batch.
  assertEquals([...batches(x, y, 2, { dropLast: true })].length, 2);
  assertEquals([...batches(x, y, 5, { dropLast: true })].length, 1);
  assertEquals([...batches(x, y, 6, { dropLast: true })].length, 0);
});

Deno.test("batches follow an order given as an Int32Array or an int32 tensor", () => {
  const order = new Int32Array([3, 0, 4, 2, 1]);
  for (const o of [order, tensor(order, [5])]) {
    const got = [...batches(x, y, 2, { order: o })];
    assertEquals(got.map((b) => b.y.toArray()), [[103, 100], [104, 102], [
      101,
    ]]);
    assertEquals(got[0]!.x.toArray(), [[[30, 31], [32, 33]], [[0, 1], [2, 3]]]);
  }
});

Deno.test("start skips whole batches and keeps their indices", () => {
  const order = new Int32Array([3, 0, 4, 2, 1]);
  const all = [...batches(x, y, 2, { order })];
  const rest = [...batches(x, y, 2, { order, start: 1 })];
  assertEquals(rest.map((b) => b.index), [1, 2]);
  assertEquals(
    rest.map((b) => b.y.toArray()),
    all.slice(1).map((b) => b.y.toArray()),
  );
  assertEquals(rest[0]!.x.toArray(), all[1]!.x.toArray());
  assertEquals([...batches(x, y, 2, { start: 3 })].length, 0);
  assertThrows(
    () => batches(x, y, 2, { start: -1 }),
    RangeError,
    "Expected start to be a non-negative integer but found -1",
  );
});

Deno.test("every example appears exactly once, with its own label, for a random permutation", () => {
  const m = 103, row = 3;
  const xs = tensor(
    Float32Array.from({ length: m * row }, (_, k) => Math.floor(k / row)),
    [m, row],
  );
  const ys = tensor(Int32Array.from({ length: m }, (_, i) => i), [m]);
  const order = Int32Array.from({ length: m }, (_, i) => i);
  let seed = 12345;
  for (let i = m - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const seen: number[] = [];
  for (const b of batches(xs, ys, 10, { order })) {
    const flat = b.x.toFlat(), labels = b.y.toFlat();
    labels.forEach((label, i) => {
      assertEquals([flat[i * row], flat[i * row + 2]], [label, label]);
      seen.push(label);
    });
  }
  assertEquals(seen, [...order]);
});

Deno.test("batches copy: the order is read when called and inputs are untouched", () => {
  const order = new Int32Array([4, 3, 2, 1, 0]);
  const it = batches(x, y, 5, { order });
  order.set([0, 1, 2, 3, 4]);
  const first = it.next().value;
  assertEquals(first?.y.toArray(), [104, 103, 102, 101, 100]);
  assertEquals(y.toArray(), [100, 101, 102, 103, 104]);
  assertEquals(x.toFlat()[4], 10);
});

Deno.test("batches validates its arguments when called, not when iterated", () => {
  assertThrows(
    () => batches(x, y, 0),
    RangeError,
    "Expected batchSize to be a positive integer but found 0",
  );
  assertThrows(
    () => batches(x, y, 2.5),
    RangeError,
    "Expected batchSize to be a positive integer but found 2.5",
  );
  assertThrows(
    () => batches(x, tensor(new Int32Array([1, 2]), [2]), 2),
    RangeError,
    "Expected as many labels as inputs but found 5 inputs and 2 labels",
  );
  assertThrows(
    () => batches(x, y, 2, { order: new Int32Array([0, 1, 2]) }),
    RangeError,
    "Expected an order of length 5 but found 3",
  );
  assertThrows(
    () => batches(x, y, 2, { order: new Int32Array([0, 1, 2, 3, 5]) }),
    RangeError,
    "Expected order to be a permutation of 0..4 but found 5 at position 4",
  );
  assertThrows(
    () => batches(x, y, 2, { order: new Int32Array([0, -1, 2, 3, 4]) }),
    RangeError,
    "Expected order to be a permutation of 0..4 but found -1 at position 1",
  );
  assertThrows(
    () => batches(x, y, 2, { order: new Int32Array([0, 1, 2, 1, 4]) }),
    RangeError,
    "Expected order to be a permutation of 0..4 but found 1 at position 3",
  );
  const floatOrder = tensor([0, 1, 2, 3, 4]) as unknown as Tensor<
    [number],
    "int32"
  >;
  assertThrows(
    () => batches(x, y, 2, { order: floatOrder }),
    TypeError,
    "Expected order to have dtype int32 but found float32",
  );
});

Deno.test("batch types keep the row shape", () => {
  const images = zeros([3, 28, 28, 1]);
  const labels = zeros([3], { dtype: "int32" });
  const [b] = [...batches(images, labels, 2)];
  if (b === undefined) throw new Error("Expected a batch");
  assertType<IsExact<typeof b.x, Tensor<[number, 28, 28, 1], "float32">>>(
    true,
  );
  assertType<IsExact<typeof b.y, Tensor<[number], "int32">>>(true);
  assertEquals(b.x.shape, [2, 28, 28, 1]);
});
