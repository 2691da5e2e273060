// Whether the benches whose TF.js baseline takes minutes per call run:
// `TENSA_BENCH_SLOW=1` (off without env permission).
export function slowBaselines(): boolean {
  try {
    return Deno.env.get("TENSA_BENCH_SLOW") === "1";
  } catch {
    return false;
  }
}
