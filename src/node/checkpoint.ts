// Checkpoints of a lottery search on disk (Node only). After each round: the round's tensors in
// safetensors (θ0, θK when rewinding, the ticket's mask and trained weights, the random control's
// mask), then state.json — written last, atomically, so it only ever points at complete rounds.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../io/safetensors.js";
import type { LotteryConfig } from "../lottery/config.js";
import type { LotteryCheckpoint, LotteryState, Weights } from "../lottery/find.js";
import { describeModel } from "../nn/model.js";
import type { ModelSpec } from "../nn/model-spec.js";
import { parseModelSpec } from "../nn/model-spec.js";
import { upgradeSpec } from "../nn/registry.js";
import { writeFileAtomic, writeJsonAtomic } from "./atomic-write.js";

export const STATE_FILE = "state.json";
const FORMAT = "winning-ticket/lottery-state@1";

export function checkpointPath(dir: string, round: number): string {
  return join(dir, "checkpoints", `round-${String(round).padStart(2, "0")}.safetensors`);
}

/** Parameter shapes by name, from the model spec. */
export function parameterShapes(spec: ModelSpec): Map<string, number[]> {
  return new Map(describeModel(spec).parameters.map((p) => [p.name, p.shape]));
}

function addGroup(out: Map<string, NamedTensor>, prefix: string, weights: Weights, shapes: Map<string, number[]>): void {
  for (const [name, data] of weights) out.set(`${prefix}/${name}`, { shape: shapes.get(name) ?? [data.length], data });
}

export function encodeCheckpoint(c: LotteryCheckpoint, spec: ModelSpec, metadata: Record<string, string> = {}): Uint8Array {
  const shapes = parameterShapes(spec);
  const tensors = new Map<string, NamedTensor>();
  addGroup(tensors, "theta0", c.theta0, shapes);
  if (c.rewind) addGroup(tensors, "rewind", c.rewind, shapes);
  addGroup(tensors, "mask", c.masks, shapes);
  addGroup(tensors, "trained", c.trained, shapes);
  if (c.randomMasks) addGroup(tensors, "random_mask", c.randomMasks, shapes);
  return encodeSafetensors(tensors, { format: "winning-ticket/round@1", round: String(c.round), ...metadata });
}

function group(tensors: Map<string, NamedTensor>, prefix: string): Weights {
  const out: Weights = new Map();
  for (const [name, t] of tensors) if (name.startsWith(`${prefix}/`)) out.set(name.slice(prefix.length + 1), t.data);
  return out;
}

export function readCheckpoint(path: string, spec: ModelSpec): LotteryCheckpoint {
  if (!existsSync(path)) throw new Error(`${path}: checkpoint missing`);
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const shapes = parameterShapes(spec);
  const check = (prefix: string, names: Iterable<string>): void => {
    for (const name of names) {
      const t = tensors.get(`${prefix}/${name}`);
      if (!t) throw new Error(`${path}: checkpoint has no tensor ${prefix}/${name}`);
      const want = shapes.get(name)!;
      if (t.shape.join(",") !== want.join(","))
        throw new Error(`${path}: ${prefix}/${name} has shape [${t.shape.join(", ")}], the model needs [${want.join(", ")}]`);
    }
  };
  const weights = describeModel(spec)
    .parameters.filter((p) => p.prunable)
    .map((p) => p.name);
  check("theta0", shapes.keys());
  check("trained", shapes.keys());
  check("mask", weights);
  const round = Number(metadata.round);
  if (!Number.isInteger(round)) throw new Error(`${path}: checkpoint metadata has no round number`);
  const rewind = group(tensors, "rewind");
  const randomMasks = group(tensors, "random_mask");
  return {
    round,
    theta0: group(tensors, "theta0"),
    rewind: rewind.size ? rewind : null,
    masks: group(tensors, "mask"),
    trained: group(tensors, "trained"),
    randomMasks: randomMasks.size ? randomMasks : null,
  };
}

export interface SavedRun {
  config: LotteryConfig;
  state: LotteryState;
}

export function saveRound(dir: string, config: LotteryConfig, state: LotteryState, checkpoint: LotteryCheckpoint): void {
  writeFileAtomic(checkpointPath(dir, checkpoint.round), encodeCheckpoint(checkpoint, config.spec));
  writeJsonAtomic(join(dir, STATE_FILE), { format: FORMAT, config, state });
}

export function loadSavedRun(dir: string): SavedRun & { checkpoint: LotteryCheckpoint } {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) throw new Error(`${path}: nothing to resume (no state file; was this directory written by \`ticket find\`?)`);
  let saved: { format?: unknown; config?: LotteryConfig; state?: LotteryState };
  try {
    saved = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: corrupt state file (${(error as Error).message})`);
  }
  if (saved.format !== FORMAT || !saved.config || !saved.state || !Number.isInteger(saved.state.completedRounds) || saved.state.completedRounds < 1) {
    throw new Error(`${path}: not a winning-ticket lottery state (format ${String(saved.format)})`);
  }
  saved.config.spec = parseModelSpec(upgradeSpec(saved.config.spec), `${path}: config.spec`);
  try {
    describeModel(saved.config.spec);
  } catch (error) {
    throw new Error(`${path}: config.spec: ${(error as Error).message}`);
  }
  const checkpoint = readCheckpoint(checkpointPath(dir, saved.state.completedRounds - 1), saved.config.spec);
  if (checkpoint.round !== saved.state.completedRounds - 1) {
    throw new Error(`${checkpointPath(dir, saved.state.completedRounds - 1)}: holds round ${checkpoint.round}, expected ${saved.state.completedRounds - 1}`);
  }
  return { config: saved.config, state: saved.state, checkpoint };
}
