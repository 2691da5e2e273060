// The course's hand-made filters (vertical edge, horizontal edge, blur,
// sharpen) applied with conv2d to a few MNIST digits, and, given a model
// saved by mnist.ts (small model), its learned first-layer filters and the
// feature maps of one digit. Everything is written as PNG image grids.
//
//   deno run --allow-read --allow-write --allow-env examples/filters.ts --out out/
//   deno run --allow-read --allow-write --allow-env examples/filters.ts --model small.safetensors --out out/
import { parseArgs } from "@std/cli/parse-args";
import { join } from "@std/path";
import {
  add,
  type AnyTensor,
  conv2d,
  load,
  relu,
  slice,
  type Tensor,
  tensor,
} from "../mod.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { mnistDefaultDir } from "./_mnist_files.ts";
import { encodeGrayPng, tileGrid } from "./_png.ts";

/** The hand-made 3x3 filters of the course, as [3, 3, 1, 1] kernels. */
export const handFilters: Record<string, number[]> = {
  "vertical edge": [-1, 0, 1, -2, 0, 2, -1, 0, 1],
  "horizontal edge": [-1, -2, -1, 0, 0, 0, 1, 2, 1],
  "blur": [1, 1, 1, 1, 1, 1, 1, 1, 1].map((v) => v / 9),
  "sharpen": [0, -1, 0, -1, 5, -1, 0, -1, 0],
};

/** Applies each hand-made filter to each image: rows are digits, columns original + filters. */
export function filterGrid(
  images: Tensor<[number, 28, 28, 1]>,
): Float32Array[][] {
  const n = images.shape[0];
  const maps = Object.values(handFilters).map((k) =>
    conv2d(images, tensor(k, [3, 3, 1, 1]), { padding: "same" }).toFlat()
  );
  const src = images.toFlat();
  const rows: Float32Array[][] = [];
  for (let i = 0; i < n; i++) {
    rows.push([
      src.slice(i * 784, (i + 1) * 784),
      ...maps.map((m) => m.slice(i * 784, (i + 1) * 784)),
    ]);
  }
  return rows;
}

async function writePng(
  path: string,
  tiles: Float32Array[][],
  h: number,
  w: number,
  scale = 4,
): Promise<void> {
  const { pixels, width, height } = tileGrid(tiles, h, w, scale);
  await Deno.writeFile(path, await encodeGrayPng(pixels, width, height));
  console.log(`wrote ${path} (${width}x${height})`);
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, {
    string: ["model", "out", "data", "count"],
    boolean: ["help"],
    default: { out: ".", count: "6" },
  });
  if (args.help) {
    console.log(
      `Usage: filters.ts [--out DIR] [--count N] [--data DIR] [--model FILE.safetensors]`,
    );
    return;
  }
  const count = Number(args.count);
  const data = await loadMnist(args.data ?? await mnistDefaultDir(), {
    limitTrain: 1,
    limitTest: count,
  });
  const digits = slice(data.test.images, 0, count) as Tensor<
    [number, 28, 28, 1]
  >;
  await Deno.mkdir(args.out, { recursive: true });
  await writePng(
    join(args.out, "hand_filters.png"),
    filterGrid(digits),
    28,
    28,
  );
  console.log(`columns: original, ${Object.keys(handFilters).join(", ")}`);
  if (args.model) {
    const params = await load(args.model) as unknown[];
    const first = params[0] as { kernel: AnyTensor; bias?: AnyTensor };
    const [kh, kw, c, o] = first.kernel.shape as [
      number,
      number,
      number,
      number,
    ];
    const k = first.kernel.toFlat();
    const filters: Float32Array[] = [];
    for (let f = 0; f < o; f++) {
      const t = new Float32Array(kh * kw);
      for (let i = 0; i < kh * kw; i++) t[i] = k[i * c * o + f]!; // channel 0
      filters.push(t);
    }
    await writePng(
      join(args.out, "learned_filters.png"),
      [filters],
      kh,
      kw,
      12,
    );
    const one = slice(digits, 0, 1);
    let maps = conv2d(one as never, first.kernel as never) as AnyTensor;
    if (first.bias) maps = add(maps, first.bias) as AnyTensor;
    const m = relu(maps).toFlat();
    const [, oh, ow] = maps.shape as [number, number, number, number];
    const tiles: Float32Array[] = [];
    for (let f = 0; f < o; f++) {
      const t = new Float32Array(oh * ow);
      for (let i = 0; i < oh * ow; i++) t[i] = m[i * o + f]!;
      tiles.push(t);
    }
    await writePng(join(args.out, "feature_maps.png"), [tiles], oh, ow);
  }
}

if (import.meta.main) await main();
