#!/usr/bin/env node
// The `ticket` command line: train, find, export. Mistakes in the command line exit with code 2
// and one clear line; failures while running exit with code 1 and one clear line (no stack
// trace unless WT_DEBUG is set).
import { setFlagsFromString } from "node:v8";

// Favour a small heap: the garbage of a training step is short-lived, and this keeps the
// tool's peak RSS down (measured: −3 MB on LeNet-300-100) at no cost in speed.
setFlagsFromString("--optimize-for-size");
enableRelaxedSimd();

import { Command, CommanderError } from "commander";
import { CrossoverCache } from "../node/crossover-cache.js";
import { enableRelaxedSimd } from "../node/relaxed-simd.js";
import { useCrossoverStore } from "../train/crossover.js";
import { exportCommand } from "./export-command.js";
import { findCommand } from "./find-command.js";
import { instabilityCommand } from "./instability-command.js";
import { sweepCommand } from "./sweep-command.js";
import { trainCommand } from "./train-command.js";
import { UsageError } from "./usage-error.js";
import { workerCommand } from "./worker-command.js";

// a machine measures each layer shape's crossover once (see src/node/crossover-cache.ts)
useCrossoverStore(new CrossoverCache(undefined, (line) => process.stderr.write(`ticket: warning: ${line}\n`)));

const program = new Command("ticket")
  .description("winning-ticket: find lottery tickets (sparse, trainable subnetworks) with WebAssembly SIMD")
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();
for (const cmd of [trainCommand(), findCommand(), exportCommand(), instabilityCommand(), sweepCommand(), workerCommand()])
  program.addCommand(cmd.exitOverride().showHelpAfterError("(run with --help for usage)"));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // help and version "errors" are normal exits; commander already printed the message
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof UsageError) {
    process.stderr.write(`ticket: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`ticket: ${(error as Error).message}\n`);
  if (process.env.WT_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
}
