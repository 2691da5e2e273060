// Exported models run in ONNX Runtime (npm onnxruntime-node, CPU binding;
// its install script is not run) and are compared with tensa to 1e-5.
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  abs,
  add,
  argmax,
  avgPool2d,
  broadcastTo,
  cast,
  concat,
  conv2d,
  crossEntropy,
  customVjp,
  div,
  exp,
  exportOnnx,
  gather,
  globalAvgPool2d,
  grad,
  greater,
  key,
  log,
  logSoftmax,
  matmul,
  maximum,
  maxPool2d,
  minimum,
  mul,
  neg,
  nn,
  normal,
  oneHot,
  pow,
  reshape,
  sigmoid,
  slice,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  transpose,
  uniform,
  where,
} from "../mod.ts";
import { treeFlatten } from "../src/pytree.ts";
import { writeMnistOnnx } from "../examples/_onnx.ts";
import { buildModel } from "../examples/mnist_lib.ts";
import type { AnyTensor } from "../src/tensor.ts";

type Ort = typeof import("npm:onnxruntime-node@1.30.0");
let ort: Ort | undefined;
try {
  // Pinned here, not in deno.json, to keep it out of the library's imports.
  // deno-lint-ignore no-import-prefix
  ort = await import("npm:onnxruntime-node@1.30.0");
} catch (e) {
  console.warn(
    `ONNX Runtime (npm:onnxruntime-node@1.30.0) could not be loaded, so the ONNX Runtime tests are skipped: ${
      (e as Error).message
    }`,
  );
}
const ignore = ort === undefined;

/** Runs the model in ONNX Runtime on the given named inputs. */
async function runOrt(
  bytes: Uint8Array,
  inputs: Record<string, AnyTensor>,
): Promise<
  Record<string, { data: ArrayLike<number>; dims: readonly number[] }>
> {
  const o = ort!;
  const session = await o.InferenceSession.create(bytes);
  const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {};
  for (const [name, t] of Object.entries(inputs)) {
    feeds[name] = new o.Tensor(t.dtype, t.toFlat(), [...t.shape]);
  }
  const out = await session.run(feeds);
  const res: Record<
    string,
    { data: ArrayLike<number>; dims: readonly number[] }
  > = {};
  for (const [k, v] of Object.entries(out)) {
    res[k] = { data: v.data as ArrayLike<number>, dims: v.dims };
  }
  return res;
}

function assertClose(
  got: { data: ArrayLike<number>; dims: readonly number[] },
  want: AnyTensor,
  tol = 1e-5,
): void {
  assertEquals([...got.dims], [...want.shape]);
  const w = want.toFlat();
  for (let i = 0; i < w.length; i++) {
    const d = Math.abs(Number(got.data[i]) - w[i]!) /
      Math.max(1, Math.abs(w[i]!));
    // NaN fails too.
    assert(d <= tol, `difference ${d} at ${i} exceeds ${tol}`);
  }
}

/** The op types in a model's bytes (node op_type strings are stored as text). */
function mentions(bytes: Uint8Array, op: string): boolean {
  return new TextDecoder("latin1").decode(bytes).includes(op);
}

Deno.test({
  name: "exportOnnx: the small CNN runs in ONNX Runtime, batch symbolic",
  ignore,
  async fn() {
    const model = nn.sequential(
      nn.conv2d({ filters: 8, kernel: 5 }),
      nn.relu(),
      nn.maxPool2d({ size: 2 }),
      nn.conv2d({ filters: 16, kernel: 5 }),
      nn.relu(),
      nn.maxPool2d({ size: 2 }),
      nn.flatten(),
      nn.dropout({ rate: 0.5 }),
      nn.dense({ units: 10 }),
    );
    const params = model.init(key(0), [28, 28, 1]);
    const f = (x: Tensor<[number, 28, 28, 1]>) =>
      logSoftmax(model.apply(params, x) as Tensor<[number, 10]>);
    const bytes = exportOnnx(f, [normal(key(9), [1, 28, 28, 1])], {
      inputNames: ["image"],
      outputNames: ["logprobs"],
      batchDim: "batch",
    });
    for (const op of ["Conv", "MaxPool", "Gemm", "LogSoftmax", "Relu"]) {
      assert(mentions(bytes, op), `expected a ${op} node`);
    }
    const x = uniform(key(1), [3, 28, 28, 1]);
    const out = await runOrt(bytes, { image: x as AnyTensor });
    assertClose(out.logprobs!, f(x) as AnyTensor);
  },
});

Deno.test({
  name: "exportOnnx: an MLP with tanh, sigmoid, batch norm and softmax",
  ignore,
  async fn() {
    const model = nn.sequential(
      nn.dense({ units: 16 }),
      nn.tanh(),
      nn.batchNorm(),
      nn.dense({ units: 8 }),
      nn.sigmoid(),
      nn.dense({ units: 4 }),
      nn.softmax(),
    );
    const params = model.init(key(2), [6]);
    const [, state] = model.applyWithState(
      params,
      model.initState([6]),
      normal(key(3), [32, 6]),
      { training: true },
    );
    const f = (x: Tensor<[number, 6]>) => model.apply(params, x, { state });
    const bytes = exportOnnx(f, [normal(key(5), [1, 6])], { batchDim: "n" });
    for (const op of ["Softmax", "Sigmoid", "BatchNormalization"]) {
      assert(mentions(bytes, op), `expected a ${op} node`);
    }
    const x = normal(key(4), [5, 6]);
    const out = await runOrt(bytes, { input_0: x as AnyTensor });
    assertClose(out.output_0!, f(x) as AnyTensor);
  },
});

Deno.test({
  name: "exportOnnx: batch norm after a convolution becomes BatchNormalization",
  ignore,
  async fn() {
    const model = nn.sequential(
      nn.conv2d({ filters: 4, kernel: 3 }),
      nn.batchNorm(),
      nn.relu(),
      nn.globalAvgPool2d(),
    );
    const params = model.init(key(6), [7, 7, 2]);
    const [, state] = model.applyWithState(
      params,
      model.initState([7, 7, 2]),
      normal(key(7), [8, 7, 7, 2]),
      { training: true },
    );
    const f = (x: Tensor<[number, 7, 7, 2]>) =>
      model.apply(params, x, { state });
    const bytes = exportOnnx(f, [normal(key(8), [1, 7, 7, 2])], {
      batchDim: "n",
    });
    for (const op of ["BatchNormalization", "GlobalAveragePool", "Conv"]) {
      assert(mentions(bytes, op), `expected a ${op} node`);
    }
    assert(!mentions(bytes, "Sqrt"), "expected no decomposed batch norm");
    const x = normal(key(9), [3, 7, 7, 2]);
    const out = await runOrt(bytes, { input_0: x as AnyTensor });
    assertClose(out.output_0!, f(x) as AnyTensor);
  },
});

Deno.test({
  name:
    "exportOnnx: convolutions with stride, padding and dilation, pools and layout ops",
  ignore,
  async fn() {
    const w1 = normal(key(5), [3, 3, 2, 4]);
    const w2 = normal(key(6), [2, 2, 4, 3]);
    const table = normal(key(7), [5, 3]);
    const f = (x: Tensor<[2, 9, 9, 2]>, idx: Tensor<[4], "int32">) => {
      const a = conv2d(x, w1, { stride: 2, padding: "same" }); // [2,5,5,4]
      const b = conv2d(x, w1, { dilation: 2, padding: [[1, 0], [0, 1]] }); // [2,6,6,4]
      const p = avgPool2d(a, { size: 2, stride: 1, padding: "same" }); // [2,5,5,4]
      const q = avgPool2d(b, { size: 3, stride: 3 }); // [2,2,2,4]
      const mp = maxPool2d(neg(a), { size: 2, stride: 2, padding: "same" }); // [2,3,3,4]
      const c = conv2d(maximum(q, 0.1), w2); // [2,1,1,3]
      const g = add(globalAvgPool2d(p), globalAvgPool2d(mp)); // [2,4]
      const gq = reshape(transpose(q, [0, 3, 1, 2]), [2, 16]);
      const cat = concat([g, slice(gq, 0, 2), reshape(c, [2, 3])], 1); // [2,23]
      const s = sqrt(abs(cat));
      const h = div(sub(pow(s, 2), minimum(s, 0.5)), add(exp(tanh(s)), 1));
      const rows = gather(table, idx); // [4,3]
      const picked = add(matmul(oneHot(idx, 5), table), rows);
      const flag = cast(greater(rows, 0), "float32");
      const chosen = where(greater(rows, 0), rows, mul(rows, 0.1));
      return [
        h,
        sum(log(add(abs(picked), 1)), { axis: 0 }),
        argmax(matmul(rows, transpose(rows)), { axis: 1 }),
        add(flag, sigmoid(chosen)),
      ] as const;
    };
    const x = normal(key(8), [2, 9, 9, 2]);
    const idx = tensor(new Int32Array([4, 0, 2, 2]), [4]);
    const bytes = exportOnnx(f, [x, idx], {
      inputNames: ["x", "idx"],
      outputNames: ["h", "s", "am", "sel"],
    });
    for (
      const op of [
        "AveragePool",
        "GlobalAveragePool",
        "Concat",
        "Slice",
        "Gather",
        "OneHot",
        "Where",
        "ArgMax",
      ]
    ) {
      assert(mentions(bytes, op), `expected a ${op} node`);
    }
    const out = await runOrt(bytes, {
      x: x as AnyTensor,
      idx: idx as AnyTensor,
    });
    const want = treeFlatten(f(x, idx))[0];
    ["h", "s", "am", "sel"].forEach((k, i) =>
      assertClose(out[k]!, want[i] as AnyTensor)
    );
  },
});

Deno.test({
  name:
    "the MNIST example's --onnx file runs in ONNX Runtime on any batch size",
  ignore,
  async fn() {
    const { model } = buildModel("keras", 0.5);
    const params = model.init(key(3), [28, 28, 1]);
    const file = await Deno.makeTempFile({ suffix: ".onnx" });
    try {
      const size = await writeMnistOnnx(model, params, file);
      assertEquals((await Deno.stat(file)).size, size);
      const x = uniform(key(4), [5, 28, 28, 1]);
      const out = await runOrt(await Deno.readFile(file), { image: x });
      assertClose(out.logits!, model.apply(params, x));
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "exportOnnx: reshapes and broadcasts keep a symbolic batch dim",
  ignore,
  async fn() {
    const f = (x: Tensor<[number, 3]>) => {
      const n = x.shape[0];
      const s = reshape(sum(x, { axis: 1 }), [n, 1]);
      return mul(broadcastTo(s, [n, 3]), x);
    };
    const bytes = exportOnnx(f, [normal(key(1), [2, 3])], { batchDim: "b" });
    assert(mentions(bytes, "Expand") && mentions(bytes, "Reshape"));
    const x = normal(key(2), [7, 3]);
    const out = await runOrt(bytes, { input_0: x as AnyTensor });
    assertClose(out.output_0!, f(x) as AnyTensor);
  },
});

Deno.test({
  name:
    "exportOnnx: a function with a custom derivative is exported by its forward",
  ignore,
  async fn() {
    const clipped = customVjp(
      (x: Tensor<[number, 3]>) => minimum(maximum(x, -1), 1),
      (ct) => [ct],
    );
    const f = (x: Tensor<[number, 3]>) => tanh(clipped(mul(x, 2)));
    const bytes = exportOnnx(f, [normal(key(1), [1, 3])], { batchDim: "b" });
    const x = normal(key(2), [4, 3]);
    const out = await runOrt(bytes, { input_0: x as AnyTensor });
    assertClose(out.output_0!, f(x) as AnyTensor);
  },
});

Deno.test("exportOnnx: a primitive without a mapping is an error naming it", () => {
  const w = normal(key(1), [3, 3, 1, 2]);
  const loss = (x: Tensor<[1, 5, 5, 1]>) => sum(conv2d(x, w));
  assertThrows(
    () => exportOnnx(grad(loss), [normal(key(2), [1, 5, 5, 1])]),
    TypeError,
    "Cannot export the primitive conv2dBackpropInput to ONNX: it has no mapping",
  );
});

Deno.test("exportOnnx: names must match the inputs and outputs", () => {
  assertThrows(
    () =>
      exportOnnx((x: Tensor<[2]>) => exp(x), [tensor([1, 2])], {
        inputNames: ["a", "b"],
      }),
    RangeError,
    "Expected 1 input names (one per tensor) but found 2",
  );
  assertThrows(
    () =>
      exportOnnx((x: Tensor<[2, 3]>) => reshape(x, [6]), [
        normal(key(0), [2, 3]),
      ], {
        batchDim: "batch",
      }),
    RangeError,
    "Expected every input and output to have the same first (batch) dim",
  );
  assertThrows(
    () =>
      exportOnnx((x: Tensor<[2]>) => exp(x), [tensor([1, 2])], {
        outputNames: ["v0"],
      }),
    RangeError,
    "Cannot name a graph input or output v0: exportOnnx uses that name inside the graph",
  );
  assertThrows(
    () =>
      exportOnnx((x: Tensor<[2]>) => exp(x), [tensor([1, 2])], {
        inputNames: ["x"],
        outputNames: ["x"],
      }),
    RangeError,
    "Cannot name a graph input or output x",
  );
});

Deno.test({
  name:
    "exportOnnx: a gradient's products with operands read transposed become Transpose and MatMul",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = normal(key(11), [4, 3]);
    // d/da sum((a b)^2) = 2 (a b) b^T: a product reading b transposed.
    const f = grad((a: Tensor<[2, 4]>) => sum(square(matmul(a, b))));
    const a = normal(key(12), [2, 4]);
    const bytes = exportOnnx(f, [a]);
    assert(mentions(bytes, "Transpose"), "expected a Transpose node");
    const out = await runOrt(bytes, { input_0: a as AnyTensor });
    assertClose(out.output_0!, f(a) as AnyTensor);
  },
});

Deno.test({
  name:
    "exportOnnx: the softmax cross-entropy and its logits gradient run in ONNX Runtime",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const z = normal(key(21), [5, 7]);
    const labels = tensor(new Int32Array([3, 0, 6, 1, 1]), [5]);
    const loss = (u: Tensor<[5, 7]>) => crossEntropy(u, labels);
    for (const f of [loss, grad(loss)]) {
      const bytes = exportOnnx(f, [z]);
      const out = await runOrt(bytes, { input_0: z as AnyTensor });
      assertClose(out.output_0!, f(z) as AnyTensor);
    }
  },
});
