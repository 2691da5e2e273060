// Trains the example's small CNN on 3000 real MNIST images for one epoch
// through the same code as examples/mnist.ts, and checks the test accuracy
// is far above chance (10%) and that the same seed gives the same numbers.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { key, slice, tensor } from "../mod.ts";
import { loadMnist } from "../src/data/mnist.ts";
import { mnistDefaultDir } from "../examples/_mnist_files.ts";
import {
  accuracy,
  buildModel,
  evaluate,
  learningCurvesSvg,
  makeOptimizer,
  type RunConfig,
  runTraining,
  type Split,
  trainEpoch,
} from "../examples/mnist_lib.ts";

async function run(limit: number, seed: number) {
  const data = await loadMnist(await mnistDefaultDir(), { limitTrain: limit });
  const test: Split = {
    images: slice(data.test.images, 0, 2000),
    labels: slice(data.test.labels, 0, 2000),
  };
  const { model } = buildModel("small", 0.25);
  const opt = makeOptimizer("adam", 0.003);
  const params = model.init(key(seed), [28, 28, 1]);
  const losses: number[] = [];
  const { state, metrics } = await trainEpoch(
    model,
    opt,
    { params, optState: opt.init(params) },
    data.train,
    64,
    key(seed + 1),
    { onProgress: (p) => losses.push(p.loss) },
  );
  return { metrics, test: evaluate(model, state.params, test), losses };
}

Deno.test("the MNIST example learns: one epoch on 3000 images beats chance by far", async () => {
  const a = await run(3000, 0);
  assertGreater(a.test.accuracy, 0.8, `test accuracy ${a.test.accuracy}`);
  assert(Number.isFinite(a.metrics.loss));
  // Same seed, same numbers.
  const b = await run(640, 0);
  const c = await run(640, 0);
  assertEquals(b.losses, c.losses);
});

Deno.test("the learning-curve chart is an SVG with both curves", () => {
  const svg = learningCurvesSvg([
    {
      epoch: 1,
      train: { loss: 0.5, accuracy: 0.9 },
      test: { loss: 0.6, accuracy: 0.88 },
    },
    {
      epoch: 2,
      train: { loss: 0.2, accuracy: 0.97 },
      test: { loss: 0.4, accuracy: 0.9 },
    },
  ], "MNIST small <dropout 0.25>");
  assertStringIncludes(svg, "<svg");
  assertEquals((svg.match(/<path /g) ?? []).length, 4);
  assertStringIncludes(svg, "training");
  assertStringIncludes(svg, "test");
  // A visible title (escaped), not only the tooltip <title>.
  assertStringIncludes(
    svg,
    'font-weight="bold" text-anchor="middle">MNIST small &lt;dropout 0.25&gt;</text>',
  );
  // Accuracy ticks in percent, one decimal for a range under 10 points: the
  // range 0.88..0.97 widened by 5% each side is 87.55% to 97.45%, in 4 steps.
  const ticks = [...svg.matchAll(/>([\d.]+%)<\/text>/g)].map((m) => m[1]);
  assertEquals(ticks, ["87.6%", "90.0%", "92.5%", "95.0%", "97.4%"]);
  // Loss ticks stay plain numbers.
  // Loss ticks stay plain numbers: 0.2..0.6 widened is 0.18 to 0.62.
  assertStringIncludes(svg, ">0.180</text>");
  assertStringIncludes(svg, ">0.620</text>");
});

Deno.test("accuracy is the fraction of rows whose largest logit is at the label", () => {
  // Rows peak at classes 3, 0, 9, 9 (a tie at 9 and 2 takes the first: 2).
  const rows = [3, 0, 9, 2].map((c, i) =>
    Array.from(
      { length: 10 },
      (_, j) => j === c ? 5 : i === 3 && j === 9 ? 5 : 0,
    )
  );
  const logits = tensor(rows.flat(), [4, 10]);
  const labels = tensor(new Int32Array([3, 1, 9, 9]), [4]);
  assertAlmostEquals(accuracy(logits, labels).item(), 0.5, 1e-7);
});

Deno.test("runTraining refuses to resume a state of the other model", async () => {
  const data = await loadMnist(await mnistDefaultDir(), {
    limitTrain: 64,
    limitTest: 64,
  });
  const config: RunConfig = {
    model: "keras",
    dropout: undefined,
    optimizer: "sgd",
    lr: 0.01,
    schedule: "constant",
    epochs: 1,
    batchSize: 64,
    seed: 0,
    limit: 64,
  };
  const { model } = buildModel("small", undefined);
  const params = model.init(key(0), [28, 28, 1]);
  const resume = {
    model: "small" as const,
    params,
    optState: makeOptimizer("sgd", 0.01).init(params),
    epochsDone: 0,
    step: 0,
    running: { seen: 0, lossSum: 0, hits: 0 },
    history: [],
  };
  await assertRejects(
    () => runTraining(config, data, { resume }),
    TypeError,
    "Expected a state of the keras model to resume but found one of the small model",
  );
});
