// Sweeps over the method's open questions (which k, which p): a grid of `find` trials over the
// rewinding point, the pruning rate, the iterations, the strategy and the model, each replicated
// over seeds; and the answers drawn from their results: per setting, arm and round the mean,
// minimum and maximum over seeds, and the sparsest round that stays within a tolerance of the
// dense network. Portable: running the trials is the caller's (the CLI runs them in worker
// threads, or on a job queue).
import type { RoundResult } from "./find.js";

/** The flags a sweep can vary, as `find` spells them, with their values. */
export const SWEEP_DIMENSIONS = ["rewind", "prune-rate", "iterations", "strategy", "model"] as const;
export type SweepDimension = (typeof SWEEP_DIMENSIONS)[number];

export interface SweepGrid {
  /** Values per varied dimension (a dimension left out keeps find's default or the fixed flags). */
  dimensions: Partial<Record<SweepDimension, string[]>>;
  seeds: number[];
  /** `find` flags that apply to every trial. */
  fixed: string[];
}

export interface Trial {
  /** Folder name under the sweep's folder, made from its parameters: "rewind=500,prune-rate=0.2,seed=1". */
  id: string;
  /** The setting's name without the seed: trials that differ only by seed share it. */
  setting: string;
  values: Partial<Record<SweepDimension, string>>;
  seed: number;
  /** The full `find` argument list (without --out and --threads). */
  args: string[];
}

/** Every combination of the grid's values, times every seed, in a fixed order. */
export function expandGrid(grid: SweepGrid): Trial[] {
  // a dimension with one value is a fixed flag: it does not name trials or split settings
  const single = SWEEP_DIMENSIONS.filter((d) => grid.dimensions[d]?.length === 1);
  const fixed = [...grid.fixed, ...single.flatMap((d) => [`--${d}`, grid.dimensions[d]![0]])];
  const dims = SWEEP_DIMENSIONS.filter((d) => (grid.dimensions[d]?.length ?? 0) > 1);
  let combos: Partial<Record<SweepDimension, string>>[] = [{}];
  for (const d of dims) combos = combos.flatMap((c) => grid.dimensions[d]!.map((v) => ({ ...c, [d]: v })));
  const trials: Trial[] = [];
  for (const values of combos) {
    // folder-safe: a model given as a spec file path keeps its name, not its slashes
    const setting = dims.map((d) => `${d}=${values[d]!.replace(/[/\\]/g, "_")}`).join(",") || "default";
    for (const seed of grid.seeds) {
      const args = [...fixed, ...dims.flatMap((d) => [`--${d}`, values[d]!]), "--seed", String(seed)];
      trials.push({ id: `${setting},seed=${seed}`, setting, values, seed, args });
    }
  }
  return trials;
}

/** Checks one dimension's values as find would read them; returns a message naming the flag, or null. */
export function checkDimension(d: SweepDimension, values: string[]): string | null {
  if (values.length === 0 || values.some((v) => v.trim() === "")) return `--${d} must be a comma-separated list of values, got "${values.join(",")}"`;
  if (new Set(values).size !== values.length) return `--${d} lists a value twice: ${values.join(",")}`;
  for (const v of values) {
    if (/[/\\]/.test(v) && d !== "model") return `--${d} value "${v}" contains a path separator`;
    if ((d === "rewind" || d === "iterations") && !/^\d+$/.test(v)) return `--${d} values must be whole numbers, got "${v}"`;
    if (d === "prune-rate" && !(Number(v) >= 0 && Number(v) < 1)) return `--prune-rate values must be fractions in [0, 1), got "${v}"`;
    if (d === "strategy" && v !== "layerwise" && v !== "global") return `--strategy values must be layerwise or global, got "${v}"`;
  }
  return null;
}

export interface Band {
  mean: number;
  min: number;
  max: number;
  seeds: number;
}

export interface SweepRow {
  setting: string;
  values: Partial<Record<SweepDimension, string>>;
  arm: RoundResult["arm"];
  round: number;
  /** Mean fraction of weights remaining (the same for every seed under layer-wise pruning). */
  remaining: number;
  testAccuracy: Band;
  earlyStopIteration: Band;
}

function band(values: number[]): Band {
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values), seeds: values.length };
}

const ARMS: RoundResult["arm"][] = ["ticket", "reinit", "random"];

/** Per setting, arm and round: mean, min and max over the seeds that finished that round. */
export function aggregate(trials: readonly Trial[], results: ReadonlyMap<string, readonly RoundResult[]>): SweepRow[] {
  const rows: SweepRow[] = [];
  const settings = [...new Set(trials.map((t) => t.setting))];
  for (const setting of settings) {
    const own = trials.filter((t) => t.setting === setting);
    const runs = own.map((t) => results.get(t.id) ?? []);
    const rounds = [...new Set(runs.flatMap((r) => r.map((x) => x.round)))].sort((a, b) => a - b);
    for (const arm of ARMS) {
      for (const round of rounds) {
        const hits = runs.map((r) => r.find((x) => x.arm === arm && x.round === round)).filter((x): x is RoundResult => x !== undefined);
        if (hits.length === 0) continue;
        rows.push({
          setting,
          values: own[0].values,
          arm,
          round,
          remaining: hits.reduce((n, h) => n + h.remaining, 0) / hits.length,
          testAccuracy: band(hits.map((h) => h.earlyStopTestAccuracy)),
          earlyStopIteration: band(hits.map((h) => h.earlyStopIteration)),
        });
      }
    }
  }
  return rows;
}

export interface SettingAnswer {
  setting: string;
  denseAccuracy: number;
  /**
   * The sparsest ticket round whose mean accuracy is at least the dense mean minus the tolerance;
   * earlyStopSpeedup is the dense network's early-stop iteration over this round's (above 1: sooner).
   */
  sparsestWithin: { round: number; remaining: number; accuracy: number; earlyStopSpeedup: number } | null;
  best: { round: number; remaining: number; accuracy: number };
}

export interface SweepAnswers {
  tolerance: number;
  criterion: string;
  settings: SettingAnswer[];
  /** The setting whose ticket holds the tolerance at the fewest weights (ties: the higher accuracy there). */
  best: SettingAnswer | null;
}

export function answer(rows: readonly SweepRow[], tolerance: number): SweepAnswers {
  const settings = [...new Set(rows.map((r) => r.setting))].map((setting): SettingAnswer => {
    const tickets = rows.filter((r) => r.setting === setting && r.arm === "ticket").sort((a, b) => a.round - b.round);
    const dense = tickets.find((r) => r.round === 0) ?? tickets[0];
    const within = tickets.filter((r) => r.round > 0 && r.testAccuracy.mean >= dense.testAccuracy.mean - tolerance);
    const sparsest = within.sort((a, b) => a.remaining - b.remaining)[0];
    const best = [...tickets].sort((a, b) => b.testAccuracy.mean - a.testAccuracy.mean || a.remaining - b.remaining)[0];
    return {
      setting,
      denseAccuracy: dense.testAccuracy.mean,
      sparsestWithin: sparsest
        ? {
            round: sparsest.round,
            remaining: sparsest.remaining,
            accuracy: sparsest.testAccuracy.mean,
            earlyStopSpeedup: dense.earlyStopIteration.mean / Math.max(1, sparsest.earlyStopIteration.mean),
          }
        : null,
      best: { round: best.round, remaining: best.remaining, accuracy: best.testAccuracy.mean },
    };
  });
  const ranked = settings
    .filter((s) => s.sparsestWithin)
    .sort((a, b) => a.sparsestWithin!.remaining - b.sparsestWithin!.remaining || b.sparsestWithin!.accuracy - a.sparsestWithin!.accuracy);
  return {
    tolerance,
    criterion: `the sparsest round whose mean test accuracy at early stop (over seeds) is at least the dense network's mean minus ${(tolerance * 100).toFixed(2)} points`,
    settings,
    best: ranked[0] ?? null,
  };
}

export function sweepCsv(rows: readonly SweepRow[]): string {
  const header = [
    "setting",
    ...SWEEP_DIMENSIONS,
    "arm",
    "round",
    "percent_remaining",
    "seeds",
    "test_accuracy_mean",
    "test_accuracy_min",
    "test_accuracy_max",
    "early_stop_iteration_mean",
    "early_stop_iteration_min",
    "early_stop_iteration_max",
  ];
  const lines = rows.map((r) =>
    [
      `"${r.setting}"`,
      ...SWEEP_DIMENSIONS.map((d) => r.values[d] ?? ""),
      r.arm,
      r.round,
      (r.remaining * 100).toFixed(3),
      r.testAccuracy.seeds,
      r.testAccuracy.mean.toFixed(4),
      r.testAccuracy.min.toFixed(4),
      r.testAccuracy.max.toFixed(4),
      r.earlyStopIteration.mean.toFixed(1),
      r.earlyStopIteration.min,
      r.earlyStopIteration.max,
    ].join(","),
  );
  return `${[header.join(","), ...lines].join("\n")}\n`;
}

/** The printed answer to "which k, which p". */
export function summaryText(a: SweepAnswers): string {
  const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
  const lines = [`Criterion: ${a.criterion}.`, ""];
  for (const s of a.settings) {
    const w = s.sparsestWithin;
    lines.push(
      `${s.setting}: dense ${pct(s.denseAccuracy)}; ${w ? `holds down to ${(w.remaining * 100).toFixed(1)}% of weights (round ${w.round}, ${pct(w.accuracy)}, early stop at ${(1 / w.earlyStopSpeedup).toFixed(2)}× the dense iteration)` : "no pruned round stays within the tolerance"}; best ${pct(s.best.accuracy)} at ${(s.best.remaining * 100).toFixed(1)}% (round ${s.best.round})`,
    );
  }
  lines.push(
    "",
    a.best
      ? `Best: ${a.best.setting}, within the tolerance down to ${(a.best.sparsestWithin!.remaining * 100).toFixed(1)}% of weights.`
      : "No setting stays within the tolerance after pruning.",
  );
  return lines.join("\n");
}
