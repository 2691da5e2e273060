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
import { add } from "../ops/binary.ts";
import { reshape } from "../ops/layout.ts";
import { sameShape } from "../ops/operand.ts";
import { toFront } from "../ops/batching.ts";
import { vmapU } from "./vmap.ts";

function zerosLike(t: AnyTensor): AnyTensor {
  return zeros(t.shape, { dtype: t.dtype }) as AnyTensor;
}

function addAny(a: AnyTensor, b: AnyTensor): AnyTensor {
  return add(a, b) as AnyTensor;
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
    const ins = pl.map((p, i) => {
      const t = tl[i] as AnyTensor;
      checkSameLeaf(p, t, `leaf ${i}`);
      return new JvpTracer(trace, p, t) as AnyTensor;
    });
    const args = treeUnflatten(def, ins) as A;
    const out = f(...args);
    const [ol, odef] = treeFlatten(out);
    const prim: AnyTensor[] = [], tan: AnyTensor[] = [];
    for (const o of ol) {
      if (o instanceof JvpTracer && o.trace === trace) {
        prim.push(o.primal as AnyTensor);
        tan.push(o.tangent as AnyTensor);
      } else {
        prim.push(o);
        tan.push(zerosLike(o));
      }
    }
    return [treeUnflatten(odef, prim) as R, treeUnflatten(odef, tan) as R];
  });
}

/** Runs `f` under a new reverse-mode trace; shared by vjp, grad and jacrev. */
function trace<A extends readonly unknown[], R>(
  f: (...args: A) => R,
  primals: A,
): { out: R; pullback: (ct: R) => A; lower: (tree: unknown) => unknown } {
  return withTrace((l) => new VjpTrace(l), (trace) => {
    const [pl, def] = treeFlatten(primals);
    const ins = pl.map((p) => trace.input(p) as VjpTracer);
    const nodes = ins.map((t) => t.node);
    const out = f(...(treeUnflatten(def, ins) as A));
    const [ol, odef] = treeFlatten(out);
    const outNodes: number[] = [];
    const prims = ol.map((o) => {
      if (o instanceof VjpTracer && o.trace === trace) {
        outNodes.push(o.node);
        return o.primal as AnyTensor;
      }
      outNodes.push(-1);
      return o;
    });
    const pullback = (ct: R): A => {
      const [cl] = treeFlatten(ct);
      if (cl.length !== ol.length) {
        throw new RangeError(
          `Expected a cotangent for each of the ${ol.length} outputs but found ${cl.length}`,
        );
      }
      const seeds: [number, AnyTensor][] = [];
      cl.forEach((c, i) => {
        checkSameLeaf(prims[i] as AnyTensor, c, `output ${i}`);
        const n = outNodes[i] as number;
        if (n >= 0) seeds.push([n, c]);
      });
      const got = trace.backward(seeds, nodes, addAny);
      const res = got.map((g, i) => g ?? zerosLike(pl[i] as AnyTensor));
      return treeUnflatten(def, res) as A;
    };
    // Values computed inside (such as aux outputs) stand for their primals outside.
    const lower = (tree: unknown): unknown => {
      const [ls, d] = treeFlatten(tree);
      return treeUnflatten(
        d,
        ls.map((
          l,
        ) => (l instanceof VjpTracer && l.trace === trace ? l.primal : l)),
      );
    };
    return { out: treeUnflatten(odef, prims) as R, pullback, lower };
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
  const t = out as AnyTensor;
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

function liftNumber(p: unknown): [unknown, boolean] {
  if (typeof p === "number") {
    return [fromData([], "float32", new Float32Array([p])), true];
  }
  return [p, false];
}

/** Options of {@linkcode valueAndGrad}. */
export interface ValueAndGradOptions<H extends boolean> {
  /** `f` returns `[loss, aux]`; aux is passed through undifferentiated. */
  hasAux?: H;
}

/** What `f` returns for {@linkcode valueAndGrad}: a scalar, or `[scalar, aux]` with `hasAux`. */
export type LossResult<H extends boolean> = H extends true
  ? readonly [AnyTensor, unknown]
  : AnyTensor;

/**
 * Differentiates a scalar-valued `f` with respect to its first argument and
 * also returns the value. With `hasAux`, `f` returns `[loss, aux]` and the
 * value is `[loss, aux]`.
 *
 * @param f The function of `(params, ...rest)`.
 * @param options `hasAux`.
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
  R extends LossResult<H>,
  H extends boolean = false,
>(
  f: (params: P, ...rest: A) => R,
  options?: ValueAndGradOptions<H>,
): (params: P, ...rest: A) => [R, P] {
  const hasAux = options?.hasAux ?? false;
  return (params: P, ...rest: A): [R, P] => {
    const [p, wasNumber] = liftNumber(params);
    let aux: unknown;
    const { out, pullback, lower } = trace(
      (q: unknown) => {
        const r = f(
          (wasNumber ? (q as AnyTensor) : q) as P,
          ...rest,
        ) as unknown;
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
      },
      [p] as const,
    );
    const ones = fromData(
      out.shape,
      "float32",
      new Float32Array(out.size).fill(1),
    ) as AnyTensor;
    const [g] = pullback(ones);
    const grad = wasNumber ? (g as AnyTensor).item() : g;
    const value = hasAux ? [out, lower(aux)] : out;
    return [value as R, grad as P];
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
  return reshape(eye(n) as AnyTensor, [n, ...shape]) as AnyTensor;
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
): (x: Tensor<I, "float32">) => Jacobian<O, I> {
  return (x) => {
    const xs = x as unknown as AnyTensor;
    const g = f as unknown as (x: AnyTensor) => AnyTensor;
    if (xs.size === 0) {
      const y = g(xs);
      return zeros([...y.shape, ...xs.shape]) as unknown as Jacobian<O, I>;
    }
    const push = (t: unknown) => jvp(g, [xs], [t as AnyTensor])[1];
    // [...out, n]: the tangent of every unit direction, batch last.
    const c = vmapU(push, 0, -1)(unitBasis(xs.shape)) as AnyTensor;
    const outShape = c.shape.slice(0, -1);
    return reshape(c, [...outShape, ...xs.shape]) as unknown as Jacobian<O, I>;
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
): (x: Tensor<I, "float32">) => Jacobian<O, I> {
  return (x) => {
    const xs = x as unknown as AnyTensor;
    const { out, pullback } = trace(
      f as unknown as (x: AnyTensor) => AnyTensor,
      [xs] as const,
    );
    if (out.size === 0 || xs.size === 0) {
      return zeros([...out.shape, ...xs.shape]) as unknown as Jacobian<O, I>;
    }
    const pull = (ct: unknown) => pullback(ct as AnyTensor)[0];
    const rows = vmapU(pull, 0, 0)(unitBasis(out.shape)) as AnyTensor;
    return reshape(rows, [
      ...out.shape,
      ...xs.shape,
    ]) as unknown as Jacobian<O, I>;
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
): (x: Tensor<I, "float32">) => Tensor<[...I, ...I], "float32"> {
  const g = (x: Tensor<I, "float32">): Tensor<I, "float32"> => {
    const j = jacrev(f)(x) as unknown as AnyTensor;
    return reshape(j, x.shape as Shape) as unknown as Tensor<I, "float32">;
  };
  return jacfwd(g) as unknown as (
    x: Tensor<I, "float32">,
  ) => Tensor<[...I, ...I], "float32">;
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
): (...args: A) => R {
  const prim: Primitive<void> = {
    name: `customVjp(${f.name || "anonymous"})`,
    impl: (inputs) => f(...(inputs as unknown as A)),
    jvp(primals, tangents) {
      const ts = primals.map((p, i) => tangents[i] ?? zerosLike(p));
      const [, t] = jvp((...xs: AnyTensor[]) => f(...(xs as unknown as A)), [
        ...primals,
      ], ts);
      return t;
    },
    vjp: (ct, primals, _p, out) =>
      rule(ct as R, primals as unknown as A, out as R),
    // The batch of examples is again a custom-rule function: f and the rule,
    // both vmapped, with every input batched on axis 0.
    batch(xs, dims, _p, size) {
      const ins = xs.map((x, i) => toFront(x, dims[i] ?? null, size));
      const fb = vmapU((...a) => f(...(a as unknown as A)), 0, 0);
      const rb = vmapU((c, a, o) => rule(c as R, a as A, o as R), 0, 0);
      const g = customVjp(
        (...a: AnyTensor[]) => fb(...a) as AnyTensor,
        (c, a, o) => rb(c, a, o) as Cotangents<AnyTensor[]>,
      );
      return [g(...ins), 0];
    },
  };
  return (...args: A): R => bind(prim, args, undefined) as R;
}
