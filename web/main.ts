// The page: reads the controls, starts the search in a Web Worker (so the page stays
// responsive), and draws what the worker reports.
import { drawChart, type Line } from "./charts.js";
import type { FromWorker, RunSummary, StartSearch } from "./messages.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>("status");
const progress = $<HTMLProgressElement>("progress");
const startButton = $<HTMLButtonElement>("start");
const stopButton = $<HTMLButtonElement>("stop");
const tbody = $<HTMLTableElement>("results").tBodies[0];
const COLORS: Record<string, string> = { ticket: "#1f77b4", reinit: "#d62728", random: "#2ca02c" };
const LABELS: Record<string, string> = { ticket: "winning ticket", reinit: "random reinit", random: "random pruning" };

let worker: Worker | null = null;
let lossLines = new Map<string, Line>();
let runs: RunSummary[] = [];
let redrawPending = false;

function redraw(): void {
  if (redrawPending) return;
  redrawPending = true;
  requestAnimationFrame(() => {
    redrawPending = false;
    drawChart($("loss-chart"), [...lossLines.values()], { xLabel: "iteration", yLabel: "loss", yFormat: (v) => v.toFixed(2) });
    const dense = runs.filter((r) => r.arm === "ticket" && r.round === 0);
    const arms = [...new Set(runs.map((r) => r.arm))];
    drawChart(
      $("accuracy-chart"),
      arms.map((arm) => ({
        label: LABELS[arm],
        color: COLORS[arm],
        points: [...(arm === "ticket" ? [] : dense), ...runs.filter((r) => r.arm === arm)].map((r) => ({
          x: r.remaining * 100,
          y: r.earlyStopTestAccuracy * 100,
        })),
      })),
      { xLabel: "% of weights remaining (log)", yLabel: "test accuracy", logX: true, descendingX: true, yFormat: (v) => `${v.toFixed(1)}%` },
    );
  });
}

const ARM_ORDER = ["ticket", "reinit", "random"];

/** Redraws the table in round order (a round's controls may finish after the next ticket). */
function renderRows(): void {
  tbody.replaceChildren();
  [...runs].sort((a, b) => a.round - b.round || ARM_ORDER.indexOf(a.arm) - ARM_ORDER.indexOf(b.arm)).forEach(addRow);
}

function addRow(r: RunSummary): void {
  const row = tbody.insertRow();
  row.dataset.arm = r.arm;
  row.dataset.round = String(r.round);
  row.dataset.accuracy = String(r.earlyStopTestAccuracy);
  for (const cell of [
    r.round,
    LABELS[r.arm],
    (r.remaining * 100).toFixed(1),
    `${(r.earlyStopTestAccuracy * 100).toFixed(2)}%`,
    r.earlyStopIteration,
    r.stepsPerSecond.toFixed(0),
  ]) {
    row.insertCell().textContent = String(cell);
  }
}

function finish(text: string): void {
  worker?.terminate();
  worker = null;
  status.textContent = text;
  startButton.disabled = false;
  stopButton.disabled = true;
}

$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  const number = (id: string): number => Number(($(id) as HTMLInputElement).value);
  const request: StartSearch = {
    type: "start",
    model: ($("model") as HTMLSelectElement).value,
    rounds: number("rounds"),
    rate: number("rate"),
    iterations: number("iterations"),
    evalEvery: number("eval-every"),
    controls: [($("control-reinit") as HTMLInputElement).checked ? "reinit" : null, ($("control-random") as HTMLInputElement).checked ? "random" : null].filter(
      (c): c is "reinit" | "random" => c !== null,
    ),
    dataUrl: new URL("./mnist/", location.href).href,
  };
  if (!(request.rounds >= 1 && request.rate > 0 && request.rate < 1 && request.iterations >= 10 && request.evalEvery >= 1)) {
    status.textContent = "Check the settings: rounds ≥ 1, 0 < rate < 1, iterations ≥ 10.";
    return;
  }
  lossLines = new Map();
  runs = [];
  tbody.replaceChildren();
  document.body.dataset.state = "running";
  startButton.disabled = true;
  stopButton.disabled = false;
  worker = new Worker(new URL("./search-worker.ts", import.meta.url), { type: "module" });
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.type === "loading") status.textContent = "Loading the MNIST subset and the WebAssembly kernels…";
    else if (m.type === "started") status.textContent = `Training on ${m.trainExamples} images (wasm ${m.variant})…`;
    else if (m.type === "progress") {
      progress.value = m.done / m.total;
      status.textContent = `Round ${m.round}, ${LABELS[m.arm]}: iteration ${m.iteration}, loss ${m.loss.toFixed(3)}`;
      const key = `${m.arm} ${m.round}`;
      const line = lossLines.get(key) ?? { label: `${m.arm === "ticket" ? "" : `${m.arm} `}r${m.round}`, color: COLORS[m.arm], points: [] };
      lossLines.set(key, line);
      line.points.push({ x: m.iteration, y: m.loss });
      redraw();
    } else if (m.type === "run") {
      runs.push(m.result);
      renderRows();
      document.body.dataset.runsDone = String(runs.length);
      redraw();
    } else if (m.type === "done") {
      document.body.dataset.state = "done";
      progress.value = 1;
      finish(`Done: ${m.stopReason ?? "finished"}.`);
    } else if (m.type === "error") {
      document.body.dataset.state = "error";
      finish(`Error: ${m.message}`);
    }
  };
  worker.onerror = (e) => finish(`Error in the worker: ${e.message}`);
  worker.postMessage(request);
});

stopButton.addEventListener("click", () => {
  document.body.dataset.state = "stopped";
  finish(`Stopped after ${runs.length} finished runs.`);
});

redraw();
