/**
 * jit and vmap compose in both orders (and with grad inside vmap): the
 * results equal the untransformed vmap's.
 */

import { assertEquals } from "@std/assert";
import {
  exp,
  grad,
  jit,
  matmul,
  mul,
  reshape,
  sum,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";

const w = tensor([[1, -2, 0.5], [0.5, 3, 1], [2, 1, -1]]);
const g = (x: Tensor<[3]>) =>
  sum(mul(exp(x), reshape(matmul(w, reshape(x, [3, 1])), [3])));
const xs = tensor([[0.1, 0.2, 0.3], [1, 2, 3], [-1, 0, 0.5]]);

Deno.test("vmap(jit(f)) and jit(vmap(f)) equal vmap(f)", () => {
  const want = vmap(g)(xs).toArray();
  assertEquals(vmap(jit(g))(xs).toArray(), want);
  const jv = jit(vmap(g));
  assertEquals(jv(xs).toArray(), want);
  // A second call runs the cached program.
  assertEquals(jv(xs).toArray(), want);
});

Deno.test("vmap(grad(jit(f))) equals vmap(grad(f))", () => {
  assertEquals(vmap(grad(jit(g)))(xs).toArray(), vmap(grad(g))(xs).toArray());
});
