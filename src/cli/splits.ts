// The data flags of a command.
import { defaultMnistDir } from "../node/mnist-files.js";
import { type DataChoice, type LoadedSplits, loadSplits as loadSplitsFromDisk } from "../node/splits.js";
import { type CommonOptions, integer } from "./options.js";
import { UsageError } from "./usage-error.js";

export type { DataChoice };

export function dataChoice(o: CommonOptions): DataChoice {
  return {
    dir: o.data ?? defaultMnistDir(),
    validation: integer("--validation", o.validation, 1),
    trainSubset: o.trainSubset === undefined ? null : integer("--train-subset", o.trainSubset, 1),
    normalize: Boolean(o.normalize),
    seed: integer("--seed", o.seed, 0),
  };
}

export function loadSplits(choice: DataChoice): LoadedSplits {
  try {
    return loadSplitsFromDisk(choice);
  } catch (error) {
    const message = (error as Error).message;
    throw message.startsWith("--validation") ? new UsageError(message) : error;
  }
}
