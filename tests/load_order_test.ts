// The ops modules import each other in a cycle (and other modules take part
// in it through them), so the order in which module bodies run depends on
// which module is loaded first. A top-level use of an import (a constant
// computed with another module's op, say) works in one order and fails in
// another. Each module of src/ is loaded first here, in a fresh Worker, so
// such breakage shows up whichever module it is in.
import { assert, assertEquals, assertGreater } from "@std/assert";

const src = new URL("../src/", import.meta.url);

/** The .ts files under `dir`, as paths relative to src/, sorted. */
function modulesIn(dir: URL, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) {
      out.push(...modulesIn(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`));
    } else if (e.isFile && e.name.endsWith(".ts")) {
      out.push(prefix + e.name);
    }
  }
  return out.sort();
}

/** Modules that are not loaded first here, and why. */
const skipped: Record<string, string> = {
  "kernels/worker.ts":
    "the main script of a kernel thread: it runs on the data its parent passes",
};

const modules = modulesIn(src).filter((m) => !(m in skipped));

/**
 * Loads `url` as the first module of a fresh Worker: null if it loads, else
 * the error. A worker that gives no answer in `ms` is tried once more in
 * another fresh worker: under `deno test --parallel` (Deno 2.9.6) the first
 * worker's first dynamic import sometimes never finishes while other test
 * modules run (seen in 1 of 10 runs of four test files, at the code of
 * 2026-11-30 too); that is the loader, not the module's load order, and the
 * next worker loads the same module at once.
 */
async function loadFirst(url: URL, ms = 20_000): Promise<string | null> {
  const first = await loadOnce(url, ms);
  return first === TIMEOUT ? await loadOnce(url, 60_000) : first;
}

const TIMEOUT = "no answer in time";

/** One try of {@linkcode loadFirst}: null, the error, or {@linkcode TIMEOUT}. */
function loadOnce(url: URL, ms: number): Promise<string | null> {
  // A computed specifier: loaded at run time, not type-checked again (the
  // modules are checked by `deno task check`). The message handler keeps the
  // worker alive until it is terminated, so its answer is not lost.
  const code = `self.onmessage = () => {}; const url = ${
    JSON.stringify(url.href)
  }; await import(url); postMessage(null);`;
  const worker = new Worker(
    `data:text/javascript,${encodeURIComponent(code)}`,
    { type: "module" },
  );
  return new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(TIMEOUT), ms);
    worker.onmessage = () => {
      clearTimeout(timer);
      resolve(null);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      clearTimeout(timer);
      resolve(e.message);
    };
  }).finally(() => worker.terminate());
}

Deno.test("load order: the modules are found", () => {
  assertGreater(modules.filter((m) => m.startsWith("ops/")).length, 10);
  for (const m of Object.keys(skipped)) {
    assert(modulesIn(src).includes(m), `skipped module src/${m} not found`);
  }
});

for (const m of modules) {
  Deno.test(`load order: src/${m} loads first`, async () => {
    const error = await loadFirst(new URL(m, src));
    assertEquals(error, null, `src/${m} fails when loaded first: ${error}`);
  });
}
