// `ticket export DIR --round N`: one round's winning ticket as a single safetensors file.
import { dirname, join } from "node:path";
import { Command } from "commander";
import { encodeSafetensors, type NamedTensor } from "../io/safetensors.js";
import { writeFileAtomic } from "../node/atomic-write.js";
import {
  checkAgainstResults,
  checkpointPath,
  checksumMetadata,
  expectationFor,
  parameterShapes,
  readCheckpoint,
  readSavedState,
  STATE_FILE,
} from "../node/checkpoint.js";
import { checkFolderPath } from "../node/run-folder.js";
import { integer } from "./options.js";
import { UsageError } from "./usage-error.js";

export function exportCommand(): Command {
  return new Command("export")
    .description("write one round's winning ticket (mask, θ0 and trained weights) as a safetensors file")
    .argument("<dir>", "output directory of `ticket find`")
    .requiredOption("--round <n>", "which round's ticket")
    .option("--out <file>", "output file (default: <dir>/ticket-round-NN.safetensors)")
    .action((dir: string, o: { round: string; out?: string }) => {
      const round = integer("--round", o.round, 0);
      const out = o.out ?? join(dir, `ticket-round-${String(round).padStart(2, "0")}.safetensors`);
      if (o.out !== undefined) checkFolderPath(dirname(out), `--out ${out}`);
      const saved = readSavedState(dir, "export");
      if (round >= saved.state.completedRounds) {
        throw new UsageError(`--round ${round}: ${dir} has rounds 0 to ${saved.state.completedRounds - 1}`);
      }
      const path = checkpointPath(dir, round);
      const c = readCheckpoint(path, saved.config.spec, expectationFor(saved.config, round));
      checkAgainstResults(path, c, saved.state, join(dir, STATE_FILE));
      const shapes = parameterShapes(saved.config.spec);
      const tensors = new Map<string, NamedTensor>();
      const add = (prefix: string, weights: Map<string, Float32Array>): void => {
        for (const [name, data] of weights) tensors.set(`${prefix}.${name}`, { shape: shapes.get(name)!, data });
      };
      // the reset point the ticket trains from: θK when the search rewound, else θ0
      add("init", c.rewind ?? c.theta0);
      add("mask", c.masks);
      add("trained", c.trained);
      const result = saved.state.results.find((r) => r.arm === "ticket" && r.round === round);
      writeFileAtomic(
        out,
        encodeSafetensors(tensors, {
          format: "winning-ticket/ticket@1",
          round: String(round),
          model: saved.config.model ?? "",
          model_spec: JSON.stringify(saved.config.spec),
          layout: "linear weights are [in, out] (y = x @ W + b); conv2d kernels are [out, in, kh, kw] as in PyTorch; input flattened channel-first (c, h, w)",
          reset: c.rewind ? `rewind to iteration ${saved.config.rewind}` : "theta0",
          percent_remaining: result ? (result.remaining * 100).toFixed(3) : "",
          early_stop_test_accuracy: result ? result.earlyStopTestAccuracy.toFixed(4) : "",
          ...checksumMetadata(tensors),
        }),
      );
      console.log(`wrote ${out}`);
    });
}
