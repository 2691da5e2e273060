import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  type AnyTensor,
  batches,
  decodeIdx,
  deserialize,
  load,
  loadMnist,
  parseIdx,
  save,
  serialize,
  tensor,
} from "../mod.ts";
import { mnistDefaultDir } from "../examples/_mnist_files.ts";

function idx(type: number, dims: number[], body: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, type, dims.length]);
  const v = new DataView(head.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  return new Uint8Array([...head, ...body]);
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("IDX reader: the real MNIST files", async () => {
  const data = await loadMnist(await mnistDefaultDir());
  assertEquals(data.train.images.shape, [60000, 28, 28, 1]);
  assertEquals(data.train.labels.shape, [60000]);
  assertEquals(data.test.images.shape, [10000, 28, 28, 1]);
  assertEquals(
    data.train.labels.toFlat().slice(0, 5),
    new Int32Array([5, 0, 4, 1, 9]),
  );
  const px = data.test.images.toFlat();
  let lo = Infinity, hi = -Infinity;
  for (const v of px) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  assertEquals([lo, hi], [0, 1]);
  const limited = await loadMnist(await mnistDefaultDir(), {
    limitTrain: 100,
    limitTest: 10,
  });
  assertEquals(limited.train.images.shape, [100, 28, 28, 1]);
  assertEquals(limited.test.labels.shape, [10]);
});

Deno.test("IDX reader: corrupted copies give errors naming the file and the problem", async () => {
  assertThrows(
    () => parseIdx(new Uint8Array([1, 2, 8, 1]), "bad.idx"),
    TypeError,
    "Expected bad.idx to start with the IDX magic number 0x0000 but found 0x01020801",
  );
  assertThrows(
    () => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0]), "floats.idx"),
    TypeError,
    "Expected floats.idx to hold unsigned bytes (IDX type 0x08) but found type 0x0d",
  );
  assertThrows(
    () => parseIdx(idx(8, [3], [1, 2]), "short.idx"),
    RangeError,
    "short.idx is truncated: the header promises 3 bytes of data but only 2 follow",
  );
  assertThrows(
    () => parseIdx(idx(8, [1], [1, 2]), "long.idx"),
    RangeError,
    "long.idx has 1 bytes after the 1 bytes of data its header promises",
  );
  const gz = await gzip(idx(8, [2], [4, 2]));
  assertEquals((await decodeIdx(gz, "ok.gz")).data, new Uint8Array([4, 2]));
  await assertRejects(
    () => decodeIdx(gz.slice(0, gz.length - 6), "cut.gz"),
    TypeError,
    "cut.gz",
  );

  // A folder whose label count disagrees with its image count.
  const dir = await Deno.makeTempDir();
  try {
    const img = idx(8, [2, 28, 28], new Array(2 * 784).fill(7));
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte`, img);
    await Deno.writeFile(
      `${dir}/train-labels-idx1-ubyte.gz`,
      await gzip(idx(8, [1], [3])),
    );
    await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, img);
    await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idx(8, [2], [1, 2]));
    await assertRejects(
      () => loadMnist(dir),
      RangeError,
      `Expected as many labels as images but found 2 images in ${dir}/train-images-idx3-ubyte and 1 labels in ${dir}/train-labels-idx1-ubyte.gz`,
    );
    await Deno.writeFile(
      `${dir}/train-labels-idx1-ubyte.gz`,
      await gzip(idx(8, [2], [3, 4])),
    );
    await Deno.remove(`${dir}/t10k-labels-idx1-ubyte`);
    await assertRejects(
      () => loadMnist(dir),
      Deno.errors.NotFound,
      "t10k-labels-idx1-ubyte",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("batches follow the order, copy rows and validate", () => {
  const x = tensor([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
  const y = tensor(new Int32Array([1, 2, 3, 4, 5]), [5]);
  const order = new Int32Array([4, 2, 0, 1, 3]);
  const got = [...batches(x, y, 2, { order })];
  assertEquals(got.map((b) => b.y.toArray()), [[5, 3], [1, 2], [4]]);
  assertEquals(got[0]!.x.toArray(), [[5, 5], [3, 3]]);
  assertEquals([...batches(x, y, 2, { order, dropLast: true })].length, 2);
  assertThrows(
    () => [...batches(x, y, 0)],
    RangeError,
    "Expected batchSize to be a positive integer but found 0",
  );
  assertThrows(
    () => [...batches(x, y, 2, { order: new Int32Array([0, 0, 1, 2, 3]) })],
    RangeError,
    "Expected order to be a permutation of 0..4 but found 0 at position 1",
  );
});

Deno.test("safetensors: round trip of a nested tree with int32, float32 and scalars", async () => {
  const tree = {
    conv: { kernel: tensor([1.5, -2, 3, 4], [2, 2]), bias: tensor([0.25]) },
    layers: [tensor(new Int32Array([7, -8]), [2]), tensor(3)],
  };
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.safetensors`;
    await save(path, tree);
    const back = await load(path) as typeof tree;
    assertEquals(back.conv.kernel.toArray(), [[1.5, -2], [3, 4]]);
    assertEquals(back.layers[0]!.dtype, "int32");
    assertEquals((back.layers[0] as AnyTensor).toArray(), [7, -8]);
    assertEquals(back.layers[1]!.shape, []);
    const typed = await load(path, tree);
    assertEquals(typed.conv.bias.toArray(), [0.25]);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [
      "m.safetensors",
    ]); // no temp file left
    await assertRejects(
      () => save(`${dir}/missing/x.safetensors`, tree),
      Deno.errors.NotFound,
    );
    assertEquals([...Deno.readDirSync(dir)].length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: bytes follow the format exactly", () => {
  const bytes = serialize({ w: tensor([1, 2]) });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(header.w, { dtype: "F32", shape: [2], data_offsets: [0, 8] });
  assertEquals(header.__metadata__.format, "tensa");
  // 1.0 and 2.0 as little-endian float32.
  assertEquals([...bytes.subarray(8 + n)], [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
});

Deno.test("safetensors: each corrupt file is rejected with a clear error, nothing partial", () => {
  const good = serialize({ a: tensor([1, 2]), b: tensor([3]) });
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  assertThrows(
    () => deserialize(new Uint8Array(4), undefined, "f"),
    TypeError,
    "Expected f to be a safetensors file but it has only 4 bytes",
  );
  const bigHeader = good.slice();
  new DataView(bigHeader.buffer).setBigUint64(0, 1n << 40n, true);
  assertThrows(
    () => deserialize(bigHeader, undefined, "f"),
    TypeError,
    "does not fit",
  );
  const notJson = good.slice();
  notJson[8] = 0x21;
  assertThrows(
    () => deserialize(notJson, undefined, "f"),
    TypeError,
    "Expected f to be a safetensors file but its header is not JSON",
  );
  assertThrows(
    () => deserialize(good.slice(0, good.length - 4), undefined, "f"),
    TypeError,
    "f is truncated",
  );
  const lying = (
    edit: (h: Record<string, { data_offsets: number[] }>) => void,
  ) => {
    const h = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + n)));
    edit(h);
    let json = JSON.stringify(h);
    while (json.length < n) json += " ";
    const out = good.slice();
    out.set(new TextEncoder().encode(json), 8);
    return out;
  };
  assertThrows(
    () =>
      deserialize(lying((h) => (h.b!.data_offsets = [4, 8])), undefined, "f"),
    TypeError,
    "Expected b in f to start at byte 8 of the data but its offsets say 4",
  );
  assertThrows(
    () =>
      deserialize(lying((h) => (h.a!.data_offsets = [0, 12])), undefined, "f"),
    TypeError,
    "Expected the offsets of a in f to span 8 bytes for shape [2] but found [0, 12]",
  );
  assertThrows(
    () => deserialize(good, { a: tensor([1, 2]) }, "f"),
    RangeError,
    "Found a parameter b in f that the model does not have",
  );
  assertThrows(
    () =>
      deserialize(
        good,
        { a: tensor([1, 2]), b: tensor([3]), c: tensor([1]) },
        "f",
      ),
    RangeError,
    "Expected a parameter c in f but found none",
  );
  assertThrows(
    () => deserialize(good, { a: tensor([1, 2, 3]), b: tensor([3]) }, "f"),
    RangeError,
    "Expected a to have shape [3] but found [2] in f",
  );
  const ok = deserialize(good) as Record<string, AnyTensor>;
  assert(ok.a !== undefined);
});
