// Checks a lottery search's state.json as a whole before anything is resumed or exported from it:
// every field of the config with the same rules as the flags, every result, and that the results
// are exactly the rounds and arms `completedRounds` says are done. Each error names the file and
// the field, so a damaged or hand-edited file is never met later as an internal error.
import type { Arm, LotteryConfig } from "../lottery/config.js";
import type { LotteryState, RoundResult } from "../lottery/find.js";
import { describeModel } from "../nn/model.js";
import { parseModelSpec } from "../nn/model-spec.js";
import { upgradeSpec } from "../nn/registry.js";
import { LEGACY_CROSSOVER } from "../train/crossover.js";
import type { DataChoice } from "./splits.js";

export const STATE_FORMAT = "winning-ticket/lottery-state@1";

export type SavedConfig = LotteryConfig & { data: DataChoice };

export interface SavedState {
  config: SavedConfig;
  state: LotteryState;
}

type Json = Record<string, unknown>;

const shown = (v: unknown): string => {
  if (v === undefined) return "nothing (the field is missing)";
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};

class FieldChecker {
  constructor(readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new Error(`${this.file}: ${field} ${problem}`);
  }

  object(v: unknown, field: string): Json {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, `must be an object, got ${shown(v)}`);
    return v as Json;
  }

  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array, got ${shown(v)}`);
    return v;
  }

  integer(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
      this.fail(field, `must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}, got ${shown(v)}`);
    }
    return v;
  }

  number(v: unknown, field: string, check: (v: number) => boolean, expected: string): number {
    if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) this.fail(field, `must be ${expected}, got ${shown(v)}`);
    return v;
  }

  optionalNumber(v: unknown, field: string, check: (v: number) => boolean, expected: string): void {
    if (v !== undefined && v !== null) this.number(v, field, check, expected);
  }

  boolean(v: unknown, field: string): boolean {
    if (typeof v !== "boolean") this.fail(field, `must be true or false, got ${shown(v)}`);
    return v;
  }

  string(v: unknown, field: string, allowEmpty = true): string {
    if (typeof v !== "string" || (!allowEmpty && v === "")) this.fail(field, `must be a${allowEmpty ? "" : " non-empty"} string, got ${shown(v)}`);
    return v;
  }

  oneOf<T extends string>(v: unknown, field: string, choices: readonly T[]): T {
    if (!choices.includes(v as T)) this.fail(field, `must be one of ${choices.join(", ")}, got ${shown(v)}`);
    return v as T;
  }
}

const fraction = (v: number): boolean => v >= 0 && v < 1;
const closedFraction = (v: number): boolean => v >= 0 && v <= 1;

/** Checks parsed state.json content (`file` is its path, named in every error) and returns it typed. */
export function validateSavedState(json: unknown, file: string): SavedState {
  const f = new FieldChecker(file);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    f.fail("(the whole file)", `must be a JSON object written by \`ticket find\`, got ${shown(json)}`);
  }
  const top = json as Json;
  if (top.format !== STATE_FORMAT) f.fail("format", `must be "${STATE_FORMAT}" (not a winning-ticket lottery state?), got ${shown(top.format)}`);
  const config = f.object(top.config, "config");

  // the model first: layer names are checked against it
  const rawSpec = f.object(config.spec, "config.spec");
  // the spec parser names a layer's fields; its list and their types are checked here first
  if (rawSpec.layers !== undefined) {
    f.array(rawSpec.layers, "config.spec.layers").forEach((layer, i) => {
      f.string(f.object(layer, `config.spec.layers[${i}]`).type, `config.spec.layers[${i}].type`, false);
    });
  }
  let spec: LotteryConfig["spec"];
  let prunable: string[];
  try {
    spec = parseModelSpec(upgradeSpec(config.spec), `${file}: config.spec`);
    prunable = describeModel(spec)
      .parameters.filter((p) => p.prunable)
      .map((p) => p.name);
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(file) ? message : `${file}: config.spec: ${message}`);
  }
  config.spec = spec;
  if (config.model !== undefined) f.string(config.model, "config.model");
  if (config.protocol !== undefined) f.string(config.protocol, "config.protocol");

  const train = f.object(config.train, "config.train");
  const iterations = f.integer(train.iterations, "config.train.iterations", 1);
  f.integer(train.batchSize, "config.train.batchSize", 1);
  f.integer(train.evalEvery, "config.train.evalEvery", 1);
  f.oneOf(train.optimizer, "config.train.optimizer", ["adam", "sgd"]);
  f.number(train.lr, "config.train.lr", (v) => v > 0, "a positive number");
  f.number(train.momentum, "config.train.momentum", fraction, "in [0, 1)");
  f.number(train.weightDecay, "config.train.weightDecay", (v) => v >= 0, "≥ 0");
  f.integer(train.dataSeed, "config.train.dataSeed", 0);
  if (train.testCurve !== undefined) f.boolean(train.testCurve, "config.train.testCurve"); // find without --test-curve saves none
  if (train.sparse !== undefined) f.oneOf(train.sparse, "config.train.sparse", ["auto", "always", "never"]);
  const rule = (field: "crossover" | "rowMajorCrossover"): void => {
    const value = train[field];
    const at = `config.train.${field}`;
    if (typeof value === "number") f.number(value, at, closedFraction, "a fraction in [0, 1]");
    else if (value !== undefined) {
      const byName = f.object(value, at);
      for (const name of Object.keys(byName)) {
        if (!prunable.includes(name)) f.fail(`${at}.${name}`, `is not a prunable weight of this model (it has ${prunable.join(", ")})`);
      }
      // a search records every weight's: none may be left to measure again on resume
      for (const name of prunable) f.number(byName[name], `${at}.${name}`, closedFraction, "a fraction in [0, 1]");
    }
  };
  rule("crossover");
  rule("rowMajorCrossover");
  if (train.liveInputShare !== undefined) f.number(train.liveInputShare, "config.train.liveInputShare", closedFraction, "a fraction in [0, 1]");
  if (train.crossover === undefined && train.rowMajorCrossover !== undefined)
    f.fail("config.train.rowMajorCrossover", "is given without config.train.crossover");
  // saved before crossovers were measured: the rule that run used
  if (train.crossover === undefined && (train.sparse ?? "auto") === "auto") train.crossover = LEGACY_CROSSOVER;

  const seed = f.integer(config.seed, "config.seed", 0);
  const strategy = f.oneOf(config.strategy, "config.strategy", ["layerwise", "global"]);
  const rates = f.object(config.layerRates, "config.layerRates");
  for (const [name, rate] of Object.entries(rates)) {
    if (!prunable.includes(name)) f.fail(`config.layerRates.${name}`, `is not a prunable weight of this model (it has ${prunable.join(", ")})`);
    f.number(rate, `config.layerRates.${name}`, fraction, "a fraction in [0, 1)");
  }
  if (strategy === "layerwise")
    for (const name of prunable)
      if (!(name in rates)) f.fail(`config.layerRates.${name}`, "is missing (layer-wise pruning needs a rate for every prunable weight)");
  f.number(config.globalRate, "config.globalRate", fraction, "a fraction in [0, 1)");
  f.integer(config.rounds, "config.rounds", 0);
  f.optionalNumber(config.targetRemaining, "config.targetRemaining", (v) => v > 0 && v <= 1, "a fraction remaining in (0, 1]");
  f.optionalNumber(config.tolerance, "config.tolerance", closedFraction, "a fraction in [0, 1]");
  f.integer(config.rewind, "config.rewind", 0, iterations);
  f.optionalNumber(config.oneShot, "config.oneShot", (v) => v > 0 && v < 1, "a fraction remaining in (0, 1)");
  const controls = f.array(config.controls, "config.controls");
  controls.forEach((c, i) => f.oneOf(c, `config.controls[${i}]`, ["reinit", "random"]));
  if (new Set(controls).size !== controls.length) f.fail("config.controls", `names an arm twice: ${shown(controls)}`);

  const data = f.object(config.data, "config.data");
  f.string(data.dir, "config.data.dir", false);
  f.integer(data.validation, "config.data.validation", 1);
  if (data.trainSubset !== null) f.integer(data.trainSubset, "config.data.trainSubset", 1);
  f.boolean(data.normalize, "config.data.normalize");
  f.integer(data.seed, "config.data.seed", 0);
  if (data.seed !== seed) f.fail("config.data.seed", `is ${data.seed} but config.seed is ${seed} (both come from --seed)`);
  if (train.dataSeed !== seed) f.fail("config.train.dataSeed", `is ${train.dataSeed} but config.seed is ${seed} (both come from --seed)`);

  const state = f.object(top.state, "state");
  const completed = f.integer(state.completedRounds, "state.completedRounds", 1);
  if (state.stopReason !== null) f.string(state.stopReason, "state.stopReason");
  const results = f.array(state.results, "state.results");
  const arms: Arm[] = ["ticket", ...(controls as Arm[])];
  const seen = new Set<string>();
  results.forEach((value, i) => {
    const at = `state.results[${i}]`;
    const r = f.object(value, at);
    const arm = f.oneOf(r.arm, `${at}.arm`, arms);
    const round = f.integer(r.round, `${at}.round`, 0);
    if (round >= completed)
      f.fail(`${at}.round`, `is ${round}, beyond the rounds 0 to ${completed - 1} that state.completedRounds (${completed}) says are done`);
    if (arm !== "ticket" && round === 0) f.fail(`${at}.round`, `is 0, but the ${arm} control starts at round 1`);
    const key = `${arm} ${round}`;
    if (seen.has(key)) f.fail(at, `repeats round ${round} of the ${arm} arm`);
    seen.add(key);
    f.number(r.remaining, `${at}.remaining`, closedFraction, "a fraction in [0, 1]");
    const byLayer = f.object(r.remainingByLayer, `${at}.remainingByLayer`);
    for (const name of Object.keys(byLayer)) if (!prunable.includes(name)) f.fail(`${at}.remainingByLayer.${name}`, "is not a prunable weight of this model");
    for (const name of prunable) f.number(byLayer[name], `${at}.remainingByLayer.${name}`, closedFraction, "a fraction in [0, 1]");
    f.integer(r.kept, `${at}.kept`, 0);
    f.integer(r.earlyStopIteration, `${at}.earlyStopIteration`, 0, iterations);
    f.number(r.earlyStopValLoss, `${at}.earlyStopValLoss`, (v) => v >= 0, "a finite loss ≥ 0");
    for (const field of ["earlyStopValAccuracy", "earlyStopTestAccuracy", "finalValAccuracy", "finalTestAccuracy"]) {
      f.number(r[field], `${at}.${field}`, closedFraction, "an accuracy in [0, 1]");
    }
    f.array(r.curve, `${at}.curve`);
    if (r.products !== undefined) {
      for (const [name, mode] of Object.entries(f.object(r.products, `${at}.products`))) {
        if (!prunable.includes(name)) f.fail(`${at}.products.${name}`, "is not a prunable weight of this model");
        f.oneOf(mode, `${at}.products.${name}`, ["dense", "sparse"]);
      }
    }
    f.number(r.seconds, `${at}.seconds`, (v) => v >= 0, "a time ≥ 0");
  });
  // exactly the runs of rounds 0 .. completedRounds − 1
  for (let round = 0; round < completed; round++) {
    for (const arm of round === 0 ? ["ticket"] : arms) {
      if (!seen.has(`${arm} ${round}`))
        f.fail("state.results", `has no result for round ${round} of the ${arm} arm, though state.completedRounds is ${completed}`);
    }
  }
  return { config: config as unknown as SavedConfig, state: { ...(state as unknown as LotteryState), results: results as RoundResult[] } };
}
