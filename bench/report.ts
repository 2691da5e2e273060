// Runs the benchmarks and prints one table: workload, tensa's average and
// 75th-percentile time (their gap shows how noisy the run was), baseline,
// ratio, GFLOP/s, images/s (ratio and rates from the averages). tensa runs
// twice: on all cores (the default) and with TENSA_THREADS=1.
// Usage: deno task bench:report [files...]
//
// The work per iteration comes from the bench names: "[flops=N]" or
// "[images=N]" at the end of a name (nothing is assumed for other benches).
//
// Then, when a python3 with torch exists (TENSA_PYTHON, else python3, else
// /usr/bin/python3; Debian's python3-torch is PyTorch 1.13), it runs
// bench/torch_peer.py on 2 threads for the workloads (bench groups) tensa ran
// and prints, per workload, tensa's rate, PyTorch's and their ratio. Last,
// the small CNN's training step is run again in alternated pairs, tensa and
// PyTorch one after the other (TENSA_PAIRS times, default 5), with each
// pair's ratio and their median.

interface Stats {
  n: number;
  avg: number;
  p75: number;
}
interface Bench {
  origin: string;
  group: string | null;
  name: string;
  baseline: boolean;
  results: { ok?: Stats; failed?: string }[];
}

const files = Deno.args.length > 0 ? Deno.args : ["bench/"];

/**
 * Runs the benches once with the given thread count (undefined: the default,
 * all cores), only those whose name matches `filter` if given.
 */
async function run(
  threads: string | undefined,
  filter?: string,
  benchFiles: readonly string[] = files,
): Promise<Bench[]> {
  const env: Record<string, string> = threads ? { TENSA_THREADS: threads } : {};
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bench",
      "--allow-read",
      "--allow-env",
      "--json",
      ...(filter ? ["--filter", filter] : []),
      ...benchFiles,
    ],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    console.error("deno bench failed");
    Deno.exit(1);
  }
  const text = new TextDecoder().decode(out.stdout);
  const json: unknown = JSON.parse(text.slice(text.indexOf("{")));
  if (!isRecord(json) || !Array.isArray(json.benches)) {
    throw new Error(
      `Expected deno bench --json output with a benches list but found ${
        text.slice(0, 80)
      }`,
    );
  }
  return json.benches;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

// Both cores (the default), then tensa on one thread for the per-core figures.
const all = await run(undefined);
// (Only tensa's benches: the peers' would be thrown away.)
const one = (await run("1", "/^tensa/")).filter((b) =>
  !b.baseline && b.name.startsWith("tensa")
).map((b) => ({
  ...b,
  name: b.name.replace(/(\s*\[.*\])?$/, (m) => ` (1 thread)${m}`),
}));
const json = { benches: [...all, ...one] };

function work(name: string, key: "flops" | "images"): number | undefined {
  const m = name.match(new RegExp(`\\[${key}=([0-9.e+]+)\\]`));
  return m ? Number(m[1]) : undefined;
}

function ms(ns: number): string {
  return ns >= 1e9
    ? `${(ns / 1e9).toFixed(2)} s`
    : `${(ns / 1e6).toFixed(ns < 1e6 ? 3 : 1)} ms`;
}

const rows: string[][] = [[
  "workload",
  "avg",
  "p75",
  "baseline (avg)",
  "ratio",
  "GFLOP/s",
  "images/s",
]];
const byGroup = new Map<string, Bench[]>();
for (const b of json.benches) {
  const g = b.group ?? b.name;
  byGroup.set(g, [...(byGroup.get(g) ?? []), b]);
}
for (const [group, benches] of byGroup) {
  const base = benches.find((b) => b.baseline)?.results[0]?.ok;
  const baseName = benches.find((b) =>
    b.baseline
  )?.name.replace(/\s*\[.*\]$/, "") ?? "";
  for (const b of benches.filter((x) => !x.baseline)) {
    const r = b.results[0]?.ok;
    if (!r) continue;
    const flops = work(b.name, "flops"), images = work(b.name, "images");
    rows.push([
      `${group}: ${b.name.replace(/\s*\[.*\]$/, "")}`,
      ms(r.avg),
      ms(r.p75),
      base ? `${ms(base.avg)} (${baseName})` : "-",
      base ? `${(base.avg / r.avg).toFixed(1)}x` : "-",
      flops ? (flops / r.avg).toFixed(2) : "-",
      images ? Math.round(images / (r.avg / 1e9)).toString() : "-",
    ]);
  }
}
const widths = rows[0]!.map((_, i) =>
  Math.max(...rows.map((r) => r[i]!.length))
);
for (const [i, r] of rows.entries()) {
  console.log(
    r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!)))
      .join("  "),
  );
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}

// PyTorch, after the benches (not at the same time: the machine has 2 cores).

interface TorchResult {
  workload: string;
  flops?: number;
  images?: number;
  n: number;
  avg: number;
  p75: number;
}

/** The first python that imports torch, or undefined. */
async function findTorchPython(): Promise<string | undefined> {
  const candidates = [
    Deno.env.get("TENSA_PYTHON"),
    "python3",
    "/usr/bin/python3",
  ].filter((c): c is string => !!c);
  for (const py of candidates) {
    try {
      const probe = await new Deno.Command(py, {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (probe.success) return py;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
}

// tensa's own benches (all cores) by group, with the work they annotate.
const tensaByGroup = new Map<string, { rate: number; unit: string }>();
for (const b of all) {
  const r = b.results[0]?.ok;
  if (!r || b.baseline || !b.name.startsWith("tensa") || !b.group) continue;
  const flops = work(b.name, "flops"), images = work(b.name, "images");
  if (flops) {
    tensaByGroup.set(b.group, { rate: flops / r.avg, unit: "GFLOP/s" });
  } else if (images) {
    tensaByGroup.set(b.group, { rate: images / (r.avg / 1e9), unit: "img/s" });
  }
}

interface TorchRun {
  torch: string;
  threads: number;
  blas: string;
  results: TorchResult[];
}

/** Runs bench/torch_peer.py on 2 threads for the given workloads. */
async function runTorch(
  python: string,
  workloads: readonly string[],
): Promise<TorchRun> {
  const script = new URL("./torch_peer.py", import.meta.url).pathname;
  const out = await new Deno.Command(python, {
    args: [script, "--threads", "2", "--only", workloads.join(",")],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    console.error(`${python} ${script} failed`);
    Deno.exit(1);
  }
  const text = new TextDecoder().decode(out.stdout);
  const json: unknown = JSON.parse(text);
  const { torch: version, threads, blas, results } = isRecord(json) ? json : {};
  if (
    typeof version !== "string" || typeof threads !== "number" ||
    typeof blas !== "string" || !Array.isArray(results)
  ) {
    throw new Error(
      `Expected ${script} to print { torch, threads, blas, results } but found ${
        text.slice(0, 80)
      }`,
    );
  }
  return { torch: version, threads, blas, results };
}

const python = await findTorchPython();
if (tensaByGroup.size === 0) {
  console.log(
    "\nPyTorch peer: no tensa workloads with [flops=]/[images=] ran.",
  );
} else if (!python) {
  console.log(
    "\nPyTorch peer skipped: no python3 that imports torch (apt-get install python3-torch, or set TENSA_PYTHON).",
  );
} else {
  const torch = await runTorch(python, [...tensaByGroup.keys()]);
  const cmp: string[][] = [[
    "workload",
    "unit",
    "tensa",
    `PyTorch ${torch.torch} (${torch.threads} threads)`,
    "PyTorch avg / p75",
    "tensa / PyTorch",
  ]];
  for (const t of torch.results) {
    const ours = tensaByGroup.get(t.workload);
    const rate = t.flops
      ? t.flops / t.avg
      : t.images
      ? t.images / (t.avg / 1e9)
      : undefined;
    if (!ours || rate === undefined) continue;
    const fmt = (v: number) =>
      ours.unit === "GFLOP/s" ? v.toFixed(2) : Math.round(v).toString();
    cmp.push([
      t.workload,
      ours.unit,
      fmt(ours.rate),
      fmt(rate),
      `${ms(t.avg)} / ${ms(t.p75)}`,
      `${(ours.rate / rate).toFixed(2)}x`,
    ]);
  }
  const w = cmp[0]!.map((_, i) => Math.max(...cmp.map((r) => r[i]!.length)));
  console.log();
  for (const [i, r] of cmp.entries()) {
    console.log(
      r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!)))
        .join("  "),
    );
    if (i === 0) console.log(w.map((x) => "-".repeat(x)).join("  "));
  }
  console.log(`PyTorch's BLAS: ${torch.blas}`);
  if (!/openblas|mkl/i.test(torch.blas)) {
    console.log(
      "(not OpenBLAS or MKL: PyTorch's GEMM and dense layers run on a slow BLAS; apt-get install libopenblas0-openmp)",
    );
  }
}

// The headline ratio again, alternated: this machine is a shared virtual
// machine whose speed changes over minutes, and the table above runs PyTorch
// minutes after tensa. Here tensa's bench and PyTorch's run one after the
// other, TENSA_PAIRS times (default 5; 0 skips it), each pair in the same
// phase of the host (tensa first in odd pairs, PyTorch first in even ones),
// and each pair's ratio is printed with their median.
const pairs = Number(Deno.env.get("TENSA_PAIRS") ?? "5");
const paired = "train small";
if (python && pairs > 0 && tensaByGroup.has(paired)) {
  const trainBench = new URL("./train_bench.ts", import.meta.url).pathname;
  const ratios: number[] = [];
  console.log(`\n${paired}, tensa and PyTorch alternated ${pairs} times:`);
  for (let i = 0; i < pairs; i++) {
    // Who goes first alternates too, so that a steady drift favours neither.
    const runOurs = () =>
      run(undefined, "/^tensa small CNN train step/", [trainBench]);
    const runTheirs = () => runTorch(python, [paired]);
    let benches: Bench[], torchRun: TorchRun;
    if (i % 2 === 0) {
      benches = await runOurs();
      torchRun = await runTheirs();
    } else {
      torchRun = await runTheirs();
      benches = await runOurs();
    }
    const bench = benches.find((b) => b.group === paired && !b.baseline);
    const ours = bench?.results[0]?.ok;
    const images = bench && work(bench.name, "images");
    const theirs = torchRun.results.find((t) => t.workload === paired);
    if (!ours || !images || !theirs?.images) {
      throw new Error(`Expected a ${paired} result from both in pair ${i + 1}`);
    }
    const a = images / (ours.avg / 1e9);
    const b = theirs.images / (theirs.avg / 1e9);
    ratios.push(a / b);
    console.log(
      `  pair ${i + 1}: tensa ${Math.round(a)} img/s, PyTorch ${
        Math.round(b)
      } img/s, ${(a / b).toFixed(2)}x`,
    );
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  console.log(
    `  median ${median.toFixed(2)}x, range ${sorted[0]!.toFixed(2)}-${
      sorted.at(-1)!.toFixed(2)
    }x`,
  );
}
