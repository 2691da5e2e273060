// The receptive-field column of nn.summary, against values worked out by
// hand with the course's recurrence (start: 1 pixel, step 1; a window of k
// taps with dilation d spans d(k - 1) + 1 positions; size += (span - 1) *
// step; step *= stride) for the two models of examples/mnist.ts.
import { assertEquals } from "@std/assert";
import { nn } from "../mod.ts";
import { kerasModel, smallModel } from "../examples/mnist_lib.ts";

/** The layer names and receptive-field cells of a summary's rows. */
function fields(text: string): [string, string][] {
  const lines = text.split("\n");
  const head = lines.find((l) => l.startsWith("Layer"))!;
  const at = head.indexOf("Receptive field");
  return lines.filter((l) => /^ *\d+(\.\d+)* /.test(l)).map((l) => [
    l.trim().split(/\s{2,}/)[0]!,
    l.slice(at).trim(),
  ]);
}

Deno.test("receptive field of the course's small CNN, by hand", () => {
  assertEquals(fields(nn.summary(smallModel(0.25), [28, 28, 1])), [
    ["1 conv2d 5x5x8 relu", "5x5, step 1"], // 1 + 4*1 = 5
    ["2 maxPool2d 2x2", "6x6, step 2"], // 5 + 1*1 = 6; step 1*2
    ["3 conv2d 5x5x16 relu", "14x14, step 2"], // 6 + 4*2 = 14
    ["4 maxPool2d 2x2", "16x16, step 4"], // 14 + 1*2 = 16; step 2*2
    ["5 flatten", "16x16"], // no step between features
    ["6 dropout 0.25", "16x16"],
    ["7 dense 10", "28x28 (all)"],
  ]);
});

Deno.test("receptive field of the Keras MNIST CNN, by hand", () => {
  assertEquals(fields(nn.summary(kerasModel(0.25, 0.5), [28, 28, 1])), [
    ["1 conv2d 3x3x32 relu", "3x3, step 1"], // 1 + 2*1
    ["2 conv2d 3x3x64 relu", "5x5, step 1"], // 3 + 2*1
    ["3 maxPool2d 2x2", "6x6, step 2"], // 5 + 1*1; step 1*2
    ["4 dropout 0.25", "6x6, step 2"],
    ["5 flatten", "6x6"],
    ["6 dense 128 relu", "28x28 (all)"],
    ["7 dropout 0.5", "28x28 (all)"],
    ["8 dense 10", "28x28 (all)"],
  ]);
});

Deno.test("receptive field with stride, dilation, non-square windows, nesting and global pooling", () => {
  const model = nn.sequential(
    // span 2*(3-1)+1 = 5: 1 + 4*1 = 5; step 1*2 = 2
    nn.conv2d({
      filters: 2,
      kernel: 3,
      dilation: 2,
      stride: 2,
      padding: "same",
    }),
    nn.sequential(
      // h: 5 + (3-1)*2 = 9, step 2*3 = 6; w: 5 + (1-1)*2 = 5, step 2*1 = 2
      nn.maxPool2d({ size: [3, 1], stride: [3, 1] }),
      nn.relu(),
    ),
    nn.globalAvgPool2d(),
    nn.dense({ units: 2 }),
  );
  assertEquals(fields(nn.summary(model, [30, 20, 1])), [
    ["1 conv2d 3x3x2", "5x5, step 2"],
    ["2 sequential of 2 layers", ""],
    ["2.1 maxPool2d 3x1", "9x5, step 6x2"],
    ["2.2 relu", "9x5, step 6x2"],
    ["3 globalAvgPool2d", "30x20 (all)"],
    ["4 dense 2", "30x20 (all)"],
  ]);
  // Inputs that are not images have no spatial field.
  assertEquals(fields(nn.summary(nn.dense({ units: 3 }), [4])), [
    ["1 dense 3", "-"],
  ]);
});
