// Checkpoints of a lottery search on disk (Node only). After each round: the round's tensors in
// safetensors (θ0, θK when rewinding, the ticket's mask and trained weights, the random control's
// mask), then state.json — written last, atomically, so it only ever points at complete rounds.
// Every tensor carries a SHA-256 checksum in the file's metadata, verified on load; masks must be
// exactly 0/1 and weights finite (also in older files without checksums).
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../io/safetensors.js";
import type { LotteryConfig } from "../lottery/config.js";
import type { LotteryCheckpoint, LotteryState, Weights } from "../lottery/find.js";
import { describeModel } from "../nn/model.js";
import type { ModelSpec } from "../nn/model-spec.js";
import { writeFileAtomic, writeJsonAtomic } from "./atomic-write.js";
import { readRegularFile, statFile } from "./regular-file.js";
import { type SavedConfig, STATE_FORMAT, validateSavedState } from "./saved-state.js";

export const STATE_FILE = "state.json";
/** A state file is a few kilobytes per round; far more is not one. */
const MAX_STATE_BYTES = 256 * 2 ** 20;
const CHECKSUM_PREFIX = "sha256:";

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

/** SHA-256 of a tensor's little-endian bytes, as stored in the file. */
function checksum(data: Float32Array): string {
  return createHash("sha256")
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest("hex");
}

/** Metadata entries `sha256:<tensor>` for every tensor. */
export function checksumMetadata(tensors: Map<string, NamedTensor>): Record<string, string> {
  return Object.fromEntries([...tensors].map(([name, t]) => [`${CHECKSUM_PREFIX}${name}`, checksum(t.data)]));
}

export function encodeCheckpoint(c: LotteryCheckpoint, spec: ModelSpec, metadata: Record<string, string> = {}): Uint8Array {
  const shapes = parameterShapes(spec);
  const tensors = new Map<string, NamedTensor>();
  addGroup(tensors, "theta0", c.theta0, shapes);
  if (c.rewind) addGroup(tensors, "rewind", c.rewind, shapes);
  addGroup(tensors, "mask", c.masks, shapes);
  addGroup(tensors, "trained", c.trained, shapes);
  if (c.randomMasks) addGroup(tensors, "random_mask", c.randomMasks, shapes);
  return encodeSafetensors(tensors, { format: "winning-ticket/round@1", round: String(c.round), ...checksumMetadata(tensors), ...metadata });
}

function group(tensors: Map<string, NamedTensor>, prefix: string): Weights {
  const out: Weights = new Map();
  for (const [name, t] of tensors) if (name.startsWith(`${prefix}/`)) out.set(name.slice(prefix.length + 1), t.data);
  return out;
}

/**
 * Checks the checksums of a safetensors file's tensors when it has them (every tensor must then
 * have one, and every checksum a tensor); files written before checksums are accepted as they are.
 */
export function verifyChecksums(path: string, tensors: Map<string, NamedTensor>, metadata: Record<string, string>): void {
  const sums = Object.keys(metadata).filter((key) => key.startsWith(CHECKSUM_PREFIX));
  if (sums.length === 0) return;
  for (const key of sums) {
    if (!tensors.has(key.slice(CHECKSUM_PREFIX.length))) throw new Error(`${path}: metadata ${key} is for a tensor the file does not hold`);
  }
  for (const [name, t] of tensors) {
    const want = metadata[`${CHECKSUM_PREFIX}${name}`];
    if (want === undefined) throw new Error(`${path}: tensor ${name} has no checksum, though the file's other tensors do`);
    if (checksum(t.data) !== want) throw new Error(`${path}: tensor ${name} does not match its SHA-256 checksum (the file is damaged)`);
  }
}

function checkMask(path: string, name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0 && data[i] !== 1) throw new Error(`${path}: tensor ${name} holds ${data[i]} at index ${i}; a mask holds only 0 and 1`);
  }
}

function checkFinite(path: string, name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new Error(`${path}: tensor ${name} holds ${data[i]} at index ${i}; weights must be finite`);
  }
}

/** What the search's config says a round's checkpoint must hold. */
export interface CheckpointExpectation {
  round: number;
  rewind: boolean;
  randomMasks: boolean;
}

/** The largest file a checkpoint of this model can be: five groups of every parameter, and room for the header. */
function checkpointLimit(spec: ModelSpec): number {
  const floats = describeModel(spec).parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  return 5 * 4 * floats + 16 * 2 ** 20;
}

export function readCheckpoint(path: string, spec: ModelSpec, expect?: CheckpointExpectation): LotteryCheckpoint {
  statFile(path, "checkpoint");
  const { tensors, metadata } = decodeSafetensors(readRegularFile(path, checkpointLimit(spec), "checkpoint"), path);
  verifyChecksums(path, tensors, metadata);
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
  const rewind = group(tensors, "rewind");
  const randomMasks = group(tensors, "random_mask");
  if (rewind.size) check("rewind", shapes.keys());
  if (randomMasks.size) check("random_mask", weights);
  for (const [name, t] of tensors) {
    const known = ["theta0", "rewind", "mask", "trained", "random_mask"].find((prefix) => name.startsWith(`${prefix}/`));
    const parameter = known ? name.slice(known.length + 1) : "";
    if (!known || !shapes.has(parameter) || (known.endsWith("mask") && !weights.includes(parameter))) {
      throw new Error(`${path}: tensor ${name} is not part of a checkpoint of this model`);
    }
    if (known.endsWith("mask")) checkMask(path, name, t.data);
    else checkFinite(path, name, t.data);
  }
  const round = Number(metadata.round);
  if (!/^\d+$/.test(metadata.round ?? "") || !Number.isSafeInteger(round)) throw new Error(`${path}: checkpoint metadata has no round number`);
  if (expect) {
    if (round !== expect.round) throw new Error(`${path}: metadata round is ${round}, expected ${expect.round}`);
    if (expect.rewind !== rewind.size > 0) {
      throw new Error(
        `${path}: ${expect.rewind ? "has no rewind/ tensors, though the search rewinds" : "holds rewind/ tensors, though the search does not rewind"}`,
      );
    }
    if (expect.randomMasks !== randomMasks.size > 0) {
      throw new Error(
        `${path}: ${expect.randomMasks ? "has no random_mask/ tensors, though the random control ran in this round" : "holds random_mask/ tensors, though no random control ran in this round"}`,
      );
    }
  }
  return {
    round,
    theta0: group(tensors, "theta0"),
    rewind: rewind.size ? rewind : null,
    masks: group(tensors, "mask"),
    trained: group(tensors, "trained"),
    randomMasks: randomMasks.size ? randomMasks : null,
  };
}

/** What a round's checkpoint must hold under this search's config. */
export function expectationFor(config: LotteryConfig, round: number): CheckpointExpectation {
  return { round, rewind: config.rewind > 0, randomMasks: round > 0 && config.controls.includes("random") };
}

export interface SavedRun {
  config: LotteryConfig;
  state: LotteryState;
}

export function saveRound(dir: string, config: LotteryConfig, state: LotteryState, checkpoint: LotteryCheckpoint): void {
  writeFileAtomic(checkpointPath(dir, checkpoint.round), encodeCheckpoint(checkpoint, config.spec));
  writeJsonAtomic(join(dir, STATE_FILE), { format: STATE_FORMAT, config, state });
}

/** Reads and checks state.json alone (see saved-state.ts). */
export function readSavedState(dir: string, purpose: "resume" | "export" = "resume"): { config: SavedConfig; state: LotteryState } {
  const nothing = purpose === "resume" ? "nothing to resume" : "no search to export from";
  const path = join(dir, STATE_FILE);
  const dirStats = (() => {
    try {
      return statFile(dir, "run folder");
    } catch {
      return null;
    }
  })();
  if (!dirStats) throw new Error(`${dir}: ${nothing} (no such folder)`);
  if (!dirStats.isDirectory()) throw new Error(`${dir}: ${nothing} (not a folder)`);
  try {
    statFile(path, "state file");
  } catch {
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error(`${path}: is a dangling symbolic link`);
    throw new Error(`${path}: ${nothing} (no state file; was this directory written by \`ticket find\`?)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(readRegularFile(path, MAX_STATE_BYTES, "state file")));
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(path) ? message : `${path}: corrupt state file (${message})`);
  }
  return validateSavedState(json, path);
}

/** The saved search and its last checkpoint, each checked in full and against each other. */
export function loadSavedRun(dir: string): SavedRun & { config: SavedConfig; checkpoint: LotteryCheckpoint } {
  const saved = readSavedState(dir);
  const last = saved.state.completedRounds - 1;
  const path = checkpointPath(dir, last);
  const checkpoint = readCheckpoint(path, saved.config.spec, expectationFor(saved.config, last));
  checkAgainstResults(path, checkpoint, saved.state, join(dir, STATE_FILE));
  return { config: saved.config, state: saved.state, checkpoint };
}

/** A checkpoint's masks must keep the counts state.json records for that round. */
export function checkAgainstResults(path: string, checkpoint: LotteryCheckpoint, state: LotteryState, statePath: string): void {
  const counts = (masks: Weights): number => [...masks.values()].reduce((n, m) => n + m.reduce((a, b) => a + b, 0), 0);
  const ticket = state.results.find((r) => r.arm === "ticket" && r.round === checkpoint.round);
  if (ticket && counts(checkpoint.masks) !== ticket.kept) {
    throw new Error(
      `${path}: the ticket's masks keep ${counts(checkpoint.masks)} weights, but ${statePath} records ${ticket.kept} for round ${checkpoint.round}`,
    );
  }
  const random = state.results.find((r) => r.arm === "random" && r.round === checkpoint.round);
  if (random && checkpoint.randomMasks && counts(checkpoint.randomMasks) !== random.kept) {
    throw new Error(
      `${path}: the random control's masks keep ${counts(checkpoint.randomMasks)} weights, but ${statePath} records ${random.kept} for round ${checkpoint.round}`,
    );
  }
}
