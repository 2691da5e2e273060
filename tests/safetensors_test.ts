import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  type AnyTensor,
  deserialize,
  deserializeMetadata,
  load,
  save,
  serialize,
  type Tensor,
  tensor,
  zeros,
} from "../mod.ts";

const enc = new TextEncoder();

/** An independent writer: a safetensors file from a header object and data bytes. */
function file(header: unknown, data: ArrayLike<number> = []): Uint8Array {
  let json = JSON.stringify(header);
  while (json.length % 8 !== 0) json += " ";
  const head = enc.encode(json);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** An independent reader: the header and each tensor's values, parsed by hand. */
function read(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const values: Record<string, number[]> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, data_offsets: [b, end] } = e as {
      dtype: string;
      data_offsets: [number, number];
    };
    const out: number[] = [];
    for (let o = 8 + n + b; o < 8 + n + end; o += 4) {
      out.push(
        dtype === "F32" ? view.getFloat32(o, true) : view.getInt32(o, true),
      );
    }
    values[name] = out;
  }
  return { n, header, values };
}

const tree = {
  conv: {
    kernel: tensor([[1.5, -2], [3, 4]]),
    bias: tensor([0.25, -0.5]),
  },
  layers: [
    { w: tensor(new Int32Array([7, -8, 2147483647]), [3]) },
    tensor(3),
  ],
  step: tensor(new Int32Array([42]), []),
};

Deno.test("safetensors round trip: nested objects and arrays, float32 and int32, scalars", () => {
  const bytes = serialize(tree);
  const back = deserialize(bytes) as typeof tree;
  assertEquals(Object.keys(back), ["conv", "layers", "step"]);
  assertEquals(back.conv.kernel.toArray(), [[1.5, -2], [3, 4]]);
  assertEquals(back.conv.bias.toArray(), [0.25, -0.5]);
  assert(Array.isArray(back.layers));
  const w = (back.layers[0] as { w: AnyTensor }).w;
  assertEquals([w.dtype, w.toArray()], ["int32", [7, -8, 2147483647]]);
  assertEquals((back.layers[1] as AnyTensor).shape, []);
  assertEquals((back.layers[1] as AnyTensor).item(), 3);
  assertEquals([back.step.dtype, back.step.shape, back.step.item()], [
    "int32",
    [],
    42,
  ]);
  // With like: like's structure, every shape and dtype checked.
  const typed = deserialize(bytes, tree);
  assertEquals(typed.conv.kernel.shape, [2, 2]);
  assertEquals((typed.layers[0] as { w: AnyTensor }).w.toArray(), [
    7,
    -8,
    2147483647,
  ]);
});

Deno.test("deserialize reads bytes that are a view at an offset of a larger buffer", () => {
  const bytes = serialize(tree, { metadata: { epoch: "7" } });
  // The file at byte 13 of a buffer whose other bytes are 0xab (and a second
  // copy of the file after it): only the view's own bytes may be read.
  const big = new Uint8Array(13 + 2 * bytes.length + 5).fill(0xab);
  big.set(bytes, 13);
  big.set(bytes, 13 + bytes.length);
  const view = big.subarray(13, 13 + bytes.length);
  assertEquals(view.byteOffset, 13);
  const typed = deserialize(view, tree);
  assertEquals(typed.conv.kernel.toArray(), [[1.5, -2], [3, 4]]);
  assertEquals(typed.conv.bias.toArray(), [0.25, -0.5]);
  assertEquals((typed.layers[0] as { w: AnyTensor }).w.toArray(), [
    7,
    -8,
    2147483647,
  ]);
  assertEquals(typed.step.item(), 42);
  const back = deserialize(view) as typeof tree;
  assertEquals(back.conv.kernel.toArray(), [[1.5, -2], [3, 4]]);
  assertEquals(deserializeMetadata(view).epoch, "7");
  // The view's end is the file's end: a view one byte short is truncated.
  assertThrows(
    () => deserialize(big.subarray(13, 12 + bytes.length)),
    TypeError,
    "is truncated",
  );
});

Deno.test("safetensors refuses leaves that are not tensors; keeps empty tensors and a lone tensor", async () => {
  const cases: [unknown, string][] = [
    [{ a: tensor([1]), rate: 0.5 }, "found the number 0.5 at rate"],
    [{ w: [tensor([1]), "dense"] }, 'found the string "dense" at w[1]'],
    [{ layers: [{ on: true }] }, "found the boolean true at layers[0].on"],
    [{ none: null }, "found null at none"],
    [[1, 2], "found the number 1 at [0]"],
    [7, "found the number 7 at the root"],
  ];
  const dir = await Deno.makeTempDir();
  try {
    for (const [tree, message] of cases) {
      assertThrows(() => serialize(tree), TypeError, message);
      await assertRejects(
        () => save(`${dir}/x.safetensors`, tree),
        TypeError,
        `Expected every leaf to be a tensor but ${message}`,
      );
    }
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Files written by earlier versions may hold static leaves: still readable.
  const old = file({
    __metadata__: {
      "tensa.treedef": JSON.stringify({
        kind: "object",
        keys: ["a", "rate"],
        children: [{ kind: "leaf" }, { kind: "static", value: 0.5 }],
      }),
    },
    a: { dtype: "F32", shape: [], data_offsets: [0, 4] },
  }, [0, 0, 128, 63]);
  assertEquals((deserialize(old) as { rate: number }).rate, 0.5);
  const empty = { empty: zeros([0, 3]) };
  assertEquals(
    (deserialize(serialize(empty)) as typeof empty).empty.shape,
    [0, 3],
  );
  const lone = tensor([4, 5]);
  assertEquals((deserialize(serialize(lone)) as AnyTensor).toArray(), [4, 5]);
  assertEquals(deserialize(serialize(lone), lone).toArray(), [4, 5]);
  assertEquals(deserialize(serialize({})), {});
});

Deno.test("safetensors metadata: extra string entries round trip; reserved keys are refused", () => {
  const bytes = serialize({ w: tensor([1]) }, {
    metadata: { "mnist.epoch": "2", note: "é ✓" },
  });
  const meta = deserializeMetadata(bytes);
  assertEquals(meta["mnist.epoch"], "2");
  assertEquals(meta.note, "é ✓");
  assertEquals(meta.format, "tensa");
  // An independent reader sees the same metadata object.
  assertEquals(read(bytes).header.__metadata__["mnist.epoch"], "2");
  assertThrows(
    () => serialize({}, { metadata: { format: "x" } }),
    TypeError,
    "Expected metadata keys other than format and tensa.treedef but found format",
  );
  assertThrows(
    () =>
      serialize({}, {
        metadata: { n: 3 } as unknown as Record<string, string>,
      }),
    TypeError,
    "Expected metadata values to be strings but found number for n",
  );
  assertEquals(
    deserializeMetadata(
      file({ a: { dtype: "F32", shape: [0], data_offsets: [0, 0] } }),
    ),
    {},
  );
  assertThrows(
    () => deserializeMetadata(new Uint8Array(3), "f"),
    TypeError,
    "Expected f to be a safetensors file but it has only 3 bytes",
  );
});

Deno.test("safetensors bytes are readable by an independent reader", () => {
  const bytes = serialize(tree);
  const { n, header, values } = read(bytes);
  assertEquals(n % 8, 0);
  assertEquals(Object.keys(header), [
    "__metadata__",
    "conv.kernel",
    "conv.bias",
    "layers.0.w",
    "layers.1",
    "step",
  ]);
  assertEquals(header.__metadata__.format, "tensa");
  assertEquals(typeof header.__metadata__["tensa.treedef"], "string");
  assertEquals(header["conv.kernel"], {
    dtype: "F32",
    shape: [2, 2],
    data_offsets: [0, 16],
  });
  assertEquals(header["layers.0.w"], {
    dtype: "I32",
    shape: [3],
    data_offsets: [24, 36],
  });
  assertEquals(header["step"], {
    dtype: "I32",
    shape: [],
    data_offsets: [40, 44],
  });
  assertEquals(values, {
    "conv.kernel": [1.5, -2, 3, 4],
    "conv.bias": [0.25, -0.5],
    "layers.0.w": [7, -8, 2147483647],
    "layers.1": [3],
    "step": [42],
  });
  assertEquals(bytes.length, 8 + n + 44);
});

Deno.test("safetensors bytes of a tiny tensor match hand-computed bytes", () => {
  const header =
    '{"__metadata__":{"format":"tensa","tensa.treedef":"{\\"kind\\":\\"object\\",\\"keys\\":[\\"w\\"],\\"children\\":[{\\"kind\\":\\"leaf\\"}]}"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  assertEquals(header.length, 180); // padded with 4 spaces to 184 = 0xb8
  const expected = new Uint8Array([
    0xb8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...enc.encode(header + "    "),
    0x00,
    0x00,
    0xc0,
    0x3f, // 1.5 as little-endian float32 (0x3fc00000)
  ]);
  assertEquals(serialize({ w: tensor([1.5]) }), expected);
  const ints = serialize({ i: tensor(new Int32Array([-2]), [1]) });
  assertEquals([...ints.subarray(ints.length - 4)], [0xfe, 0xff, 0xff, 0xff]);
});

Deno.test("deserialize reads files written by other tools: any key order, no metadata", () => {
  // Tensors listed in the header in another order than in the data.
  const bytes = file({
    "b": { dtype: "I32", shape: [1], data_offsets: [8, 12] },
    "a": { dtype: "F32", shape: [2], data_offsets: [0, 8] },
  }, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 5, 0, 0, 0]);
  const flat = deserialize(bytes) as Record<string, AnyTensor>;
  assertEquals(Object.keys(flat).sort(), ["a", "b"]);
  assertEquals(flat.a!.toArray(), [1, 2]);
  assertEquals(flat.b!.toArray(), [5]);
  const typed = deserialize(bytes, {
    a: zeros([2]),
    b: zeros([1], { dtype: "int32" }),
  });
  assertEquals(typed.b.dtype, "int32");
});

/** Rewrites the header of valid bytes. */
function edit(
  bytes: Uint8Array,
  f: (h: Record<string, Record<string, unknown>>) => void,
): Uint8Array {
  const { n, header } = read(bytes);
  f(header);
  return file(header, bytes.subarray(8 + n));
}

Deno.test("deserialize rejects each kind of corrupt file with a clear TypeError", () => {
  const good = serialize({ a: tensor([1, 2]), b: tensor([3]) });
  const bad = (bytes: Uint8Array, message: string) =>
    assertThrows(
      () => deserialize(bytes, undefined, "m.st"),
      TypeError,
      message,
    );
  bad(
    new Uint8Array(5),
    "Expected m.st to be a safetensors file but it has only 5 bytes",
  );
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  bad(
    huge,
    `Expected m.st to be a safetensors file but its header length 1099511627776 does not fit in ${good.length} bytes`,
  );
  bad(
    new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0x7b]),
    "Expected m.st to be a safetensors file but its header length 1 does not fit in 9 bytes",
  );
  bad(
    file("not json really"),
    "Expected m.st to be a safetensors file but its header is not a JSON object",
  );
  bad(
    file([1, 2]),
    "Expected m.st to be a safetensors file but its header is not a JSON object",
  );
  const broken = good.slice();
  broken[9] = 0x7b; // '{{'
  bad(
    broken,
    "Expected m.st to be a safetensors file but its header is not JSON",
  );
  const latin1 = file({});
  latin1[9] = 0xff;
  bad(
    latin1,
    "Expected m.st to be a safetensors file but its header is not JSON",
  );
  bad(
    file({ __metadata__: { epoch: 3 } }),
    "Expected __metadata__ in m.st to be an object of strings but found epoch: 3",
  );
  bad(
    file({ __metadata__: "x" }),
    'Expected __metadata__ in m.st to be an object of strings but found "x"',
  );
  bad(
    file({ w: { dtype: "F32", shape: [1] } }, [0, 0, 0, 0]),
    'Expected an entry with dtype, shape and data_offsets for w in m.st but found {"dtype":"F32","shape":[1]}',
  );
  bad(
    file({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }),
    "Expected an entry with dtype, shape and data_offsets for w in m.st",
  );
  bad(
    file({ w: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, [
      0,
      0,
      0,
      0,
    ]),
    "Expected dtype F32 or I32 for w in m.st but found F16",
  );
  bad(
    edit(good, (h) => (h.a!.data_offsets = [8, 0])),
    "Expected the offsets of a in m.st to span 8 bytes for shape [2] but found [8, 0]",
  );
  bad(
    edit(good, (h) => (h.a!.data_offsets = [0, 12])),
    "Expected the offsets of a in m.st to span 8 bytes for shape [2] but found [0, 12]",
  );
  bad(
    edit(good, (h) => (h.b!.data_offsets = [4, 8])),
    "Expected b in m.st to start at byte 8 of the data but its offsets say 4, overlapping a",
  );
  bad(
    edit(good, (h) => (h.a!.data_offsets = [4, 12])),
    "Expected a in m.st to start at byte 0 of the data but its offsets say 4, leaving a gap of 4 bytes",
  );
  bad(
    edit(good, (h) => (h.b!.data_offsets = [12, 16])),
    "m.st is truncated: b ends at byte 16 of the data but the data has 12 bytes",
  );
  bad(
    good.slice(0, good.length - 1),
    "m.st is truncated: b ends at byte 12 of the data but the data has 11 bytes",
  );
  bad(
    new Uint8Array([...good, 0, 0, 0, 0]),
    "Expected the tensors of m.st to cover its 16 data bytes but they cover 12",
  );
  bad(
    edit(good, (h) => (h.__metadata__!["tensa.treedef"] = "{")),
    "Expected the tree structure in the metadata of m.st to be JSON",
  );
  bad(
    edit(good, (h) => (h.__metadata__!["tensa.treedef"] = '{"kind":"object"}')),
    'Expected the tree structure in the metadata of m.st to describe a tree but found {"kind":"object"}',
  );
  bad(
    edit(good, (h) => delete h.b),
    "Expected the tensors of m.st to cover its 12 data bytes but they cover 8",
  );
  bad(
    edit(
      good,
      (h) => (h.__metadata__!["tensa.treedef"] = '{"kind":"leaf"}'),
    ),
    "Expected the tensors of m.st to match the tree structure in its metadata but found 2 tensors for 1 leaves",
  );
  // The default name in messages.
  assertThrows(
    () => deserialize(new Uint8Array(3)),
    TypeError,
    "Expected the data to be a safetensors file but it has only 3 bytes",
  );
});

Deno.test("deserialize with like names missing, extra and mismatched parameters", () => {
  const bytes = serialize({
    dense: { kernel: zeros([784, 12]), bias: zeros([12]) },
    steps: zeros([1], { dtype: "int32" }),
  });
  const like = {
    dense: { kernel: zeros([784, 10]), bias: zeros([10]) },
    steps: zeros([1], { dtype: "int32" }),
  };
  assertThrows(
    () => deserialize(bytes, like, "model.safetensors"),
    RangeError,
    "Expected dense.kernel to have shape [784, 10] but found [784, 12] in model.safetensors",
  );
  assertThrows(
    () =>
      deserialize(bytes, {
        dense: { kernel: zeros([784, 12]), bias: zeros([12]) },
        steps: zeros([1]),
      }, "model.safetensors"),
    TypeError,
    "Expected steps to have dtype float32 but found int32 in model.safetensors",
  );
  assertThrows(
    () =>
      deserialize(bytes, {
        dense: { kernel: zeros([784, 12]), bias: zeros([12]) },
        steps: zeros([1], { dtype: "int32" }),
        conv: [zeros([1]), zeros([2])],
      }, "model.safetensors"),
    RangeError,
    "Expected parameters conv.0, conv.1 in model.safetensors but found none",
  );
  assertThrows(
    () =>
      deserialize(bytes, {
        dense: { kernel: zeros([784, 12]), bias: zeros([12]) },
        step: zeros([1], { dtype: "int32" }),
      }, "model.safetensors"),
    RangeError,
    "Expected a parameter step in model.safetensors but found none",
  );
  assertThrows(
    () => deserialize(bytes, { steps: zeros([1], { dtype: "int32" }) }, "m"),
    RangeError,
    "Found parameters dense.kernel, dense.bias in m that the model does not have",
  );
});

Deno.test("serialize rejects trees whose leaf names collide", () => {
  assertThrows(
    () => serialize({ "a.b": tensor([1]), a: { b: tensor([2]) } }),
    TypeError,
    "Expected the dotted paths of the leaves to be unique but found a.b twice",
  );
  assertThrows(
    () => serialize({ __metadata__: tensor([1]) }),
    TypeError,
    "Expected no leaf named __metadata__ but found one: the safetensors format reserves the name",
  );
});

Deno.test("save and load: round trip, atomic replace, no temporary file left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await save(path, tree);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [
      "model.safetensors",
    ]);
    const back = await load(path) as typeof tree;
    assertEquals(back.conv.kernel.toArray(), [[1.5, -2], [3, 4]]);
    const typed: typeof tree = await load(path, tree);
    assertEquals(typed.step.item(), 42);

    // Saving again replaces the file whole.
    await save(path, { only: tensor([9]) });
    assertEquals(
      ((await load(path)) as { only: Tensor<[1]> }).only.toArray(),
      [9],
    );
    // A save that fails before writing leaves the old file as it was.
    const before = await Deno.readFile(path);
    const twice =
      "Expected the dotted paths of the leaves to be unique but found a.b twice";
    assertThrows(
      () => serialize({ "a.b": tensor([1]), a: { b: tensor([2]) } }),
      TypeError,
      twice,
    );
    await assertRejects(
      () => save(path, { "a.b": tensor([1]), a: { b: tensor([2]) } }),
      TypeError,
      twice,
    );
    assertEquals(await Deno.readFile(path), before);

    // A save into a folder that does not exist fails and leaves nothing.
    const err = await assertRejects(() =>
      save(`${dir}/missing/model.safetensors`, tree)
    );
    assertInstanceOf(err, Deno.errors.NotFound);
    // The message names the file asked for, not the temporary file.
    assertEquals(
      (err as Error).message,
      `Cannot save ${dir}/missing/model.safetensors: No such file or directory (os error 2)`,
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [
      "model.safetensors",
    ]);

    // Load messages name the path.
    await Deno.writeFile(
      `${dir}/cut.safetensors`,
      before.slice(0, before.length - 2),
    );
    await assertRejects(
      () => load(`${dir}/cut.safetensors`),
      TypeError,
      `${dir}/cut.safetensors is truncated: only ends at byte 4 of the data but the data has 2 bytes`,
    );
    await assertRejects(
      () => load(path, { only: zeros([2]) }),
      RangeError,
      `Expected only to have shape [2] but found [1] in ${path}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed rename removes the temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The target is a non-empty folder, so the rename onto it fails.
    const target = `${dir}/taken`;
    await Deno.mkdir(target);
    await Deno.writeFile(`${target}/x`, new Uint8Array(1));
    const err = await assertRejects(() => save(target, { w: tensor([1]) }));
    assertEquals(
      (err as Error).message.startsWith(`Cannot save ${target}: `),
      true,
    );
    assertEquals((err as Error).message.includes(".tmp-"), false);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["taken"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
