// Local sweep parallelism: the same 8-trial sweep (prune rate × seeds, LeNet-300-100 on MNIST)
// run with one trial at a time and with one per core, wall time of the real `ticket sweep`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { printTable } from "./harness.js";

const BIN = join(import.meta.dirname, "..", "dist", "cli", "main.js");

function sweepSeconds(jobs: number, iterations: number): number {
  const out = mkdtempSync(join(tmpdir(), "wt-bench-sweep-"));
  try {
    const t0 = performance.now();
    execFileSync(
      process.execPath,
      [
        BIN,
        "sweep",
        "--prune-rate",
        "0.2,0.3,0.4,0.5",
        "--seeds",
        "0,1",
        "--jobs",
        String(jobs),
        "--iterations",
        String(iterations),
        "--eval-every",
        "100",
        "--rounds",
        "3",
        "--controls",
        "none",
        "--quiet",
        "--out",
        join(out, "sweep"),
      ],
      { stdio: "inherit" },
    );
    return (performance.now() - t0) / 1000;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function benchSweep(options: { iterations?: number } = {}): Record<string, unknown> {
  const iterations = options.iterations ?? 500;
  const cores = availableParallelism();
  const sequential = sweepSeconds(1, iterations);
  const parallel = sweepSeconds(cores, iterations);
  return {
    benchmark: "sweep",
    trials: 8,
    iterations,
    cores,
    sequentialSeconds: sequential,
    parallelSeconds: parallel,
    parallelOverSequential: parallel / sequential,
  };
}

export function printSweep(r: ReturnType<typeof benchSweep>): void {
  printTable(
    `8-trial sweep (4 prune rates × 2 seeds, ${r.iterations} iterations, 3 rounds), wall seconds`,
    ["", "seconds", "of one at a time"],
    [
      ["one trial at a time (--jobs 1)", (r.sequentialSeconds as number).toFixed(1), "1.00"],
      [`${r.cores} side by side (--jobs ${r.cores})`, (r.parallelSeconds as number).toFixed(1), (r.parallelOverSequential as number).toFixed(2)],
    ],
  );
}
