import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { assertType, type IsExact } from "@std/testing/types";
import {
  add,
  argmax,
  cast,
  customVjp,
  exp,
  eye,
  grad,
  greater,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  matmul,
  mean,
  mul,
  relu,
  reshape,
  stopGradient,
  sum,
  tanh,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
  zeros,
} from "../mod.ts";
import type { AnyTensor } from "../src/tensor.ts";
import { bind, type Primitive } from "../src/autodiff/core.ts";
import * as lax from "../src/ops/lax.ts";
import * as binaryOps from "../src/ops/binary.ts";
import { prim } from "./_gradcheck.ts";

function close(a: number[] | number[][], b: number[] | number[][], tol = 1e-4) {
  const x = a.flat(), y = b.flat();
  assertEquals(x.length, y.length);
  x.forEach((v, i) => assertAlmostEquals(v, y[i]!, tol));
}

Deno.test("jvp and vjp of a product", () => {
  const f = (a: Tensor<[2]>, b: Tensor<[2]>) => mul(a, b);
  const [y, t] = jvp(f, [tensor([1, 2]), tensor([3, 4])], [
    tensor([1, 0]),
    tensor([0, 1]),
  ]);
  assertEquals(y.toArray(), [3, 8]);
  assertEquals(t.toArray(), [3, 2]);
  const [, pb] = vjp(f, tensor([1, 2]), tensor([3, 4]));
  const [da, db] = pb(tensor([1, 1]));
  assertEquals(da.toArray(), [3, 4]);
  assertEquals(db.toArray(), [1, 2]);
});

Deno.test("grad keeps the pytree structure and static types", () => {
  const params = { w: tensor([[1, 2], [3, 4]]), b: [tensor([1, 1])] };
  const x = tensor([[1, 0]]);
  const loss = (p: typeof params, input: Tensor<[1, 2]>) =>
    sum(add(matmul(input, p.w), p.b[0]!));
  const g = grad(loss)(params, x);
  assertType<IsExact<typeof g, typeof params>>(true);
  // @ts-expect-error: the gradient is typed like params, so another shape is rejected
  const _wrong: { w: Tensor<[3, 3]>; b: Tensor<[2]>[] } = g;
  assertEquals(g.w.toArray(), [[1, 1], [0, 0]]);
  assertEquals(g.b[0]!.toArray(), [1, 1]);
});

Deno.test("grad of a number argument is a number", () => {
  const g = grad((x: number) => sum(mul(tensor([3, 4]), x)))(2);
  assertType<IsExact<typeof g, number>>(true);
  assertEquals(g, 7);
});

Deno.test("perturbation confusion: d/dx [x * (d/dy (x + y))] is 1", () => {
  for (const x0 of [0.5, 2, -3]) {
    const f = (x: Tensor<[]>) => {
      const inner = grad((y: Tensor<[]>) => add(x, y))(tensor(1));
      return mul(x, inner);
    };
    const g = grad(f)(tensor(x0));
    assertEquals(g.item(), 1);
  }
});

Deno.test("a function that closes over an outer traced value", () => {
  // f(x) = sum(x * g(x)) where g closes over x: d/dx of x * (x * c) = 2 c x
  const c = tensor([3]);
  const f = (x: Tensor<[1]>) => {
    const inner = (z: Tensor<[1]>) => sum(mul(mul(x, z), c));
    const gz = grad(inner)(tensor([1])); // = x * c
    return sum(mul(x, gz));
  };
  assertEquals(grad(f)(tensor([2])).toArray(), [12]);
});

Deno.test("grad(grad(f)), jvp(grad(f)) and jacfwd(jacrev(f))", () => {
  const f = (x: Tensor<[3]>) => sum(exp(x));
  const x = tensor([0, 1, -1]);
  const gg = grad((z: Tensor<[3]>) => sum(grad(f)(z)))(x);
  close(gg.toArray(), [1, Math.E, 1 / Math.E]);
  const [, hv] = jvp(grad(f), [x], [tensor([1, 0, 1])]);
  close(hv.toArray(), [1, 0, 1 / Math.E]);
  const h = jacfwd(jacrev(f))(x);
  assertEquals(h.shape, [3, 3]);
  close(h.toArray() as number[][], [[1, 0, 0], [0, Math.E, 0], [
    0,
    0,
    1 / Math.E,
  ]]);
});

Deno.test("hessian of a quadratic is symmetric and exact", () => {
  const a = tensor([[2, 1], [1, 3]]);
  // f(x) = x^T A x  ->  H = A + A^T
  const f = (x: Tensor<[2]>) => sum(mul(x, sum(mul(a, x), { axis: 1 })));
  const h = hessian(f)(tensor([0.3, -0.7]));
  assertType<IsExact<typeof h, Tensor<[2, 2], "float32">>>(true);
  close(h.toArray(), [[4, 2], [2, 6]]);
});

Deno.test("hessian of a small MLP loss matches finite differences and is symmetric", () => {
  const x = tensor([[0.5, -1], [1, 2]]);
  const f = (w: Tensor<[4]>) => {
    const m = matmul(x, reshape(w, [2, 2]));
    return mean(tanh(m));
  };
  const w0 = tensor([0.1, -0.2, 0.3, 0.4]);
  const h = hessian(f)(w0).toArray() as number[][];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) assertAlmostEquals(h[i]![j]!, h[j]![i]!, 1e-5);
  }
  const eps = 1e-2;
  const g = grad(f);
  for (let j = 0; j < 4; j++) {
    const e = new Float32Array(4);
    e[j] = eps;
    const gp = g(add(w0, tensor(e, [4]))).toFlat();
    const gm = g(add(w0, tensor(e.map((v) => -v), [4]))).toFlat();
    for (let i = 0; i < 4; i++) {
      assertAlmostEquals(h[i]![j]!, (gp[i]! - gm[i]!) / (2 * eps), 2e-3);
    }
  }
});

Deno.test("valueAndGrad with aux", () => {
  const f = (w: Tensor<[2]>) => [sum(mul(w, w)), "aux"] as const;
  const [[loss, aux], g] = valueAndGrad(f, { hasAux: true })(tensor([1, 2]));
  assertEquals(loss.item(), 5);
  assertEquals(aux, "aux");
  assertEquals(g.toArray(), [2, 4]);
});

Deno.test("valueAndGrad with aux: the returned pair needs no as const, and aux is not differentiated", () => {
  const x = tensor([[1, 2], [3, 4]]);
  const step = valueAndGrad(
    (p: { w: Tensor<[2, 2]> }, s: number) => {
      const y = matmul(x, p.w);
      return [mul(sum(mul(y, y)), s), { y, scale: s }];
    },
    { hasAux: true },
  );
  const [[loss, aux], g] = step({ w: eye(2) }, 0.5);
  assertType<IsExact<typeof loss, Tensor<[], "float32">>>(true);
  assertType<
    IsExact<typeof aux, { y: Tensor<[2, 2], "float32">; scale: number }>
  >(true);
  assertType<IsExact<typeof g, { w: Tensor<[2, 2]> }>>(true);
  assertEquals(loss.item(), 15); // (1 + 4 + 9 + 16) / 2
  assertEquals(aux.y.toArray(), [[1, 2], [3, 4]]);
  assertEquals(aux.scale, 0.5);
  // d/dW of sum((x W)^2) / 2 is x^T x W.
  assertEquals(g.w.toArray(), [[10, 14], [14, 20]]);
  assertThrows(
    () =>
      // @ts-expect-error: with hasAux, f must return a [loss, aux] pair
      valueAndGrad((w: Tensor<[2]>) => sum(w), { hasAux: true })(
        tensor([1, 2]),
      ),
    TypeError,
    "Expected f to return [loss, aux] because hasAux is true",
  );
});

Deno.test("non-differentiable ops and integer tensors give zero gradients, never NaN", () => {
  const f = (p: { x: Tensor<[3]>; i: Tensor<[3], "int32"> }) => {
    const am = cast(argmax(p.x, { axis: 0 }), "float32");
    const mask = cast(greater(p.x, 0), "float32");
    return add(sum(mul(relu(p.x), mask)), mul(am, 0));
  };
  const g = grad(f)({
    x: tensor([-1, 0, 2]),
    i: tensor(new Int32Array([1, 2, 3]), [3]),
  });
  assertEquals(g.x.toArray(), [0, 0, 1]);
  assertEquals(g.i.dtype, "int32");
  assertEquals(g.i.toArray(), [0, 0, 0]);
});

Deno.test("stopGradient blocks both modes", () => {
  const f = (x: Tensor<[1]>) => sum(mul(x, stopGradient(x)));
  assertEquals(grad(f)(tensor([3])).toArray(), [3]);
  const [, t] = jvp(f, [tensor([3])], [tensor([1])]);
  assertEquals(t.item(), 3);
});

Deno.test("customVjp uses its rule in reverse mode and differentiates f in forward mode", () => {
  const clipGrad = customVjp(
    (x: Tensor<[2]>) => mul(x, 1),
    (ct) => [mul(ct, 0.5) as Tensor<[2]>],
  );
  const f = (x: Tensor<[2]>) => sum(clipGrad(x));
  assertEquals(grad(f)(tensor([1, 2])).toArray(), [0.5, 0.5]);
  const [, t] = jvp(f, [tensor([1, 2])], [tensor([1, 1])]);
  assertEquals(t.item(), 2);
});

Deno.test("grad rejects a non-scalar result", () => {
  assertThrows(
    () => grad((x: Tensor<[2]>) => mul(x, 2))(tensor([1, 2])),
    RangeError,
    "Expected f to return a scalar (one element) but found shape [2]",
  );
});

Deno.test("jacrev and jacfwd agree and have the composed shape", () => {
  const w = tensor([[1, 2, 3], [4, 5, 6]]);
  const f = (x: Tensor<[3]>) => tanh(sum(mul(w, x), { axis: 1 }));
  const x = tensor([0.1, 0.2, -0.3]);
  const a = jacfwd(f)(x), b = jacrev(f)(x);
  assertType<IsExact<typeof a, Tensor<[2, 3], "float32">>>(true);
  assertEquals(a.shape, [2, 3]);
  close(a.toArray() as number[][], b.toArray() as number[][]);
});

// The library's div, whose rules are replaced by broken ones in fresh copies
// (nothing shared is changed), to check that the core checks every rule.
const div: Primitive<void> = prim(binaryOps, "div");

Deno.test("the core checks the shape of every cotangent a vjp rule returns", () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]), b = tensor([1, 2, 4]);
  const lossOf = (p: Primitive<void>) => (x: AnyTensor, y: AnyTensor) =>
    lax.sum(bind(p, [x, y], undefined));
  // The right rule passes: the divisor's gradient is summed back to [3].
  const [, pull] = vjp(lossOf(div), a, b);
  assertEquals(pull(tensor(1))[1].shape, [3]);
  // The divisor's cotangent without its unbroadcast has the numerator's shape.
  const noUnbroadcast: typeof div = {
    ...div,
    vjp: (ct, [a, b]) => {
      if (a === undefined || b === undefined) throw new Error("two inputs");
      return [
        lax.div(ct, b),
        lax.neg(lax.div(lax.mul(ct, a), lax.mul(b, b))),
      ];
    },
  };
  const [, pullBad] = vjp(lossOf(noUnbroadcast), a, b);
  assertThrows(
    () => pullBad(tensor(1)),
    RangeError,
    "Internal error: the vjp of div returned a cotangent of shape [2, 3] for input 1 of shape [3]",
  );
  // A cotangent of the wrong dtype is caught too.
  const intCt: typeof div = {
    ...div,
    vjp: (ct, [, b]) => {
      if (b === undefined) throw new Error("two inputs");
      return [lax.cast(ct, "int32"), zeros(b.shape)];
    },
  };
  const [, pullInt] = vjp(lossOf(intCt), a, b);
  assertThrows(
    () => pullInt(tensor(1)),
    TypeError,
    "Internal error: the vjp of div returned a cotangent of dtype int32 for input 0 of dtype float32 (shape [2, 3])",
  );
});

Deno.test("the core checks the shape and dtype of every tangent a jvp rule returns", () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]), b = tensor([1, 2, 4]);
  const apply = (p: Primitive<void>) => (x: AnyTensor, y: AnyTensor) =>
    bind(p, [x, y], undefined);
  const [, t] = jvp(apply(div), [a, b], [
    zeros(a.shape),
    tensor([1, 1, 1]),
  ]);
  assertEquals(t.shape, [2, 3]);
  // Only the divisor has a tangent: a rule returning its [3] shape is wrong.
  const oneSided: typeof div = { ...div, jvp: (_p, [, tb]) => tb ?? null };
  assertThrows(
    () => jvp(apply(oneSided), [a, b], [a, b]),
    RangeError,
    "Internal error: the jvp of div returned a tangent of shape [3] for its output of shape [2, 3]",
  );
  const intTangent: typeof div = {
    ...div,
    jvp: (xs, ts, p, out) => lax.cast(div.jvp(xs, ts, p, out) ?? out, "int32"),
  };
  assertThrows(
    () => jvp(apply(intTangent), [a, b], [a, b]),
    TypeError,
    "Internal error: the jvp of div returned a tangent of dtype int32 for its output of dtype float32",
  );
});

Deno.test("a customVjp rule returning a cotangent of the wrong shape names the function", () => {
  const scale = customVjp(
    function scale(x: Tensor<[2]>) {
      return mul(x, 2);
    },
    // Wrong on purpose: a [1] cotangent for a [2] input.
    () => [tensor([1]) as unknown as Tensor<[2]>],
  );
  assertThrows(
    () => grad((x: Tensor<[2]>) => sum(scale(x)))(tensor([1, 2])),
    RangeError,
    "Expected the vjp rule of customVjp(scale) to return a cotangent of shape [2] for input 0 but found [1]",
  );
});
