/**
 * A Keras-style text summary of a model.
 *
 * @module
 */

import type { Shape } from "../tensor.ts";
import type { AnyLayer } from "./layer.ts";

/** One row of the table: layer, output shape, parameters, receptive field. */
type Row = [string, string, string, string];

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function showOut(s: Shape): string {
  return `[${["B", ...s.slice(1)].join(", ")}]`;
}

/**
 * The receptive field after a layer, per spatial axis `[h, w]`: `size` is
 * the side of the input region one output unit sees, `step` the distance in
 * input pixels between neighbouring units (`undefined` once positions are
 * flattened away); `whole` when a unit sees the entire input.
 */
type Field =
  | { size: [number, number]; step: [number, number] | undefined }
  | "whole"
  | "none";

function nextField(f: Field, layer: AnyLayer): Field {
  const g = layer.impl.field;
  if (f === "whole" || f === "none" || g === undefined) return f;
  if (g === "global") return "whole";
  if (g === "flatten") return { size: f.size, step: undefined };
  const step = f.step;
  if (step === undefined) return "whole";
  // The course's recurrence, per axis: a window of k taps spaced d apart
  // spans d(k - 1) + 1 positions of its input, which are `step` input
  // pixels apart; the new step is the old one times the stride.
  const axis = (i: 0 | 1): [number, number] => {
    const span = g.dilation[i] * (g.kernel[i] - 1) + 1;
    return [f.size[i] + (span - 1) * step[i], step[i] * g.stride[i]];
  };
  const [h, w] = [axis(0), axis(1)];
  return { size: [h[0], w[0]], step: [h[1], w[1]] };
}

function showField(f: Field, input: Shape): string {
  if (f === "none") return "-";
  if (f === "whole") {
    return input.length === 4 ? `${input[1]}x${input[2]} (all)` : "all";
  }
  const size = `${f.size[0]}x${f.size[1]}`;
  if (f.step === undefined) return size;
  const step = f.step[0] === f.step[1]
    ? `${f.step[0]}`
    : `${f.step[0]}x${f.step[1]}`;
  return `${size}, step ${step}`;
}

/**
 * The model's layers as a table: each layer's kind and description, its
 * output shape (`B` stands for the batch), its parameter count and its
 * receptive field, then the totals. Nested sequential models are listed
 * with indentation.
 *
 * The receptive field of a layer is the input region one of its output
 * units sees (`6x6`) and the step, in input pixels, between neighbouring
 * units (`step 2`). It starts at one pixel with step 1 and grows through
 * each window (conv, pooling) by `(span - 1) * step`, where `span =
 * dilation * (kernel - 1) + 1`; the step multiplies by the stride. Padding
 * does not change it. After `flatten` the step is gone; dense layers and
 * global pooling see the whole input (`28x28 (all)`). For inputs that are
 * not images (`[H, W, C]`) the column shows `-`.
 *
 * @param model A layer or sequential model.
 * @param inputShape The shape of one example (without the batch dim).
 * @returns The table as text.
 * @throws {RangeError} If a layer does not fit its input (the message names it).
 *
 * @example
 * ```ts
 * import { nn } from "@tensa/tensa";
 * import { assertStringIncludes } from "@std/assert";
 *
 * const model = nn.sequential(nn.flatten(), nn.dense({ units: 10 }));
 * const text = nn.summary(model, [28, 28, 1]);
 * assertStringIncludes(text, "dense 10");
 * assertStringIncludes(text, "[B, 10]");
 * assertStringIncludes(text, "Total params: 7,850");
 * ```
 *
 * @example The receptive field grows through convolutions and pooling
 * ```ts
 * import { nn } from "@tensa/tensa";
 * import { assertStringIncludes } from "@std/assert";
 *
 * const cnn = nn.sequential(
 *   nn.conv2d({ filters: 4, kernel: 3 }), // sees 3x3 pixels, 1 apart
 *   nn.maxPool2d({ size: 2 }), // 3 + (2 - 1) * 1 = 4, step 1 * 2 = 2
 *   nn.conv2d({ filters: 4, kernel: 3 }), // 4 + (3 - 1) * 2 = 8, step 2
 * );
 * const text = nn.summary(cnn, [28, 28, 1]);
 * assertStringIncludes(text, "3x3, step 1");
 * assertStringIncludes(text, "4x4, step 2");
 * assertStringIncludes(text, "8x8, step 2");
 * ```
 */
export function summary(model: AnyLayer, inputShape: Shape): string {
  const rows: Row[] = [];
  const full = [1, ...inputShape];
  const walk = (
    layer: AnyLayer,
    input: Shape,
    field: Field,
    depth: number,
    index: string,
  ): [Shape, Field] => {
    // The model itself (depth -1) has no row; nested models get one, and
    // their layers are numbered under it (2.1, 2.2, ...).
    const pad = "  ".repeat(Math.max(depth, 0));
    const children = layer.impl.children;
    if (children !== undefined) {
      if (depth >= 0) {
        rows.push([`${pad}${index} ${layer.impl.description}`, "", "", ""]);
      }
      let s = input, f = field;
      children.forEach((c, i) => {
        [s, f] = walk(
          c,
          s,
          f,
          depth + 1,
          depth >= 0 ? `${index}.${i + 1}` : `${i + 1}`,
        );
      });
      return [s, f];
    }
    const out = layer.impl.outputShape(input);
    const next = nextField(field, layer);
    rows.push([
      `${pad}${index} ${layer.impl.description}`,
      showOut(out),
      fmt(layer.impl.countParams(input)),
      showField(next, full),
    ]);
    return [out, next];
  };
  const start: Field = full.length === 4
    ? { size: [1, 1], step: [1, 1] }
    : "none";
  const [out] = walk(model, full, start, model.impl.children ? -1 : 0, "1");
  const total = model.impl.countParams(full);
  const head: Row = ["Layer", "Output shape", "Params", "Receptive field"];
  const width = (i: 0 | 1 | 2 | 3) =>
    Math.max(head[i].length, ...rows.map((r) => r[i].length));
  const w = [width(0), width(1), width(2), width(3)] as const;
  const line = (r: Row) =>
    `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padStart(w[2])}  ${
      r[3]
    }`.trimEnd();
  const rule = (c: string) => c.repeat(w[0] + w[1] + w[2] + w[3] + 6);
  return [
    `Input: ${showOut(full)}`,
    rule("="),
    line(head),
    rule("="),
    ...rows.map(line),
    rule("="),
    `Output: ${showOut(out)}`,
    `Total params: ${fmt(total)}`,
  ].join("\n");
}
