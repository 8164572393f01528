// Sparse-masked training speed: LeNet-300-100 (batch 60, Adam, real MNIST) at the paper's
// fractions of weights remaining, for the dense-masked path and the sparse path side by side,
// and what the automatic chooser picks from the crossovers this process measures.
import { take } from "../src/data/dataset.js";
import { paperRates } from "../src/lottery/config.js";
import { density, magnitudePrune, pruneToFraction } from "../src/lottery/masks.js";
import { Model } from "../src/nn/model.js";
import { LENET_300_100 } from "../src/nn/registry.js";
import { defaultMnistDir } from "../src/node/mnist-files.js";
import { loadSplits } from "../src/node/splits.js";
import { sparseRuleFor, withRecordedCrossovers } from "../src/train/crossover.js";
import { chooseModes, type SparseMode } from "../src/train/plan.js";
import { PAPER_TRAINING, type Splits, type TrainConfig, train, withLiveInputShare } from "../src/train/train.js";
import { printTable, runTicket } from "./harness.js";
import { pytorchAvailable, runPytorch } from "./peers/pytorch.js";

/** Wall seconds of a one-thread `ticket` command's work (after loading data), from its own report. */
function cliSeconds(args: string[], file: string, read: (j: Record<string, any>) => number): number {
  return read(runTicket([...args, "--threads", "1"], file));
}

/** A 12-round `find` (ticket arm only) against one dense training run of the same length. */
function findOverDense(iterations: number): Record<string, number | string> {
  const common = ["--iterations", String(iterations), "--eval-every", "100"];
  const dense = cliSeconds(["train", ...common, "--no-test-curve"], "result.json", (j) => j.timing.wallSeconds);
  const sparse = cliSeconds(["find", ...common, "--rounds", "12", "--controls", "none"], "results.json", (j) => j.totalSeconds);
  const masked = cliSeconds(["find", ...common, "--rounds", "12", "--controls", "none", "--sparse", "off"], "results.json", (j) => j.totalSeconds);
  // PyTorch's masked IMP: the same 12 rounds, iterations, evaluation schedule and rates, one thread
  const torch = pytorchAvailable();
  const peer = torch.ok ? runPytorch({ kind: "imp", threads: 1, iterations, rounds: 12, eval_every: 100 }) : null;
  return {
    iterations,
    ...(peer ? { pytorchImpSeconds: peer.total_seconds, findOverPytorch: peer.total_seconds / sparse, pytorchVersion: torch.ok ? torch.version : "" } : {}),
    denseTrainSeconds: dense,
    findSeconds: sparse,
    findDenseMaskedSeconds: masked,
    findOverDense: sparse / dense,
    denseMaskedFindOverDense: masked / dense,
  };
}

/** Rounds of the paper's layer-wise pruning giving 100%, 51.3%, 21.1%, 7.0%, 3.6% and 1.8% remaining. */
const ROUNDS = [0, 3, 7, 12, 15, 18];

/** Every layer pruned by the paper's rates `rounds` times, or (with `fraction`) straight to that fraction. */
function prunedModel(rounds: number, fraction?: number): Model {
  const model = new Model(LENET_300_100, 0);
  model.prunable().forEach((p) => p.ensureMask()); // so that "always" really runs sparse even at 100%
  if (fraction !== undefined) pruneToFraction(model.prunable(), "layerwise", fraction);
  for (let r = 0; r < rounds; r++) magnitudePrune(model.prunable(), "layerwise", paperRates(LENET_300_100), 0.2);
  return model;
}

/** The chooser's rule, measured once in this process (not read from a cache) for LeNet-300-100's shapes at batch 60 with Adam. */
let measured: { rule: Pick<TrainConfig, "crossover" | "rowMajorCrossover">; seconds: number } | undefined;
function chooserRule(splits: Splits): { rule: Pick<TrainConfig, "crossover" | "rowMajorCrossover">; seconds: number } {
  if (!measured) {
    const t0 = performance.now();
    // on batches like the real data's (their zero features are left out of the first layer), as find measures them
    const { crossover, rowMajorCrossover } = withRecordedCrossovers(LENET_300_100, withLiveInputShare(PAPER_TRAINING, splits));
    measured = { rule: { crossover, rowMajorCrossover }, seconds: (performance.now() - t0) / 1000 };
  }
  return measured;
}

/** The layers' paths (D = dense, S = sparse) that `sparse` gives a model as `prunedModel(rounds, fraction)` prunes it. */
function layerModes(model: Model, sparse: SparseMode, splits: Splits): string {
  const config = { ...PAPER_TRAINING, sparse, ...chooserRule(splits).rule };
  return chooseModes(model, sparse, sparseRuleFor(model, config))
    .map((m) => (m === "sparse" ? "S" : "D"))
    .join("");
}

function stepsPerSecond(
  splits: Splits,
  rounds: number,
  sparse: SparseMode,
  iterations: number,
  fraction?: number,
): { sps: number; modes: string; remaining: number } {
  const model = prunedModel(rounds, fraction);
  const remaining = density(model.prunable()).remaining;
  const modes = layerModes(model, sparse, splits);
  const config = { ...PAPER_TRAINING, testCurve: false, sparse, ...chooserRule(splits).rule };
  // warm up the compiled code paths, then time a real stretch
  train(model, splits, { ...config, iterations: 100, evalEvery: 100 });
  const result = train(model, splits, { ...config, iterations, evalEvery: iterations });
  model.dispose();
  return { sps: result.stepsPerSecond, modes, remaining };
}

/** Every layer at each of these fractions remaining, from unpruned to past the crossover, closest around it. */
const SWEEP_FRACTIONS = [1, 0.9, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5];
/** The chooser's target: its pick trains at least this fraction of the faster path's steps/s. */
const WITHIN = 0.97;
/** Runs of each path at a density, interleaved; the best counts (the machine's noise only slows a run). */
const REPEATS = 3;

/**
 * The chooser against both paths with every layer at the same fraction remaining: dense-masked
 * and sparse steps/s, the chooser's per-layer picks, the steps/s of what it picked (timed on its
 * own when it mixes the paths), and whether that is within 3% of the faster path; and the
 * fraction where sparse over dense crosses 1 (linear between neighbours).
 */
function crossoverSweep(splits: Splits, iterations: number) {
  const sweep = SWEEP_FRACTIONS.map((fraction) => {
    const model = prunedModel(0, fraction);
    const picks = layerModes(model, "auto", splits);
    model.dispose();
    const mixed = !/^(D+|S+)$/.test(picks);
    const modes: SparseMode[] = mixed ? ["never", "always", "auto"] : ["never", "always"];
    const best = modes.map(() => 0);
    for (let r = 0; r < REPEATS; r++) modes.forEach((mode, i) => (best[i] = Math.max(best[i], stepsPerSecond(splits, 0, mode, iterations, fraction).sps)));
    const [dense, sparse] = best;
    const chosen = mixed ? best[2] : picks.startsWith("D") ? dense : sparse;
    const faster = Math.max(dense, sparse);
    return {
      fraction,
      denseMaskedStepsPerSecond: dense,
      sparseStepsPerSecond: sparse,
      sparseOverDense: sparse / dense,
      chooserPicks: picks,
      chosenStepsPerSecond: chosen,
      chosenOverFaster: chosen / faster,
      within3Percent: chosen >= WITHIN * faster,
    };
  });
  let at: number | null = null;
  for (let i = 1; i < sweep.length && at === null; i++) {
    const [hi, lo] = [sweep[i - 1], sweep[i]];
    if (hi.sparseOverDense < 1 && lo.sparseOverDense >= 1) {
      at = hi.fraction + ((1 - hi.sparseOverDense) / (lo.sparseOverDense - hi.sparseOverDense)) * (lo.fraction - hi.fraction);
    }
  }
  if (at === null) at = sweep[0].sparseOverDense >= 1 ? sweep[0].fraction : null;
  const { rule, seconds } = chooserRule(splits);
  return {
    iterations,
    repeats: REPEATS,
    sweep,
    crossover: at,
    allWithin3Percent: sweep.every((x) => x.within3Percent),
    chooser: { ...rule, calibrationSeconds: seconds },
  };
}

/**
 * What the 12-round find's training steps alone cost: the automatic path's steps/s at each of the
 * 13 trainings' densities (rounds 0-12 of the paper's rates), each run for as many steps as the
 * dense run, summed and divided by the dense run's. Evaluation and every per-round cost are left
 * out, so the find's measured ratio cannot go below this with these kernels; perfectly
 * proportional cost would give the sum of the densities.
 */
function findStepsFloor(
  splits: Splits,
  iterations: number,
): { perRound: { round: number; percentRemaining: number; stepsPerSecond: number; modes: string }[]; stepsOverDense: number; proportional: number } {
  const perRound = Array.from({ length: 13 }, (_, round) => {
    const { sps, modes, remaining } = stepsPerSecond(splits, round, "auto", iterations);
    return { round, percentRemaining: remaining * 100, stepsPerSecond: sps, modes };
  });
  const seconds = perRound.reduce((sum, r) => sum + 1 / r.stepsPerSecond, 0);
  return {
    perRound,
    stepsOverDense: seconds * perRound[0].stepsPerSecond,
    proportional: perRound.reduce((sum, r) => sum + r.percentRemaining / 100, 0),
  };
}

export function benchSparse(options: { iterations?: number; findIterations?: number } = {}): Record<string, unknown> {
  const iterations = options.iterations ?? 1500;
  const paper = loadSplits({ dir: defaultMnistDir(), validation: 5000, trainSubset: null, normalize: false, seed: 0 });
  const splits: Splits = { train: paper.train, validation: take(paper.validation, 256), test: take(paper.test, 256) };
  const rows = ROUNDS.map((rounds) => {
    const dense = stepsPerSecond(splits, rounds, "never", iterations);
    const sparse = stepsPerSecond(splits, rounds, "always", iterations);
    const auto = stepsPerSecond(splits, rounds, "auto", iterations);
    return {
      rounds,
      percentRemaining: dense.remaining * 100,
      denseMaskedStepsPerSecond: dense.sps,
      sparseStepsPerSecond: sparse.sps,
      autoStepsPerSecond: auto.sps,
      autoLayerModes: auto.modes,
      sparseOverDense: sparse.sps / dense.sps,
      autoOverDense: auto.sps / dense.sps,
    };
  });
  const denseBaseline = rows[0].denseMaskedStepsPerSecond;
  return {
    benchmark: "sparse",
    model: "LeNet-300-100",
    batch: 60,
    optimizer: "adam",
    iterations,
    rows,
    autoAt3_6OverDense100: rows[4].autoStepsPerSecond / denseBaseline,
    crossover: crossoverSweep(splits, Math.ceil(iterations / 2)),
    find12Rounds: { ...findOverDense(options.findIterations ?? 2000), trainingStepsFloor: findStepsFloor(splits, iterations) },
  };
}

export function printSparse(r: ReturnType<typeof benchSparse>): void {
  const rows = (r.rows as Record<string, number | string>[]).map((x) => [
    (x.percentRemaining as number).toFixed(1),
    (x.denseMaskedStepsPerSecond as number).toFixed(0),
    (x.sparseStepsPerSecond as number).toFixed(0),
    `${(x.sparseOverDense as number).toFixed(2)}×`,
    `${x.autoLayerModes}`,
    (x.autoStepsPerSecond as number).toFixed(0),
    `${(x.autoOverDense as number).toFixed(2)}×`,
  ]);
  printTable(
    `LeNet-300-100 training steps/s by weights remaining (batch 60, Adam, ${r.iterations} steps; layer modes D = dense, S = sparse)`,
    ["% remaining", "dense-masked", "sparse", "sparse / dense", "auto picks", "auto", "auto / dense"],
    rows,
  );
  const c = r.crossover as ReturnType<typeof crossoverSweep>;
  const percents = (byName: unknown): string =>
    Object.entries(byName as Record<string, number>)
      .map(([name, x]) => `${name} ${(100 * x).toFixed(1)}%`)
      .join(", ");
  printTable(
    `Every layer at the same fraction remaining (steps/s: best of ${c.repeats} runs of ${c.iterations} steps); the chooser's rule, measured in ${c.chooser.calibrationSeconds.toFixed(2)} s: crossovers ${percents(c.chooser.crossover)}; row-major crossovers ${percents(c.chooser.rowMajorCrossover)}`,
    ["% remaining", "dense-masked", "sparse", "sparse / dense", "chooser picks", "picked", "picked / faster", "within 3%"],
    c.sweep.map((x) => [
      (100 * x.fraction).toFixed(0),
      x.denseMaskedStepsPerSecond.toFixed(0),
      x.sparseStepsPerSecond.toFixed(0),
      `${x.sparseOverDense.toFixed(2)}×`,
      x.chooserPicks,
      x.chosenStepsPerSecond.toFixed(0),
      `${x.chosenOverFaster.toFixed(3)}×`,
      x.within3Percent ? "yes" : "NO",
    ]),
  );
  console.log(
    `  sparse overtakes dense-masked at ≈ ${c.crossover === null ? `below ${100 * SWEEP_FRACTIONS.at(-1)!}%` : `${(100 * c.crossover).toFixed(0)}%`} remaining; the chooser's pick is within 3% of the faster path at ${c.sweep.filter((x) => x.within3Percent).length} of ${c.sweep.length} densities`,
  );
  const f = r.find12Rounds as Record<string, any> & { trainingStepsFloor: ReturnType<typeof findStepsFloor> };
  console.log(
    `\n12-round find (ticket only, ${f.iterations} iterations per round, evaluation every 100) vs one dense training run of ${f.iterations} iterations:`,
  );
  console.log(
    `  dense run ${f.denseTrainSeconds.toFixed(1)} s; find ${f.findSeconds.toFixed(1)} s = ${f.findOverDense.toFixed(2)}×; with --sparse off ${f.findDenseMaskedSeconds.toFixed(1)} s = ${f.denseMaskedFindOverDense.toFixed(2)}×`,
  );
  if (f.pytorchImpSeconds) {
    console.log(
      `  PyTorch ${f.pytorchVersion} CPU's masked IMP, same rounds, iterations and evaluations, one thread: ${f.pytorchImpSeconds.toFixed(1)} s: our find is ${f.findOverPytorch.toFixed(2)}× faster`,
    );
  } else console.log(`  ${pytorchAvailable().ok ? "" : (pytorchAvailable() as { note: string }).note}`);
  const floor = f.trainingStepsFloor;
  console.log(
    `  its training steps alone (13 trainings at ${floor.perRound.map((x) => `${x.percentRemaining.toFixed(0)}%: ${x.stepsPerSecond.toFixed(0)}/s ${x.modes}`).join(", ")}):`,
  );
  console.log(
    `  ${floor.stepsOverDense.toFixed(2)}× one dense run's steps, before any evaluation; perfectly proportional cost would be ${floor.proportional.toFixed(2)}×`,
  );
}
