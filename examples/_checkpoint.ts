// Checkpoints of examples/mnist.ts: writing them atomically and never with
// a non-finite value, reading them back and checking them.
//
// File format: a safetensors file (see src/io/safetensors.ts) whose tensors
// are the tree `{ params, optState }` (the model's parameters and the
// optimizer's state, including its int32 step count), and whose
// `__metadata__` holds, besides the library's `format` and `tensa.treedef`,
// one entry `tensa.mnist` with a JSON object:
//
//   version      1
//   config       the flags that decide the numbers: model, dropout,
//                optimizer, lr, schedule, epochs, batchSize, seed, limit
//   epochsDone   epochs finished
//   step         batches done in the next epoch (0 at an epoch's end)
//   running      { seen, lossSum, hits } of those batches (for the running
//                loss and accuracy of the resumed epoch)
//   history      per finished epoch: { epoch, train, test } loss and accuracy
//   key          the root key's two 32-bit words, keyData(key(seed))
//   keySchedule  how every other key derives from it: initialization uses
//                the root key; epoch e uses foldIn(root, 1000 + e); its
//                shuffle foldIn(epochKey, 0); its batch i (from 0)
//                foldIn(epochKey, i + 1)
//
// Every number is exact: JSON keeps doubles digit for digit, so a resumed run
// ends bit-identical to one never stopped.
import { reason } from "./_cli.ts";
import {
  deserialize,
  deserializeMetadata,
  key,
  keyData,
  save,
} from "../mod.ts";
import {
  type AnyRunState,
  buildModel,
  type EpochRecord,
  firstNonFinite,
  type KerasParams,
  type Model,
  optimizerFor,
  type RunConfig,
  type RunState,
  type SmallParams,
} from "./mnist_lib.ts";

const KEY_SCHEDULE =
  "init: root; epoch e: foldIn(root, 1000 + e); shuffle: foldIn(epochKey, 0); batch i: foldIn(epochKey, i + 1)";

/**
 * Throws unless every value of every tensor in `tree` is finite, naming the
 * first offending leaf: nothing non-finite is ever written.
 */
export function assertFinite(tree: unknown, what: string): void {
  const bad = firstNonFinite(tree);
  if (bad !== undefined) {
    throw new RangeError(`Refusing to write ${what}: ${bad}`);
  }
}

interface Stored {
  version: 1;
  config: RunConfig;
  epochsDone: number;
  step: number;
  running: RunState["running"];
  history: EpochRecord[];
  key: [number, number];
  keySchedule: string;
}

/** Writes a checkpoint atomically (after checking it is all finite). */
export async function writeCheckpoint(
  path: string,
  config: RunConfig,
  state: RunState,
): Promise<void> {
  const tree = { params: state.params, optState: state.optState };
  assertFinite(tree, `the checkpoint ${path}`);
  const stored: Stored = {
    version: 1,
    config,
    epochsDone: state.epochsDone,
    step: state.step,
    running: state.running,
    history: state.history,
    key: keyData(key(config.seed)),
    keySchedule: KEY_SCHEDULE,
  };
  await save(path, tree, {
    metadata: { "tensa.mnist": JSON.stringify(stored) },
  });
}

/** A checkpoint read from disk, before its tensors are decoded. */
export interface CheckpointFile {
  path: string;
  bytes: Uint8Array;
  config: RunConfig;
}

/**
 * Reads a checkpoint's bytes and its run configuration.
 *
 * @throws {Error} If the file cannot be read or is not a checkpoint of this example.
 */
export async function readCheckpoint(path: string): Promise<CheckpointFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read --resume ${path}: ${reason(e)}`);
  }
  const config = checkpointConfig(bytes, path);
  if (config === undefined) {
    throw new Error(
      `Expected ${path} to be a checkpoint written by --checkpoint but its metadata has no tensa.mnist entry (a file from --save holds only parameters)`,
    );
  }
  return { path, bytes, config };
}

/**
 * The run configuration stored in a checkpoint's bytes, or `undefined` for
 * a file without one (parameters from --save).
 *
 * @throws {TypeError} If the bytes are not a safetensors file.
 * @throws {Error} If the stored run description is broken.
 */
export function checkpointConfig(
  bytes: Uint8Array,
  path: string,
): RunConfig | undefined {
  const raw = deserializeMetadata(bytes, path)["tensa.mnist"];
  return raw === undefined ? undefined : parseStored(raw, path).config;
}

/** What a checkpoint's metadata says about the run (the rest is for readers). */
type Position = Pick<
  Stored,
  "config" | "epochsDone" | "step" | "running" | "history"
>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function isNat(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function isOptionalNumber(v: unknown): v is number | undefined {
  return v === undefined || typeof v === "number";
}

function parseStored(raw: string, path: string): Position {
  let s: unknown;
  try {
    s = JSON.parse(raw);
  } catch {
    throw new Error(`Expected the tensa.mnist metadata of ${path} to be JSON`);
  }
  if (!isRecord(s) || s.version !== 1) {
    throw new Error(
      `Expected checkpoint version 1 in ${path} but found ${
        JSON.stringify(isRecord(s) ? s.version : undefined)
      }`,
    );
  }
  const { epochsDone, step, running: r, history, config: c } = s;
  if (
    !isNat(epochsDone) || !isNat(step) || !Array.isArray(history) ||
    !isRecord(r) || !isNat(r.seen) || !isNat(r.hits) ||
    typeof r.lossSum !== "number" || !Number.isFinite(r.lossSum) ||
    !isRecord(c)
  ) {
    throw new Error(
      `Expected ${path} to hold a training position (epochsDone, step, running, history, config) but found ${
        raw.slice(0, 120)
      }`,
    );
  }
  const {
    model,
    dropout,
    optimizer,
    lr,
    schedule,
    epochs,
    batchSize,
    seed,
    limit,
  } = c;
  if (
    (model !== "small" && model !== "keras") ||
    typeof optimizer !== "string" || typeof lr !== "number" ||
    (schedule !== "cosine" && schedule !== "constant") ||
    !isNat(epochs) || !isNat(batchSize) || !isNat(seed) ||
    !isOptionalNumber(dropout) || !isOptionalNumber(limit)
  ) {
    throw new Error(
      `Expected the flags stored in ${path} to describe a run but found ${
        JSON.stringify(c).slice(0, 160)
      }`,
    );
  }
  return {
    // JSON leaves out undefined values: they come back as undefined here.
    config: {
      model,
      dropout,
      optimizer,
      lr,
      schedule,
      epochs,
      batchSize,
      seed,
      limit,
    },
    epochsDone,
    step,
    running: { seen: r.seen, lossSum: r.lossSum, hits: r.hits },
    history,
  };
}

/**
 * Decodes a checkpoint into a run state for `config` (which must equal the
 * stored one), checking every tensor's name, shape and dtype against a
 * fresh model and optimizer. The state is tagged with the model's name.
 */
export function restoreCheckpoint(
  file: CheckpointFile,
  config: RunConfig,
  nTrain: number,
): AnyRunState {
  return config.model === "small"
    ? {
      model: "small",
      ...restoreState<SmallParams>(
        file,
        config,
        nTrain,
        buildModel("small", config.dropout).model,
      ),
    }
    : {
      model: "keras",
      ...restoreState<KerasParams>(
        file,
        config,
        nTrain,
        buildModel("keras", config.dropout).model,
      ),
    };
}

/**
 * Decodes a checkpoint into a run state of `model` (built from `config`,
 * which must equal the stored one), checking every tensor's name, shape and
 * dtype against a fresh initialization of the model and the optimizer: the
 * state gets the model's parameter type.
 */
export function restoreState<P>(
  file: CheckpointFile,
  config: RunConfig,
  nTrain: number,
  model: Model<P>,
): RunState<P> {
  const stored = parseStored(
    deserializeMetadata(file.bytes, file.path)["tensa.mnist"] ?? "",
    file.path,
  );
  const opt = optimizerFor(config, nTrain);
  const params = model.init(key(config.seed), [28, 28, 1]);
  const like = { params, optState: opt.init(params) };
  const tree = deserialize(file.bytes, like, file.path);
  const steps = Math.ceil(nTrain / config.batchSize);
  if (stored.step >= steps || stored.epochsDone > config.epochs) {
    throw new Error(
      `Expected ${file.path} to stop inside the run (epoch ${stored.epochsDone} of ${config.epochs}, step ${stored.step} of ${steps}) but it does not fit these ${nTrain} training images`,
    );
  }
  return {
    params: tree.params,
    optState: tree.optState,
    epochsDone: stored.epochsDone,
    step: stored.step,
    running: stored.running,
    history: stored.history,
  };
}
