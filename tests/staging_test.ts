import { assertEquals, assertThrows } from "@std/assert";
import {
  add,
  crossEntropy,
  customVjp,
  exp,
  grad,
  jvp,
  key,
  mul,
  nn,
  normal,
  relu,
  sum,
  type Tensor,
  tensor,
  trace,
} from "../mod.ts";
import { bind, type Primitive } from "../src/autodiff/core.ts";
import { evalProgram } from "../src/staging/eval.ts";
import { inputOf, lookup } from "../src/staging/ir.ts";
import { treeFlatten } from "../src/pytree.ts";
import type { AnyTensor } from "../src/tensor.ts";

Deno.test("trace prints typed variables, params and constants like a jaxpr", () => {
  const b = tensor([0.5, -1]);
  const p = trace((x: Tensor<[2, 2]>) => relu(add(x, b)))(
    tensor([[1, 2], [3, 4]]),
  );
  assertEquals(
    p.toString(),
    [
      "{ lambda a:f32[2] ; b:f32[2,2]. let",
      "    c:f32[2,2] = add b a",
      "    d:f32[2,2] = relu c",
      "  in (d) }",
    ].join("\n"),
  );
  assertEquals(p.inputs.map((v) => [v.shape, v.dtype]), [[[2, 2], "float32"]]);
  assertEquals(p.constants[0]!.value, b);
  assertEquals(p.equations[1]!.inputs[0], p.equations[0]!.outputs[0]);
});

Deno.test("trace stages ops that do not depend on the inputs", () => {
  const p = trace((x: Tensor<[1]>) => add(x, mul(tensor([2]), tensor([3]))))(
    tensor([1]),
  );
  assertEquals(p.equations.map((e) => e.primitive), ["mul", "add"]);
  assertEquals(p.constants.length, 2);
});

Deno.test("trace records params, int dtypes and pytree arguments", () => {
  const model = nn.sequential(nn.dense({ units: 3 }), nn.relu());
  const params = model.init(key(0), [4]);
  const x = normal(key(1), [2, 4]);
  const y = tensor(new Int32Array([0, 2]), [2]);
  const loss = (p: typeof params, xs: typeof x, ys: typeof y) =>
    crossEntropy(model.apply(p, xs) as Tensor<[2, 3]>, ys);
  const prog = trace(loss)(params, x, y);
  const leaves = treeFlatten([params, x, y])[0];
  assertEquals(prog.inputs.length, leaves.length);
  assertEquals(prog.inputs.at(-1)!.dtype, "int32");
  const oh = prog.equations.find((e) => e.primitive === "oneHot")!;
  assertEquals(oh.params, { depth: 3 });
  assertEquals(oh.outputs[0]!.shape, [2, 3]);
  // Evaluating the program gives what f gives.
  const [out] = evalProgram(prog, leaves);
  assertEquals(out!.item(), loss(params, x, y).item());
  // A program of the gradient evaluates to the gradient.
  const gprog = trace(grad(loss))(params, x, y);
  const got = evalProgram(gprog, leaves);
  const want = treeFlatten(grad(loss)(params, x, y))[0];
  assertEquals(got.map((t) => t.toArray()), want.map((t) => t.toArray()));
});

Deno.test("trace of jvp stages the tangent computation", () => {
  const f = (x: Tensor<[2]>) => sum(mul(x, x));
  const p = trace((x: Tensor<[2]>, t: Tensor<[2]>) => jvp(f, [x], [t])[1])(
    tensor([1, 2]),
    tensor([1, 0]),
  );
  const [d] = evalProgram(p, [tensor([3, 4]), tensor([0, 1])] as AnyTensor[]);
  assertEquals(d!.item(), 8);
});

Deno.test("trace keeps a customVjp as one equation with its forward staged", () => {
  const twice = customVjp(
    function twice(x: Tensor<[2]>) {
      return mul(x, 2);
    },
    (ct) => [ct],
  );
  const p = trace((x: Tensor<[2]>) => exp(twice(x)))(tensor([1, 2]));
  assertEquals(p.equations.map((e) => e.primitive), [
    "customVjp(twice)",
    "exp",
  ]);
  assertEquals(p.equations[0]!.outputs[0]!.shape, [2]);
  assertEquals(p.equations[0]!.body!.equations.map((e) => e.primitive), [
    "mul",
  ]);
  // Replaying the program keeps the custom rule: d/dx exp(2x) by the rule is exp(2x).
  const g = grad((x: Tensor<[2]>) =>
    sum(evalProgram(p, [x as AnyTensor])[0]!) as Tensor<[]>
  )(tensor([0, 1]));
  assertEquals(g.toArray(), [1, Math.fround(Math.exp(2))]);
});

Deno.test("trace errors: reading values, unknown primitives, outer tracers", () => {
  assertThrows(
    () => trace((x: Tensor<[2]>) => tensor([x.toArray()[0]!]))(tensor([1, 2])),
    TypeError,
    "Cannot read the values of a staged tensor of shape [2] (float32)",
  );
  const mystery: Primitive<void> = {
    name: "mystery",
    impl: ([x]) => x!,
    jvp: () => null,
    vjp: () => [null],
    batch: () => {
      throw new Error("not batched in this test");
    },
  };
  assertThrows(
    () =>
      trace((x: Tensor<[2]>) => bind(mystery, [x as AnyTensor], undefined))(
        tensor([1, 2]),
      ),
    TypeError,
    "Cannot stage the primitive mystery: it has no shape rule",
  );
  assertThrows(
    () =>
      grad((w: Tensor<[2]>) => {
        const p = trace((x: Tensor<[2]>) => mul(x, w))(tensor([1, 2]));
        return sum(w) as Tensor<[]> ?? p;
      })(tensor([1, 2])),
    TypeError,
    "uses a value traced by another transformation",
  );
});

Deno.test("inputOf and lookup name what is missing", () => {
  const program = trace((x: Tensor<[2]>) => exp(x))(tensor([1, 2]));
  const [e] = program.equations;
  if (e === undefined) throw new Error("expected one equation");
  assertEquals(inputOf(e, 0), program.inputs[0]);
  assertThrows(
    () => inputOf(e, 1),
    RangeError,
    "Internal error: expected exp to have an input 1 but found 1 inputs",
  );
  const [x] = program.inputs;
  if (x === undefined) throw new Error("expected one input");
  assertEquals(lookup(new Map([[x, 7]]), x, "value"), 7);
  assertThrows(
    () => lookup(new Map(), x, "constant"),
    RangeError,
    "Internal error: no constant for variable a",
  );
  assertThrows(
    () => lookup(new Map(), e, "position"),
    RangeError,
    "Internal error: no position for the equation of exp",
  );
});
