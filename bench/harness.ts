// Shared benchmark plumbing: warm-up, median of several timed runs, and output as a table for
// people or one JSON document for machines (`--json`).

export interface Timing {
  /** Median milliseconds per call. */
  medianMs: number;
  minMs: number;
  runs: number;
  callsPerRun: number;
}

/** Times `fn`: warms up, picks a call count so a run lasts about `targetMs`, returns the median of `runs` runs. */
export function time(fn: () => void, options: { runs?: number; targetMs?: number; warmupMs?: number } = {}): Timing {
  const runs = options.runs ?? 7;
  const targetMs = options.targetMs ?? 100;
  const warmupEnd = performance.now() + (options.warmupMs ?? 200);
  let calls = 0;
  while (performance.now() < warmupEnd || calls < 3) {
    fn();
    calls++;
  }
  const t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-3);
  const callsPerRun = Math.max(1, Math.round(targetMs / once));
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    for (let i = 0; i < callsPerRun; i++) fn();
    samples.push((performance.now() - start) / callsPerRun);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(runs / 2)], minMs: samples[0], runs, callsPerRun };
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

export function machine(): Record<string, unknown> {
  return {
    runtime: typeof process !== "undefined" ? `node ${process.version}` : "unknown",
    platform: typeof process !== "undefined" ? `${process.platform}-${process.arch}` : "unknown",
    date: new Date().toISOString(),
  };
}
