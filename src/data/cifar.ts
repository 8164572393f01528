// The CIFAR-10 binary batches (data_batch_1.bin … data_batch_5.bin, test_batch.bin): no header,
// just records of one label byte and a 32×32 colour image as three 1,024-byte planes (red, green,
// blue), each row-major. Pixels are kept in the file's channel-major order, which is the
// channels-first shape [3, 32, 32]. Every file is checked whole before any pixel is copied, so a
// damaged batch is named and explained.
import type { Dataset, Examples } from "./dataset.js";
import { DensePixels } from "./pixels.js";

export const CIFAR10_CLASSES = 10;
export const CIFAR10_SHAPE: readonly number[] = [3, 32, 32];
export const CIFAR10_FEATURES = 3 * 32 * 32;
/** One label byte, then the image. */
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_FEATURES;

export class CifarError extends Error {
  constructor(
    readonly source: string,
    problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = "CifarError";
  }
}

const grouped = (n: number): string => n.toLocaleString("en-US");

/** Records in a batch file, or an error naming it when its length is not whole records. */
function recordCount(source: string, length: number): number {
  if (length === 0) throw new CifarError(source, `empty file: no records (each record is ${grouped(CIFAR10_RECORD_BYTES)} bytes)`);
  const records = Math.floor(length / CIFAR10_RECORD_BYTES);
  const stray = length % CIFAR10_RECORD_BYTES;
  if (stray !== 0) {
    throw new CifarError(
      source,
      `truncated record: ${grouped(length)} bytes is ${grouped(records)} records and ${grouped(stray)} stray bytes; each record is ${grouped(CIFAR10_RECORD_BYTES)} bytes`,
    );
  }
  return records;
}

/** Concatenates the records of CIFAR-10 batch files (in the order given) into one dataset. */
export function datasetFromCifarBatches(name: string, files: { source: string; bytes: Uint8Array }[]): Dataset {
  if (files.length === 0) throw new Error(`${name}: no CIFAR-10 batch files given`);
  const counts = files.map((f) => recordCount(f.source, f.bytes.length));
  const count = counts.reduce((a, b) => a + b, 0);
  // labels are checked before the pixels are allocated, so a bad file costs no copy
  files.forEach(({ source, bytes }, i) => {
    for (let r = 0; r < counts[i]; r++) {
      const label = bytes[r * CIFAR10_RECORD_BYTES];
      if (label >= CIFAR10_CLASSES) {
        throw new CifarError(
          source,
          `label ${label} in record ${r} (byte offset ${grouped(r * CIFAR10_RECORD_BYTES)}) is outside the ${CIFAR10_CLASSES} classes 0..${CIFAR10_CLASSES - 1}`,
        );
      }
    }
  });
  const pixels = new Uint8Array(count * CIFAR10_FEATURES);
  const labels = new Uint8Array(count);
  let row = 0;
  files.forEach(({ bytes }, i) => {
    for (let r = 0; r < counts[i]; r++, row++) {
      const start = r * CIFAR10_RECORD_BYTES;
      labels[row] = bytes[start];
      pixels.set(bytes.subarray(start + 1, start + CIFAR10_RECORD_BYTES), row * CIFAR10_FEATURES);
    }
  });
  return {
    name,
    pixels: new DensePixels(pixels, count, CIFAR10_FEATURES),
    labels,
    count,
    features: CIFAR10_FEATURES,
    shape: [...CIFAR10_SHAPE],
    classes: CIFAR10_CLASSES,
  };
}

/**
 * Mean and standard deviation of the raw pixel bytes (0–255) of each channel over the selected
 * examples, for per-channel standardisation: input = (pixel − mean) / std. The deviation is the
 * population one with the same floor as standardScaling, so it is never zero.
 */
export function channelStatistics(examples: Examples): { mean: number; std: number }[] {
  const { data, indices } = examples;
  const channels = data.shape.length > 1 ? data.shape[0] : 1;
  if (data.features % channels !== 0) throw new Error(`${examples.name}: ${data.features} pixels do not split into ${channels} channels`);
  if (indices.length === 0) throw new Error(`${examples.name}: no examples to take channel statistics of`);
  const plane = data.features / channels;
  // integer byte sums stay exact in doubles (2^53 is far above 50,000 images × 1,024 × 255²)
  const sums = new Float64Array(channels),
    squares = new Float64Array(channels);
  const row = new Uint8Array(data.features);
  for (const r of indices) {
    data.pixels.copyRow(r, row, 0);
    for (let c = 0; c < channels; c++) {
      let sum = 0,
        sumSq = 0;
      for (let i = c * plane, end = i + plane; i < end; i++) {
        sum += row[i];
        sumSq += row[i] * row[i];
      }
      sums[c] += sum;
      squares[c] += sumSq;
    }
  }
  const n = indices.length * plane;
  return Array.from(sums, (sum, c) => {
    const mean = sum / n;
    return { mean, std: Math.sqrt(Math.max(squares[c] / n - mean * mean, 1e-12)) };
  });
}
