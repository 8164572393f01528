// Magnitude selection: the threshold for pruning 20% of LeNet-300-100's 266,200 weights (one
// global buffer and layer-wise), against a JavaScript sort and a JavaScript quickselect in the
// same run.
import { engine, tensor } from "../src/index.js";
import { smallestThreshold } from "../src/prune/magnitude.js";
import { Random } from "../src/random.js";
import { printTable, time } from "./harness.js";

function quickselect(values: Float32Array, k: number): number {
  let lo = 0,
    hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1];
    let i = lo,
      j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k];
}

export function benchSelect(): Record<string, unknown> {
  engine();
  const rng = new Random(0);
  const layers = [784 * 300, 300 * 100, 100 * 10];
  const n = layers.reduce((a, b) => a + b, 0);
  const values = Float32Array.from({ length: n }, () => rng.normal() * 0.05);
  const k = Math.round(0.2 * n);
  const all = { name: "all", weights: tensor(values), mask: tensor(new Float32Array(n).fill(1)) };
  let offset = 0;
  const perLayer = layers.map((size, i) => {
    const t = { name: `fc${i + 1}`, weights: tensor(values.subarray(offset, offset + size)), mask: tensor(new Float32Array(size).fill(1)) };
    offset += size;
    return t;
  });
  const wasmGlobal = time(() => smallestThreshold([all], k), { runs: 15 });
  const wasmLayerwise = time(() => perLayer.forEach((t) => smallestThreshold([t], Math.round(0.2 * t.weights.size))), { runs: 15 });
  const abs = Float32Array.from(values, Math.abs);
  const scratch = new Float32Array(n);
  const jsSort = time(
    () => {
      scratch.set(abs);
      scratch.sort();
    },
    { runs: 5 },
  );
  const jsQuickselect = time(
    () => {
      scratch.set(abs);
      quickselect(scratch, k - 1);
    },
    { runs: 9 },
  );
  return {
    benchmark: "select",
    weights: n,
    pruned: k,
    results: [
      { method: "wasm radix select (global, one buffer)", medianMs: wasmGlobal.medianMs },
      { method: "wasm radix select (layer-wise, 3 buffers)", medianMs: wasmLayerwise.medianMs },
      { method: "JS Float32Array sort", medianMs: jsSort.medianMs },
      { method: "JS quickselect", medianMs: jsQuickselect.medianMs },
    ],
  };
}

export function printSelect(report: ReturnType<typeof benchSelect>): void {
  const results = report.results as { method: string; medianMs: number }[];
  const base = results[0].medianMs;
  printTable(
    `threshold for pruning ${report.pruned} of ${report.weights} weights (20%)`,
    ["method", "median ms", "× wasm global"],
    results.map((r) => [r.method, r.medianMs.toFixed(3), (r.medianMs / base).toFixed(1)]),
  );
}
