// The PNG encoder of the filters example decodes back to its pixels, and the
// course's hand-made filters respond as they should.
import { assertEquals, assertThrows } from "@std/assert";
import {
  crc32,
  encodeGrayPng,
  glyph,
  labelColumns,
  tileGrid,
} from "../examples/_png.ts";
import {
  filterGrid,
  firstConv,
  parseFiltersArgs,
} from "../examples/filters.ts";
import {
  buildModel,
  optimizerFor,
  type RunConfig,
} from "../examples/mnist_lib.ts";
import { key, serialize, tensor, zeros } from "../mod.ts";

Deno.test("PNG: signature, chunk CRCs and pixels decode back", async () => {
  const pixels = new Uint8Array([0, 64, 128, 255, 7, 9]);
  const png = await encodeGrayPng(pixels, 3, 2);
  assertEquals([...png.subarray(0, 8)], [
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
  ]);
  const view = new DataView(png.buffer);
  let at = 8;
  let idat = new Uint8Array(0);
  const types: string[] = [];
  while (at < png.length) {
    const len = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    types.push(type);
    assertEquals(
      view.getUint32(at + 8 + len),
      crc32(png.subarray(at + 4, at + 8 + len)),
    );
    if (type === "IHDR") {
      assertEquals([view.getUint32(at + 8), view.getUint32(at + 12)], [3, 2]);
    }
    if (type === "IDAT") idat = png.slice(at + 8, at + 8 + len);
    at += 12 + len;
  }
  assertEquals(types, ["IHDR", "IDAT", "IEND"]);
  const raw = new Uint8Array(
    await new Response(
      new Blob([idat]).stream().pipeThrough(new DecompressionStream("deflate")),
    ).arrayBuffer(),
  );
  assertEquals([...raw], [0, 0, 64, 128, 0, 255, 7, 9]);
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("hand-made filters: a vertical bar excites the vertical edge filter, not the horizontal one", () => {
  const img = new Float32Array(784);
  for (let r = 4; r < 24; r++) img[r * 28 + 14] = 1;
  const rows = filterGrid(
    tensor(img, [1, 28, 28, 1]),
  );
  const energy = (t: Float32Array) => t.reduce((s, v) => s + Math.abs(v), 0);
  const [orig, vertical, horizontal, blur] = rows[0]!;
  assertEquals(orig![14 * 28 + 14], 1);
  // Away from the bar's ends, the horizontal Sobel sees nothing.
  let inner = 0;
  for (let r = 8; r < 20; r++) {
    for (let c = 0; c < 28; c++) inner += Math.abs(horizontal![r * 28 + c]!);
  }
  assertEquals(inner, 0);
  assertEquals(energy(vertical!) > 10 * energy(horizontal!) / 2, true);
  // Blur keeps the total mass (away from the border).
  assertEquals(Math.round(energy(blur!)), 20);
});

Deno.test("column labels: glyphs land in their columns, centred, black on white", () => {
  // Two 10x10 tiles at scale 1: columns 10 px wide, 2 px gaps.
  const tiles = [[new Float32Array(100), new Float32Array(100)]];
  const grid = tileGrid(tiles, 10, 10, 1);
  const out = labelColumns(grid, ["I", "-"], 10);
  // Text scale 1 (a 5 px glyph does not fit twice in 8 px), one line: a band
  // of 9 + 2 * 2 = 13 rows above the unchanged grid.
  assertEquals(out.height, grid.height + 13);
  assertEquals(out.pixels.subarray(13 * out.width), grid.pixels);
  const ink = (x: number, y: number) => out.pixels[y * out.width + x] === 0;
  // "I" centred in column 0 (x 2..11): starts at 2 + floor((10 - 5) / 2) = 4,
  // top row ".###." at y = 2, stem at x = 6 below.
  assertEquals([4, 5, 6, 7, 8].map((x) => ink(x, 2)), [
    false,
    true,
    true,
    true,
    false,
  ]);
  for (let y = 3; y < 8; y++) {
    assertEquals([ink(5, y), ink(6, y)], [false, true]);
  }
  // "-" in column 1 (x 14..23): row 3 of the glyph, x 16..20.
  for (let x = 16; x <= 20; x++) assertEquals(ink(x, 5), true);
  assertEquals(ink(15, 5) || ink(21, 5), false);
  // The gap between the columns stays white.
  for (let y = 0; y < 13; y++) assertEquals(ink(12, y) || ink(13, y), false);
  // Every glyph is 7 rows of 5, and unknown characters are refused.
  for (
    const ch of "ORIGINAL VERTICAL EDGE HORIZONTAL BLUR SHARPEN 0123456789"
  ) {
    const g = glyph(ch);
    assertEquals([g.length, ...g.map((r) => r.length)], [
      7,
      5,
      5,
      5,
      5,
      5,
      5,
      5,
    ]);
  }
  assertThrows(() => glyph("%"), RangeError, 'found "%"');
});

Deno.test("filters.ts command line: clear errors for bad values, unknown flags and stray arguments", () => {
  const bad: [string[], string][] = [
    [
      ["--count", "abc"],
      "Expected --count to be an integer from 1 to 10000 but found abc",
    ],
    [
      ["--count", "-2"],
      "Expected --count to be an integer from 1 to 10000 but found -2",
    ],
    [["--count"], "Expected a value after --count"],
    [["--bogus"], "Unknown option --bogus; see --help"],
    [
      ["stray"],
      "Expected only options but found the argument stray; see --help",
    ],
  ];
  for (const [argv, message] of bad) {
    assertThrows(() => parseFiltersArgs(argv), RangeError, message);
  }
  assertEquals(parseFiltersArgs([]), {
    out: "out",
    count: 6,
    data: undefined,
    model: undefined,
    help: false,
  });
  assertEquals(parseFiltersArgs(["-h"]).help, true);
});

Deno.test("filters.ts finds the first conv layer of a --save or --checkpoint file, or says what it found", () => {
  // Parameters of the small model, as --save writes them.
  const small = buildModel("small", 0.25).model;
  const params = small.init(key(1), [28, 28, 1]);
  const first = firstConv(serialize(params), "m");
  assertEquals(first.kernel.toFlat(), params[0].kernel.toFlat());
  assertEquals(first.bias.shape, [8]);
  // A checkpoint of the keras model: its metadata names the model and the
  // optimizer, whose state is part of the file.
  const config: RunConfig = {
    model: "keras",
    dropout: undefined,
    optimizer: "momentum",
    lr: 0.01,
    schedule: "cosine",
    epochs: 1,
    batchSize: 64,
    seed: 0,
    limit: undefined,
  };
  const keras = buildModel("keras", undefined).model;
  const kp = keras.init(key(2), [28, 28, 1]);
  const opt = optimizerFor(config, 100);
  const bytes = serialize({ params: kp, optState: opt.init(kp) }, {
    metadata: {
      "tensa.mnist": JSON.stringify({
        version: 1,
        config,
        epochsDone: 0,
        step: 0,
        running: { seen: 0, lossSum: 0, hits: 0 },
        history: [],
      }),
    },
  });
  const k = firstConv(bytes, "c");
  assertEquals(k.kernel.shape, [3, 3, 1, 32]);
  assertEquals(k.bias.toFlat(), kp[0].bias.toFlat());
  // Anything else is refused with what each model found.
  assertThrows(
    () => firstConv(serialize({ w: zeros([2]) }), "x.safetensors"),
    TypeError,
    "Expected x.safetensors to hold the small or keras model of examples/mnist.ts (from --save or --checkpoint) but found not the small model (",
  );
  const wrong = [{ kernel: zeros([3, 3, 2, 4]), bias: zeros([4]) }];
  assertThrows(
    () => firstConv(serialize(wrong), "y"),
    TypeError,
    "not the keras model (",
  );
});
