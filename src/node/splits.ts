// Loads a data directory (MNIST-format IDX or CIFAR-10 binary batches) and splits it as the
// paper does (Node: reads files).

import { type PixelScaling, standardScaling, UNIT_SCALING } from "../data/batches.js";
import { channelStatistics } from "../data/cifar.js";
import type { Examples } from "../data/dataset.js";
import { allExamples, splitValidation, take } from "../data/dataset.js";
import { Random } from "../random.js";
import type { Splits } from "../train/train.js";
import { loadDataDir } from "./data-dir.js";

export interface DataChoice {
  dir: string;
  validation: number;
  trainSubset: number | null;
  normalize: boolean;
  seed: number;
}

export interface LoadedSplits extends Splits {
  features: number;
  /** One example's shape, channels first. */
  shape: number[];
  classes: number;
  format: "mnist" | "cifar10";
}

/** Standardisation from the training split: one mean and deviation, or one per channel for colour images. */
function standardise(train: Examples): PixelScaling {
  if (train.data.shape.length === 3 && train.data.shape[0] > 1) {
    const channels = channelStatistics(train).map(({ mean, std }) => ({ scale: 1 / std, shift: -mean / std }));
    return { ...channels[0], channels };
  }
  return standardScaling(train);
}

export function loadSplits(choice: DataChoice): LoadedSplits {
  const files = loadDataDir(choice.dir);
  if (choice.validation >= files.train.count) {
    throw new Error(`--validation ${choice.validation} must be smaller than the ${files.train.count} examples in the training file`);
  }
  const { train, validation } = splitValidation(files.train, choice.validation, new Random(choice.seed, 2));
  const trainSet = choice.trainSubset ? take(train, choice.trainSubset) : train;
  return {
    train: trainSet,
    validation,
    test: allExamples(files.test),
    scaling: choice.normalize ? standardise(trainSet) : UNIT_SCALING,
    features: files.train.features,
    shape: files.train.shape,
    classes: files.train.classes,
    format: files.format,
  };
}
