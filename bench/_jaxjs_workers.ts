// Side-effect module for bench/jaxjs_bench.ts; import it BEFORE jax-js.
//
// jax-js's WebAssembly backend makes its worker pool when the module loads,
// with `navigator.hardwareConcurrency` workers (no option for the count), and
// never terminates them, so a Deno process that used it never exits. This
// module fixes the count (JAXJS_THREADS, default 2) and records the workers
// so that `idleShutdown` can terminate them once the benches are over.

const requested = (() => {
  try {
    return Number(Deno.env.get("JAXJS_THREADS") ?? "2");
  } catch {
    return 2;
  }
})();
/** The number of workers jax-js will start. */
export const jaxjsThreads: number = Number.isInteger(requested) && requested > 0
  ? requested
  : 2;
Object.defineProperty(navigator, "hardwareConcurrency", {
  value: jaxjsThreads,
  configurable: true,
});

const workers: Worker[] = [];
const NativeWorker = globalThis.Worker;
globalThis.Worker = class extends NativeWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    super(url, options);
    workers.push(this);
  }
};

/** How many workers jax-js has started so far. */
export function startedWorkers(): number {
  return workers.length;
}

// Deno.bench has no "after all" hook: the workers are terminated once no
// wrapped bench has run for IDLE_MS (the gap between two benches of a file is
// milliseconds; no call is cut short, since an in-flight call holds it off).
// The clock starts at the first call: setup code must not start the workers
// (they start at the first asynchronous read, `data()` or `blockUntilReady`).
const IDLE_MS = 3000;
let inFlight = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
function arm(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    if (inFlight > 0) return;
    for (const w of workers.splice(0)) w.terminate();
  }, IDLE_MS);
}

/**
 * Wraps a bench function so that jax-js's workers stay up while benches run
 * and are terminated after the last one (so that `deno bench` exits).
 */
export function idleShutdown(
  fn: () => Promise<void>,
): () => Promise<void> {
  return async () => {
    inFlight++;
    if (timer !== undefined) clearTimeout(timer);
    try {
      await fn();
    } finally {
      inFlight--;
      arm();
    }
  };
}
