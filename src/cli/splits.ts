// Loads the data a command asked for and splits it as the paper does.
import { allExamples, splitValidation, take } from "../data/dataset.js";
import { standardScaling, UNIT_SCALING } from "../data/batches.js";
import { loadMnistDir, defaultMnistDir } from "../node/mnist-files.js";
import { Random } from "../random.js";
import type { Splits } from "../train/train.js";
import { integer, type CommonOptions } from "./options.js";
import { UsageError } from "./usage-error.js";

export interface DataChoice {
  dir: string;
  validation: number;
  trainSubset: number | null;
  normalize: boolean;
  seed: number;
}

export function dataChoice(o: CommonOptions): DataChoice {
  return {
    dir: o.data ?? defaultMnistDir(),
    validation: integer("--validation", o.validation, 1),
    trainSubset: o.trainSubset === undefined ? null : integer("--train-subset", o.trainSubset, 1),
    normalize: Boolean(o.normalize),
    seed: integer("--seed", o.seed, 0),
  };
}

export function loadSplits(choice: DataChoice): Splits & { features: number; classes: number } {
  const files = loadMnistDir(choice.dir);
  if (choice.validation >= files.train.count) {
    throw new UsageError(`--validation ${choice.validation} must be smaller than the ${files.train.count} examples in the training file`);
  }
  const { train, validation } = splitValidation(files.train, choice.validation, new Random(choice.seed, 2));
  const trainSet = choice.trainSubset ? take(train, choice.trainSubset) : train;
  return {
    train: trainSet,
    validation,
    test: allExamples(files.test),
    scaling: choice.normalize ? standardScaling(trainSet) : UNIT_SCALING,
    features: files.train.features,
    classes: files.train.classes,
  };
}
