/**
 * MNIST-style data sets: the four standard IDX files of a folder as tensors.
 *
 * @module
 */

import { dimOf, fromData, type Tensor } from "../tensor.ts";
import { type IdxData, readIdx } from "./idx.ts";

/** Images scaled to [0, 1] and their int32 labels. */
export interface LabeledImages {
  /** Images `[N, 28, 28, 1]` (NHWC, one channel), values in [0, 1]. */
  images: Tensor<[number, 28, 28, 1], "float32">;
  /** Class indices `[N]`. */
  labels: Tensor<[number], "int32">;
}

/** The training and test splits. */
export interface MnistData {
  /** The training split. */
  train: LabeledImages;
  /** The test split. */
  test: LabeledImages;
}

/** Options of {@linkcode loadMnist}. */
export interface LoadMnistOptions {
  /** Keep only the first N training examples. */
  limitTrain?: number;
  /** Keep only the first N test examples. */
  limitTest?: number;
  /**
   * The number of classes: every kept label must be below it (default 10,
   * as in MNIST and Fashion-MNIST).
   */
  classes?: number;
}

const FILES = {
  trainImages: ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
  trainLabels: ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
  testImages: ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
  testLabels: ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
};

async function find(dir: string, names: readonly string[]): Promise<string> {
  const tried: string[] = [];
  for (const n of names) {
    for (const candidate of [n, `${n}.gz`]) {
      const path = `${dir.replace(/\/+$/, "")}/${candidate}`;
      tried.push(candidate);
      try {
        const info = await Deno.stat(path);
        if (info.isFile) return path;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
  }
  throw new Deno.errors.NotFound(
    `Expected one of ${tried.join(", ")} in ${dir} but found none`,
  );
}

/** Checks that `dims` are `[N, 28, 28]` and returns N. */
function imageCount(dims: readonly number[], name: string): number {
  if (dims.length !== 3 || dims[1] !== 28 || dims[2] !== 28) {
    throw new RangeError(
      `Expected ${name} to hold images of shape [N, 28, 28] but found [${
        dims.join(", ")
      }]`,
    );
  }
  return dimOf(dims, 0);
}

/** Checks that `dims` are `[N]` and returns N. */
function labelCount(dims: readonly number[], name: string): number {
  if (dims.length !== 1) {
    throw new RangeError(
      `Expected ${name} to hold labels of shape [N] but found [${
        dims.join(", ")
      }]`,
    );
  }
  return dimOf(dims, 0);
}

function checkLength(idx: IdxData, name: string): void {
  const size = idx.dims.reduce((a, b) => a * b, 1);
  if (idx.data.length !== size) {
    throw new RangeError(
      `Expected ${name} to hold ${size} values for dims [${
        idx.dims.join(", ")
      }] but found ${idx.data.length}`,
    );
  }
}

/**
 * Turns decoded IDX images `[N, rows, cols]` into a float32 tensor
 * `[N, rows, cols, 1]` scaled to [0, 1].
 *
 * @param idx The decoded file.
 * @param name The file name, for errors.
 * @returns The images.
 * @throws {RangeError} If the dims are not `[N, 28, 28]` or the data length differs from their product.
 *
 * @example
 * ```ts
 * import { toImagesTensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const t = toImagesTensor({ dims: [1, 28, 28], data: new Uint8Array(784).fill(255) }, "x");
 * assertEquals(t.shape, [1, 28, 28, 1]);
 * assertEquals(t.toFlat()[0], 1);
 * ```
 */
export function toImagesTensor(
  idx: IdxData,
  name: string,
): Tensor<[number, 28, 28, 1], "float32"> {
  const n = imageCount(idx.dims, name);
  checkLength(idx, name);
  const src = idx.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! / 255;
  return fromData<[number, 28, 28, 1], "float32">(
    [n, 28, 28, 1],
    "float32",
    out,
  );
}

/**
 * Turns decoded IDX labels `[N]` into an int32 tensor.
 *
 * @param idx The decoded file.
 * @param name The file name, for errors.
 * @returns The labels.
 * @throws {RangeError} If the dims are not `[N]` or the data length differs from N.
 *
 * @example
 * ```ts
 * import { toLabelsTensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(toLabelsTensor({ dims: [2], data: new Uint8Array([7, 3]) }, "y").toArray(), [7, 3]);
 * ```
 */
export function toLabelsTensor(
  idx: IdxData,
  name: string,
): Tensor<[number], "int32"> {
  const n = labelCount(idx.dims, name);
  checkLength(idx, name);
  return fromData<[number], "int32">(
    [n],
    "int32",
    Int32Array.from(idx.data),
  );
}

async function split(
  dir: string,
  imageNames: readonly string[],
  labelNames: readonly string[],
  limit: number | undefined,
  classes: number,
): Promise<LabeledImages> {
  const ip = await find(dir, imageNames);
  const lp = await find(dir, labelNames);
  const [ii, li] = await Promise.all([readIdx(ip), readIdx(lp)]);
  // Check the shapes first, then convert only the examples that are kept.
  const n = imageCount(ii.dims, ip), m = labelCount(li.dims, lp);
  if (n !== m) {
    throw new RangeError(
      `Expected as many labels as images but found ${n} images in ${ip} and ${m} labels in ${lp}`,
    );
  }
  const k = limit === undefined ? n : Math.min(limit, n);
  const labels = li.data;
  for (const [i, label] of labels.subarray(0, k).entries()) {
    if (label >= classes) {
      throw new RangeError(
        `Expected labels below ${classes} in ${lp} but found ${label} at index ${i}`,
      );
    }
  }
  return {
    images: toImagesTensor(
      { dims: [k, 28, 28], data: ii.data.subarray(0, k * 784) },
      ip,
    ),
    labels: toLabelsTensor({ dims: [k], data: li.data.subarray(0, k) }, lp),
  };
}

function checkLimit(what: string, limit: number | undefined): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new RangeError(
      `Expected ${what} to be a positive integer but found ${limit}`,
    );
  }
}

/**
 * Loads the four standard MNIST files (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`,
 * each raw or `.gz`) from a folder. Fashion-MNIST uses the same names.
 *
 * @param dir The folder.
 * @param options Limits on the number of training and test examples, and the number of classes.
 * @returns Training and test images (float32 in [0, 1]) and labels (int32).
 * @throws {Deno.errors.NotFound} If a file is missing.
 * @throws {RangeError} If a limit is not a positive integer, the files disagree or are malformed, or a label is not below `classes` (the message names the file and the index).
 *
 * @example
 * ```ts
 * import { loadMnist } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const idx = (type: number[], dims: number[], body: number[]) => {
 *   const head = new Uint8Array(4 + 4 * dims.length);
 *   head.set(type);
 *   dims.forEach((d, i) => new DataView(head.buffer).setUint32(4 + 4 * i, d));
 *   return new Uint8Array([...head, ...body]);
 * };
 * for (const split of ["train", "t10k"]) {
 *   await Deno.writeFile(`${dir}/${split}-images-idx3-ubyte`, idx([0, 0, 8, 3], [1, 28, 28], new Array(784).fill(0)));
 *   await Deno.writeFile(`${dir}/${split}-labels-idx1-ubyte`, idx([0, 0, 8, 1], [1], [5]));
 * }
 * const data = await loadMnist(dir);
 * assertEquals(data.train.labels.toArray(), [5]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadMnist(
  dir: string,
  options: LoadMnistOptions = {},
): Promise<MnistData> {
  checkLimit("limitTrain", options.limitTrain);
  checkLimit("limitTest", options.limitTest);
  const classes = options.classes ?? 10;
  checkLimit("classes", classes);
  // Both splits load at once; when both fail, the training split's error
  // is the one reported, whichever finished first.
  const [train, test] = await Promise.allSettled([
    split(
      dir,
      FILES.trainImages,
      FILES.trainLabels,
      options.limitTrain,
      classes,
    ),
    split(dir, FILES.testImages, FILES.testLabels, options.limitTest, classes),
  ]);
  if (train.status === "rejected") throw train.reason;
  if (test.status === "rejected") throw test.reason;
  return { train: train.value, test: test.value };
}
