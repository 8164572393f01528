import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { take } from "../src/data/dataset.js";
import { defaultMnistDir } from "../src/node/mnist-files.js";
import { loadSplits } from "../src/node/splits.js";
import type { Random } from "../src/random.js";
import type { Splits } from "../src/train/train.js";

/** The built `ticket` command (npm ci builds it). */
export const TICKET_BIN = join(import.meta.dirname, "..", "dist", "cli", "main.js");

/** Runs `ticket` as a user does, in a child process. */
export function runTicket(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TICKET_BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Real MNIST split as the paper does (5,000 validation images, seed 0), cut to the sizes given. */
/** `find` flags for a search small enough for a test: a 12-unit MLP on 800 examples, two rounds. */
export function tinyFindFlags(iterations: number, evalEvery: number, controls: string): string[] {
  return [
    "--hidden",
    "12",
    "--train-subset",
    "800",
    "--validation",
    "200",
    "--iterations",
    String(iterations),
    "--eval-every",
    String(evalEvery),
    "--rounds",
    "2",
    "--controls",
    controls,
  ];
}

export function mnistSplits(sizes: { train: number; validation: number; test: number }): Splits {
  const s = loadSplits({ dir: defaultMnistDir(), validation: 5000, trainSubset: sizes.train, normalize: false, seed: 0 });
  return { train: s.train, validation: take(s.validation, sizes.validation), test: take(s.test, sizes.test) };
}

export function randomArray(rng: Random, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.uniform() * 2 - 1) * scale;
  return a;
}

/** Max |a - b| / (1 + |b|) over all entries. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

/** C = op(A)·op(B) in float64. */
export function referenceGemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}

/**
 * Central finite differences of a float64 scalar function at x: the gold standard the analytic
 * gradients are compared against.
 */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = f(x);
    x[i] = saved - h;
    const down = f(x);
    x[i] = saved;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
