// Reads a data directory whose format is told by its file names (Node only): the CIFAR-10 binary
// batches (in the directory or its cifar-10-batches-bin/ folder, as the official archive unpacks),
// otherwise an MNIST-format IDX set.
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { CIFAR10_CLASSES, CIFAR10_RECORD_BYTES, datasetFromCifarBatches } from "../data/cifar.js";
import type { Dataset } from "../data/dataset.js";
import { defaultMnistDir, loadMnistDir } from "./mnist-files.js";
import { kindOf } from "./run-folder.js";

export const CIFAR10_TRAIN_BATCHES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_BATCH = "test_batch.bin";
const CIFAR10_META = "batches.meta.txt";
const CIFAR10_SUBFOLDER = "cifar-10-batches-bin";

/** Twice a real batch (10,000 records): anything larger is refused unread, so it cannot exhaust memory. */
export const CIFAR10_MAX_BATCH_BYTES = 10_000 * CIFAR10_RECORD_BYTES * 2;
const MAX_META_BYTES = 64 * 1024;

export interface DataDir {
  /** The directory the files were read from (the cifar-10-batches-bin/ folder when they were there). */
  dir: string;
  format: "mnist" | "cifar10";
  train: Dataset;
  test: Dataset;
  /** CIFAR-10 only, when batches.meta.txt is present: the name of each class, by label. */
  classNames?: string[];
}

const grouped = (n: number): string => n.toLocaleString("en-US");

/** Checks `path` is a regular file of at most `limit` bytes, by its stats (never by opening it: a FIFO would block). */
function checkRegularFile(path: string, stats: Stats, limit: number, what: string): void {
  if (!stats.isFile()) throw new Error(`${path}: is ${kindOf(stats)}, not a regular file`);
  if (stats.size > limit) {
    throw new Error(`${path}: ${grouped(stats.size)} bytes is too large for a ${what} (at most ${grouped(limit)} bytes); refused unread`);
  }
}

/**
 * Reads a whole regular file of at most `limit` bytes. The path is checked again on the open
 * descriptor (opened non-blocking, so a FIFO swapped in after the first check cannot hang it),
 * and no more than the checked size is read even if the file grows.
 */
function readBounded(path: string, limit: number, what: string): Uint8Array {
  checkRegularFile(path, statSync(path), limit, what);
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = fstatSync(fd);
    checkRegularFile(path, stats, limit, what);
    const bytes = new Uint8Array(stats.size);
    let got = 0;
    while (got < bytes.length) {
      const r = readSync(fd, bytes, got, bytes.length - got, got);
      if (r === 0) throw new Error(`${path}: file shrank while being read`);
      got += r;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** The directory holding CIFAR-10 batch files (dir itself, then its cifar-10-batches-bin/ folder), if any. */
function findCifarDir(dir: string): string | null {
  for (const candidate of [dir, join(dir, CIFAR10_SUBFOLDER)]) {
    if (!isDirectory(candidate)) continue;
    if ([...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH].some((name) => existsSync(join(candidate, name)))) return candidate;
  }
  return null;
}

function readClassNames(dir: string): string[] | undefined {
  const path = join(dir, CIFAR10_META);
  if (!existsSync(path)) return undefined;
  const names = new TextDecoder()
    .decode(readBounded(path, MAX_META_BYTES, "CIFAR-10 class list"))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
  if (names.length !== CIFAR10_CLASSES) throw new Error(`${path}: names ${names.length} classes, CIFAR-10 has ${CIFAR10_CLASSES} (one name a line)`);
  return names;
}

function loadCifarDir(dir: string): DataDir {
  const names = [...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH];
  const missing = names.filter((name) => !existsSync(join(dir, name)));
  if (missing.length > 0) {
    throw new Error(`data: ${dir} holds CIFAR-10 batches but is missing ${missing.join(", ")} (a CIFAR-10 directory needs all of ${names.join(", ")})`);
  }
  // every batch is checked before any is read, so a bad last file fails fast
  const paths = names.map((name) => join(dir, name));
  for (const path of paths) checkRegularFile(path, statSync(path), CIFAR10_MAX_BATCH_BYTES, "CIFAR-10 batch");
  const classNames = readClassNames(dir);
  const read = (path: string) => ({ source: path, bytes: readBounded(path, CIFAR10_MAX_BATCH_BYTES, "CIFAR-10 batch") });
  const train = datasetFromCifarBatches("train", paths.slice(0, CIFAR10_TRAIN_BATCHES.length).map(read));
  const test = datasetFromCifarBatches("test", [read(paths[paths.length - 1])]);
  return { dir, format: "cifar10", train, test, ...(classNames ? { classNames } : {}) };
}

/** Loads the training and test sets of a data directory, CIFAR-10 or MNIST as its file names tell. */
export function loadDataDir(dir: string = defaultMnistDir()): DataDir {
  const cifarDir = findCifarDir(dir);
  if (cifarDir) return loadCifarDir(cifarDir);
  const mnist = loadMnistDir(dir);
  return { dir: mnist.dir, format: "mnist", train: mnist.train, test: mnist.test };
}
