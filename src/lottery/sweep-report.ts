// A sweep's charts in the manner of the paper's figures: one line per setting (its winning
// tickets, the mean over seeds) with the min–max band over seeds, against percent of weights
// remaining on a log axis. Legends abbreviate k (--rewind), p (--prune-rate) and it (--iterations).
import { logLineChart } from "./report.js";
import type { SweepRow } from "./sweep.js";

const SHORT: Record<string, string> = { rewind: "k", "prune-rate": "p", iterations: "it", strategy: "", model: "" };

/** A setting's name short enough for a legend: "rewind=500,prune-rate=0.2" → "k=500 p=0.2". */
export function shortSetting(setting: string): string {
  return setting
    .split(",")
    .map((part) => {
      const [d, v] = part.split("=");
      return d in SHORT ? (SHORT[d] ? `${SHORT[d]}=${v}` : v) : part;
    })
    .join(" ");
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

function series(rows: readonly SweepRow[], pick: (r: SweepRow) => { mean: number; min: number; max: number }, scale: number) {
  const settings = [...new Set(rows.map((r) => r.setting))];
  return settings.map((setting, i) => {
    const own = rows.filter((r) => r.setting === setting && r.arm === "ticket");
    return {
      label: shortSetting(setting),
      color: PALETTE[i % PALETTE.length],
      points: own.map((r) => ({ x: r.remaining * 100, y: pick(r).mean * scale })),
      band: own.map((r) => ({ x: r.remaining * 100, low: pick(r).min * scale, high: pick(r).max * scale })),
    };
  });
}

export function sweepCharts(rows: readonly SweepRow[]): { accuracy: string; earlyStop: string } {
  return {
    accuracy: logLineChart(
      "Winning tickets: test accuracy at early stop (mean, min–max over seeds)",
      "test accuracy (%)",
      series(rows, (r) => r.testAccuracy, 100),
      (v) => v.toFixed(2),
    ),
    earlyStop: logLineChart(
      "Winning tickets: early-stop iteration (mean, min–max over seeds)",
      "iteration",
      series(rows, (r) => r.earlyStopIteration, 1),
      (v) => v.toFixed(0),
    ),
  };
}
