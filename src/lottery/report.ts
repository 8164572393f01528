// Reports of a search: CSV rows, a plain-text summary table, and SVG charts in the manner of the
// paper's figures (percent of weights remaining on a log axis, descending left to right).

import type { Arm } from "./config.js";
import type { RoundResult } from "./find.js";
import type { InstabilityReport } from "./instability.js";

const ARM_LABEL: Record<Arm, string> = { ticket: "winning ticket", reinit: "random reinit", random: "random pruning" };
const ARM_COLOR: Record<Arm, string> = { ticket: "#1f77b4", reinit: "#d62728", random: "#2ca02c" };

export function resultsCsv(results: readonly RoundResult[]): string {
  const layers = Object.keys(results[0]?.remainingByLayer ?? {});
  const header = [
    "arm",
    "round",
    "percent_remaining",
    ...layers.map((l) => `percent_remaining_${l}`),
    "early_stop_iteration",
    "early_stop_val_loss",
    "early_stop_val_accuracy",
    "early_stop_test_accuracy",
    "final_val_accuracy",
    "final_test_accuracy",
    "seconds",
    "steps_per_second",
  ];
  const rows = results.map((r) =>
    [
      r.arm,
      r.round,
      (r.remaining * 100).toFixed(3),
      ...layers.map((l) => (r.remainingByLayer[l] * 100).toFixed(3)),
      r.earlyStopIteration,
      r.earlyStopValLoss.toFixed(5),
      r.earlyStopValAccuracy.toFixed(4),
      r.earlyStopTestAccuracy.toFixed(4),
      r.finalValAccuracy.toFixed(4),
      r.finalTestAccuracy.toFixed(4),
      r.seconds.toFixed(2),
      r.stepsPerSecond.toFixed(1),
    ].join(","),
  );
  return `${[header.join(","), ...rows].join("\n")}\n`;
}

/** One row per round: percent remaining, then early-stop test accuracy and iteration per arm. */
export function summaryTable(results: readonly RoundResult[]): string {
  const arms = [...new Set(results.map((r) => r.arm))];
  const rounds = [...new Set(results.map((r) => r.round))].sort((a, b) => a - b);
  const header = ["round", "% remaining", ...arms.flatMap((a) => [`${ARM_LABEL[a]} test acc`, "early stop it"])];
  const rows = rounds.map((round) => {
    const ticket = results.find((r) => r.round === round && r.arm === "ticket");
    const cells = [String(round), ticket ? (ticket.remaining * 100).toFixed(1) : ""];
    for (const arm of arms) {
      const r = results.find((x) => x.round === round && x.arm === arm);
      cells.push(r ? `${(r.earlyStopTestAccuracy * 100).toFixed(2)}%` : "—", r ? String(r.earlyStopIteration) : "—");
    }
    return cells;
  });
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((v, c) => v.padStart(widths[c])).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

interface Series {
  label: string;
  color: string;
  points: { x: number; y: number }[];
  /** A shaded range around the line (min to max over seeds), drawn beneath it. */
  band?: { x: number; low: number; high: number }[];
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

/**
 * One series' marks: its band (when given) beneath, the line through its points in `order`, a
 * dot per point, and its legend entry (the i-th) to the right of the plot.
 */
function seriesMarks(
  s: Series,
  i: number,
  px: (x: number) => number,
  py: (y: number) => number,
  order: (a: { x: number }, b: { x: number }) => number,
  box: { top: number; legendX: number },
): string[] {
  const marks: string[] = [];
  const pts = [...s.points].sort(order);
  if (s.band?.length) {
    const b = [...s.band].sort(order);
    const outline = [
      ...b.map((p) => `${px(p.x).toFixed(1)},${py(p.high).toFixed(1)}`),
      ...b.reverse().map((p) => `${px(p.x).toFixed(1)},${py(p.low).toFixed(1)}`),
    ];
    marks.push(`<polygon fill="${s.color}" fill-opacity="0.15" stroke="none" points="${outline.join(" ")}"/>`);
  }
  marks.push(
    `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`,
  );
  for (const p of pts) marks.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  const ly = box.top + 16 + i * 20;
  marks.push(`<line x1="${box.legendX + 14}" x2="${box.legendX + 38}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
  marks.push(`<text x="${box.legendX + 44}" y="${ly}">${escapeXml(s.label)}</text>`);
  return marks;
}

/** Every chart's size and margins (the legend sits in the right margin). */
const FRAME = { W: 720, H: 440, left: 70, right: 180, top: 40, bottom: 55 };

function noDataChart(title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${FRAME.W}" height="${FRAME.H}"><text x="20" y="30">${escapeXml(title)}: no data</text></svg>\n`;
}

/** The opening of a chart: the canvas, its title, and six horizontal grid lines labelled on the y axis. */
function chartStart(title: string, py: (y: number) => number, yMin: number, yMax: number, yFormat: (v: number) => string): string[] {
  const { W, H, left, right } = FRAME;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - right / 2 + left / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = yMin + ((yMax - yMin) * i) / 5;
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${py(y) + 4}" text-anchor="end">${escapeXml(yFormat(y))}</text>`);
  }
  return parts;
}

/** A line chart with a logarithmic, descending x axis (percent of weights remaining). */
export function logLineChart(title: string, yLabel: string, series: Series[], yFormat: (v: number) => string): string {
  const { W, H, left, right, top, bottom } = FRAME;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return noDataChart(title);
  const xs = all.map((p) => Math.log10(p.x));
  const xMax = Math.max(...xs),
    xMin = Math.min(...xs);
  const xSpan = xMax - xMin || 1;
  const bandValues = series.flatMap((s) => (s.band ?? []).flatMap((b) => [b.low, b.high]));
  let yMin = Math.min(...all.map((p) => p.y), ...bandValues),
    yMax = Math.max(...all.map((p) => p.y), ...bandValues);
  const pad = (yMax - yMin) * 0.08 || Math.abs(yMax) * 0.01 || 1;
  yMin -= pad;
  yMax += pad;
  // descending: the dense network (100%) on the left
  const px = (x: number): number => left + ((xMax - Math.log10(x)) / xSpan) * (W - left - right);
  const py = (y: number): number => top + ((yMax - y) / (yMax - yMin)) * (H - top - bottom);
  const parts = chartStart(title, py, yMin, yMax, yFormat);
  const ticks = [...new Set(all.map((p) => p.x))].sort((a, b) => b - a);
  const step = Math.max(1, Math.ceil(ticks.length / 10));
  ticks.forEach((x, i) => {
    if (i % step !== 0) return;
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${top}" y2="${H - bottom}" stroke="#f3f3f3"/>`);
    parts.push(`<text x="${px(x)}" y="${H - bottom + 16}" text-anchor="middle">${x >= 10 ? x.toFixed(0) : x.toFixed(1)}</text>`);
  });
  parts.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(W - right + left) / 2}" y="${H - 14}" text-anchor="middle">percent of weights remaining (log scale)</text>`);
  parts.push(`<text transform="translate(16 ${(H - bottom + top) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  series.forEach((s, i) => parts.push(...seriesMarks(s, i, px, py, (a, b) => b.x - a.x, { top, legendX: W - right })));
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function seriesBy(results: readonly RoundResult[], value: (r: RoundResult) => number): Series[] {
  const arms = [...new Set(results.map((r) => r.arm))];
  return arms.map((arm) => {
    const own = results.filter((r) => r.arm === arm);
    // the controls start from the same dense network as the ticket
    const dense = arm !== "ticket" ? results.filter((r) => r.arm === "ticket" && r.round === 0) : [];
    return { label: ARM_LABEL[arm], color: ARM_COLOR[arm], points: [...dense, ...own].map((r) => ({ x: r.remaining * 100, y: value(r) })) };
  });
}

export function accuracyChart(results: readonly RoundResult[]): string {
  return logLineChart(
    "Test accuracy at early stop",
    "test accuracy (%)",
    seriesBy(results, (r) => r.earlyStopTestAccuracy * 100),
    (v) => v.toFixed(2),
  );
}

export function earlyStopChart(results: readonly RoundResult[]): string {
  return logLineChart(
    "Early-stop iteration (minimum validation loss)",
    "iteration",
    seriesBy(results, (r) => r.earlyStopIteration),
    (v) => v.toFixed(0),
  );
}

// Instability analysis (linear mode connectivity): CSV, a summary table and two charts.

const K_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/**
 * A line chart with an ascending x axis, linear or `log1p` (log of 1 + x, so x = 0 has a place:
 * rewinding iterations start at 0), ticks at the data's x values, and optional horizontal
 * reference lines (a threshold).
 */
export function xyLineChart(
  title: string,
  axes: { x: string; y: string },
  series: Series[],
  format: { x: (v: number) => string; y: (v: number) => string },
  options: { xScale?: "linear" | "log1p"; references?: { y: number; label: string }[]; yFloor?: number } = {},
): string {
  const { W, H, left, right, top, bottom } = FRAME;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return noDataChart(title);
  const tx = options.xScale === "log1p" ? (x: number) => Math.log10(1 + x) : (x: number) => x;
  const xs = all.map((p) => tx(p.x));
  const xMin = Math.min(...xs),
    xMax = Math.max(...xs);
  const xSpan = xMax - xMin || 1;
  const ys = [...all.map((p) => p.y), ...(options.references ?? []).map((r) => r.y)];
  let yMin = Math.min(...ys),
    yMax = Math.max(...ys);
  const pad = (yMax - yMin) * 0.08 || Math.abs(yMax) * 0.05 || 1;
  // a quantity that cannot go below yFloor (instability ≥ 0) is drawn from there
  yMin = options.yFloor === undefined ? yMin - pad : Math.min(options.yFloor, yMin);
  yMax += pad;
  const px = (x: number): number => left + ((tx(x) - xMin) / xSpan) * (W - left - right);
  const py = (y: number): number => top + ((yMax - y) / (yMax - yMin)) * (H - top - bottom);
  const parts = chartStart(title, py, yMin, yMax, format.y);
  const ticks = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(ticks.length / 11));
  ticks.forEach((x, i) => {
    if (i % step !== 0) return;
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${top}" y2="${H - bottom}" stroke="#f3f3f3"/>`);
    parts.push(`<text x="${px(x)}" y="${H - bottom + 16}" text-anchor="middle">${escapeXml(format.x(x))}</text>`);
  });
  for (const r of options.references ?? []) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${py(r.y)}" y2="${py(r.y)}" stroke="#999" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${W - right - 4}" y="${py(r.y) - 5}" text-anchor="end" fill="#666">${escapeXml(r.label)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(W - right + left) / 2}" y="${H - 14}" text-anchor="middle">${escapeXml(axes.x)}</text>`);
  parts.push(`<text transform="translate(16 ${(H - bottom + top) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(axes.y)}</text>`);
  series.forEach((s, i) => parts.push(...seriesMarks(s, i, px, py, (a, b) => a.x - b.x, { top, legendX: W - right })));
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

/** Test error along the interpolation path between the two copies, one line per k. */
export function instabilityPathChart(report: InstabilityReport): string {
  const what = report.remaining < 1 ? `ticket, ${(report.remaining * 100).toFixed(1)}% of weights` : "dense network";
  return xyLineChart(
    `Test error between two copies trained from θk (${what})`,
    { x: "interpolation α: (1 − α)·W₁ + α·W₂", y: "test error (%)" },
    report.results.map((r, i) => ({ label: `k = ${r.k}`, color: K_COLORS[i % K_COLORS.length], points: r.path.map((p) => ({ x: p.alpha, y: p.testError })) })),
    { x: (v) => v.toFixed(1), y: (v) => v.toFixed(2) },
  );
}

/** Instability against the rewinding iteration k (log axis), with the stability threshold. */
export function instabilityChart(report: InstabilityReport): string {
  const what = report.remaining < 1 ? `${(report.remaining * 100).toFixed(1)}% of weights` : "dense";
  return xyLineChart(
    `Instability against rewinding iteration k (${what})`,
    { x: "rewinding iteration k (log scale of 1 + k)", y: "instability (percentage points)" },
    [{ label: "instability", color: K_COLORS[0], points: report.results.map((r) => ({ x: r.k, y: r.instability })) }],
    { x: (v) => v.toFixed(0), y: (v) => v.toFixed(2) },
    { xScale: "log1p", references: [{ y: report.threshold, label: `threshold ${report.threshold} points` }], yFloor: 0 },
  );
}

/** One row per k: the ends' errors, the worst point on the path, instability, then the error at each α. */
export function instabilityCsv(report: InstabilityReport): string {
  const alphas = report.results[0]?.path.map((p) => p.alpha) ?? [];
  const header = [
    "k",
    "copy_iterations",
    "endpoint_error_1",
    "endpoint_error_2",
    "max_error",
    "max_error_alpha",
    "instability",
    "loss_barrier",
    "stable",
    ...alphas.map((a) => `error_alpha_${a.toFixed(2)}`),
  ];
  const rows = report.results.map((r) =>
    [
      r.k,
      r.copyIterations,
      r.endpointErrors[0].toFixed(3),
      r.endpointErrors[1].toFixed(3),
      r.maxError.toFixed(3),
      r.maxErrorAlpha.toFixed(2),
      r.instability.toFixed(3),
      r.lossBarrier.toFixed(5),
      r.stable,
      ...r.path.map((p) => p.testError.toFixed(3)),
    ].join(","),
  );
  return `${[header.join(","), ...rows].join("\n")}\n`;
}

/** A plain-text table: one row per k (errors in percent, instability in percentage points). */
export function instabilityTable(report: InstabilityReport): string {
  const header = ["k", "error copy 1", "error copy 2", "max error on path", "instability", "stable"];
  const rows = report.results.map((r) => [
    String(r.k),
    `${r.endpointErrors[0].toFixed(2)}%`,
    `${r.endpointErrors[1].toFixed(2)}%`,
    `${r.maxError.toFixed(2)}% (α ${r.maxErrorAlpha.toFixed(1)})`,
    r.instability.toFixed(2),
    r.stable ? "yes" : "no",
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((v, c) => v.padStart(widths[c])).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
