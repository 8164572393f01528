// `ticket find`: the lottery — iterative magnitude pruning with rewinding and controls, with
// reports, per-round checkpoints and --resume.
import { join } from "node:path";
import { Command, Option } from "commander";
import { ready } from "../engine/engine.js";
import { type Arm, type LotteryConfig, paperRates, validateLotteryConfig } from "../lottery/config.js";
import { findTicket, type LotteryState, plannedRounds, type RoundResult } from "../lottery/find.js";
import { findRewindPoint } from "../lottery/instability.js";
import { accuracyChart, earlyStopChart, resultsCsv, summaryTable } from "../lottery/report.js";
import { writeFileAtomic, writeJsonAtomic } from "../node/atomic-write.js";
import { loadSavedRun, saveRound } from "../node/checkpoint.js";
import { WorkerControls } from "../node/parallel-controls.js";
import { clearRun, existingRunFile, lockAndClean, openRunFolderToResume, prepareOutputFolder, type RunLock } from "../node/run-folder.js";
import { withRecordedCrossovers } from "../train/crossover.js";
import { validateTrainConfig } from "../train/train.js";
import {
  addTrainingOptions,
  type CommonOptions,
  checkCrossoverNames,
  engineOptions,
  integer,
  type ModelChoice,
  modelChoice,
  number,
  trainConfig,
} from "./options.js";
import { makeProgress } from "./progress.js";
import { runtimeInfo } from "./runtime-info.js";
import { type DataChoice, dataChoice, loadSplits } from "./splits.js";
import { UsageError } from "./usage-error.js";

interface FindOptions extends CommonOptions {
  rounds: string;
  targetSparsity?: string;
  tolerance?: string;
  rewind: string;
  strategy: string;
  pruneRate?: string;
  outputRate?: string;
  convRate?: string;
  layerRates?: string;
  oneShot?: string;
  controls: string;
  resume?: string;
  force?: boolean;
  parallelArms: string;
}

/** The default search (what `npm start` runs): the paper's LeNet-300-100 protocol, shortened to minutes. */
export const FIND_DEFAULTS = { iterations: 5000, rounds: 12 };

export function findCommand(): Command {
  const cmd = new Command("find").description("find a winning ticket by iterative magnitude pruning (Frankle & Carbin, 2019)");
  addTrainingOptions(cmd, { iterations: FIND_DEFAULTS.iterations, out: "runs/find", testCurve: false });
  cmd
    .option("--rounds <n>", "pruning rounds after the dense round", String(FIND_DEFAULTS.rounds))
    .option("--target-sparsity <fraction>", "stop once the fraction of weights remaining is at or below this (e.g. 0.07)")
    .option("--tolerance <fraction>", "stop once early-stop validation accuracy falls more than this below dense (e.g. 0.005)")
    .option(
      "--rewind <k|auto>",
      "reset survivors to the weights at iteration k of round 0 instead of θ0; auto: the earliest k at which the sparsest round's subnetwork is stable (instability analysis)",
      "0",
    )
    .addOption(new Option("--strategy <s>", "layerwise or global magnitude pruning").default("layerwise"))
    .option(
      "--prune-rate <fraction>",
      "fraction of remaining weights pruned per round in hidden fully connected layers (all layers when global; default: the model's protocol, 0.2)",
    )
    .option("--conv-rate <fraction>", "fraction pruned per round in convolutions (layer-wise; default: the model's protocol, 0.1, or 0.15 for conv-6)")
    .option("--output-rate <fraction>", "fraction pruned per round in the output layer (layer-wise; default: the model's protocol, 0.1)")
    .option("--layer-rates <list>", "rates for single weights by name, e.g. fc1.weight=0.3,conv2.weight=0.05 (override the three above)")
    .option("--one-shot <fraction>", "prune to this fraction remaining in one step after the dense round, then train")
    .option("--controls <list>", "control arms: reinit, random, both (reinit,random) or none", "reinit")
    .addOption(
      new Option("--parallel-arms <mode>", "train each round's controls in a worker while the next ticket trains: auto (with 2+ threads) or off").default(
        "auto",
      ),
    )
    .option("--resume <dir>", "continue an interrupted search in <dir> from its last complete round (other flags are taken from the saved run)")
    .option("--force", "start a new search in --out even if it holds one (that search's state, reports and checkpoints are removed first)");
  return cmd.action(async (o: FindOptions) => {
    const engineChoice = engineOptions(o);
    let config: LotteryConfig;
    let data: DataChoice;
    let resume: ReturnType<typeof loadSavedRun> | undefined;
    let out = o.out;
    let choice: ModelChoice | undefined;
    let lock: RunLock | undefined;
    let removeMadeFolders = (): void => {};
    if (o.parallelArms !== "auto" && o.parallelArms !== "off") throw new UsageError(`unknown --parallel-arms "${o.parallelArms}" (choose auto or off)`);
    if (o.resume && o.force) throw new UsageError("--force starts a new search and --resume continues one: give only one of them");
    // the folder is checked before any data is loaded or any training starts
    if (o.resume) {
      out = o.resume;
      lock = await openRunFolderToResume(out, `--resume ${out}`);
      resume = loadSavedRun(o.resume);
      config = resume.config;
      data = resume.config.data;
    } else {
      data = dataChoice(o);
      choice = modelChoice(o);
      config = lotteryConfig(o, data, choice);
      removeMadeFolders = await prepareOutputFolder(out, `--out ${out}`);
    }
    // with controls and 2+ threads, one thread trains the controls in a worker and the rest the ticket
    const parallelArms = o.parallelArms === "auto" && (engineChoice.threads ?? 1) >= 2 && config.controls.length > 0;
    if (parallelArms) engineChoice.threads = (engineChoice.threads ?? 2) - 1;
    const engine = await ready(engineChoice);
    let splits: ReturnType<typeof loadSplits>;
    try {
      splits = loadSplits(data);
    } catch (error) {
      removeMadeFolders();
      throw error;
    }
    try {
      if (!o.resume && choice) {
        config.spec = choice.specFor(splits.shape, splits.classes);
        const r = choice.protocol.rates;
        const defaults = paperRates(
          config.spec,
          optionalRate("--prune-rate", o.pruneRate) ?? r.linear,
          optionalRate("--output-rate", o.outputRate) ?? r.output,
          optionalRate("--conv-rate", o.convRate) ?? r.conv,
        );
        for (const name of Object.keys(config.layerRates)) {
          if (!(name in defaults))
            throw new UsageError(`--layer-rates: ${name} is not a prunable weight of ${choice.name} (it has ${Object.keys(defaults).join(", ")})`);
        }
        config.layerRates = { ...defaults, ...config.layerRates };
        checkCrossoverNames(config.train, config.spec, choice.name);
      }
      validateLotteryConfig(config);
      validateTrainConfig(config.train, splits);
      if (!o.resume && o.rewind === "auto" && config.oneShot === undefined && config.rounds === 0)
        throw new UsageError("--rewind auto needs pruning rounds (--rounds 1 or more)");
    } catch (error) {
      // a resumed search's settings come from state.json: its errors name that file (exit 1)
      if (o.resume) throw new Error(`${join(out, "state.json")}: config: ${(error as Error).message}`);
      removeMadeFolders();
      throw error instanceof UsageError ? error : new UsageError((error as Error).message);
    }
    // locked once the flags are known to be good (a mistyped flag never waits on, or clears, a folder)
    if (!o.resume) {
      lock = lockAndClean(out);
      const held = existingRunFile(out);
      if (held && !o.force) {
        lock.release();
        throw new UsageError(`--out ${out} already holds a search (${held}); continue it with --resume ${out}, or give --force to replace it`);
      }
      if (held) clearRun(out);
    }

    // measured (or read from the cache) before anything trains, on the engine the ticket trains on, and
    // recorded: the controls' worker, --rewind auto and a resumed search choose by the same crossovers
    if (!o.resume && plannedRounds(config) > 0) config.train = withRecordedCrossovers(config.spec, config.train);

    if (!o.resume && o.rewind === "auto") {
      // the instability analysis for the search's sparsest round first; the search then rewinds to its earliest stable k
      const search = findRewindPoint(splits, config);
      config.rewind = search.choice.k;
      Object.assign(config, {
        rewindChoice: {
          ...search.choice,
          round: search.round,
          remaining: search.report.remaining,
          analysis: search.report.results.map(({ path: _p, copies: _c, ...r }) => r),
        },
      });
      if (!o.quiet && !o.json)
        process.stderr.write(
          `--rewind auto: ${search.choice.reason} (round ${search.round}'s mask, ${(search.report.remaining * 100).toFixed(1)}% of the weights)\n`,
        );
    }

    const progress = await makeProgress(Boolean(o.quiet) || Boolean(o.json));
    const started = Date.now();
    let priorSeconds = 0;
    const writeReports = (state: LotteryState, final: boolean): void => {
      const report = {
        command: "find",
        config,
        engine: { variant: engine.variant, threads: engine.threads, parallelArms, ...runtimeInfo() },
        completedRounds: state.completedRounds,
        stopReason: state.stopReason,
        finished: final,
        totalSeconds: priorSeconds + (Date.now() - started) / 1000,
        results: state.results,
      };
      writeJsonAtomic(join(out, "results.json"), report);
      writeFileAtomic(join(out, "results.csv"), resultsCsv(state.results));
      writeFileAtomic(join(out, "accuracy.svg"), accuracyChart(state.results));
      writeFileAtomic(join(out, "early-stop.svg"), earlyStopChart(state.results));
    };
    if (resume) {
      priorSeconds = resume.state.results.reduce((s, r) => s + r.seconds, 0);
      progress.log(`resuming ${out} after round ${resume.state.completedRounds - 1}`);
    }
    progress.start(1, "round 0 ticket");
    let lastLabel = "";
    const runner = parallelArms ? new WorkerControls(config, data, engine.variant) : undefined;
    const state = await findTicket(
      splits,
      config,
      {
        onProgress: (p) => {
          const label = `round ${p.round} ${p.arm}`;
          if (label !== lastLabel) {
            lastLabel = label;
            progress.start(p.total, label);
          }
          if (p.iteration % 10 === 0) {
            progress.update(p.done, { label, loss: p.loss.toFixed(4), valAcc: p.valAccuracy === null ? "-" : `${(p.valAccuracy * 100).toFixed(2)}%` });
          }
        },
        onRunDone: (r: RoundResult) => {
          progress.log(
            `round ${String(r.round).padStart(2)} ${r.arm.padEnd(6)} ${(r.remaining * 100).toFixed(1).padStart(5)}% remaining: test ${(r.earlyStopTestAccuracy * 100).toFixed(2)}% at early stop (iteration ${r.earlyStopIteration}), ${r.stepsPerSecond.toFixed(0)} steps/s`,
          );
        },
        onRoundDone: (s, checkpoint) => {
          saveRound(out, config, s, checkpoint);
          writeReports(s, false);
        },
      },
      resume ? { state: resume.state, checkpoint: resume.checkpoint } : undefined,
      runner,
    ).finally(() => runner?.close());
    progress.stop();
    writeReports(state, true);
    lock?.release();
    if (o.json) {
      console.log(JSON.stringify({ out, stopReason: state.stopReason, results: state.results.map(({ curve: _curve, ...rest }) => rest) }));
    } else if (!o.quiet) {
      console.log(`\n${summaryTable(state.results)}\n`);
      console.log(`stopped: ${state.stopReason}`);
      console.log(
        `wrote ${join(out, "results.json")}, results.csv, accuracy.svg, early-stop.svg and checkpoints/ (export a ticket with: ticket export ${out} --round N)`,
      );
    }
  });
}

const rate = (flag: string, text: string): number => number(flag, text, (v) => v >= 0 && v < 1, "a fraction in [0, 1)");
const optionalRate = (flag: string, text: string | undefined): number | undefined => (text === undefined ? undefined : rate(flag, text));

/** The search as the flags describe it; the model spec and default layer rates are filled in once the data's shape is known. */
function lotteryConfig(o: FindOptions, data: DataChoice, choice: ModelChoice): LotteryConfig & { data: DataChoice } {
  if (o.strategy !== "layerwise" && o.strategy !== "global") throw new UsageError(`unknown --strategy "${o.strategy}" (choose layerwise or global)`);
  const globalRate = optionalRate("--prune-rate", o.pruneRate) ?? choice.protocol.rates.linear;
  optionalRate("--output-rate", o.outputRate);
  optionalRate("--conv-rate", o.convRate);
  const layerRates: Record<string, number> = {};
  if (o.layerRates !== undefined) {
    for (const part of o.layerRates.split(",")) {
      const [name, value, extra] = part.split("=");
      if (!name?.trim() || value === undefined || extra !== undefined) {
        throw new UsageError(`--layer-rates: "${part}" is not of the form name.weight=rate`);
      }
      layerRates[name.trim()] = rate(`--layer-rates ${name.trim()}`, value.trim());
    }
  }
  const controlsText = o.controls.trim();
  let controls: Arm[] = [];
  if (controlsText === "both") controls = ["reinit", "random"];
  else if (controlsText !== "none" && controlsText !== "") {
    controls = controlsText.split(",").map((c) => c.trim()) as Arm[];
    for (const c of controls)
      if (c !== "reinit" && c !== "random") throw new UsageError(`--controls: unknown control "${c}" (choose reinit, random, both or none)`);
  }
  return {
    spec: { input: [1], layers: [] }, // made once the data's example shape is known
    model: choice.name,
    protocol: choice.protocol.source,
    train: trainConfig(o, choice.protocol, "find"),
    seed: data.seed,
    strategy: o.strategy,
    layerRates,
    globalRate,
    rounds: integer("--rounds", o.rounds, 0),
    targetRemaining:
      o.targetSparsity === undefined ? undefined : number("--target-sparsity", o.targetSparsity, (v) => v > 0 && v <= 1, "a fraction remaining in (0, 1]"),
    tolerance: o.tolerance === undefined ? undefined : number("--tolerance", o.tolerance, (v) => v >= 0 && v <= 1, "a fraction in [0, 1]"),
    rewind: o.rewind === "auto" ? 0 : integer("--rewind", o.rewind, 0),
    oneShot: o.oneShot === undefined ? undefined : number("--one-shot", o.oneShot, (v) => v > 0 && v < 1, "a fraction remaining in (0, 1)"),
    controls,
    data,
  };
}
