// A labelled image set as in MNIST: pixels stay uint8 (a quarter of the memory of floats) and
// are scaled per batch. Validation is held out of the training file by a seeded draw.

import type { Random } from "../random.js";
import { IdxError, type IdxHeader, parseIdx } from "./idx.js";
import { DensePixels, type PixelRows } from "./pixels.js";

export interface Dataset {
  name: string;
  /** The images, uint8 pixels (dense or sparse storage). */
  pixels: PixelRows;
  labels: Uint8Array;
  count: number;
  features: number;
  /** One example's shape, channels first: [1, 28, 28] for MNIST, [3, 32, 32] for CIFAR-10 (product = features). */
  shape: number[];
  classes: number;
}

/** Checks an IDX header for images: unsigned bytes, at least (count, pixels). */
export function checkImageHeader(header: Pick<IdxHeader, "dims" | "type">, source: string): { count: number; features: number; shape: number[] } {
  if (header.type !== "u8") throw new IdxError(source, `images must be unsigned bytes (type 0x08), found ${header.type}`);
  if (header.dims.length < 2) throw new IdxError(source, `images need at least 2 dimensions (count, pixels...), found [${header.dims.join(", ")}]`);
  if (header.dims[0] === 0) throw new IdxError(source, "contains no images");
  if (header.dims.slice(1).some((d) => d === 0)) throw new IdxError(source, `images have an empty dimension: [${header.dims.join(", ")}]`);
  return { count: header.dims[0], features: header.dims.slice(1).reduce((a, b) => a * b, 1), shape: exampleShape(header.dims.slice(1)) };
}

/** An IDX image's dimensions as a channels-first shape: (rows, cols) is one channel; (pixels) a vector. */
function exampleShape(dims: number[]): number[] {
  if (dims.length === 1) return [dims[0]];
  if (dims.length === 2) return [1, dims[0], dims[1]];
  return dims;
}

/** Builds a dataset from IDX images (n × rows × cols, u8) and labels (n, u8), checking they agree. */
export function datasetFromIdx(name: string, imageBytes: Uint8Array, imageSource: string, labelBytes: Uint8Array, labelSource: string, classes = 10): Dataset {
  const images = parseIdx(imageBytes, imageSource);
  const { count, features, shape } = checkImageHeader(images, imageSource);
  return datasetFromPixels(name, new DensePixels(images.data as Uint8Array, count, features), imageSource, labelBytes, labelSource, classes, shape);
}

/** Builds a dataset from already-read images and IDX label bytes, checking they agree. */
export function datasetFromPixels(
  name: string,
  pixels: PixelRows,
  imageSource: string,
  labelBytes: Uint8Array,
  labelSource: string,
  classes = 10,
  shape: number[] = [pixels.features],
): Dataset {
  if (shape.reduce((a, b) => a * b, 1) !== pixels.features)
    throw new Error(`${imageSource}: example shape [${shape.join(", ")}] does not hold ${pixels.features} pixels`);
  const labels = parseIdx(labelBytes, labelSource);
  if (labels.type !== "u8") throw new IdxError(labelSource, `labels must be unsigned bytes (type 0x08), found ${labels.type}`);
  if (labels.dims.length !== 1) throw new IdxError(labelSource, `labels must be 1-dimensional, found [${labels.dims.join(", ")}]`);
  const { count, features } = pixels;
  if (labels.dims[0] !== count) {
    throw new IdxError(labelSource, `${labels.dims[0]} labels but ${imageSource} has ${count} images`);
  }
  const labelData = labels.data as Uint8Array;
  for (let i = 0; i < count; i++) {
    if (labelData[i] >= classes) throw new IdxError(labelSource, `label ${labelData[i]} at index ${i} is outside the ${classes} classes 0..${classes - 1}`);
  }
  return { name, pixels, labels: labelData, count, features, shape, classes };
}

/**
 * A selection of a dataset's rows, without copying pixels: the training split, the validation
 * split, or a whole file.
 */
export interface Examples {
  name: string;
  data: Dataset;
  indices: Int32Array;
}

export function allExamples(data: Dataset, name = data.name): Examples {
  return { name, data, indices: Int32Array.from({ length: data.count }, (_, i) => i) };
}

/** Splits `validation` examples off a training set by a seeded draw (the paper: 55,000 / 5,000). */
export function splitValidation(train: Dataset, validation: number, rng: Random): { train: Examples; validation: Examples } {
  if (!Number.isInteger(validation) || validation < 1 || validation >= train.count) {
    throw new Error(`validation size ${validation} must be between 1 and ${train.count - 1} (the training file has ${train.count} examples)`);
  }
  const order = rng.shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
  return {
    train: { name: `${train.name} (train)`, data: train, indices: order.slice(validation).sort() },
    validation: { name: `${train.name} (validation)`, data: train, indices: order.slice(0, validation).sort() },
  };
}

/** The first n examples of a selection (for quick runs and tests). */
export function take(examples: Examples, n: number): Examples {
  if (n >= examples.indices.length) return examples;
  return { ...examples, indices: examples.indices.slice(0, n) };
}
