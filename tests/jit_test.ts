import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  abs,
  add,
  cast,
  crossEntropy,
  customVjp,
  div,
  type DType,
  exp,
  grad,
  greater,
  jit,
  jvp,
  key,
  log,
  logSoftmax,
  max,
  maximum,
  minimum,
  mul,
  neg,
  nn,
  normal,
  optim,
  relu,
  sigmoid,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  valueAndGrad,
  where,
} from "../mod.ts";
import { jitInfo } from "../src/staging/jit.ts";
import { treeFlatten } from "../src/pytree.ts";

type T = Tensor<number[]>;
const flat = (tree: unknown) => treeFlatten(tree)[0].map((t) => t.toArray());

/** 20 elementwise ops on one array. */
function chain(x: Tensor<[number, number]>, b: Tensor<[number]>) {
  let y = add(x, b) as T; // 1
  y = relu(y); // 2
  y = mul(y, 0.5) as T; // 3
  y = sub(y, x) as T; // 4
  y = tanh(y); // 5
  y = add(y, 1) as T; // 6
  y = sqrt(y); // 7
  y = mul(y, x) as T; // 8
  y = sigmoid(y); // 9
  y = exp(y); // 10
  y = log(y); // 11
  y = abs(y); // 12
  y = neg(y); // 13
  y = maximum(y, -0.7) as T; // 14
  y = minimum(y, b) as T; // 15
  y = div(y, 3) as T; // 16
  y = square(y); // 17 (pow)
  y = where(greater(y, 0.01), y, x) as T; // 18, 19
  return add(y, b) as T; // 20
}

const modes = ["auto", "tiles", "codegen", "none"] as const;

Deno.test("jit traces once per signature and caches", () => {
  let traced = 0;
  // Either dtype: the cache is keyed on it too (the int32 call below).
  type Num = Tensor<number[], DType>;
  const f = jit((x: Num, s: { k: number; y: Num }) => {
    traced++;
    return mul(add(x, s.y), s.k);
  });
  const a = tensor([1, 2]), b = tensor([3, 4]);
  assertEquals(f(a, { k: 2, y: b }).toArray(), [8, 12]);
  assertEquals(f(b, { k: 2, y: a }).toArray(), [8, 12]);
  assertEquals(traced, 1);
  assertEquals(f(tensor([1, 2, 3]), { k: 2, y: tensor([0, 0, 0]) }).toArray(), [
    2,
    4,
    6,
  ]);
  assertEquals(traced, 2);
  assertEquals(f(a, { k: 3, y: b }).toArray(), [12, 18]); // a new static value
  assertEquals(traced, 3);
  assertEquals(
    f(tensor(new Int32Array([1, 2]), [2]), {
      k: 2,
      y: tensor(new Int32Array([3, 4]), [2]),
    })
      .dtype,
    "int32",
  );
  assertEquals(traced, 4);
  assertEquals(jitInfo(f, a, { k: 3, y: b }).traces, 4);
  // Static values that JSON would confuse are told apart.
  assertEquals(f(a, { k: NaN, y: b }).toArray(), [NaN, NaN]);
  assertEquals(Object.is(f(a, { k: -0, y: b }).toFlat()[0], -0), true);
  assertEquals(Object.is(f(a, { k: 0, y: b }).toFlat()[0], 0), true);
});

Deno.test("jit fuses a 20-op elementwise chain into one pass with eager's exact results", () => {
  const x = normal(key(0), [64, 33]), b = normal(key(1), [33]);
  const want = chain(x, b).toFlat();
  for (const fusion of modes) {
    const f = jit(chain, { fusion });
    assertEquals(f(x, b).toFlat(), want, `fusion ${fusion}`);
    assertEquals(f(x, b).toFlat(), want, `fusion ${fusion}, second call`);
    const info = jitInfo(f, x, b);
    if (fusion === "none") assertEquals(info.fused, []);
    else {
      assertEquals(info.fused.length, 1);
      assertEquals(info.fused[0]!.length, 20);
      assertEquals(info.steps, 1);
    }
  }
});

Deno.test("jit fuses reductions that consume a chain, over any block of axes", () => {
  const x = normal(key(2), [4, 5, 6]);
  const fs: ((x: T) => Tensor<number[], "float32" | "int32">)[] = [
    (x: T) => sum(exp(x)),
    (x: T) => sum(mul(x, x), { axis: 2 }),
    (x: T) => sum(relu(x), { axis: [1, 2], keepDims: true }),
    (x: T) => sum(tanh(x), { axis: 0 }),
    (x: T) => sum(neg(x), { axis: 1 }),
    (x: T) => max(abs(x), { axis: [0, 1] }),
    (x: T) => max(neg(x), { axis: 2 }),
    (x: T) => sum(cast(greater(x, 0), "int32"), { axis: 1 }),
    (x: T) => logSoftmax(x as Tensor<[4, 5, 6]>),
  ];
  for (const f of fs) {
    for (const fusion of modes) {
      const g = jit(f, { fusion });
      assertEquals(g(x).toFlat(), f(x).toFlat(), `${f} with fusion ${fusion}`);
      const fused = jitInfo(g, x).fused.flat();
      if (fusion !== "none") {
        assertEquals(
          fused.includes("sum") || fused.includes("max"),
          true,
          `${f}`,
        );
      }
    }
  }
});

Deno.test("fused chains read broadcast inputs of every pattern", () => {
  const x = normal(key(3), [3, 4, 5]);
  const others = [
    normal(key(4), [5]), // suffix
    normal(key(5), [3, 1, 1]), // prefix
    normal(key(6), [4, 1]), // middle
    normal(key(7), [3, 1, 5]), // neither: materialized
    normal(key(8), [1, 4, 5]),
    tensor(2.5),
  ];
  const f = (x: T, o: T) => relu(mul(add(x, o), sub(o, x)));
  for (const o of others) {
    for (const fusion of modes) {
      assertEquals(
        jit(f, { fusion })(x, o).toFlat(),
        f(x, o).toFlat(),
        `shape [${o.shape}] fusion ${fusion}`,
      );
    }
  }
});

const mlp = nn.sequential(
  nn.dense({ units: 32 }),
  nn.relu(),
  nn.dense({ units: 10 }),
);
const params = mlp.init(key(0), [20]);
const xs = normal(key(1), [16, 20]);
const ys = tensor(new Int32Array(16).map((_, i) => i % 10), [16]);
const loss = (p: typeof params, x: typeof xs, y: typeof ys) =>
  crossEntropy(mlp.apply(p, x) as Tensor<[16, 10]>, y);

Deno.test("jit composes with grad and jvp in both orders", () => {
  const want = flat(grad(loss)(params, xs, ys));
  assertEquals(flat(jit(grad(loss))(params, xs, ys)), want);
  assertEquals(flat(grad(jit(loss))(params, xs, ys)), want);
  const jitted = jit(valueAndGrad(loss));
  const [l, g] = jitted(params, xs, ys);
  assertEquals(l.item(), loss(params, xs, ys).item());
  assertEquals(flat(g), want);
  assertEquals(jitInfo(jitted, params, xs, ys).fused.length > 2, true);

  const f = (x: T) => sum(mul(sigmoid(x), x));
  const x = normal(key(9), [7]), t = normal(key(10), [7]);
  const [y0, dy0] = jvp(f, [x], [t]);
  const [y1, dy1] = jvp(jit(f), [x], [t]);
  const [y2, dy2] = jit((x: T, t: T) => jvp(f, [x], [t]))(x, t);
  assertEquals([y1.item(), dy1.item()], [y0.item(), dy0.item()]);
  assertEquals([y2.item(), dy2.item()], [y0.item(), dy0.item()]);
  // Second order through jit: d/dx of grad.
  const g2 = grad((x: T) => sum(jit(grad(f))(x)))(x).toFlat();
  assertEquals(g2, grad((x: T) => sum(grad(f)(x)))(x).toFlat());
});

Deno.test("jit keeps custom derivatives in both orders", () => {
  const floorST = customVjp(
    (x: Tensor<[2]>) => cast(cast(x, "int32"), "float32"),
    (ct) => [ct],
  );
  const f = (x: Tensor<[2]>) => sum(mul(floorST(x), x));
  const x = tensor([1.5, 2.5]);
  const want = grad(f)(x).toArray(); // floor(x) + x by the straight-through rule
  assertEquals(want, [2.5, 4.5]);
  assertEquals(grad(jit(f))(x).toArray(), want);
  assertEquals(jit(grad(f))(x).toArray(), want);
  assertEquals(jit(f)(x).item(), f(x).item());
});

Deno.test("jit stages a whole training step with Adam, close to the eager step", () => {
  const opt = optim.adam({ lr: 1e-2 });
  const step = (
    p: typeof params,
    s: optim.OptState,
    x: typeof xs,
    y: typeof ys,
  ) => {
    const [l, g] = valueAndGrad(loss)(p, x, y);
    const [next, state] = opt.update(g, s, p);
    return [l, next, state] as const;
  };
  const fast = jit(step);
  let pe = params, se = opt.init(params), pj = params, sj = opt.init(params);
  for (let i = 0; i < 3; i++) {
    const [le, qe, te] = step(pe, se, xs, ys);
    const [lj, qj, tj] = fast(pj, sj, xs, ys);
    assertAlmostEquals(lj.item(), le.item(), 1e-5);
    [pe, se, pj, sj] = [qe, te, qj, tj];
  }
  const counts = (s: unknown) => treeFlatten(s)[0][0]!.item();
  assertEquals([counts(sj), counts(se)], [3, 3]);
  const a = treeFlatten(pe)[0].flatMap((t) => [...t.toFlat()]);
  const b = treeFlatten(pj)[0].flatMap((t) => [...t.toFlat()]);
  for (let i = 0; i < a.length; i++) assertAlmostEquals(b[i]!, a[i]!, 1e-5);
  assertEquals(jitInfo(fast, pj, sj, xs, ys).traces, 1);
});

Deno.test("jit recycles intermediates but never a result it returned", () => {
  const f = jit((x: T) => {
    const a = exp(x);
    const s = sum(a, { axis: 1, keepDims: true });
    return [div(a, s), mul(a, 2)];
  });
  const x1 = normal(key(11), [8, 9]), x2 = normal(key(12), [8, 9]);
  const [p1, q1] = f(x1);
  const keep = [p1!.toFlat(), q1!.toFlat()];
  const [p2] = f(x2);
  f(x1);
  assertEquals([p1!.toFlat(), q1!.toFlat()], keep);
  const a2 = exp(x2);
  assertEquals(
    p2!.toFlat(),
    div(a2, sum(a2, { axis: 1, keepDims: true })).toFlat(),
  );
});

Deno.test("jit handles scalars, empty tensors and results that are inputs", () => {
  const f = (x: T, y: T) => [sum(mul(exp(x), y)), x, mul(y, 2)] as const;
  for (const fusion of modes) {
    const g = jit(f, { fusion });
    for (
      const [x, y] of [[tensor(1), tensor(2)], [
        normal(key(1), [0, 3]),
        normal(key(2), [3]),
      ]] as const
    ) {
      const [a, b, c] = g(x, y);
      const [a0, , c0] = f(x, y);
      assertEquals([a.toArray(), b, c.toFlat()], [
        a0.toArray(),
        x,
        c0.toFlat(),
      ]);
    }
    assertThrows(
      () => jit((x: T) => max(exp(x)), { fusion })(normal(key(3), [0, 2])),
      RangeError,
      "Cannot take the max of an empty tensor",
    );
  }
});

Deno.test("jit computes constant subexpressions once and drops dead code", () => {
  const w = normal(key(13), [4]);
  const f = jit((x: T) => {
    mul(x, 100); // unused
    return add(x, exp(mul(w, 2)));
  });
  const x = normal(key(14), [4]);
  assertEquals(f(x).toFlat(), add(x, exp(mul(w, 2))).toFlat());
  assertEquals(jitInfo(f, x).steps, 1);
});

Deno.test("jit: a closure over a value of an outer transformation is an error", () => {
  assertThrows(
    () =>
      grad((w: Tensor<[2]>) => {
        const f = jit((x: Tensor<[2]>) => sum(mul(x, w)));
        return f(tensor([1, 2]));
      })(tensor([3, 4])),
    TypeError,
    "uses a value traced by another transformation",
  );
});

Deno.test("jit leaves a relu mask of a conv input gradient to the primitive, which fuses it into the gradient's kernel", () => {
  const net = nn.sequential(
    nn.conv2d({ filters: 8, kernel: 3, activation: "relu" }),
    nn.conv2d({ filters: 8, kernel: 3 }),
  );
  const p = net.init(key(3), [8, 8, 8]);
  const x = normal(key(4), [2, 8, 8, 8]);
  const loss = (q: typeof p, xs: typeof x) => sum(square(net.apply(q, xs)));
  const g = jit(grad(loss));
  const got = treeFlatten(g(p, x))[0].map((t) => t.toFlat());
  const want = treeFlatten(grad(loss)(p, x))[0].map((t) => t.toFlat());
  assertEquals(got, want);
  // The mask stays a primitive step: no fused chain holds it.
  assertEquals(jitInfo(g, p, x).fused.flat().includes("reluMask"), false);
  const names = jitInfo(g, p, x).program.equations.map((e) => e.primitive);
  assertEquals(names.includes("reluMask"), true);
});
