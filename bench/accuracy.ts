// Dense LeNet-300-100 accuracy with the paper's settings (Adam 1.2e-3, batch 60, Glorot init,
// 5,000 validation images, evaluation every 100 iterations), 10,000 iterations, seeds 0, 1, 2:
// test accuracy at the early-stop point must reach 97.6% for each seed and 97.7% on average.
// A benchmark rather than a test because it trains for real (about a minute on 2 cores).
import { printTable, runTicket } from "./harness.js";

export function benchAccuracy(options: { iterations?: number } = {}): Record<string, unknown> {
  const iterations = options.iterations ?? 10_000;
  const runs = [0, 1, 2].map((seed) => {
    const r = runTicket(["train", "--seed", String(seed), "--iterations", String(iterations), "--no-test-curve"], "result.json");
    return { seed, earlyStopIteration: r.earlyStop.iteration, earlyStopTestAccuracy: r.earlyStop.testAccuracy, finalTestAccuracy: r.final.testAccuracy };
  });
  const mean = runs.reduce((s, r) => s + r.earlyStopTestAccuracy, 0) / runs.length;
  const pass = runs.every((r) => r.earlyStopTestAccuracy >= 0.976) && mean >= 0.977;
  return { benchmark: "accuracy", model: "LeNet-300-100", iterations, runs, meanEarlyStopTestAccuracy: mean, target: "each ≥ 97.6%, mean ≥ 97.7%", pass };
}

export function printAccuracy(r: ReturnType<typeof benchAccuracy>): void {
  const runs = r.runs as { seed: number; earlyStopIteration: number; earlyStopTestAccuracy: number; finalTestAccuracy: number }[];
  printTable(
    `dense LeNet-300-100, paper settings, ${r.iterations} iterations`,
    ["seed", "early-stop iteration", "test acc at early stop", "final test acc"],
    runs.map((x) => [x.seed, x.earlyStopIteration, `${(x.earlyStopTestAccuracy * 100).toFixed(2)}%`, `${(x.finalTestAccuracy * 100).toFixed(2)}%`]),
  );
  console.log(
    `mean test accuracy at early stop ${((r.meanEarlyStopTestAccuracy as number) * 100).toFixed(2)}% — target ${r.target}: ${r.pass ? "met" : "NOT met"}`,
  );
}
