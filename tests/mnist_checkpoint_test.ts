// The main job never loses work: a run stopped part-way (as on Ctrl-C) and
// resumed from its checkpoint ends bit-identical to a run never stopped; a
// diverging run stops with the epoch and step and keeps the last good
// checkpoint; output paths and flags are checked before any work.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { type AnyTensor, tensor, treeFlatten } from "../mod.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { mnistDefaultDir } from "../examples/_mnist_files.ts";
import {
  readCheckpoint,
  restoreCheckpoint,
  writeCheckpoint,
} from "../examples/_checkpoint.ts";
import {
  DivergenceError,
  type RunConfig,
  type RunState,
  runTraining,
} from "../examples/mnist_lib.ts";
import { parseCommandLine, resolveConfig } from "../examples/mnist.ts";
import { checkWritablePath } from "../examples/_cli.ts";

// 384 images in batches of 64: 6 steps per epoch, 2 epochs.
const config: RunConfig = {
  model: "small",
  dropout: undefined,
  optimizer: "adam",
  lr: 0.003,
  schedule: "cosine",
  epochs: 2,
  batchSize: 64,
  seed: 3,
  limit: 384,
};
const data = await loadMnist(await mnistDefaultDir(), {
  limitTrain: 384,
  limitTest: 200,
});

/** The bytes of every leaf, for a bit-for-bit comparison. */
function bits(tree: unknown): number[][] {
  return treeFlatten(tree)[0].map((t: AnyTensor) => {
    const d = t.toFlat();
    return [...new Uint8Array(d.buffer, d.byteOffset, d.byteLength)];
  });
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Stops after `n` steps, writes the checkpoint, then resumes from the file. */
async function stopAndResume(
  dir: string,
  n: number,
): Promise<{ state: RunState; runningLoss: number[] }> {
  const path = `${dir}/run-${n}.safetensors`;
  let steps = 0;
  const first = await runTraining(config, data, {
    shouldStop: () => steps >= n,
    onProgress: () => steps++,
    onCheckpoint: (s) => writeCheckpoint(path, config, s),
  });
  assert(first.stopped);
  assertEquals(steps, n);
  // No temporary file is left beside the checkpoint.
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [
    `run-${n}.safetensors`,
  ]);
  const file = await readCheckpoint(path);
  assertEquals(file.config, config);
  const resume = restoreCheckpoint(file, config, 384);
  assertEquals(resume.epochsDone, Math.floor(n / 6));
  assertEquals(resume.step, n % 6);
  const runningLoss: number[] = [];
  const second = await runTraining(config, data, {
    resume,
    onEpoch: (_, running) => runningLoss.push(running.loss, running.accuracy),
  });
  assert(!second.stopped);
  await Deno.remove(path);
  return { state: second.state, runningLoss };
}

Deno.test("a run stopped mid-epoch or at an epoch's end and resumed from its checkpoint ends bit-identical", async () => {
  // The running loss and accuracy of the last epoch, printed per epoch.
  const runningLoss: number[] = [];
  const whole = await runTraining(config, data, {
    onEpoch: (r, running) => {
      if (r.epoch === 2) runningLoss.push(running.loss, running.accuracy);
    },
  });
  assert(!whole.stopped);
  assertEquals(whole.state.history.length, 2);
  await withDir(async (dir) => {
    for (const n of [8, 6]) {
      const { state, runningLoss: resumedLoss } = await stopAndResume(dir, n);
      assertEquals(bits(state.params), bits(whole.state.params));
      assertEquals(bits(state.optState), bits(whole.state.optState));
      // The learning curves and the running loss of the epoch that was cut
      // (its sums travel in the checkpoint) match too.
      assertEquals(state.history, whole.state.history);
      assertEquals(resumedLoss.slice(-2), runningLoss);
    }
  });
});

Deno.test("divergence stops with the epoch and step, and the last good checkpoint stays", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/ck.safetensors`;
    const oneEpoch = { ...config, epochs: 1 };
    await runTraining(oneEpoch, data, {
      onCheckpoint: (s) => writeCheckpoint(path, oneEpoch, s),
    });
    const good = await Deno.readFile(path);
    // Continue the run with a learning rate that blows the parameters up.
    const wild = { ...oneEpoch, epochs: 2, lr: 1e30 };
    const resume = restoreCheckpoint(await readCheckpoint(path), wild, 384);
    let written = 0;
    const err = await assertRejects(() =>
      runTraining(wild, data, {
        resume,
        onCheckpoint: async (s) => {
          written++;
          await writeCheckpoint(path, wild, s);
        },
      })
    );
    assertInstanceOf(err, DivergenceError);
    assertEquals(
      err.message,
      "Loss is NaN at epoch 2, step 2 of 6: training diverged",
    );
    assertEquals(written, 0);
    assertEquals(await Deno.readFile(path), good);
    // Even when asked directly, nothing non-finite is written.
    const nan = { ...resume, params: [{ kernel: tensor([1, NaN]) }] };
    await assertRejects(
      () => writeCheckpoint(`${dir}/nan.safetensors`, wild, nan),
      RangeError,
      `Refusing to write the checkpoint ${dir}/nan.safetensors: params.0.kernel holds NaN at index 1`,
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [
      "ck.safetensors",
    ]);
  });
});

Deno.test("a checkpoint is refused when it is not one, or when its flags differ", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/junk`, "not safetensors at all");
    await assertRejects(
      () => readCheckpoint(`${dir}/junk`),
      TypeError,
      `Expected ${dir}/junk to be a safetensors file`,
    );
    await assertRejects(
      () => readCheckpoint(`${dir}/none`),
      Error,
      `Cannot read --resume ${dir}/none: No such file or directory`,
    );
  });
  const stored = { config, path: "ck.safetensors" };
  assertEquals(resolveConfig({}, stored), config);
  assertEquals(resolveConfig({ lr: 0.003, epochs: 2 }, stored), config);
  assertThrows(
    () => resolveConfig({ lr: 0.01 }, stored),
    RangeError,
    "Expected --lr to be 0.003 as in ck.safetensors but found 0.01: a resumed run keeps the flags it started with",
  );
  assertThrows(
    () => resolveConfig({ dropout: 0.5 }, stored),
    RangeError,
    "Expected --dropout to be left out as in ck.safetensors but found 0.5",
  );
  assertEquals(resolveConfig({}).epochs, 10);
});

Deno.test("the command line: negative numbers are values, stray arguments and bad values are refused", () => {
  const bad: [string[], string][] = [
    [["--lr", "-1"], "Expected --lr to be a positive number but found -1"],
    [["--lr=-0.5"], "Expected --lr to be a positive number but found -0.5"],
    [
      ["--epochs", "-3"],
      "Expected --epochs to be a positive integer but found -3",
    ],
    [
      ["--seed", "-1"],
      "Expected --seed to be a non-negative integer but found -1",
    ],
    [["--dropout", "-.5"], "Expected --dropout to be in [0, 1) but found -.5"],
    [["--lr"], "Expected a value after --lr"],
    [
      ["extra"],
      "Expected only options but found the argument extra; see --help",
    ],
    [["--epochs", "2", "3"], "Expected only options but found the argument 3"],
    [["-x"], "Unknown option -x; see --help"],
    [["--lr", "1", "--lr", "2"], "Expected --lr once but found it 2 times"],
    [["--model", "big"], "Expected --model to be small or keras but found big"],
    [
      ["--optimizer", "rms"],
      "Expected --optimizer to be one of adam, adamw, sgd, momentum but found rms",
    ],
    [
      ["--save", "a.st", "--checkpoint", "a.st"],
      "Expected --save and --checkpoint to name different files but both are a.st",
    ],
    [
      ["--resume", "a.st", "--save", "a.st"],
      "Expected --save and --resume to name different files but both are a.st",
    ],
  ];
  for (const [argv, message] of bad) {
    assertThrows(() => parseCommandLine(argv), RangeError, message);
  }
  const ok = parseCommandLine([
    "--lr",
    "0.01",
    "--checkpoint",
    "c.st",
    "--quiet",
  ]);
  assertEquals(ok.given, { lr: 0.01 });
  assertEquals([ok.checkpoint, ok.quiet, ok.resume], ["c.st", true, undefined]);
  // Resuming and checkpointing into the same file is the usual way.
  assertEquals(
    parseCommandLine(["--resume", "c.st", "--checkpoint", "c.st"]).resume,
    "c.st",
  );
});

Deno.test("output paths are checked before any work, naming the flag and the path", async () => {
  await withDir(async (dir) => {
    await assertRejects(
      () => checkWritablePath(`${dir}/no/such/m.safetensors`, "--save"),
      Error,
      `Cannot write --save ${dir}/no/such/m.safetensors: the folder ${dir}/no/such does not exist`,
    );
    await assertRejects(
      () => checkWritablePath(dir, "--plot"),
      Error,
      `Cannot write --plot ${dir}: it is a folder`,
    );
    await Deno.writeTextFile(`${dir}/file`, "");
    await assertRejects(
      () => checkWritablePath(`${dir}/file/x.svg`, "--plot"),
      Error,
      `Cannot write --plot ${dir}/file/x.svg: ${dir}/file is not a folder`,
    );
    await checkWritablePath(`${dir}/ok.safetensors`, "--checkpoint");
    // The probe leaves nothing behind.
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
  });
});
