/**
 * Pytrees: nested plain objects and arrays whose leaves are tensors.
 *
 * Parameters, gradients and optimizer states are pytrees. Anything that is not
 * a tensor, an array or a plain object (numbers, strings, booleans, null) is
 * kept as part of the structure, not as a leaf.
 *
 * @module
 */

import { type AnyTensor, Tensor } from "./tensor.ts";

/** A nested structure of plain objects and arrays with tensors at the leaves. */
export type PyTree =
  | AnyTensor
  | readonly PyTree[]
  | { readonly [key: string]: PyTree }
  | number
  | string
  | boolean
  | null
  | undefined;

/**
 * The structure of a pytree with its leaves taken out: a leaf, a static
 * value, an array or an object. `T` records the type of the tree it was
 * taken from (a type only, never set at run time), so that
 * {@linkcode treeUnflatten} gives the tree back with that type.
 */
export type TreeDef<T = unknown> =
  & (
    | { readonly kind: "leaf" }
    | { readonly kind: "static"; readonly value: unknown }
    | { readonly kind: "array"; readonly children: readonly TreeDef[] }
    | {
      readonly kind: "object";
      readonly keys: readonly string[];
      readonly children: readonly TreeDef[];
    }
  )
  & { readonly tree?: T };

/** A node of a structure, whatever tree it came from. */
type TreeNode = TreeDef;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Splits a pytree into its leaves (in a fixed order: arrays by index, objects
 * by key in insertion order) and its structure.
 *
 * @param tree The pytree.
 * @returns The leaves and the structure, for {@linkcode treeUnflatten}.
 * @throws {TypeError} If the tree holds a value that is neither a tensor, an array, a plain object nor a primitive.
 *
 * @example
 * ```ts
 * import { tensor, treeFlatten, treeUnflatten } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const [leaves, def] = treeFlatten({ w: tensor([1, 2]), b: [tensor([3])] });
 * assertEquals(leaves.length, 2);
 * const back = treeUnflatten(def, leaves);
 * assertEquals(back.w, leaves[0]);
 * ```
 */
export function treeFlatten<T>(tree: T): [AnyTensor[], TreeDef<T>] {
  const leaves: AnyTensor[] = [];
  // Built as `TreeDef<never>`, which is the structure of any tree: here, `T`'s.
  const go = (node: unknown, path: string): TreeDef<never> => {
    if (node instanceof Tensor) {
      leaves.push(node);
      return { kind: "leaf" };
    }
    if (Array.isArray(node)) {
      return {
        kind: "array",
        children: node.map((c, i) => go(c, `${path}[${i}]`)),
      };
    }
    if (isPlainObject(node)) {
      const keys = Object.keys(node);
      return {
        kind: "object",
        keys,
        children: keys.map((k) => go(node[k], `${path}.${k}`)),
      };
    }
    if (
      node === null || node === undefined || typeof node === "number" ||
      typeof node === "string" || typeof node === "boolean"
    ) {
      return { kind: "static", value: node };
    }
    throw new TypeError(
      `Expected a tensor, array, plain object or primitive at ${
        path || "the root"
      } but found ${Object.prototype.toString.call(node)}`,
    );
  };
  const def = go(tree, "");
  return [leaves, def];
}

/**
 * Rebuilds a pytree from its structure and a list of leaves. The result has
 * the type of the tree the structure was taken from: the leaves stand for
 * its leaves (of the same shapes, for the transformations that use it).
 *
 * @param def The structure from {@linkcode treeFlatten}.
 * @param leaves The leaves, as many as the structure has.
 * @returns The rebuilt tree.
 * @throws {RangeError} If the number of leaves differs from the structure's.
 *
 * @example
 * ```ts
 * import { ones, tensor, treeFlatten, treeUnflatten } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const [, def] = treeFlatten({ x: tensor([1]), y: { a: tensor([2]) } });
 * const { x, y } = treeUnflatten(def, [ones([1]), ones([1])]);
 * assertEquals([x.item(), y.a.item()], [1, 1]);
 * ```
 */
export function treeUnflatten<T>(
  def: TreeDef<T>,
  leaves: readonly unknown[],
): T;
export function treeUnflatten(
  def: TreeNode,
  leaves: readonly unknown[],
): unknown {
  let i = 0;
  const go = (d: TreeNode): unknown => {
    switch (d.kind) {
      case "leaf":
        if (i >= leaves.length) {
          throw new RangeError(
            `Expected at least ${i + 1} leaves but found ${leaves.length}`,
          );
        }
        return leaves[i++];
      case "static":
        return d.value;
      case "array":
        return d.children.map(go);
      case "object": {
        const out: Record<string, unknown> = {};
        d.keys.forEach((k, j) => {
          const c = d.children[j];
          if (c !== undefined) out[k] = go(c);
        });
        return out;
      }
    }
  };
  const tree = go(def);
  if (i !== leaves.length) {
    throw new RangeError(
      `Expected ${i} leaves for the tree structure but found ${leaves.length}`,
    );
  }
  return tree;
}

/**
 * The dotted path of every leaf, in flatten order: `"conv.kernel"`, `"layers.0.bias"`.
 *
 * @param tree The pytree.
 * @returns One path per leaf.
 *
 * @example
 * ```ts
 * import { tensor, treePaths } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(treePaths({ dense: { w: tensor([1]), b: [tensor([2])] } }), ["dense.w", "dense.b.0"]);
 * ```
 */
export function treePaths(tree: unknown): string[] {
  const paths: string[] = [];
  const go = (node: unknown, path: string[]): void => {
    if (node instanceof Tensor) paths.push(path.join("."));
    else if (Array.isArray(node)) {
      node.forEach((c, i) => go(c, [...path, `${i}`]));
    } else if (isPlainObject(node)) {
      for (const k of Object.keys(node)) go(node[k], [...path, k]);
    }
  };
  go(tree, []);
  return paths;
}

/** Leaf `i` of a list of leaves, checked (trees of one structure have as many). */
function leafAt(leaves: readonly AnyTensor[], i: number): AnyTensor {
  const l = leaves[i];
  if (l === undefined) {
    throw new RangeError(
      `Expected a leaf at index ${i} but found ${leaves.length} leaves`,
    );
  }
  return l;
}

function sameChildren(
  a: readonly TreeNode[],
  b: readonly TreeNode[],
): boolean {
  return a.length === b.length && a.every((c, i) => {
    const d = b[i];
    return d !== undefined && sameDef(c, d);
  });
}

function sameDef(a: TreeNode, b: TreeNode): boolean {
  if (a.kind === "leaf") return b.kind === "leaf";
  if (a.kind === "static") {
    return b.kind === "static" && Object.is(a.value, b.value);
  }
  if (a.kind === "array") {
    return b.kind === "array" && sameChildren(a.children, b.children);
  }
  return b.kind === "object" && a.keys.length === b.keys.length &&
    a.keys.every((k, i) => b.keys[i] === k) &&
    sameChildren(a.children, b.children);
}

function describe(def: TreeNode): string {
  switch (def.kind) {
    case "leaf":
      return "tensor";
    case "static":
      return JSON.stringify(def.value) ?? String(def.value);
    case "array":
      return `[${def.children.map(describe).join(", ")}]`;
    case "object":
      return `{${
        def.children.map((c, i) => `${def.keys[i]}: ${describe(c)}`)
          .join(", ")
      }}`;
  }
}

/**
 * Applies `f` to every leaf (or to corresponding leaves of several trees of
 * the same structure) and builds a tree of the results with the same structure.
 *
 * @param f The function of one leaf from each tree.
 * @param tree The first tree; its type is the result's type.
 * @param rest More trees with exactly the same structure.
 * @returns The mapped tree.
 * @throws {TypeError} If the trees' structures differ.
 *
 * @example
 * ```ts
 * import { add, tensor, treeMap } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const p = { w: tensor([1, 2]) };
 * const g = { w: tensor([10, 20]) };
 * const sum = treeMap((a, b) => add(a, b), p, g);
 * assertEquals(sum.w.toArray(), [11, 22]);
 * ```
 */
export function treeMap<T>(
  f: (...leaves: AnyTensor[]) => AnyTensor,
  tree: T,
  ...rest: readonly T[]
): T {
  const [leaves, def] = treeFlatten(tree);
  const others = rest.map((r) => {
    const [l, d] = treeFlatten(r);
    if (!sameDef(def, d)) {
      throw new TypeError(
        `Expected trees of the same structure but found ${describe(def)} and ${
          describe(d)
        }`,
      );
    }
    return l;
  });
  const mapped = leaves.map((leaf, i) =>
    f(leaf, ...others.map((o) => leafAt(o, i)))
  );
  return treeUnflatten(def, mapped);
}

/**
 * Pairs the corresponding leaves of two trees of the same structure.
 *
 * @param a The first tree.
 * @param b The second tree, of the same structure.
 * @returns The list of `[leafOfA, leafOfB]` pairs in flatten order.
 * @throws {TypeError} If the structures differ.
 *
 * @example
 * ```ts
 * import { tensor, treeZip } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * const pairs = treeZip({ w: tensor([1]) }, { w: tensor([2]) });
 * assertEquals(pairs.map(([x, y]) => [x.item(), y.item()]), [[1, 2]]);
 * ```
 */
export function treeZip(a: unknown, b: unknown): [AnyTensor, AnyTensor][] {
  const [la, da] = treeFlatten(a);
  const [lb, db] = treeFlatten(b);
  if (!sameDef(da, db)) {
    throw new TypeError(
      `Expected trees of the same structure but found ${describe(da)} and ${
        describe(db)
      }`,
    );
  }
  return la.map((x, i) => [x, leafAt(lb, i)]);
}

/**
 * Whether two trees have the same structure (ignoring leaf values).
 *
 * @param a The first tree.
 * @param b The second tree.
 * @returns True if their structures match.
 *
 * @example
 * ```ts
 * import { tensor, treeSameStructure } from "@tensa/tensa";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(treeSameStructure({ a: tensor([1]) }, { a: tensor([5, 6]) }), true);
 * assertEquals(treeSameStructure({ a: tensor([1]) }, { b: tensor([1]) }), false);
 * ```
 */
export function treeSameStructure(a: unknown, b: unknown): boolean {
  return sameDef(treeFlatten(a)[1], treeFlatten(b)[1]);
}
