// `ticket instability`: linear mode connectivity (Frankle, Dziugaite, Roy & Carbin, ICML 2020).
// For each k, two copies of θk train to the end with different data orders; test error along the
// line between them tells whether k is a stable rewinding point. Each k's result (and θk) is
// written as it finishes, so `--resume DIR` continues a long analysis where it stopped.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { ready } from "../engine/engine.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../io/safetensors.js";
import type { LotteryConfig } from "../lottery/config.js";
import type { Weights } from "../lottery/find.js";
import {
  analyzeInstability,
  INSTABILITY_DEFAULTS,
  type InstabilityConfig,
  type InstabilityReport,
  type KResult,
  validateInstabilityConfig,
} from "../lottery/instability.js";
import { instabilityChart, instabilityCsv, instabilityPathChart, instabilityTable } from "../lottery/report.js";
import { parseModelSpec } from "../nn/model-spec.js";
import { upgradeSpec } from "../nn/registry.js";
import { writeFileAtomic, writeJsonAtomic } from "../node/atomic-write.js";
import { checkpointPath, loadSavedRun, parameterShapes, readCheckpoint } from "../node/checkpoint.js";
import { LEGACY_CROSSOVER, withRecordedCrossovers } from "../train/crossover.js";
import { withLiveInputShare } from "../train/train.js";
import { addTrainingOptions, type CommonOptions, checkCrossoverNames, engineOptions, integer, modelChoice, number, trainConfig } from "./options.js";
import { makeProgress } from "./progress.js";
import { runtimeInfo } from "./runtime-info.js";
import { type DataChoice, dataChoice, loadSplits } from "./splits.js";
import { UsageError } from "./usage-error.js";

interface InstabilityOptions extends CommonOptions {
  at: string;
  points: string;
  threshold: string;
  copySeeds?: string;
  ticket?: string;
  round?: string;
  resume?: string;
}

/** What instability.json records about the run (enough to resume it). */
interface SavedConfig extends InstabilityConfig {
  model: string;
  data: DataChoice;
  ticket: { dir: string; round: number } | null;
}

const FORMAT = "winning-ticket/instability@1";
const REPORT_FILE = "instability.json";
const START_FILE = "start.safetensors";
const thetaPath = (out: string, k: number): string => join(out, "thetas", `k-${String(k).padStart(6, "0")}.safetensors`);

// flags that pick the network and its data: with --ticket they come from the find run
const NETWORK_FLAGS: [keyof CommonOptions, string][] = [
  ["model", "--model"],
  ["hidden", "--hidden"],
  ["data", "--data"],
  ["seed", "--seed"],
  ["validation", "--validation"],
  ["trainSubset", "--train-subset"],
  ["normalize", "--normalize"],
];

// what an analysis being resumed has already fixed
const RESUME_FLAGS: [string, string][] = [
  ["ticket", "--ticket"],
  ["round", "--round"],
  ["at", "--at"],
  ["points", "--points"],
  ["threshold", "--threshold"],
  ["copySeeds", "--copy-seeds"],
  ["iterations", "--iterations"],
];

export function instabilityCommand(): Command {
  const cmd = new Command("instability").description(
    "instability analysis (linear mode connectivity): at which iteration k does training become stable? the earliest stable k is the --rewind for find",
  );
  addTrainingOptions(cmd, { iterations: 5000, out: "runs/instability", testCurve: false });
  cmd
    .option(
      "--at <list>",
      "iterations k of the dense run at which two copies branch off (each then trains the rest of --iterations), comma-separated",
      INSTABILITY_DEFAULTS.at.join(","),
    )
    .option("--points <n>", "evenly spaced points on the path between the two trained copies, both ends included", String(INSTABILITY_DEFAULTS.points))
    .option("--threshold <points>", "stable when instability is below this many percentage points (the paper: 2)", String(INSTABILITY_DEFAULTS.threshold))
    .option("--copy-seeds <a,b>", "data orders of the two copies (default: --seed + 1 and --seed + 2)")
    .option("--ticket <dir>", "analyse a ticket: the mask of a `ticket find` run in <dir> (model, data and training settings come from that run)")
    .option("--round <n>", "with --ticket: which round's mask (default: the run's last complete round)")
    .option("--resume <dir>", "continue an interrupted analysis in <dir>, skipping finished k (other flags are taken from the saved analysis)");
  return cmd.action(async (o: InstabilityOptions) => {
    const given = (key: string): boolean => cmd.getOptionValueSource(key) === "cli";
    const engineChoice = engineOptions(o);
    let out = o.out;
    let saved: SavedConfig;
    let start: { theta0?: Weights; masks: Weights | null };
    let finished: KResult[] = [];
    let choice: ReturnType<typeof modelChoice> | undefined;
    if (o.resume) {
      for (const [key, flag] of RESUME_FLAGS) if (given(key)) throw new UsageError(`${flag} comes from the analysis being resumed; leave it out`);
      out = o.resume;
      ({ saved, start, finished } = loadSavedAnalysis(o.resume));
    } else if (o.ticket) {
      for (const [key, flag] of NETWORK_FLAGS) if (given(key)) throw new UsageError(`${flag} comes from the --ticket run; leave it out`);
      ({ saved, start } = fromTicket(o, given));
    } else {
      if (o.round !== undefined) throw new UsageError("--round needs --ticket DIR (the find run whose round's mask to analyse)");
      choice = modelChoice(o);
      const train = { ...trainConfig(o, choice.protocol, "find"), testCurve: Boolean(o.testCurve) };
      const data = dataChoice(o);
      saved = { ...analysisFlags(o, train.dataSeed), spec: { input: [1], layers: [] }, seed: data.seed, train, model: choice.name, data, ticket: null };
      start = { masks: null };
    }

    // before any data is loaded: each k must leave the copies something to train
    for (const k of saved.at) {
      if (k >= saved.train.iterations)
        throw new UsageError(`--at ${k} is beyond the training: each k must be below the ${saved.train.iterations} iterations (--iterations)`);
    }
    const engine = await ready(engineChoice);
    const splits = loadSplits(saved.data);
    try {
      if (choice) saved.spec = choice.specFor(splits.shape, splits.classes);
      if (!o.resume) checkCrossoverNames(saved.train, saved.spec, saved.model || "the model");
      validateInstabilityConfig(saved, splits);
    } catch (error) {
      throw error instanceof UsageError ? error : new UsageError((error as Error).message);
    }
    // a ticket's copies train pruned: their crossovers are recorded (in instability.json) before they train
    if (!o.resume && start.masks) saved.train = withRecordedCrossovers(saved.spec, withLiveInputShare(saved.train, splits));

    const shapes = parameterShapes(saved.spec);
    const encode = (groups: Record<string, Weights | null | undefined>, metadata: Record<string, string>): Uint8Array => {
      const tensors = new Map<string, NamedTensor>();
      for (const [prefix, weights] of Object.entries(groups))
        for (const [name, data] of weights ?? []) tensors.set(`${prefix}/${name}`, { shape: shapes.get(name) ?? [data.length], data });
      return encodeSafetensors(tensors, { format: "winning-ticket/instability-weights@1", ...metadata });
    };
    const started = Date.now();
    const priorSeconds = finished.reduce((s, r) => s + r.seconds, 0);
    const writeReports = (report: InstabilityReport, done: boolean): void => {
      writeJsonAtomic(join(out, REPORT_FILE), {
        command: "instability",
        format: FORMAT,
        config: saved,
        engine: { variant: engine.variant, threads: engine.threads, ...runtimeInfo() },
        units: "errors in percent of the test set, instability in percentage points",
        finished: done,
        totalSeconds: priorSeconds + (Date.now() - started) / 1000,
        remaining: report.remaining,
        threshold: report.threshold,
        earliestStable: report.earliestStable,
        results: report.results,
      });
      writeFileAtomic(join(out, "instability.csv"), instabilityCsv(report));
      writeFileAtomic(join(out, "instability-path.svg"), instabilityPathChart(report));
      writeFileAtomic(join(out, "instability.svg"), instabilityChart(report));
    };

    if (!o.resume) {
      // the start first, so an analysis killed at any point can resume
      writeFileAtomic(join(out, START_FILE), encode({ theta0: start.theta0, mask: start.masks }, {}));
      writeJsonAtomic(join(out, REPORT_FILE), { command: "instability", format: FORMAT, config: saved, finished: false, results: [] });
    }
    const thetas = new Map<number, Weights>();
    for (const k of saved.at) {
      if (finished.some((r) => r.k === k) || !existsSync(thetaPath(out, k))) continue;
      thetas.set(k, readWeights(thetaPath(out, k), "theta"));
    }

    const progress = await makeProgress(Boolean(o.quiet) || Boolean(o.json));
    if (o.resume) progress.log(`resuming ${out}: ${finished.length} of ${saved.at.length} k done`);
    let label = "";
    const report = analyzeInstability(splits, saved, {
      start,
      thetas,
      finished,
      hooks: {
        onTheta: (k, weights) => writeFileAtomic(thetaPath(out, k), encode({ theta: weights }, { k: String(k) })),
        onProgress: (p) => {
          const now = p.k === null ? p.phase : `k = ${p.k}: ${p.phase}`;
          if (now !== label) {
            label = now;
            progress.start(p.of, now);
          }
          progress.update(p.iteration, { label: now, loss: Number.isNaN(p.loss) ? "-" : p.loss.toFixed(4), valAcc: "-" });
        },
        onResult: (r, so) => {
          progress.log(
            `k = ${r.k}: copies ${r.endpointErrors.map((e) => `${e.toFixed(2)}%`).join(" and ")} test error, ${r.maxError.toFixed(2)}% at worst on the path: instability ${r.instability.toFixed(2)} points`,
          );
          writeReports(so, false);
        },
      },
    });
    progress.stop();
    writeReports(report, true);
    const what = saved.ticket
      ? `ticket of ${saved.ticket.dir} round ${saved.ticket.round} (${(report.remaining * 100).toFixed(1)}% of weights)`
      : `dense ${saved.model}`;
    const verdict =
      report.earliestStable === null
        ? `no k is stable (instability below ${saved.threshold} points); try later k`
        : `earliest stable k: ${report.earliestStable} (instability below ${saved.threshold} points) — use \`ticket find --rewind ${report.earliestStable}\``;
    if (o.json) {
      console.log(JSON.stringify({ out, remaining: report.remaining, earliestStable: report.earliestStable, results: report.results }));
    } else if (!o.quiet) {
      console.log(`\ninstability of the ${what}, ${saved.train.iterations} iterations, ${saved.points} points per path:\n`);
      console.log(`${instabilityTable(report)}\n`);
      console.log(verdict);
      console.log(`wrote ${join(out, REPORT_FILE)}, instability.csv, instability-path.svg, instability.svg and thetas/`);
    } else {
      console.log(verdict);
    }
  });
}

/** --at, --points, --threshold and --copy-seeds, checked. */
function analysisFlags(o: InstabilityOptions, dataSeed: number): Pick<InstabilityConfig, "at" | "points" | "threshold" | "copySeeds"> {
  const parts = o.at.split(",").map((s) => s.trim());
  if (parts.some((p) => p === "")) throw new UsageError(`--at must be a comma-separated list of iterations (e.g. 0,100,500), got "${o.at}"`);
  const at = parts.map((p) => integer("--at", p, 0));
  if (new Set(at).size !== at.length) throw new UsageError(`--at lists an iteration twice: "${o.at}"`);
  const points = integer("--points", o.points, 2);
  const threshold = number("--threshold", o.threshold, (v) => v >= 0, "a number of percentage points ≥ 0");
  let copySeeds: [number, number] = [dataSeed + 1, dataSeed + 2];
  if (o.copySeeds !== undefined) {
    const seeds = o.copySeeds.split(",").map((s) => s.trim());
    if (seeds.length !== 2) throw new UsageError(`--copy-seeds must be two seeds, e.g. 1,2, got "${o.copySeeds}"`);
    copySeeds = [integer("--copy-seeds", seeds[0], 0), integer("--copy-seeds", seeds[1], 0)];
  }
  return { at: [...at].sort((a, b) => a - b), points, threshold, copySeeds };
}

/** The analysis of a find run's round: its spec, data, θ0 and mask; its training settings unless flags override them. */
function fromTicket(o: InstabilityOptions, given: (key: string) => boolean): { saved: SavedConfig; start: { theta0: Weights; masks: Weights } } {
  const dir = o.ticket!;
  if (!existsSync(join(dir, "state.json"))) throw new Error(`--ticket ${dir}: not a \`ticket find\` run (no state.json)`);
  const run = loadSavedRun(dir);
  const config = run.config as LotteryConfig & { data?: DataChoice };
  if (!config.data) throw new Error(`--ticket ${dir}: the run does not record its data (written by an older version)`);
  const last = run.state.completedRounds - 1;
  const round = o.round === undefined ? last : integer("--round", o.round, 0);
  if (round > last) throw new UsageError(`--round ${round}: ${dir} has rounds 0 to ${last}`);
  const checkpoint = readCheckpoint(checkpointPath(dir, round), config.spec);
  // the run's own settings as the defaults, any training flag given here on top
  const saved = config.train;
  const fromFlags = trainConfig(
    o,
    {
      iterations: saved.iterations,
      findIterations: saved.iterations,
      batchSize: saved.batchSize,
      lr: saved.lr,
      rates: { conv: 0, linear: 0, output: 0 },
      source: "",
    },
    "find",
  );
  const train = {
    ...saved,
    iterations: fromFlags.iterations,
    batchSize: fromFlags.batchSize,
    lr: fromFlags.lr,
    optimizer: given("optimizer") ? fromFlags.optimizer : saved.optimizer,
    momentum: given("momentum") ? fromFlags.momentum : saved.momentum,
    weightDecay: given("weightDecay") ? fromFlags.weightDecay : saved.weightDecay,
    evalEvery: given("evalEvery") ? fromFlags.evalEvery : saved.evalEvery,
    sparse: given("sparse") ? fromFlags.sparse : saved.sparse,
    // the find run's recorded crossovers unless the flags give others
    ...(given("sparse") || given("crossover")
      ? { crossover: fromFlags.crossover, rowMajorCrossover: undefined }
      : { crossover: saved.crossover ?? fromFlags.crossover, rowMajorCrossover: saved.rowMajorCrossover }),
    testCurve: Boolean(o.testCurve),
    // measured again from the data, for this run's batch size
    liveInputShare: undefined,
  };
  return {
    saved: {
      ...analysisFlags(o, train.dataSeed),
      spec: config.spec,
      seed: config.seed,
      train,
      model: config.model ?? "",
      data: config.data,
      ticket: { dir, round },
    },
    start: { theta0: checkpoint.theta0, masks: checkpoint.masks },
  };
}

function readWeights(path: string, prefix: string): Weights {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const out: Weights = new Map();
  for (const [name, t] of tensors) if (name.startsWith(`${prefix}/`)) out.set(name.slice(prefix.length + 1), t.data);
  return out;
}

function loadSavedAnalysis(dir: string): { saved: SavedConfig; start: { theta0?: Weights; masks: Weights | null }; finished: KResult[] } {
  const path = join(dir, REPORT_FILE);
  if (!existsSync(path)) throw new Error(`${path}: nothing to resume (was this directory written by \`ticket instability\`?)`);
  let json: { format?: unknown; config?: SavedConfig; results?: KResult[] };
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: corrupt report (${(error as Error).message})`);
  }
  if (json.format !== FORMAT || !json.config || !Array.isArray(json.results)) throw new Error(`${path}: not a winning-ticket instability report`);
  const saved = json.config;
  saved.spec = parseModelSpec(upgradeSpec(saved.spec), `${path}: config.spec`);
  // recorded before crossovers were measured: the fixed rule those analyses used
  if (saved.train && saved.train.crossover === undefined && (saved.train.sparse ?? "auto") === "auto") saved.train.crossover = LEGACY_CROSSOVER;
  const startPath = join(dir, START_FILE);
  if (!existsSync(startPath)) throw new Error(`${startPath}: missing (the analysis's starting weights)`);
  const theta0 = readWeights(startPath, "theta0");
  const masks = readWeights(startPath, "mask");
  return { saved, start: { theta0: theta0.size ? theta0 : undefined, masks: masks.size ? masks : null }, finished: json.results };
}
