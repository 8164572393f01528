// Iterative magnitude pruning (Frankle & Carbin, ICLR 2019): train the dense network from θ0;
// then, each round, prune the smallest-magnitude fraction of the remaining weights, reset the
// survivors to θ0 (or to θK, the weights at iteration K of round 0: rewinding) and train again
// with the mask fixed. Controls run beside each round: the same mask from a fresh random init
// (reinit), and a random mask with the same per-layer counts from the same reset point (random).
import { describeModel, Model } from "../nn/model.js";
import { Random } from "../random.js";
import { withRecordedCrossovers } from "../train/crossover.js";
import type { ProductMode } from "../train/plan.js";
import {
  type EvalPoint,
  evaluationChunk,
  SplitEvaluators,
  type Splits,
  type TrainResult,
  train,
  validateTrainConfig,
  withLiveInputShare,
} from "../train/train.js";
import { type Arm, type LotteryConfig, validateLotteryConfig } from "./config.js";
import { density, magnitudePrune, pruneToFraction, randomMask, weightsToPrune } from "./masks.js";

export interface RoundResult {
  arm: Arm;
  round: number;
  /** Fraction of prunable weights remaining, overall and per layer. */
  remaining: number;
  remainingByLayer: Record<string, number>;
  kept: number;
  earlyStopIteration: number;
  earlyStopValLoss: number;
  earlyStopValAccuracy: number;
  earlyStopTestAccuracy: number;
  finalValAccuracy: number;
  finalTestAccuracy: number;
  curve: EvalPoint[];
  seconds: number;
  stepsPerSecond: number;
  /** The path each prunable weight's product trained on (by its crossover; see crossover.ts). */
  products?: Record<string, ProductMode>;
}

export type Weights = Map<string, Float32Array>;

/** Everything needed to continue after a completed round. */
export interface LotteryCheckpoint {
  round: number;
  theta0: Weights;
  /** θK when rewinding (K > 0), else null. */
  rewind: Weights | null;
  /** The ticket's masks in this round. */
  masks: Weights;
  /** The ticket's weights after this round's training. */
  trained: Weights;
  /** Masks of the random-pruning control in this round, if it ran. */
  randomMasks: Weights | null;
}

export interface LotteryState {
  results: RoundResult[];
  /** Rounds 0 .. completedRounds − 1 are done, every arm. */
  completedRounds: number;
  stopReason: string | null;
}

export interface LotteryProgress {
  arm: Arm;
  round: number;
  iteration: number;
  /** Iterations done and planned across the whole search (for an overall ETA). */
  done: number;
  total: number;
  loss: number;
  valAccuracy: number | null;
}

export interface LotteryHooks {
  onProgress?(p: LotteryProgress): void;
  onRunDone?(r: RoundResult): void;
  onRoundDone?(state: LotteryState, checkpoint: LotteryCheckpoint): void;
}

/** The number of pruning rounds that will run (at most config.rounds; fewer if a target is reached). */
export function plannedRounds(config: LotteryConfig): number {
  if (config.oneShot !== undefined) return 1;
  if (config.targetRemaining === undefined) return config.rounds;
  const layers = describeModel(config.spec)
    .parameters.filter((p) => p.prunable)
    .map((p) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      return { name: p.name, size, kept: size };
    });
  const total = layers.reduce((n, l) => n + l.size, 0);
  for (let r = 1; r <= config.rounds; r++) {
    const before = layers.reduce((n, l) => n + l.kept, 0);
    if (config.strategy === "global") {
      const kept = layers.reduce((n, l) => n + l.kept, 0);
      const after = kept - Math.round(config.globalRate * kept);
      layers.forEach((l) => (l.kept = (l.kept * after) / kept));
    } else {
      layers.forEach((l) => (l.kept -= Math.round((config.layerRates[l.name] ?? 0) * l.kept)));
    }
    // a round that prunes nothing ends the search (see findTicket): no later round gets nearer the target
    if (layers.reduce((n, l) => n + l.kept, 0) === before) return config.rounds;
    if (layers.reduce((n, l) => n + l.kept, 0) / total <= config.targetRemaining + 1e-12) return r;
  }
  return config.rounds;
}

function masksOf(model: Model): Weights {
  return new Map(model.prunable().map((p) => [p.name, p.ensureMask().data()]));
}

function setMasks(model: Model, masks: Weights): void {
  for (const p of model.prunable()) {
    const m = masks.get(p.name);
    if (!m) throw new Error(`checkpoint has no mask for ${p.name}`);
    p.ensureMask().set(m);
  }
}

/** One control arm of one round, as handed to a runner: start from `init` under `masks`. */
export interface ControlJob {
  arm: "reinit" | "random";
  round: number;
  init: Weights;
  masks: Weights;
}

/**
 * Trains control arms. The default runs them in this thread; a runner backed by a worker (see
 * the Node entry) trains them while the next round's ticket trains here.
 */
export interface ControlRunner {
  run(job: ControlJob, onStep?: (iteration: number, loss: number) => void): Promise<RoundResult>;
  close(): void;
}

/** Trains `model` as it stands (masks and initial values set) and summarises the run. */
export function trainArm(
  model: Model,
  splits: Splits,
  config: LotteryConfig,
  arm: Arm,
  round: number,
  evaluators: SplitEvaluators,
  onStep?: (iteration: number, loss: number, syncModel: () => void, lastValAccuracy: number | null) => void,
): RoundResult {
  let lastValAccuracy: number | null = null;
  let result: TrainResult;
  try {
    result = train(
      model,
      splits,
      config.train,
      {
        onStep: (iteration, loss, syncModel) => onStep?.(iteration, loss, syncModel, lastValAccuracy),
        onEval: (p) => (lastValAccuracy = p.valAccuracy),
      },
      evaluators,
    );
  } catch (error) {
    // say which run of the search failed (the message already says at which iteration)
    throw new Error(`round ${round}, ${arm} arm: ${(error as Error).message}`);
  }
  const d = density(model.prunable());
  return {
    arm,
    round,
    remaining: d.remaining,
    remainingByLayer: d.byLayer,
    kept: d.kept,
    earlyStopIteration: result.earlyStop.iteration,
    earlyStopValLoss: result.earlyStop.valLoss,
    earlyStopValAccuracy: result.earlyStop.valAccuracy,
    earlyStopTestAccuracy: result.earlyStop.testAccuracy,
    finalValAccuracy: result.final.valAccuracy,
    finalTestAccuracy: result.final.testAccuracy,
    curve: result.curve,
    seconds: result.trainSeconds + result.evalSeconds,
    stepsPerSecond: result.stepsPerSecond,
    products: result.products,
  };
}

/** Runs control arms in this thread, on a model of their own. */
export class InProcessControls implements ControlRunner {
  private model: Model | null = null;
  constructor(
    private readonly splits: Splits,
    private readonly config: LotteryConfig,
    private readonly evaluators: SplitEvaluators,
  ) {}

  // trains at once, before returning (an async function runs synchronously up to its first await)
  async run(job: ControlJob, onStep?: (iteration: number, loss: number) => void): Promise<RoundResult> {
    this.model ??= new Model(this.config.spec, this.config.seed);
    setMasks(this.model, job.masks);
    this.model.restore(job.init);
    return trainArm(this.model, this.splits, this.config, job.arm, job.round, this.evaluators, onStep);
  }

  close(): void {
    this.model?.dispose();
    this.model = null;
  }
}

const ARM_ORDER: Arm[] = ["ticket", "reinit", "random"];

/**
 * The search. Rounds run in order; each round's controls are handed to `runner` (by default in
 * this thread) and may finish while the next round's ticket trains. A round counts as complete
 * (state, `onRoundDone`, checkpoints) once its ticket and all its controls are done, so results
 * are the same whichever runner is used.
 */
export async function findTicket(
  splits: Splits,
  config: LotteryConfig,
  hooks: LotteryHooks = {},
  resume?: { state: LotteryState; checkpoint: LotteryCheckpoint },
  runner?: ControlRunner,
): Promise<LotteryState> {
  validateLotteryConfig(config);
  validateTrainConfig(config.train, splits);
  const planned = plannedRounds(config);
  // the crossovers are fixed once for the whole search: every round, arm and resume chooses by the same ones
  if (planned > 0) config = { ...config, train: withRecordedCrossovers(config.spec, withLiveInputShare(config.train, splits)) };
  const model = new Model(config.spec, config.seed);
  const evaluators = new SplitEvaluators(splits, evaluationChunk(config.spec, config.train.batchSize));
  const controlRunner = runner ?? new InProcessControls(splits, config, evaluators);
  const controls = config.controls;
  const totalIterations = config.train.iterations * (1 + planned * (1 + controls.length));
  const state: LotteryState = resume
    ? { results: [...resume.state.results], completedRounds: resume.state.completedRounds, stopReason: resume.state.stopReason }
    : { results: [], completedRounds: 0, stopReason: null };
  let done = state.results.length * config.train.iterations;
  const progress =
    (arm: Arm, round: number) =>
    (iteration: number, loss: number, _sync?: unknown, valAccuracy: number | null = null): void => {
      done++;
      hooks.onProgress?.({ arm, round, iteration, done, total: totalIterations, loss, valAccuracy });
    };

  let theta0: Weights;
  let rewind: Weights | null = null;
  if (resume) {
    theta0 = resume.checkpoint.theta0;
    rewind = resume.checkpoint.rewind;
    setMasks(model, resume.checkpoint.masks);
    model.restore(resume.checkpoint.trained);
  } else {
    theta0 = model.snapshot();
  }
  let dense = state.results.find((r) => r.arm === "ticket" && r.round === 0) ?? null;

  interface Pending {
    ticket: RoundResult;
    controls: Promise<RoundResult>[];
    checkpoint: LotteryCheckpoint;
    stopReason: string | null;
  }
  const complete = async (p: Pending): Promise<void> => {
    const finished = await Promise.all(p.controls);
    finished.forEach((r) => hooks.onRunDone?.(r));
    state.results.push(p.ticket, ...finished);
    state.results.sort((a, b) => a.round - b.round || ARM_ORDER.indexOf(a.arm) - ARM_ORDER.indexOf(b.arm));
    state.completedRounds = p.checkpoint.round + 1;
    state.stopReason = p.stopReason;
    hooks.onRoundDone?.(state, p.checkpoint);
  };

  let pending: Pending | null = null;
  try {
    if (state.stopReason) return state;
    for (let round = state.completedRounds; round <= planned; round++) {
      if (round > 0 && config.oneShot === undefined && weightsToPrune(model.prunable(), config.strategy, config.layerRates, config.globalRate) === 0) {
        // every later round would train the same mask again, forever
        const kept = density(model.prunable()).kept;
        const reason = `round ${round} would prune nothing: ${config.strategy === "global" ? "round(rate × remaining) is 0" : "round(rate × remaining) is 0 in every layer"} with ${kept} weights remaining`;
        if (pending) pending.stopReason = reason;
        else state.stopReason = reason;
        break;
      }
      if (round > 0) {
        // the model holds the previous round's trained ticket and its masks
        if (config.oneShot !== undefined) pruneToFraction(model.prunable(), config.strategy, config.oneShot);
        else magnitudePrune(model.prunable(), config.strategy, config.layerRates, config.globalRate);
      }
      const resetPoint = config.rewind > 0 && rewind ? rewind : theta0;
      const ticketMasks = masksOf(model);
      if (round > 0) model.restore(resetPoint);
      const ticketProgress = progress("ticket", round);
      let ticket: RoundResult;
      try {
        ticket = trainArm(model, splits, config, "ticket", round, evaluators, (iteration, loss, syncModel, valAccuracy) => {
          if (round === 0 && config.rewind > 0 && iteration === config.rewind) {
            syncModel();
            rewind = model.snapshot();
          }
          ticketProgress(iteration, loss, undefined, valAccuracy);
        });
      } catch (error) {
        // the previous round is finished once its controls are: keep it (saved, resumable) before failing
        if (pending) {
          const finished = pending;
          pending = null;
          await complete(finished);
        }
        throw error;
      }
      hooks.onRunDone?.(ticket);
      if (round === 0) dense = ticket;
      const trained = model.snapshot();
      // the previous round's controls have been training meanwhile
      if (pending) {
        await complete(pending);
        pending = null;
      }

      let randomMasks: Weights | null = null;
      const jobs: Promise<RoundResult>[] = [];
      if (round > 0) {
        for (const arm of controls) {
          if (arm === "reinit") {
            const fresh = new Model(config.spec, config.seed, 1000 + round);
            const init = fresh.snapshot();
            fresh.dispose();
            jobs.push(controlRunner.run({ arm, round, init, masks: ticketMasks }, progress(arm, round)));
          } else {
            const rng = new Random(config.seed, 2000 + round);
            randomMasks = new Map(
              model.prunable().map((p) => {
                const kept = Math.round(ticketMasks.get(p.name)!.reduce((a, b) => a + b, 0));
                return [p.name, randomMask(p.value.size, kept, rng)];
              }),
            );
            jobs.push(controlRunner.run({ arm: "random", round, init: resetPoint, masks: randomMasks }, progress(arm, round)));
          }
        }
      }

      let stopReason: string | null = null;
      if (config.oneShot !== undefined && round === 1) stopReason = `one-shot pruning to ${(config.oneShot * 100).toFixed(1)}% done`;
      else if (config.targetRemaining !== undefined && ticket.remaining <= config.targetRemaining + 1e-12) {
        stopReason = `target reached: ${(ticket.remaining * 100).toFixed(2)}% of weights remaining ≤ ${(config.targetRemaining * 100).toFixed(2)}%`;
      } else if (config.tolerance !== undefined && round > 0 && dense!.earlyStopValAccuracy - ticket.earlyStopValAccuracy > config.tolerance) {
        stopReason = `accuracy fell ${((dense!.earlyStopValAccuracy - ticket.earlyStopValAccuracy) * 100).toFixed(2)} points below dense (tolerance ${(config.tolerance * 100).toFixed(2)})`;
      } else if (round === planned) stopReason = `${planned} pruning rounds done`;
      pending = { ticket, controls: jobs, checkpoint: { round, theta0, rewind, masks: ticketMasks, trained, randomMasks }, stopReason };
      if (stopReason) break;
    }
    if (pending) await complete(pending);
    return state;
  } finally {
    if (!runner) controlRunner.close();
    evaluators.dispose();
    model.dispose();
  }
}
