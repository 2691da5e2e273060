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
  buildModel,
  type EpochRecord,
  firstNonFinite,
  optimizerFor,
  type RunConfig,
  type RunState,
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
  const raw = deserializeMetadata(bytes, path)["tensa.mnist"];
  if (raw === undefined) {
    throw new Error(
      `Expected ${path} to be a checkpoint written by --checkpoint but its metadata has no tensa.mnist entry (a file from --save holds only parameters)`,
    );
  }
  const stored = parseStored(raw, path);
  return { path, bytes, config: stored.config };
}

function parseStored(raw: string, path: string): Stored {
  let s: Stored;
  try {
    s = JSON.parse(raw);
  } catch {
    throw new Error(`Expected the tensa.mnist metadata of ${path} to be JSON`);
  }
  if (typeof s !== "object" || s === null || s.version !== 1) {
    throw new Error(
      `Expected checkpoint version 1 in ${path} but found ${
        JSON.stringify((s as { version?: unknown } | null)?.version)
      }`,
    );
  }
  const nat = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const r = s.running;
  if (
    !nat(s.epochsDone) || !nat(s.step) || !Array.isArray(s.history) ||
    typeof r !== "object" || r === null || !nat(r.seen) ||
    !nat(r.hits) || !Number.isFinite(r.lossSum) ||
    typeof s.config !== "object" || s.config === null
  ) {
    throw new Error(
      `Expected ${path} to hold a training position (epochsDone, step, running, history, config) but found ${
        raw.slice(0, 120)
      }`,
    );
  }
  const c = s.config as unknown as Record<string, unknown>;
  const optional = (v: unknown) => v === undefined || typeof v === "number";
  if (
    (c.model !== "small" && c.model !== "keras") ||
    typeof c.optimizer !== "string" || typeof c.lr !== "number" ||
    (c.schedule !== "cosine" && c.schedule !== "constant") ||
    !nat(c.epochs) || !nat(c.batchSize) || !nat(c.seed) ||
    !optional(c.dropout) || !optional(c.limit)
  ) {
    throw new Error(
      `Expected the flags stored in ${path} to describe a run but found ${
        JSON.stringify(c).slice(0, 160)
      }`,
    );
  }
  // JSON leaves out undefined values: put them back.
  s.config = {
    model: c.model,
    dropout: c.dropout as number | undefined,
    optimizer: c.optimizer,
    lr: c.lr,
    schedule: c.schedule,
    epochs: c.epochs as number,
    batchSize: c.batchSize as number,
    seed: c.seed as number,
    limit: c.limit as number | undefined,
  };
  return s;
}

/**
 * Decodes a checkpoint into a run state for `config` (which must equal the
 * stored one), checking every tensor's name, shape and dtype against a
 * fresh model and optimizer.
 */
export function restoreCheckpoint(
  file: CheckpointFile,
  config: RunConfig,
  nTrain: number,
): RunState {
  const stored = parseStored(
    deserializeMetadata(file.bytes, file.path)["tensa.mnist"] ?? "",
    file.path,
  );
  const { model } = buildModel(config.model, config.dropout);
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
