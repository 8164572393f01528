// Loads a data directory and splits it as the paper does (Node: reads files).
import { allExamples, splitValidation, take } from "../data/dataset.js";
import { standardScaling, UNIT_SCALING } from "../data/batches.js";
import { Random } from "../random.js";
import type { Splits } from "../train/train.js";
import { loadMnistDir } from "./mnist-files.js";

export interface DataChoice {
  dir: string;
  validation: number;
  trainSubset: number | null;
  normalize: boolean;
  seed: number;
}

export function loadSplits(choice: DataChoice): Splits & { features: number; classes: number } {
  const files = loadMnistDir(choice.dir);
  if (choice.validation >= files.train.count) {
    throw new Error(`--validation ${choice.validation} must be smaller than the ${files.train.count} examples in the training file`);
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
