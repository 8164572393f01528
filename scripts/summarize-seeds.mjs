// Summarises several `ticket find` runs (different seeds) as the README's reproduction table:
// per arm and round, the mean and range of test accuracy at early stop and of the early-stop
// iteration; and writes mean charts (SVG) beside the given output prefix.
// Usage: node scripts/summarize-seeds.mjs OUT_PREFIX runs/seed0 runs/seed1 ...
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logLineChart } from "../dist/index.js";

const [prefix, ...dirs] = process.argv.slice(2);
if (!prefix || dirs.length === 0) {
  console.error("usage: node scripts/summarize-seeds.mjs OUT_PREFIX RUN_DIR...");
  process.exit(2);
}
const runs = dirs.map((d) => JSON.parse(readFileSync(join(d, "results.json"), "utf8")));
const arms = ["ticket", "reinit", "random"].filter((a) => runs[0].results.some((r) => r.arm === a));
const rounds = [...new Set(runs[0].results.map((r) => r.round))].sort((a, b) => a - b);
const model =
  { "lenet-300-100": "LeNet-300-100", "lenet-5": "LeNet-5", "conv-2": "Conv-2", "conv-4": "Conv-4", "conv-6": "Conv-6" }[runs[0].config.model] ??
  runs[0].config.model ??
  "LeNet-300-100";
const label = { ticket: "winning ticket", reinit: "random reinit", random: "random pruning" };
const color = { ticket: "#1f77b4", reinit: "#d62728", random: "#2ca02c" };

function stats(values) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, min: Math.min(...values), max: Math.max(...values) };
}
function cell(arm, round, key, format) {
  const values = runs
    .map((run) => run.results.find((r) => r.round === round && (r.arm === arm || (round === 0 && r.arm === "ticket"))))
    .filter(Boolean)
    .map((r) => r[key]);
  if (values.length === 0) return "—";
  const s = stats(values);
  return `${format(s.mean)} (${format(s.min)}–${format(s.max)})`;
}
const pct = (v) => (v * 100).toFixed(2);
const header = ["round", "% remaining", ...arms.map((a) => `${label[a]}: test acc % at early stop`), ...arms.map((a) => `${label[a]}: early-stop iteration`)];
const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
for (const round of rounds) {
  const remaining = runs[0].results.find((r) => r.round === round && r.arm === "ticket").remaining;
  lines.push(
    `| ${round} | ${(remaining * 100).toFixed(1)} | ${arms.map((a) => (round === 0 && a !== "ticket" ? "—" : cell(a, round, "earlyStopTestAccuracy", pct))).join(" | ")} | ${arms.map((a) => (round === 0 && a !== "ticket" ? "—" : cell(a, round, "earlyStopIteration", (v) => v.toFixed(0)))).join(" | ")} |`,
  );
}
console.log(lines.join("\n"));

const series = (key, scale) =>
  arms.map((arm) => ({
    label: label[arm],
    color: color[arm],
    points: rounds
      .map((round) => {
        const rs = runs.map((run) => run.results.find((r) => r.round === round && (r.arm === arm || (round === 0 && r.arm === "ticket")))).filter(Boolean);
        return rs.length ? { x: rs[0].remaining * 100, y: stats(rs.map((r) => r[key])).mean * scale } : null;
      })
      .filter(Boolean),
  }));
writeFileSync(
  `${prefix}-accuracy.svg`,
  logLineChart(`${model}: test accuracy at early stop (mean of ${runs.length} seeds)`, "test accuracy (%)", series("earlyStopTestAccuracy", 100), (v) =>
    v.toFixed(2),
  ),
);
writeFileSync(
  `${prefix}-early-stop.svg`,
  logLineChart(`${model}: early-stop iteration (mean of ${runs.length} seeds)`, "iteration", series("earlyStopIteration", 1), (v) => v.toFixed(0)),
);
console.error(`wrote ${prefix}-accuracy.svg and ${prefix}-early-stop.svg`);
