import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BatchLoader, standardScaling, UNIT_SCALING } from "../src/data/batches.js";
import { allExamples, datasetFromIdx, splitValidation } from "../src/data/dataset.js";
import { IdxError, parseIdx } from "../src/data/idx.js";
import { countNonzero, DensePixels, SparsePixels } from "../src/data/pixels.js";
import { Engine, loadedEngine, ready } from "../src/engine/engine.js";
import { defaultMnistDir, loadMnistDir } from "../src/node/mnist-files.js";
import { Random } from "../src/random.js";

function idx(type: number, dims: number[], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

describe("sparse pixel store in engine memory", () => {
  const image = (seed: number): Uint8Array => {
    const rng = new Random(seed);
    return Uint8Array.from({ length: 784 }, () => (rng.uniform() < 0.2 ? 1 + rng.int(255) : 0));
  };
  const images = [1, 2, 3, 4].map(image);
  const filled = (): SparsePixels => {
    const store = new SparsePixels(
      images.length,
      784,
      images.reduce((n, im) => n + countNonzero(im), 0),
    );
    images.forEach((im) => store.add(im));
    return store;
  };
  const rowsOf = (store: SparsePixels): number[][] =>
    images.map((_, r) => {
      const row = new Uint8Array(784);
      store.copyRow(r, row, 0);
      return Array.from(row);
    });
  /** A feature-major batch of images 2, 0, 3 (scale 1/255) written by the store's kernel in engine `e`. */
  const batchIn = (e: Engine, store: SparsePixels): number[] => {
    const rows = e.allocator.alloc(12),
      table = e.allocator.alloc(1024),
      out = e.allocator.alloc(3 * 784 * 4);
    e.i32(rows, 3).set([2, 0, 3]);
    e.f32(table, 256).set(Float32Array.from({ length: 256 }, (_, v) => Math.fround(v * Math.fround(1 / 255))));
    e.kernels.fill(out, 0, 3 * 784);
    store.scatter(e, rows, 3, table, out, 3, 1);
    return Array.from(e.f32(out, 3 * 784));
  };
  const expected = (): number[] => {
    const out = new Array<number>(3 * 784).fill(0);
    [2, 0, 3].forEach((r, i) => images[r].forEach((v, f) => (out[f * 3 + i] = Math.fround(v * Math.fround(1 / 255)))));
    return out;
  };

  // first in the file: it needs a store filled before any engine is loaded
  it("moves into the engine on first use, reads the same rows afterwards, and follows a new engine", async () => {
    expect(loadedEngine()).toBeUndefined();
    const store = filled(); // in JavaScript arrays: there is no engine yet
    expect(rowsOf(store)).toEqual(images.map((im) => Array.from(im)));
    const first = await ready();
    expect(batchIn(first, store)).toEqual(expected());
    expect(rowsOf(store)).toEqual(images.map((im) => Array.from(im))); // now read from wasm memory
    const second = await Engine.create({ initialPages: 2 }); // as after ready() replaced the engine
    expect(batchIn(second, store)).toEqual(expected());
    expect(rowsOf(store)).toEqual(images.map((im) => Array.from(im)));
    second.shutdown();
  });

  it("releases its blocks on dispose and refuses use afterwards", async () => {
    const e = await ready();
    const store = filled();
    batchIn(e, store);
    const held = e.allocator.stats().liveBytes;
    store.dispose();
    const storeBytes = 4 * (images.length + 1) + 2 * store.nonzeros + store.nonzeros;
    expect(held - e.allocator.stats().liveBytes).toBeGreaterThanOrEqual(storeBytes);
    expect(() => store.copyRow(0, new Uint8Array(784), 0)).toThrow(/used after dispose/);
  });

  it("refuses more nonzero pixels than it was sized for (a typed array would drop them silently)", () => {
    const store = new SparsePixels(2, 784, countNonzero(images[0]));
    store.add(images[0]);
    expect(() => store.add(images[1])).toThrow(/more than the \d+ nonzero pixels the store was sized for/);
  });
});

describe("IDX reader", () => {
  it("reads the real MNIST files with the expected shapes", () => {
    const { train, test } = loadMnistDir();
    expect([train.count, train.features, test.count, test.features]).toEqual([60000, 784, 10000, 784]);
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]); // the well-known first labels
  });

  it("stores MNIST pixels sparsely, row for row identical to the file", () => {
    const { train } = loadMnistDir();
    expect(train.pixels).toBeInstanceOf(SparsePixels);
    const file = parseIdx(new Uint8Array(readFileSync(join(defaultMnistDir(), "train-images-idx3-ubyte"))), "train");
    const row = new Uint8Array(784 + 3).fill(7);
    for (const r of [0, 1, 777, 30000, 59999]) {
      train.pixels.copyRow(r, row, 3);
      expect(Array.from(row.subarray(3))).toEqual(Array.from((file.data as Uint8Array).subarray(r * 784, (r + 1) * 784)));
      expect(Array.from(row.subarray(0, 3))).toEqual([7, 7, 7]); // nothing written outside the row
    }
  });

  it("names a truncated image file read in chunks", () => {
    const dir = mkdtempSync(join(tmpdir(), "wt-idx-"));
    const src = defaultMnistDir();
    for (const f of ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
      const bytes = readFileSync(join(src, f));
      writeFileSync(join(dir, f), f === "t10k-images-idx3-ubyte" ? bytes.subarray(0, bytes.length - 1) : bytes);
    }
    expect(() => loadMnistDir(dir)).toThrow(/t10k-images-idx3-ubyte: truncated: dimensions \[10000, 28, 28\] of u8 need 7840016 bytes, file has 7840015/);
  });

  it("reads big-endian multi-byte types", () => {
    const body = new Uint8Array(8);
    new DataView(body.buffer).setInt16(0, -2);
    new DataView(body.buffer).setInt16(2, 300);
    new DataView(body.buffer).setFloat32(4, 1.5);
    expect(Array.from(parseIdx(idx(0x0b, [2], body.subarray(0, 4)), "x").data)).toEqual([-2, 300]);
    expect(Array.from(parseIdx(idx(0x0d, [1], body.subarray(4)), "x").data)).toEqual([1.5]);
  });

  it("names the file and the problem", () => {
    const good = idx(0x08, [2, 2], new Uint8Array(4));
    expect(() => parseIdx(good.subarray(0, 7), "f.idx")).toThrow("f.idx: truncated header: 2 dimensions need 12 header bytes, file has 7");
    expect(() => parseIdx(good.subarray(0, 14), "f.idx")).toThrow("f.idx: truncated: dimensions [2, 2] of u8 need 16 bytes, file has 14");
    const gz = good.slice();
    gz[0] = 0x1f;
    expect(() => parseIdx(gz, "f.idx")).toThrow(/must start with two zero bytes \(is it gzip-compressed/);
    const badType = good.slice();
    badType[2] = 0x07;
    expect(() => parseIdx(badType, "f.idx")).toThrow("f.idx: unknown IDX element type 0x07");
    expect(() => parseIdx(new Uint8Array([...good, 0]), "f.idx")).toThrow(/1 unexpected bytes after the data/);
  });

  it("checks that images and labels agree", () => {
    const images = idx(0x08, [3, 2, 2], new Uint8Array(12));
    expect(() => datasetFromIdx("d", images, "img", idx(0x08, [2], new Uint8Array(2)), "lbl")).toThrow("lbl: 2 labels but img has 3 images");
    expect(() => datasetFromIdx("d", images, "img", idx(0x08, [3], new Uint8Array([1, 10, 2])), "lbl")).toThrow(
      "lbl: label 10 at index 1 is outside the 10 classes 0..9",
    );
  });

  it("random corruption of real headers and lengths always gives an IdxError, never a crash or a hang", () => {
    const dir = defaultMnistDir();
    const labels = new Uint8Array(readFileSync(join(dir, "t10k-labels-idx1-ubyte")));
    const images = new Uint8Array(readFileSync(join(dir, "t10k-images-idx3-ubyte"))).subarray(0, 16 + 784 * 50);
    const rng = new Random(123);
    let errors = 0;
    for (let trial = 0; trial < 400; trial++) {
      const source = trial % 2 ? labels : images;
      let bytes = source.slice(0, Math.min(source.length, 4096));
      const mutation = rng.int(3);
      if (mutation === 0)
        bytes[rng.int(Math.min(16, bytes.length))] = rng.int(256); // a header byte
      else if (mutation === 1)
        bytes = bytes.subarray(0, rng.int(bytes.length)); // truncation
      else bytes = new Uint8Array([...bytes, ...new Uint8Array(1 + rng.int(8))]); // trailing junk
      try {
        parseIdx(bytes, "mutated");
      } catch (error) {
        expect(error).toBeInstanceOf(IdxError);
        expect((error as Error).message).toMatch(/^mutated: /);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(300); // nearly every mutation must be caught (a few header bytes are harmless)
  });

  it("holds out validation examples by a seeded draw", () => {
    const { train } = loadMnistDir();
    const a = splitValidation(train, 5000, new Random(0, 2));
    const b = splitValidation(train, 5000, new Random(0, 2));
    const c = splitValidation(train, 5000, new Random(1, 2));
    expect(a.train.indices.length).toBe(55000);
    expect(a.validation.indices).toEqual(b.validation.indices);
    expect(a.validation.indices).not.toEqual(c.validation.indices);
    const held = new Set(a.validation.indices);
    expect(a.train.indices.some((i) => held.has(i))).toBe(false);
  });
});

describe("batches from sparse pixel storage", () => {
  it("are bit for bit the batches of dense storage, in both layouts, any scaling, partial batches too", async () => {
    await ready();
    const { train } = loadMnistDir();
    const rows = 300;
    const dense = new Uint8Array(rows * 784);
    for (let r = 0; r < rows; r++) train.pixels.copyRow(r, dense, r * 784);
    const labels = train.labels.subarray(0, rows);
    const asDataset = (pixels: DensePixels | SparsePixels) => ({ name: "x", pixels, labels, count: rows, features: 784, shape: [1, 28, 28], classes: 10 });
    const sparse = new SparsePixels(rows, 784, countNonzero(dense));
    for (let r = 0; r < rows; r++) sparse.add(dense.subarray(r * 784, (r + 1) * 784));
    const order = new Random(5).shuffle(Int32Array.from({ length: rows }, (_, i) => i));
    const sets = [asDataset(new DensePixels(dense, rows, 784)), asDataset(sparse)].map((d) => allExamples(d));
    for (const scaling of [UNIT_SCALING, standardScaling(sets[0])]) {
      for (const [layout, batch, count] of [
        ["rows", 60, 60],
        ["features", 60, 60],
        ["channels", 60, 60],
        ["rows", 128, 44],
      ] as const) {
        const [a, b] = sets.map((s) => {
          const loader = new BatchLoader(s, batch, scaling, layout);
          loader.load(order, 17, count);
          const out = { inputs: loader.inputs.data().slice(0, layout !== "rows" ? batch * 784 : count * 784), labels: loader.labels.slice(0, count) };
          loader.dispose();
          return out;
        });
        expect(Buffer.from(b.inputs.buffer).equals(Buffer.from(a.inputs.buffer))).toBe(true);
        expect(Array.from(b.labels)).toEqual(Array.from(a.labels));
      }
    }
  });
});
