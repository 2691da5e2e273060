/**
 * The differentiation transforms: jvp, vjp, grad, valueAndGrad, jacfwd,
 * jacrev, hessian and customVjp. Each pushes one trace on the interpreter
 * stack (see `core.ts`); they nest to any order.
 *
 * @module
 */

import {
  type AnyTensor,
  eye,
  fromData,
  isFloat32,
  type Shape,
  sizeOf,
  Tensor,
  zeros,
} from "../tensor.ts";
import {
  bind,
  JvpTrace,
  JvpTracer,
  type Primitive,
  VjpTrace,
  VjpTracer,
  withTrace,
} from "./core.ts";
import { treeFlatten, treeUnflatten } from "../pytree.ts";
import * as lax from "../ops/lax.ts";
import { sameShape } from "../ops/operand.ts";
import { toFront } from "../ops/batching.ts";
import { vmapU } from "./vmap.ts";

function zerosLike(t: AnyTensor): AnyTensor {
  return zeros(t.shape, { dtype: t.dtype });
}

function checkSameLeaf(p: AnyTensor, t: AnyTensor, where: string): void {
  if (!sameShape(p.shape, t.shape)) {
    throw new RangeError(
      `Expected the tangent at ${where} to have shape [${
        p.shape.join(", ")
      }] but found [${t.shape.join(", ")}]`,
    );
  }
}

/** Checks that a value computed by the library's own machinery is a tensor. */
function expectTensor(x: unknown, what: string): AnyTensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(
      `Expected ${what} to be a tensor but found ${typeof x}`,
    );
  }
  return x;
}

/** A float32 tensor of any shape. */
type F32 = Tensor<Shape, "float32">;

/** Checks that a value is a float32 tensor. */
function expectFloat32(x: unknown, what: string): F32 {
  const t = expectTensor(x, what);
  if (!isFloat32(t)) {
    throw new TypeError(`Expected ${what} to be float32 but found ${t.dtype}`);
  }
  return t;
}

/**
 * Forward-mode differentiation: evaluates `f` at `primals` and its
 * directional derivative along `tangents` in one pass.
 *
 * @param f The function; its arguments and result are tensors or pytrees of tensors.
 * @param primals The arguments, as a tuple.
 * @param tangents One tangent per argument, of the same structure and shapes.
 * @returns `[f(...primals), derivative of f along the tangents]`.
 * @throws {RangeError} If a tangent's shape differs from its primal's.
 *
 * @example
 * ```ts
 * import { jvp, mul, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const [y, dy] = jvp((x: typeof t) => mul(x, x), [tensor([3])], [tensor([1])]);
 * const t = tensor([3]);
 * assertEquals(y.toArray(), [9]);
 * assertEquals(dy.toArray(), [6]);
 * ```
 */
export function jvp<const A extends readonly unknown[], R>(
  f: (...args: A) => R,
  primals: A,
  tangents: A,
): [R, R] {
  return withTrace((l) => new JvpTrace(l), (trace) => {
    const [pl, def] = treeFlatten(primals);
    const [tl] = treeFlatten(tangents);
    if (pl.length !== tl.length) {
      throw new RangeError(
        `Expected as many tangents as primals but found ${tl.length} and ${pl.length}`,
      );
    }
    const ins = pl.map((p, i): AnyTensor => {
      const t = expectTensor(tl[i], `tangent leaf ${i}`);
      checkSameLeaf(p, t, `leaf ${i}`);
      return new JvpTracer(trace, p, t);
    });
    const out = f(...treeUnflatten(def, ins));
    const [ol, odef] = treeFlatten(out);
    const prim: AnyTensor[] = [], tan: AnyTensor[] = [];
    for (const o of ol) {
      if (o instanceof JvpTracer && o.trace === trace) {
        prim.push(o.primal);
        tan.push(o.tangent);
      } else {
        prim.push(o);
        tan.push(zerosLike(o));
      }
    }
    return [treeUnflatten(odef, prim), treeUnflatten(odef, tan)];
  });
}

/** Runs `f` under a new reverse-mode trace; shared by vjp, grad and jacrev. */
function trace<A extends readonly unknown[], R>(
  f: (...args: A) => R,
  primals: A,
): { out: R; pullback: (ct: R) => A; lower: <T>(tree: T) => T } {
  return withTrace((l) => new VjpTrace(l), (trace) => {
    const [pl, def] = treeFlatten(primals);
    const ins = pl.map((p) => trace.input(p));
    const nodes = ins.map((t) => t.node);
    const out = f(...treeUnflatten(def, ins));
    const [ol, odef] = treeFlatten(out);
    // Each output's primal and its tape node (-1: it does not depend on the inputs).
    const outs = ol.map((o): [AnyTensor, number] =>
      o instanceof VjpTracer && o.trace === trace ? [o.primal, o.node] : [o, -1]
    );
    const pullback = (ct: R): A => {
      const [cl] = treeFlatten(ct);
      if (cl.length !== outs.length) {
        throw new RangeError(
          `Expected a cotangent for each of the ${outs.length} outputs but found ${cl.length}`,
        );
      }
      const seeds: [number, AnyTensor][] = [];
      outs.forEach(([p, n], i) => {
        const c = expectTensor(cl[i], `cotangent ${i}`);
        checkSameLeaf(p, c, `output ${i}`);
        if (n >= 0) seeds.push([n, c]);
      });
      const got = trace.backward(seeds, nodes, lax.add);
      const res = pl.map((p, i) => got[i] ?? zerosLike(p));
      return treeUnflatten(def, res);
    };
    // Values computed inside (such as aux outputs) stand for their primals outside.
    const lower = <T>(tree: T): T => {
      const [ls, d] = treeFlatten(tree);
      return treeUnflatten(
        d,
        ls.map((l) =>
          l instanceof VjpTracer && l.trace === trace ? l.primal : l
        ),
      );
    };
    return {
      out: treeUnflatten(odef, outs.map(([p]) => p)),
      pullback,
      lower,
    };
  });
}

/**
 * Reverse-mode differentiation: evaluates `f` and returns a pullback that
 * maps a cotangent of the result to cotangents of every argument.
 *
 * @param f The function; arguments and result are tensors or pytrees.
 * @param primals The arguments.
 * @returns `[f(...primals), pullback]`; `pullback(ct)` returns one cotangent per argument, as a tuple.
 *
 * @example
 * ```ts
 * import { mul, tensor, vjp } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const [y, pullback] = vjp((a: typeof x, b: typeof x) => mul(a, b), tensor([2]), tensor([5]));
 * const x = tensor([0]);
 * assertEquals(y.toArray(), [10]);
 * const [da, db] = pullback(tensor([1]));
 * assertEquals([da.item(), db.item()], [5, 2]);
 * ```
 */
export function vjp<const A extends readonly unknown[], R>(
  f: (...args: A) => R,
  ...primals: A
): [R, (cotangent: R) => A] {
  const { out, pullback } = trace(f, primals);
  return [out, pullback];
}

function checkScalar(out: unknown, what: string): AnyTensor {
  if (!(out instanceof Tensor)) {
    throw new TypeError(
      `Expected ${what} to return a tensor but found ${typeof out}`,
    );
  }
  const t: AnyTensor = out;
  if (t.size !== 1) {
    throw new RangeError(
      `Expected ${what} to return a scalar (one element) but found shape [${
        t.shape.join(", ")
      }]`,
    );
  }
  if (t.dtype !== "float32") {
    throw new TypeError(
      `Expected ${what} to return a float32 scalar but found ${t.dtype}`,
    );
  }
  return t;
}

/** Options of {@linkcode valueAndGrad}. */
export interface ValueAndGradOptions<H extends boolean = boolean> {
  /** `f` returns `[loss, aux]`; aux is passed through undifferentiated. */
  readonly hasAux?: H;
}

/** What `f` returns for {@linkcode valueAndGrad}: a scalar, or `[scalar, aux]` with `hasAux`. */
export type LossResult<H extends boolean> = H extends true
  ? readonly [AnyTensor, unknown]
  : AnyTensor;

/**
 * Differentiates a scalar-valued `f` with respect to its first argument and
 * also returns the value.
 *
 * With `hasAux: true`, `f` returns a pair `[loss, aux]`: only `loss` is
 * differentiated, and `aux` (any pytree, such as the logits or an accuracy)
 * comes back beside it, so the value is `[loss, aux]`. A function written
 * in the call returns a pair without `as const`; one declared apart needs a
 * pair return type (or `as const`), since TypeScript types an array literal
 * there as an array.
 *
 * @param f The function of `(params, ...rest)`.
 * @param options `hasAux`.
 * @returns A function returning `[value, gradient]`, the gradient of the same type as `params`.
 * @throws {RangeError} If `f` does not return a scalar.
 *
 * @example With an auxiliary output
 * ```ts
 * import { mean, mul, sub, tensor, type Tensor, valueAndGrad } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const x = tensor([1, 2]), y = tensor([2, 2]);
 * // The loss is differentiated; the predictions come back beside it.
 * const step = valueAndGrad((w: Tensor<[2]>) => {
 *   const predictions = mul(w, x);
 *   const err = sub(predictions, y);
 *   return [mean(mul(err, err)), { predictions }];
 * }, { hasAux: true });
 * const [[loss, aux], g] = step(tensor([1, 1]));
 * assertEquals(loss.item(), 0.5); // ((1 - 2)^2 + (2 - 2)^2) / 2
 * assertEquals(aux.predictions.toArray(), [1, 2]);
 * assertEquals(g.toArray(), [-1, 0]); // (w x - y) x
 * ```
 */
export function valueAndGrad<
  P,
  A extends readonly unknown[],
  L extends AnyTensor,
  X,
>(
  f: (params: P, ...rest: A) => readonly [L, X],
  options: ValueAndGradOptions<true> & { readonly hasAux: true },
): (params: P, ...rest: A) => [[L, X], P];
/**
 * Differentiates a scalar-valued `f` with respect to its first argument and
 * also returns the value: without `hasAux`, `f` returns the scalar loss.
 *
 * @param f The function of `(params, ...rest)`.
 * @param options `hasAux: false` (the default).
 * @returns A function returning `[value, gradient]`, the gradient of the same type as `params`.
 * @throws {RangeError} If `f` does not return a scalar.
 *
 * @example
 * ```ts
 * import { sum, tensor, valueAndGrad, mul } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const f = (p: { w: typeof w }) => sum(mul(p.w, p.w));
 * const w = tensor([1, 2]);
 * const [loss, g] = valueAndGrad(f)({ w });
 * assertEquals(loss.item(), 5);
 * assertEquals(g.w.toArray(), [2, 4]);
 * ```
 */
export function valueAndGrad<
  P,
  A extends readonly unknown[],
  R extends AnyTensor,
>(
  f: (params: P, ...rest: A) => R,
  options?: ValueAndGradOptions<false>,
): (params: P, ...rest: A) => [R, P];
export function valueAndGrad(
  f: (params: unknown, ...rest: unknown[]) => unknown,
  options?: ValueAndGradOptions,
): (params: unknown, ...rest: unknown[]) => [unknown, unknown] {
  const hasAux = options?.hasAux ?? false;
  return (params: unknown, ...rest: unknown[]): [unknown, unknown] => {
    // A number is differentiated as a float32 scalar; its gradient is a number.
    const wasNumber = typeof params === "number";
    const p = typeof params === "number"
      ? fromData([], "float32", new Float32Array([params]))
      : params;
    let aux: unknown;
    const { out, pullback, lower } = trace((q: unknown) => {
      const r = f(q, ...rest);
      if (hasAux) {
        if (!Array.isArray(r) || r.length !== 2) {
          throw new TypeError(
            "Expected f to return [loss, aux] because hasAux is true",
          );
        }
        aux = r[1];
        return checkScalar(r[0], "f");
      }
      return checkScalar(r, "f");
    }, [p]);
    const ones = fromData(
      out.shape,
      "float32",
      new Float32Array(out.size).fill(1),
    );
    const [g] = pullback(ones);
    const grad = wasNumber && g instanceof Tensor ? g.item() : g;
    return [hasAux ? [out, lower(aux)] : out, grad];
  };
}

/**
 * The gradient of a scalar-valued `f` with respect to its first argument (a
 * tensor, a number, or a pytree); other arguments pass through untouched. The
 * gradient has the same structure and static type as the first argument.
 * Integer leaves get zero gradients.
 *
 * @param f The function of `(params, ...rest)`, returning one element.
 * @returns A function of the same arguments returning the gradient.
 * @throws {RangeError} If `f` does not return a scalar.
 *
 * @example
 * ```ts
 * import { grad, mul, sum, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const f = (x: typeof t) => sum(mul(x, x));
 * const t = tensor([1, 2, 3]);
 * assertEquals(grad(f)(t).toArray(), [2, 4, 6]);
 * // Second order: d/dx of 2x is 2.
 * const g0 = (x: typeof t) => sum(grad(f)(x));
 * assertEquals(grad(g0)(t).toArray(), [2, 2, 2]);
 * ```
 */
export function grad<P, A extends readonly unknown[]>(
  f: (params: P, ...rest: A) => AnyTensor,
): (params: P, ...rest: A) => P {
  const vg = valueAndGrad(f);
  return (params: P, ...rest: A): P => vg(params, ...rest)[1];
}

/** The shape of a Jacobian: the output's dims followed by the input's. */
export type Jacobian<O extends Shape, I extends Shape> = Tensor<
  [...O, ...I],
  "float32"
>;

/** The `n` unit vectors of a space of shape `shape`, stacked: `[n, ...shape]`. */
function unitBasis(shape: Shape): AnyTensor {
  const n = sizeOf(shape);
  return lax.reshape(eye(n), [n, ...shape]);
}

/**
 * The Jacobian of `f` by forward mode: shape `[...outShape, ...inShape]`,
 * one jvp per input element, all of them computed at once by `vmap` over
 * the unit tangents. Efficient when inputs are few.
 *
 * @param f A function of one float32 tensor returning one tensor.
 * @returns A function computing the Jacobian at a point.
 *
 * @example
 * ```ts
 * import { jacfwd, mul, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const j = jacfwd((x: typeof t) => mul(x, x))(tensor([1, 2]));
 * const t = tensor([0, 0]);
 * assertEquals(j.toArray(), [[2, 0], [0, 4]]);
 * ```
 */
export function jacfwd<I extends Shape, O extends Shape>(
  f: (x: Tensor<I, "float32">) => Tensor<O, "float32">,
): (x: Tensor<I, "float32">) => Jacobian<O, I>;
export function jacfwd(f: (x: F32) => AnyTensor): (x: F32) => AnyTensor {
  return jacfwdAny(f);
}

function jacfwdAny(f: (x: F32) => AnyTensor): (x: F32) => AnyTensor {
  return (x) => {
    if (x.size === 0) return zeros([...f(x).shape, ...x.shape]);
    const push = (t: unknown) =>
      jvp(f, [x], [expectFloat32(t, "a unit tangent")])[1];
    // [...out, n]: the tangent of every unit direction, batch last.
    const c = expectTensor(
      vmapU(push, 0, -1)(unitBasis(x.shape)),
      "the batch of tangents",
    );
    return lax.reshape(c, [...c.shape.slice(0, -1), ...x.shape]);
  };
}

/**
 * The Jacobian of `f` by reverse mode: shape `[...outShape, ...inShape]`,
 * one pullback per output element, all of them computed at once by `vmap`
 * over the unit cotangents. Efficient when outputs are few.
 *
 * @param f A function of one float32 tensor returning one tensor.
 * @returns A function computing the Jacobian at a point.
 *
 * @example
 * ```ts
 * import { jacrev, mul, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const j = jacrev((x: typeof t) => mul(x, 3))(tensor([1, 2]));
 * const t = tensor([0, 0]);
 * assertEquals(j.toArray(), [[3, 0], [0, 3]]);
 * ```
 */
export function jacrev<I extends Shape, O extends Shape>(
  f: (x: Tensor<I, "float32">) => Tensor<O, "float32">,
): (x: Tensor<I, "float32">) => Jacobian<O, I>;
export function jacrev(f: (x: F32) => AnyTensor): (x: F32) => AnyTensor {
  return jacrevAny(f);
}

function jacrevAny(f: (x: F32) => AnyTensor): (x: F32) => AnyTensor {
  return (x) => {
    const { out, pullback } = trace(f, [x]);
    if (out.size === 0 || x.size === 0) {
      return zeros([...out.shape, ...x.shape]);
    }
    const pull = (ct: unknown) =>
      pullback(expectTensor(ct, "a unit cotangent"))[0];
    const rows = expectTensor(
      vmapU(pull, 0, 0)(unitBasis(out.shape)),
      "the batch of cotangents",
    );
    return lax.reshape(rows, [...out.shape, ...x.shape]);
  };
}

/**
 * The Hessian of a scalar-valued `f`: `jacfwd(jacrev(f))`, shape `[...inShape, ...inShape]`.
 *
 * @param f A function of one float32 tensor returning one element.
 * @returns A function computing the Hessian at a point.
 *
 * @example
 * ```ts
 * import { hessian, mul, sum, tensor } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * // f(x) = x0^2 * x1  ->  H = [[2 x1, 2 x0], [2 x0, 0]]
 * const f = (x: typeof t) => sum(mul(mul(x, x), tensor([1, 0])) ) ;
 * const t = tensor([1, 2]);
 * assertEquals(hessian(f)(t).toArray(), [[2, 0], [0, 0]]);
 * ```
 */
export function hessian<I extends Shape>(
  f: (x: Tensor<I, "float32">) => Tensor<Shape, "float32">,
): (x: Tensor<I, "float32">) => Tensor<[...I, ...I], "float32">;
export function hessian(f: (x: F32) => AnyTensor): (x: F32) => AnyTensor {
  // The gradient as a function of x (shaped like x), then its Jacobian.
  return jacfwdAny((x) => lax.reshape(jacrevAny(f)(x), x.shape));
}

/** The cotangents a custom rule returns: one per argument, or null for none. */
export type Cotangents<A extends readonly AnyTensor[]> = {
  [K in keyof A]: A[K] | null;
};

/**
 * Gives a function of tensors its own reverse-mode rule. Forward mode (jvp)
 * differentiates `f` itself; reverse mode uses `rule`. The rule may be
 * written with any public op, so it can be differentiated again.
 *
 * @param f The function of tensors to wrap.
 * @param rule Given the cotangent of the result, the arguments and the result, the cotangent of each argument.
 * @returns A function that computes `f` and differentiates with `rule`.
 *
 * @example Straight-through gradient of rounding down
 * ```ts
 * import { customVjp, grad, sum, tensor, type Tensor, cast } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const floorST = customVjp(
 *   (x: Tensor<[2]>) => cast(cast(x, "int32"), "float32"),
 *   (ct) => [ct],
 * );
 * const g = grad((x: Tensor<[2]>) => sum(floorST(x)))(tensor([1.5, 2.5]));
 * assertEquals(g.toArray(), [1, 1]);
 * ```
 */
export function customVjp<
  const A extends readonly AnyTensor[],
  R extends AnyTensor,
>(
  f: (...args: A) => R,
  rule: (cotangent: R, args: A, out: R) => Cotangents<A>,
): (...args: A) => R;
export function customVjp(
  f: (...args: AnyTensor[]) => AnyTensor,
  rule: (
    cotangent: AnyTensor,
    args: AnyTensor[],
    out: AnyTensor,
  ) => readonly (AnyTensor | null)[],
): (...args: AnyTensor[]) => AnyTensor {
  const prim: Primitive<void> = {
    name: `customVjp(${f.name || "anonymous"})`,
    rules: "user",
    impl: (inputs) => f(...inputs),
    jvp(primals, tangents) {
      const ts = primals.map((p, i) => tangents[i] ?? zerosLike(p));
      return jvp(f, [...primals], ts)[1];
    },
    vjp: (ct, primals, _p, out) => rule(ct, [...primals], out),
    // The batch of examples is again a custom-rule function: f and the rule,
    // both vmapped, with every input batched on axis 0.
    batch(xs, dims, _p, size) {
      const ins = xs.map((x, i) => toFront(x, dims[i] ?? null, size));
      const fb = vmapU((...a) => f(...a.map(asTensor)), 0, 0);
      const rb = vmapU(
        (c, a, o) =>
          rule(
            asTensor(c),
            Array.isArray(a) ? a.map(asTensor) : [],
            asTensor(o),
          ),
        0,
        0,
      );
      const g = customVjp(
        (...a: AnyTensor[]) => expectTensor(fb(...a), "the batched result"),
        (c, a, o) => expectCotangents(rb(c, a, o), a.length),
      );
      return [g(...ins), 0];
    },
  };
  return (...args: AnyTensor[]): AnyTensor => bind(prim, args, undefined);
}

/** A batched argument of a custom-rule function: a tensor. */
function asTensor(x: unknown): AnyTensor {
  return expectTensor(x, "an argument of a custom-rule function");
}

/** Checks what a batched custom rule returned: one tensor or null per argument. */
function expectCotangents(x: unknown, n: number): (AnyTensor | null)[] {
  if (!Array.isArray(x) || x.length !== n) {
    throw new TypeError(
      `Expected the custom rule to return ${n} cotangents but found ${
        Array.isArray(x) ? x.length : typeof x
      }`,
    );
  }
  return x.map((c: unknown) => c === null ? null : asTensor(c));
}
