// The --onnx option of examples/mnist.ts: writes the trained network as an
// ONNX model that takes a batch of NHWC images [batch, 28, 28, 1] (input
// "image", any batch size) and returns the logits [batch, 10] ("logits").
import { exportOnnx, zeros } from "../mod.ts";
import type { Images, Model } from "./mnist_lib.ts";

/** Exports `model` at inference with `params` to `file`; returns the model's size in bytes. */
export async function writeMnistOnnx<P>(
  model: Model<P>,
  params: P,
  file: string,
): Promise<number> {
  const example: Images = zeros([1, 28, 28, 1]);
  const bytes = exportOnnx(
    (x: Images) => model.apply(params, x),
    [example],
    { inputNames: ["image"], outputNames: ["logits"], batchDim: "batch" },
  );
  await Deno.writeFile(file, bytes);
  return bytes.length;
}
