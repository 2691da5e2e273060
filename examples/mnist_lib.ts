// The training code behind examples/mnist.ts, shared with its test so that
// both run the same path: models, one training epoch, evaluation, the SVG
// chart of the learning curves.
import {
  type AnyTensor,
  argmax,
  crossEntropy,
  foldIn,
  type Key,
  nn,
  optim,
  permutation,
  type Tensor,
  valueAndGrad,
} from "../mod.ts";
import { batches } from "../src/data/batches.ts";

/** The course's small CNN: conv 5x5x8, pool, conv 5x5x16, pool, dropout, dense 10. */
export function smallModel(rate: number) {
  return nn.sequential(
    nn.conv2d({ filters: 8, kernel: 5 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.conv2d({ filters: 16, kernel: 5 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.flatten(),
    nn.dropout({ rate }),
    nn.dense({ units: 10 }),
  );
}

/** The Keras MNIST example network. */
export function kerasModel(rate1: number, rate2: number) {
  return nn.sequential(
    nn.conv2d({ filters: 32, kernel: 3 }),
    nn.relu(),
    nn.conv2d({ filters: 64, kernel: 3 }),
    nn.relu(),
    nn.maxPool2d({ size: 2 }),
    nn.dropout({ rate: rate1 }),
    nn.flatten(),
    nn.dense({ units: 128 }),
    nn.relu(),
    nn.dropout({ rate: rate2 }),
    nn.dense({ units: 10 }),
  );
}

/** What any of the models above looks like to the training loop. */
export interface Model {
  init(key: Key, inputShape: readonly [28, 28, 1]): unknown;
  apply(params: unknown, x: AnyTensor, options?: nn.ApplyOptions): AnyTensor;
}

/** Builds the model named on the command line. */
export function buildModel(
  name: "small" | "keras",
  dropout: number | undefined,
): {
  model: Model;
  layer: nn.AnyLayer;
} {
  const layer = name === "small"
    ? smallModel(dropout ?? 0.25)
    : kerasModel(dropout ?? 0.25, dropout ?? 0.5);
  return { model: layer as unknown as Model, layer };
}

/** Images and labels of a split. */
export interface Split {
  images: Tensor<[number, 28, 28, 1], "float32">;
  labels: Tensor<[number], "int32">;
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

function correct(logits: AnyTensor, labels: AnyTensor): number {
  const p = argmax(logits).toFlat();
  const y = labels.toFlat();
  let c = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === y[i]) c++;
  return c;
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

/** The state of training between epochs. */
export interface TrainState {
  params: unknown;
  optState: unknown;
}

/**
 * One epoch: shuffle by `key`, then for each batch compute the loss and the
 * gradients in one reverse pass and update the parameters.
 */
export async function trainEpoch(
  model: Model,
  opt: optim.Optimizer,
  state: TrainState,
  data: Split,
  batchSize: number,
  key: Key,
  onProgress?: (p: Progress) => void,
): Promise<[TrainState, Metrics]> {
  const n = data.images.shape[0];
  const order = permutation(foldIn(key, 0), n);
  const loss = (p: unknown, x: AnyTensor, y: AnyTensor, k: Key) => {
    const logits = model.apply(p, x, { training: true, key: k });
    return [
      crossEntropy(logits as never, y as never) as AnyTensor,
      logits,
    ] as const;
  };
  const step = valueAndGrad(loss, { hasAux: true });
  let { params, optState } = state;
  let seen = 0, lossSum = 0, hits = 0;
  const start = performance.now();
  let lastYield = start;
  for (const b of batches(data.images, data.labels, batchSize, { order })) {
    const [[l, logits], g] = step(
      params,
      b.x as AnyTensor,
      b.y as AnyTensor,
      foldIn(key, b.index + 1),
    );
    [params, optState] = opt.update(g, optState as never, params);
    const m = b.y.shape[0];
    seen += m;
    lossSum += l.item() * m;
    hits += correct(logits as AnyTensor, b.y as AnyTensor);
    if (onProgress) {
      onProgress({
        done: seen,
        total: n,
        loss: lossSum / seen,
        accuracy: hits / seen,
        imagesPerSecond: seen / ((performance.now() - start) / 1000),
      });
      // Let timers (the progress bar's redraw) run now and then.
      if (performance.now() - lastYield > 200) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
    }
  }
  return [{ params, optState }, {
    loss: lossSum / seen,
    accuracy: hits / seen,
  }];
}

/** Loss and accuracy over a split, in inference mode. */
export function evaluate(
  model: Model,
  params: unknown,
  data: Split,
  batchSize = 500,
): Metrics {
  let lossSum = 0, hits = 0, seen = 0;
  for (const b of batches(data.images, data.labels, batchSize)) {
    const logits = model.apply(params, b.x as AnyTensor);
    const m = b.y.shape[0];
    lossSum +=
      (crossEntropy(logits as never, b.y as never) as AnyTensor).item() * m;
    hits += correct(logits, b.y as AnyTensor);
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
  const w = 420, h = 300, pad = 48;
  const panel = (
    x0: number,
    label: string,
    pick: (m: Metrics) => number,
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
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => {
      const v = lo + t * (hi - lo);
      return `<text x="${x0 + pad - 6}" y="${
        py(v) + 4
      }" font-size="10" text-anchor="end">${
        v.toFixed(label === "accuracy" ? 4 : 3)
      }</text><line x1="${x0 + pad}" x2="${x0 + w - pad}" y1="${py(v)}" y2="${
        py(v)
      }" stroke="#eee"/>`;
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
    }" y="20" font-size="14" text-anchor="middle">${label}</text>
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
    h + 40
  }" viewBox="0 0 ${2 * w} ${h + 40}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<title>${title}</title>
${panel(0, "accuracy", (m) => m.accuracy)}
${panel(w, "loss", (m) => m.loss)}
${legend}
</svg>
`;
}
