// The training code behind examples/mnist.ts, shared with its test so that
// both run the same path: models, one training epoch, evaluation, the SVG
// chart of the learning curves.
import {
  argmax,
  crossEntropy,
  equal,
  foldIn,
  type Key,
  key,
  mean,
  nn,
  optim,
  permutation,
  type Tensor,
  treeFlatten,
  treePaths,
  valueAndGrad,
} from "../mod.ts";
import { batches } from "../src/data/batches.ts";

/** The course's small CNN: conv 5x5x8, pool, conv 5x5x16, pool, dropout, dense 10. */
export function smallModel(rate: number) {
  return nn.sequential(
    nn.conv2d({ filters: 8, kernel: 5, activation: "relu" }),
    nn.maxPool2d({ size: 2 }),
    nn.conv2d({ filters: 16, kernel: 5, activation: "relu" }),
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dropout({ rate }),
    nn.dense({ units: 10 }),
  );
}

/** The Keras MNIST example network. */
export function kerasModel(rate1: number, rate2: number) {
  return nn.sequential(
    nn.conv2d({ filters: 32, kernel: 3, activation: "relu" }),
    nn.conv2d({ filters: 64, kernel: 3, activation: "relu" }),
    nn.maxPool2d({ size: 2 }),
    nn.dropout({ rate: rate1 }),
    nn.flatten(),
    nn.dense({ units: 128, activation: "relu" }),
    nn.dropout({ rate: rate2 }),
    nn.dense({ units: 10 }),
  );
}

/** A batch of 28x28 grey images, batch first. */
export type Images = Tensor<[number, 28, 28, 1], "float32">;
/** Integer class labels in [0, 10), one per image. */
export type Labels = Tensor<[number], "int32">;
/** Ten class scores per image. */
export type Logits = Tensor<[number, 10], "float32">;

/**
 * What the training loop needs of a model with parameters `P`: both models
 * above are one (the compiler checks their shape rules: 28x28x1 images in,
 * ten logits out), each with its own parameter type.
 */
export interface Model<P> {
  // Function properties, not methods: checked strictly, so a model only
  // fits the parameter type it really has. NoInfer: `P` comes from the
  // parameters passed with the model, or is written out (`<SmallParams>`).
  readonly init: (key: Key, inputShape: readonly [28, 28, 1]) => NoInfer<P>;
  readonly apply: (
    params: NoInfer<P>,
    x: Images,
    options?: nn.ApplyOptions,
  ) => Logits;
}

/** The type of {@linkcode smallModel}'s network. */
export type SmallModel = ReturnType<typeof smallModel>;
/** The type of {@linkcode kerasModel}'s network. */
export type KerasModel = ReturnType<typeof kerasModel>;
/** The parameter tree of a model for 28x28x1 images. */
export type ParamsOfModel<M extends nn.AnyLayer> = nn.ParamsOf<
  nn.RuleOf<M>,
  [number, 28, 28, 1]
>;
/** The small model's parameters. */
export type SmallParams = ParamsOfModel<SmallModel>;
/** The Keras model's parameters. */
export type KerasParams = ParamsOfModel<KerasModel>;

/** Builds the model named on the command line, typed as that model. */
export function buildModel(
  name: "small",
  dropout: number | undefined,
): { model: SmallModel };
export function buildModel(
  name: "keras",
  dropout: number | undefined,
): { model: KerasModel };
export function buildModel(
  name: "small" | "keras",
  dropout: number | undefined,
): { model: SmallModel } | { model: KerasModel } {
  return name === "small"
    ? { model: smallModel(dropout ?? 0.25) }
    : { model: kerasModel(dropout ?? 0.25, dropout ?? 0.5) };
}

/** Images and labels of a split. */
export interface Split {
  images: Images;
  labels: Labels;
}

/** Metrics of one pass over a split. */
export interface Metrics {
  loss: number;
  accuracy: number;
}

/** Progress reported after each batch. */
export interface Progress {
  done: number;
  total: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

/**
 * The fraction of images whose largest logit is at their label: the mean of
 * `equal(argmax(logits), labels)`.
 */
export function accuracy(
  logits: Logits,
  labels: Labels,
): Tensor<[], "float32"> {
  // `mean` of int32 is float32, as in numpy.
  return mean(equal(argmax(logits, { axis: 1 }), labels));
}

/** The number of correct predictions in a batch (exact: the mean times the count, rounded). */
function correct(logits: Logits, labels: Labels): number {
  return Math.round(accuracy(logits, labels).item() * labels.shape[0]);
}

/**
 * Creates the optimizer named on the command line. With `steps`, the
 * learning rate decays along a cosine from `lr` to `lr / 100` over that many
 * steps; without, it is constant.
 */
export function makeOptimizer(
  name: string,
  lr: number | optim.Schedule,
  steps?: number,
): optim.Optimizer {
  if (steps !== undefined && typeof lr === "number") {
    lr = optim.cosineSchedule({ init: lr, steps, alpha: 0.01 });
  }
  switch (name) {
    case "adam":
      return optim.adam({ lr });
    case "sgd":
      return optim.sgd({ lr });
    case "momentum":
      return optim.momentum({ lr, beta: 0.9 });
    case "adamw":
      return optim.adamw({ lr });
    default:
      throw new RangeError(
        `Expected --optimizer to be one of adam, adamw, sgd, momentum but found ${name}`,
      );
  }
}

/** The state of training between epochs, for a model with parameters `P`. */
export interface TrainState<P = unknown> {
  params: P;
  optState: optim.OptState;
}

/** Running sums over the steps done so far in an epoch. */
export interface Running {
  /** Images seen. */
  seen: number;
  /** Sum of batch loss times batch size. */
  lossSum: number;
  /** Correct predictions. */
  hits: number;
}

/** Where to pick up an epoch that was stopped part-way. */
export interface EpochStart {
  /** Batches already done (the index of the next batch). */
  step: number;
  /** The running sums at that point. */
  running: Running;
}

/** Options of {@linkcode trainEpoch}. */
export interface TrainEpochOptions {
  /** Called after each step. */
  onProgress?: (p: Progress) => void;
  /** Continue an epoch stopped part-way (same key, same order). */
  start?: EpochStart;
  /** Asked after each step; `true` ends the epoch early (no step is cut). */
  shouldStop?: () => boolean;
}

/** What {@linkcode trainEpoch} hands back. */
export interface EpochResult<P> {
  state: TrainState<P>;
  /** Running loss and accuracy over the steps done. */
  metrics: Metrics;
  /** Steps done, counting those before `start`. */
  step: number;
  /** The running sums (to resume a stopped epoch). */
  running: Running;
  /** Whether `shouldStop` ended the epoch before its last batch. */
  stopped: boolean;
}

/** A loss or state that is NaN or infinite: training cannot go on. */
export class DivergenceError extends Error {
  /**
   * @param what What went non-finite, e.g. `Loss is NaN`.
   * @param epoch The epoch (from 1), 0 when not known yet.
   * @param step The step in the epoch (from 1).
   * @param steps The steps per epoch.
   */
  constructor(
    readonly what: string,
    readonly epoch: number,
    readonly step: number,
    readonly steps: number,
  ) {
    super(
      `${what} at epoch ${epoch}, step ${step} of ${steps}: training diverged`,
    );
    this.name = "DivergenceError";
  }
}

/**
 * The first value of a tree of tensors that is NaN or infinite, described
 * with its path (e.g. `params.0.kernel holds NaN at index 3`), or
 * `undefined` when all are finite.
 */
export function firstNonFinite(tree: unknown): string | undefined {
  const [leaves] = treeFlatten(tree);
  const paths = treePaths(tree);
  for (let i = 0; i < leaves.length; i++) {
    const t = leaves[i]!;
    if (t.dtype !== "float32") continue;
    const d = t.toFlat();
    for (let j = 0; j < d.length; j++) {
      if (!Number.isFinite(d[j])) {
        return `${paths[i]} holds ${d[j]} at index ${j}`;
      }
    }
  }
  return undefined;
}

/**
 * One epoch: shuffle by `key`, then for each batch compute the loss and the
 * gradients in one reverse pass and update the parameters. Batch `i` uses
 * the dropout key `foldIn(key, i + 1)` and the order comes from
 * `foldIn(key, 0)`, so an epoch resumed at step `s` (with the state and
 * running sums of step `s`) continues exactly as if never stopped.
 *
 * @throws {DivergenceError} If a batch loss is not finite; the parameters of that step are not updated.
 */
export async function trainEpoch<P>(
  model: Model<P>,
  opt: optim.Optimizer,
  state: TrainState<P>,
  data: Split,
  batchSize: number,
  key: Key,
  options: TrainEpochOptions = {},
): Promise<EpochResult<P>> {
  const { onProgress, shouldStop, start: from } = options;
  const n = data.images.shape[0];
  const steps = Math.ceil(n / batchSize);
  const order = permutation(foldIn(key, 0), n);
  const loss = (p: P, x: Images, y: Labels, k: Key) => {
    const logits = model.apply(p, x, { training: true, key: k });
    return [crossEntropy(logits, y), logits] as const;
  };
  const stepFn = valueAndGrad(loss, { hasAux: true });
  let { params, optState } = state;
  let { seen, lossSum, hits } = from?.running ??
    { seen: 0, lossSum: 0, hits: 0 };
  let step = from?.step ?? 0;
  const seenBefore = seen;
  const start = performance.now();
  let lastYield = start;
  let stopped = false;
  for (
    const b of batches(data.images, data.labels, batchSize, {
      order,
      start: step,
    })
  ) {
    if (shouldStop?.()) {
      stopped = true;
      break;
    }
    const [[l, logits], g] = stepFn(
      params,
      b.x,
      b.y,
      foldIn(key, b.index + 1),
    );
    const value = l.item();
    if (!Number.isFinite(value)) {
      throw new DivergenceError(`Loss is ${value}`, 0, b.index + 1, steps);
    }
    [params, optState] = opt.update(g, optState, params);
    const m = b.y.shape[0];
    seen += m;
    lossSum += value * m;
    hits += correct(logits, b.y);
    step = b.index + 1;
    onProgress?.({
      done: seen,
      total: n,
      loss: lossSum / seen,
      accuracy: hits / seen,
      imagesPerSecond: (seen - seenBefore) /
        ((performance.now() - start) / 1000),
    });
    // Let timers (the progress bar's redraw) and signal listeners run now
    // and then.
    if ((onProgress || shouldStop) && performance.now() - lastYield > 200) {
      await new Promise((r) => setTimeout(r, 0));
      lastYield = performance.now();
    }
  }
  return {
    state: { params, optState },
    metrics: { loss: lossSum / seen, accuracy: hits / seen },
    step,
    running: { seen, lossSum, hits },
    stopped,
  };
}

/** Everything that decides a training run's numbers (the flags). */
export interface RunConfig {
  model: "small" | "keras";
  /** The dropout rate, or undefined for the model's defaults. */
  dropout: number | undefined;
  optimizer: string;
  lr: number;
  schedule: "cosine" | "constant";
  epochs: number;
  batchSize: number;
  seed: number;
  /** Use only the first N training images. */
  limit: number | undefined;
}

/** A run's complete state: what a checkpoint holds. */
export interface RunState<P = unknown> extends TrainState<P> {
  /** Epochs finished. */
  epochsDone: number;
  /** Steps done in the next epoch (0 at an epoch's end). */
  step: number;
  /** Running sums of the next epoch's steps done so far. */
  running: Running;
  /** One record per finished epoch. */
  history: EpochRecord[];
}

/**
 * A run state tagged with its model's name: the name tells the compiler
 * which parameter type the state holds.
 */
export type AnyRunState =
  | (RunState<SmallParams> & { readonly model: "small" })
  | (RunState<KerasParams> & { readonly model: "keras" });

/** Hooks of {@linkcode runModel}. */
export interface RunHooks<P = unknown> {
  /** Continue from this state (from a checkpoint) instead of starting fresh. */
  resume?: RunState<P>;
  /** Asked after each step; `true` stops the run after that step. */
  shouldStop?: () => boolean;
  /** Called after each step with the epoch (from 1). */
  onProgress?: (epoch: number, p: Progress) => void;
  /** Called when an epoch's training steps are done, before evaluation. */
  onEpochTrained?: (epoch: number) => Promise<void> | void;
  /** Called after each epoch's evaluation with its record and running metrics. */
  onEpoch?: (record: EpochRecord, running: Metrics) => void;
  /** Called with the state to keep: after every epoch, and when stopped. */
  onCheckpoint?: (state: RunState<P>) => Promise<void>;
}

/** The root key of a run and the key of its epoch `epoch` (from 1). */
export function epochKey(seed: number, epoch: number): Key {
  return foldIn(key(seed), 1000 + epoch);
}

/**
 * The whole training run of examples/mnist.ts with the model that
 * `config.model` names: {@linkcode runModel} instantiated for that model.
 * A `hooks.resume` state must come from the same model.
 *
 * @throws {DivergenceError} If a loss is not finite (with the epoch and step).
 * @throws {TypeError} If `hooks.resume` holds another model's state.
 */
export async function runTraining(
  config: RunConfig,
  data: { train: Split; test: Split },
  hooks: Omit<RunHooks, "resume"> & { resume?: AnyRunState } = {},
): Promise<{ state: RunState; stopped: boolean }> {
  const { resume, ...rest } = hooks;
  if (resume !== undefined && resume.model !== config.model) {
    throw new TypeError(
      `Expected a state of the ${config.model} model to resume but found one of the ${resume.model} model`,
    );
  }
  if (config.model === "small") {
    const { model } = buildModel("small", config.dropout);
    return await (resume?.model === "small"
      ? runModel<SmallParams>(model, config, data, { ...rest, resume })
      : runModel<SmallParams>(model, config, data, rest));
  }
  const { model } = buildModel("keras", config.dropout);
  return await (resume?.model === "keras"
    ? runModel<KerasParams>(model, config, data, { ...rest, resume })
    : runModel<KerasParams>(model, config, data, rest));
}

/**
 * The whole training run of examples/mnist.ts for `model`: `config.epochs`
 * epochs from a fresh initialization (or from `hooks.resume`), each
 * followed by an evaluation on both splits. Returns the final state and
 * whether it stopped early because `hooks.shouldStop` said so.
 *
 * @throws {DivergenceError} If a loss is not finite (with the epoch and step).
 */
export async function runModel<P>(
  model: Model<P>,
  config: RunConfig,
  data: { train: Split; test: Split },
  hooks: RunHooks<P> = {},
): Promise<{ state: RunState<P>; stopped: boolean }> {
  const opt = optimizerFor(config, data.train.images.shape[0]);
  let state: RunState<P>;
  if (hooks.resume) {
    state = hooks.resume;
  } else {
    const params = model.init(key(config.seed), [28, 28, 1]);
    state = {
      params,
      optState: opt.init(params),
      epochsDone: 0,
      step: 0,
      running: { seen: 0, lossSum: 0, hits: 0 },
      history: [],
    };
  }
  for (let epoch = state.epochsDone + 1; epoch <= config.epochs; epoch++) {
    if (hooks.shouldStop?.()) {
      // Stopped between epochs (or before the first): keep this state too.
      await hooks.onCheckpoint?.(state);
      return { state, stopped: true };
    }
    let result: EpochResult<P>;
    try {
      const onProgress = hooks.onProgress;
      result = await trainEpoch(
        model,
        opt,
        state,
        data.train,
        config.batchSize,
        // A fresh key per epoch for shuffling and dropout.
        epochKey(config.seed, epoch),
        {
          ...(onProgress && { onProgress: (p) => onProgress(epoch, p) }),
          ...(hooks.shouldStop && { shouldStop: hooks.shouldStop }),
          start: { step: state.step, running: state.running },
        },
      );
    } catch (e) {
      if (e instanceof DivergenceError) {
        throw new DivergenceError(e.what, epoch, e.step, e.steps);
      }
      throw e;
    }
    // The loss can stay finite while a state overflows (Adam's second
    // moments, say): such a state is never kept.
    const bad = firstNonFinite(result.state);
    if (bad !== undefined) {
      throw new DivergenceError(
        `The training state's ${bad}`,
        epoch,
        result.step,
        Math.ceil(data.train.images.shape[0] / config.batchSize),
      );
    }
    if (result.stopped) {
      state = {
        ...result.state,
        epochsDone: epoch - 1,
        step: result.step,
        running: result.running,
        history: state.history,
      };
      await hooks.onCheckpoint?.(state);
      return { state, stopped: true };
    }
    await hooks.onEpochTrained?.(epoch);
    const params = result.state.params;
    const train = evaluate(model, params, data.train);
    const test = evaluate(model, params, data.test);
    const record = { epoch, train, test };
    state = {
      ...result.state,
      epochsDone: epoch,
      step: 0,
      running: { seen: 0, lossSum: 0, hits: 0 },
      history: [...state.history, record],
    };
    hooks.onEpoch?.(record, result.metrics);
    await hooks.onCheckpoint?.(state);
  }
  return { state, stopped: false };
}

/** The optimizer of a run: its schedule spans all epochs' steps. */
export function optimizerFor(
  config: RunConfig,
  nTrain: number,
): optim.Optimizer {
  const steps = config.epochs * Math.ceil(nTrain / config.batchSize);
  return makeOptimizer(
    config.optimizer,
    config.lr,
    config.schedule === "cosine" ? steps : undefined,
  );
}

/** Loss and accuracy over a split, in inference mode. */
export function evaluate<P>(
  model: Model<P>,
  params: P,
  data: Split,
  batchSize = 500,
): Metrics {
  let lossSum = 0, hits = 0, seen = 0;
  for (const b of batches(data.images, data.labels, batchSize)) {
    const logits = model.apply(params, b.x);
    const m = b.y.shape[0];
    lossSum += crossEntropy(logits, b.y).item() * m;
    hits += correct(logits, b.y);
    seen += m;
  }
  return { loss: lossSum / seen, accuracy: hits / seen };
}

/** One row of the learning curves. */
export interface EpochRecord {
  epoch: number;
  train: Metrics;
  test: Metrics;
}

/**
 * An SVG chart of training and test accuracy (left) and loss (right) per
 * epoch: the gap between the curves is what overfitting looks like.
 */
export function learningCurvesSvg(
  history: readonly EpochRecord[],
  title: string,
): string {
  // Two panels of w x h under a title band of height `top`.
  const w = 420, h = 300, pad = 48, top = 30;
  const panel = (
    x0: number,
    label: string,
    pick: (m: Metrics) => number,
    percent: boolean,
  ): string => {
    const vals = history.flatMap((r) => [pick(r.train), pick(r.test)]);
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (hi - lo < 1e-6) {
      lo -= 0.5;
      hi += 0.5;
    }
    const span = hi - lo;
    lo -= span * 0.05;
    hi += span * 0.05;
    const n = Math.max(1, history.length - 1);
    const px = (i: number) => x0 + pad + (i / n) * (w - 2 * pad);
    const py = (v: number) => h - pad - ((v - lo) / (hi - lo)) * (h - 2 * pad);
    const path = (f: (r: EpochRecord) => number) =>
      history.map((r, i) =>
        `${i === 0 ? "M" : "L"}${px(i).toFixed(1)},${py(f(r)).toFixed(1)}`
      ).join(" ");
    // Accuracy in percent, with as many decimals as the range needs.
    const digits = (hi - lo) * 100 < 1 ? 2 : (hi - lo) * 100 < 10 ? 1 : 0;
    const tick = (v: number) =>
      percent ? `${(100 * v).toFixed(digits)}%` : v.toFixed(3);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => {
      const v = lo + t * (hi - lo);
      return `<text x="${x0 + pad - 6}" y="${
        py(v) + 4
      }" font-size="10" text-anchor="end">${tick(v)}</text><line x1="${
        x0 + pad
      }" x2="${x0 + w - pad}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`;
    }).join("");
    const xt = history.map((r, i) =>
      `<text x="${px(i)}" y="${
        h - pad + 16
      }" font-size="10" text-anchor="middle">${r.epoch}</text>`
    ).join("");
    const dots = (f: (r: EpochRecord) => number, color: string) =>
      history.map((r, i) =>
        `<circle cx="${px(i)}" cy="${py(f(r))}" r="3" fill="${color}"/>`
      ).join("");
    return `<g>
<text x="${
      x0 + w / 2
    }" y="16" font-size="14" text-anchor="middle">${label}</text>
${ticks}${xt}
<text x="${x0 + w / 2}" y="${
      h - 8
    }" font-size="11" text-anchor="middle">epoch</text>
<path d="${
      path((r) => pick(r.train))
    }" fill="none" stroke="#1f77b4" stroke-width="2"/>${
      dots((r) => pick(r.train), "#1f77b4")
    }
<path d="${
      path((r) => pick(r.test))
    }" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>${
      dots((r) => pick(r.test), "#d62728")
    }
</g>`;
  };
  const legend = `<g font-size="12">
<line x1="${w - 20}" x2="${w}" y1="${h + 14}" y2="${
    h + 14
  }" stroke="#1f77b4" stroke-width="2"/>
<text x="${w + 6}" y="${h + 18}">training</text>
<line x1="${w + 80}" x2="${w + 100}" y1="${h + 14}" y2="${
    h + 14
  }" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>
<text x="${w + 106}" y="${h + 18}">test</text>
</g>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${
    h + 40 + top
  }" viewBox="0 0 ${2 * w} ${h + 40 + top}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<title>${escapeXml(title)}</title>
<text x="${w}" y="22" font-size="16" font-weight="bold" text-anchor="middle">${
    escapeXml(title)
  }</text>
<g transform="translate(0, ${top})">
${panel(0, "accuracy (%)", (m) => m.accuracy, true)}
${panel(w, "loss", (m) => m.loss, false)}
${legend}
</g>
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
}
