// The --onnx option of examples/mnist.ts: writes the trained network as an
// ONNX model that takes a batch of NHWC images [batch, 28, 28, 1] (input
// "image", any batch size) and returns the logits [batch, 10] ("logits").
import { type AnyTensor, exportOnnx, zeros } from "../mod.ts";
import type { Model } from "./mnist_lib.ts";

/** Exports `model` at inference with `params` to `file`; returns the model's size in bytes. */
export async function writeMnistOnnx(
  model: Model,
  params: unknown,
  file: string,
): Promise<number> {
  const bytes = exportOnnx(
    (x: AnyTensor) => model.apply(params, x),
    [zeros([1, 28, 28, 1]) as AnyTensor],
    { inputNames: ["image"], outputNames: ["logits"], batchDim: "batch" },
  );
  await Deno.writeFile(file, bytes);
  return bytes.length;
}
