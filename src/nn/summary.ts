/**
 * A Keras-style text summary of a model.
 *
 * @module
 */

import type { Shape } from "../tensor.ts";
import type { AnyLayer } from "./layer.ts";

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function showOut(s: Shape): string {
  return `[${["B", ...s.slice(1)].join(", ")}]`;
}

/**
 * The model's layers as a table: each layer's kind and description, its
 * output shape (`B` stands for the batch) and its parameter count, then the
 * totals. Nested sequential models are listed with indentation.
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
 */
export function summary(model: AnyLayer, inputShape: Shape): string {
  const rows: [string, string, string][] = [];
  const walk = (
    layer: AnyLayer,
    input: Shape,
    depth: number,
    index: string,
  ): Shape => {
    const pad = "  ".repeat(depth);
    const children = layer.impl.children;
    if (children !== undefined) {
      if (depth > 0) {
        rows.push([`${pad}${index} ${layer.impl.description}`, "", ""]);
      }
      let s = input;
      children.forEach((c, i) => {
        s = walk(
          c,
          s,
          depth + (depth > 0 ? 1 : 0),
          depth > 0 ? `${index}.${i + 1}` : `${i + 1}`,
        );
      });
      return s;
    }
    const out = layer.impl.outputShape(input);
    rows.push([
      `${pad}${index} ${layer.impl.description}`,
      showOut(out),
      fmt(layer.impl.countParams(input)),
    ]);
    return out;
  };
  const full = [1, ...inputShape];
  const out = walk(model, full, 0, "1");
  const total = model.impl.countParams(full);
  const head: [string, string, string] = ["Layer", "Output shape", "Params"];
  const w0 = Math.max(head[0].length, ...rows.map((r) => r[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length));
  const w2 = Math.max(head[2].length, ...rows.map((r) => r[2].length));
  const line = (r: [string, string, string]) =>
    `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2].padStart(w2)}`;
  const rule = (c: string) => c.repeat(w0 + w1 + w2 + 4);
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
