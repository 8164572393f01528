// `ticket sweep`: a grid of `find` trials (k = --rewind, p = --prune-rate, --iterations,
// --strategy, --model, × --seeds), run side by side in worker threads (each trial one thread),
// then aggregated into sweep.json, sweep.csv, charts with min/max bands and a printed answer.
// Each trial is the real `ticket find` in its own folder, so it resumes as find does, and its
// results are the same as when it runs alone.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import type { RoundResult } from "../lottery/find.js";
import {
  aggregate,
  answer,
  checkDimension,
  expandGrid,
  SWEEP_DIMENSIONS,
  type SweepDimension,
  type SweepGrid,
  summaryText,
  sweepCsv,
  type Trial,
} from "../lottery/sweep.js";
import { sweepCharts } from "../lottery/sweep-report.js";
import { writeFileAtomic, writeJsonAtomic } from "../node/atomic-write.js";
import { finishedResults, runTrial } from "../node/trial-runner.js";
import { integer, number } from "./options.js";
import { UsageError } from "./usage-error.js";

const PLAN_FILE = "sweep-plan.json";
const PLAN_FORMAT = "winning-ticket/sweep-plan@1";

interface SweepOptions {
  rewind?: string;
  pruneRate?: string;
  iterations?: string;
  strategy?: string;
  model?: string;
  seeds: string;
  file?: string;
  out: string;
  jobs?: string;
  tolerance: string;
  resume?: string;
  queue?: string;
  quiet?: boolean;
}

interface SweepPlan {
  format: string;
  /** Names this sweep's jobs on a queue. */
  sweepId: string;
  grid: SweepGrid;
  tolerance: number;
  trials: Trial[];
}

const list = (text: string): string[] => text.split(",").map((s) => s.trim());

/** The grid the flags (or --file) describe; every list is checked as find would read it. */
function gridFrom(o: SweepOptions, fixed: string[]): SweepGrid {
  const dimensions: Partial<Record<SweepDimension, string[]>> = {};
  let seeds = o.seeds;
  if (o.file) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(o.file, "utf8"));
    } catch (error) {
      throw new UsageError(`--file ${o.file}: ${(error as NodeJS.ErrnoException).code ?? `not valid JSON (${(error as Error).message})`}`);
    }
    if (!json || typeof json !== "object" || Array.isArray(json))
      throw new UsageError(`--file ${o.file}: must be a JSON object such as {"rewind": [0, 500], "prune-rate": [0.2, 0.4], "seeds": [0, 1]}`);
    for (const [key, value] of Object.entries(json)) {
      if (key === "seeds") seeds = Array.isArray(value) ? value.join(",") : String(value);
      else if (key === "find") {
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
          throw new UsageError(`--file ${o.file}: "find" must be a list of find flags as strings`);
        fixed.push(...value);
      } else if ((SWEEP_DIMENSIONS as readonly string[]).includes(key)) {
        if (!Array.isArray(value)) throw new UsageError(`--file ${o.file}: "${key}" must be a list of values`);
        dimensions[key as SweepDimension] = value.map(String);
      } else throw new UsageError(`--file ${o.file}: unknown field "${key}" (fields: ${[...SWEEP_DIMENSIONS, "seeds", "find"].join(", ")})`);
    }
  }
  const flags: Record<SweepDimension, string | undefined> = {
    rewind: o.rewind,
    "prune-rate": o.pruneRate,
    iterations: o.iterations,
    strategy: o.strategy,
    model: o.model,
  };
  for (const d of SWEEP_DIMENSIONS) if (flags[d] !== undefined) dimensions[d] = list(flags[d]!);
  for (const [d, values] of Object.entries(dimensions)) {
    const problem = checkDimension(d as SweepDimension, values!);
    if (problem) throw new UsageError(problem);
  }
  const seedList = list(seeds).map((s) => integer("--seeds", s, 0));
  if (new Set(seedList).size !== seedList.length) throw new UsageError(`--seeds lists a seed twice: ${seeds}`);
  for (const flag of ["--out", "--threads", "--resume", "--seed", "--quiet", "--json"]) {
    if (fixed.includes(flag)) throw new UsageError(`${flag} is set by the sweep for each trial; leave it out of the find flags`);
  }
  for (const d of SWEEP_DIMENSIONS) if (dimensions[d] && fixed.includes(`--${d}`)) throw new UsageError(`--${d} is both swept and fixed`);
  return { dimensions, seeds: seedList, fixed };
}

function trialFolder(dir: string, trial: Trial): string {
  return join(dir, "trials", trial.id);
}

function readResults(dir: string, trial: Trial): RoundResult[] | null {
  const text = finishedResults(trialFolder(dir, trial));
  return text ? (JSON.parse(text) as { results: RoundResult[] }).results : null;
}

export function sweepCommand(): Command {
  return new Command("sweep")
    .description("run a grid of find trials (k = --rewind, p = --prune-rate, ... × --seeds) side by side and answer which k and p hold accuracy sparsest")
    .option("--rewind <list>", "rewinding points k to try, e.g. 0,100,500,2000")
    .option("--prune-rate <list>", "pruning rates p per round to try, e.g. 0.1,0.2,0.4")
    .option("--iterations <list>", "iterations per round to try, e.g. 1000,3000,10000")
    .option("--strategy <list>", "layerwise and/or global")
    .option("--model <list>", "models to try (names or spec files)")
    .option("--seeds <list>", "replicates of every setting", "0")
    .option("--file <sweep.json>", 'the grid as JSON: {"rewind": [0, 500], "prune-rate": [0.2, 0.4], "seeds": [0, 1], "find": ["--rounds", "8"]}')
    .option("--out <dir>", "output directory", "runs/sweep")
    .option("--jobs <n>", "trials run side by side, each on one thread (default: the available cores)")
    .option("--tolerance <fraction>", "accuracy drop below dense that the answer allows (e.g. 0.005 = half a point)", "0.005")
    .option("--resume <dir>", "continue a killed sweep: finished trials are kept, interrupted ones resume from their last complete round")
    .option("--queue <url>", "run the trials on workers anywhere (`ticket worker --queue URL`) through BullMQ on Redis: redis://HOST:PORT/DB")
    .option("--quiet", "no progress output")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText("after", "\nAny other flags are find flags and apply to every trial, e.g. ticket sweep --rewind 0,500 --seeds 0,1 --rounds 8 --controls both")
    .action(async (o: SweepOptions, cmd: Command) => {
      // the queue is checked before anything is written, so a wrong address leaves no half-made sweep
      // BullMQ is loaded only for a sweep on a queue: local sweeps and the other commands start without it
      const queueing = o.queue ? await import("../node/trial-queue.js") : null;
      if (o.queue && queueing) {
        const { checkRedis, QueueUsageError, queueConnection } = queueing;
        try {
          queueConnection(o.queue);
        } catch (error) {
          throw error instanceof QueueUsageError ? new UsageError(error.message) : error;
        }
        await checkRedis(o.queue);
      }
      let dir: string;
      let plan: SweepPlan;
      if (o.resume) {
        dir = o.resume;
        const path = join(dir, PLAN_FILE);
        if (!existsSync(path)) throw new Error(`${path}: nothing to resume (no sweep plan; was this directory written by \`ticket sweep\`?)`);
        plan = JSON.parse(readFileSync(path, "utf8"));
        if (plan.format !== PLAN_FORMAT || !Array.isArray(plan.trials)) throw new Error(`${path}: not a winning-ticket sweep plan`);
      } else {
        dir = o.out;
        if (existsSync(join(dir, PLAN_FILE))) throw new UsageError(`${dir} already holds a sweep; continue it with --resume ${dir}, or choose another --out`);
        const grid = gridFrom(o, [...cmd.args]);
        const tolerance = number("--tolerance", o.tolerance, (v) => v >= 0 && v <= 1, "a fraction in [0, 1]");
        plan = { format: PLAN_FORMAT, sweepId: randomBytes(6).toString("hex"), grid, tolerance, trials: expandGrid(grid) };
        mkdirSync(join(dir, "trials"), { recursive: true });
        writeJsonAtomic(join(dir, PLAN_FILE), plan);
      }
      const jobs = o.jobs === undefined ? availableParallelism() : integer("--jobs", o.jobs, 1);
      const log = (line: string): void => {
        if (!o.quiet) process.stderr.write(`${line}\n`);
      };
      const pending = plan.trials.filter((t) => !readResults(dir, t));
      log(
        `sweep: ${plan.trials.length} trials (${plan.trials.length - pending.length} already finished), ${Math.min(jobs, Math.max(1, pending.length))} side by side`,
      );
      const started = Date.now();
      let done = plan.trials.length - pending.length;
      const failures: string[] = [];
      // one display for the whole sweep: a line per finished trial, and every 15 s the trials
      // running (with their completed rounds), waiting and the time left at the pace so far
      const running = new Map<string, number>();
      const eta = (): string => {
        const left = plan.trials.length - done;
        const finishedHere = done - (plan.trials.length - pending.length);
        if (!left || !finishedHere) return "";
        return `, ETA ${Math.round((left * (Date.now() - started)) / 1000 / finishedHere / Math.min(jobs, left))} s`;
      };
      const status = setInterval(() => {
        const list = [...running].map(([id, rounds]) => `${id} at round ${rounds}`).join("; ");
        log(
          `  sweep: ${done}/${plan.trials.length} done, ${running.size} running${list ? ` (${list})` : ""}, ${plan.trials.length - done - running.size} waiting${eta()}`,
        );
      }, 15_000);
      status.unref();
      const finishedLine = (id: string, ok: boolean): void => {
        done++;
        running.delete(id);
        log(`  ${ok ? "done" : "FAILED"} ${id} (${done}/${plan.trials.length}${eta()})`);
      };
      if (o.queue && queueing && pending.length) {
        const { awaitTrials, enqueueTrials } = queueing;
        const queue = await enqueueTrials(o.queue, plan.sweepId, pending);
        log(`  queued ${pending.length} trials on ${o.queue}; start workers with: ticket worker --queue ${o.queue}`);
        try {
          await awaitTrials(
            o.queue,
            queue,
            plan.sweepId,
            pending.map((t) => t.id),
            (id, text) => {
              const folder = join(dir, "trials", id);
              mkdirSync(folder, { recursive: true });
              writeFileAtomic(join(folder, "results.json"), text);
              finishedLine(id, true);
            },
            (id, rounds) => running.set(id, rounds),
          );
        } finally {
          await queue.close();
        }
      } else {
        const waiting = [...pending];
        const runOne = async (): Promise<void> => {
          for (let t = waiting.shift(); t; t = waiting.shift()) {
            running.set(t.id, 0);
            const outcome = await runTrial(trialFolder(dir, t), t.args, (rounds) => running.set(t.id, rounds));
            if (!outcome.ok) failures.push(`${t.id}: ${outcome.message}`);
            finishedLine(t.id, outcome.ok);
          }
        };
        await Promise.all(Array.from({ length: Math.min(jobs, pending.length) }, runOne));
      }
      clearInterval(status);
      if (failures.length)
        throw new Error(`${failures.length} of ${plan.trials.length} trials failed (resume with ticket sweep --resume ${dir}):\n${failures.join("\n")}`);
      const results = new Map(plan.trials.map((t) => [t.id, readResults(dir, t) ?? []]));
      const rows = aggregate(plan.trials, results);
      const answers = answer(rows, plan.tolerance);
      writeJsonAtomic(join(dir, "sweep.json"), { grid: plan.grid, trials: plan.trials.map((t) => t.id), rows, answers });
      writeFileAtomic(join(dir, "sweep.csv"), sweepCsv(rows));
      const charts = sweepCharts(rows);
      writeFileAtomic(join(dir, "sweep-accuracy.svg"), charts.accuracy);
      writeFileAtomic(join(dir, "sweep-early-stop.svg"), charts.earlyStop);
      if (!o.quiet) console.log(`\n${summaryText(answers)}\n\nwrote ${join(dir, "sweep.json")}, sweep.csv, sweep-accuracy.svg, sweep-early-stop.svg`);
    });
}
