// Shared benchmark plumbing: warm-up, median of several timed runs, running the real CLI, and
// output as a table for people or one JSON document for machines (`--json`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs each contender once per round, alternating (a, b, a, b, …), so that a machine whose speed
 * drifts over minutes slows all of them alike; returns every contender's samples in run order.
 */
export function interleaved<K extends string, T>(rounds: number, contenders: Record<K, () => T>): Record<K, T[]> {
  const names = Object.keys(contenders) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as T[]])) as Record<K, T[]>;
  for (let r = 0; r < rounds; r++) for (const n of names) samples[n].push(contenders[n]());
  return samples;
}

const BIN = join(import.meta.dirname, "..", "dist", "cli", "main.js");

/** Runs the built `ticket` command with `--quiet --out <temp dir>` and returns the JSON report it wrote there. */
export function runTicket(args: string[], reportFile: string): Record<string, any> {
  const out = mkdtempSync(join(tmpdir(), "wt-bench-"));
  try {
    execFileSync(process.execPath, [BIN, ...args, "--quiet", "--out", out], { stdio: "inherit" });
    return JSON.parse(readFileSync(join(out, reportFile), "utf8"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
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
