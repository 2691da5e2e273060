// The DP-SGD step of examples/per_example.ts: each example's gradient is
// clipped to norm C before the sum, the noise comes from the key, and the
// example runs end to end on a little real MNIST.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "@std/assert";
import { key, type Tensor, tensor, zeros } from "../mod.ts";
import { main, privateGradient } from "../examples/per_example.ts";

Deno.test("privateGradient clips each example to norm C, then averages", () => {
  // Two examples over two leaves: norms 5 and 0.5.
  const perExample = {
    a: tensor([[3, 0], [0.3, 0]]),
    b: tensor([[4], [0.4]]),
  };
  const params = { a: zeros([2]), b: zeros([1]) };
  const { grad, norms } = privateGradient(params, perExample, 1, 0, key(0));
  assertEquals([grad.a.shape, grad.b.shape], [[2], [1]]);
  assertAlmostEquals(norms[0]!, 5, 1e-5);
  assertAlmostEquals(norms[1]!, 0.5, 1e-5);
  // (3, 0, 4) / 5 clipped to norm 1, plus (0.3, 0, 0.4) unclipped, over 2.
  const a = grad.a.toFlat(), b = grad.b.toFlat();
  assertAlmostEquals(a[0]!, (0.6 + 0.3) / 2, 1e-6);
  assertAlmostEquals(a[1]!, 0, 1e-6);
  assertAlmostEquals(b[0]!, (0.8 + 0.4) / 2, 1e-6);
});

Deno.test("privateGradient's noise has std sigma * C / B and follows the key", () => {
  const params = { w: zeros([4000]) };
  const perExample = { w: tensor(new Float32Array(2 * 4000), [2, 4000]) };
  const dp = (k: number) =>
    privateGradient(params, perExample, 2, 1.5, key(k)).grad.w.toFlat();
  const one = dp(7), again = dp(7), other = dp(8);
  assertEquals(one, again);
  assert(one.some((v, i) => v !== other[i]));
  let s = 0;
  for (const v of one) s += v * v;
  // std = 1.5 * 2 / 2 = 1.5
  assertAlmostEquals(Math.sqrt(s / one.length), 1.5, 0.06);
});

Deno.test("privateGradient refuses per-example gradients that do not fit the parameters", () => {
  // Typed with number dims, so only the run-time checks can tell.
  const params: { w: Tensor<[number]> } = { w: zeros([3]) };
  const wrongShape: { w: Tensor<[number, number]> } = { w: zeros([2, 4]) };
  assertThrows(
    () => privateGradient(params, wrongShape, 1, 0, key(0)),
    RangeError,
    "Expected per-example gradient 0 of shape [2,3] but found [2,4]",
  );
  const wrongTree = { v: zeros([2, 3]) };
  assertThrows(
    // @ts-expect-error: the tree has another key than the parameters
    () => privateGradient(params, wrongTree, 1, 0, key(0)),
    RangeError,
    "Expected per-example gradients with the structure of the parameters",
  );
});

Deno.test("examples/per_example.ts trains on a little MNIST and reports the norms", async () => {
  const lines: string[] = [];
  await main(
    ["--limit", "256", "--test-limit", "256", "--quiet"],
    (l) => lines.push(l),
  );
  const out = lines.join("\n");
  assert(/epoch 1: test loss [\d.]+ acc [\d.]+%/.test(out), out);
  assert(/per-example gradient norms \(256 examples\): min/.test(out), out);
  assert(/4 steps, [\d.]+ ms per step/.test(out), out);
});
