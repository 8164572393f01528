import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { conv2d } from "../src/autograd/image-ops.js";
import { liveProduct } from "../src/autograd/live-product.js";
import { sparseConv2d } from "../src/autograd/sparse-conv2d.js";
import type { Tensor } from "../src/autograd/tensor.js";
import { splitAligned } from "../src/engine/engine.js";
import { engine, matmul, ready, tensor, tidy } from "../src/index.js";
import { linearProduct, Parameter } from "../src/nn/parameter.js";
import { SparseConvTaps } from "../src/nn/sparse-conv-lists.js";
import { SparseWeights } from "../src/nn/sparse-weights.js";
import { spawnNodeWorker } from "../src/node/workers.js";
import { Random } from "../src/random.js";
import { randomArray, runTicket } from "./helpers.js";

beforeAll(async () => {
  await ready({ threads: 2, spawnWorker: spawnNodeWorker });
});

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.slice().buffer);

describe("kernel threads over shared memory", () => {
  it("runs two threads over a SharedArrayBuffer", () => {
    expect(engine().threads).toBe(2);
    expect(engine().variant).toBe("simd-threads");
    expect(engine().memory.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("split GEMM gives the same bits as one thread, in every layout", () => {
    const e = engine();
    const rng = new Random(31);
    for (const [m, k, n] of [
      [60, 784, 300],
      [784, 60, 300],
      [60, 300, 784],
      [129, 257, 65],
      [300, 784, 60],
    ]) {
      for (const [ta, tb] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        tidy(() => {
          const a = tensor(randomArray(rng, m * k)),
            b = tensor(randomArray(rng, k * n));
          const one = tensor(new Float32Array(m * n)),
            two = tensor(new Float32Array(m * n));
          e.kernels.sgemm(ta, tb, m, n, k, a.ptr, b.ptr, one.ptr, 0, e.gemmWork);
          e.gemm(ta, tb, m, n, k, a.ptr, b.ptr, two.ptr, 0);
          expect(bits(two.view())).toEqual(bits(one.view()));
        });
      }
    }
  });

  it("split GEMM over live depths gives the same bits as one thread, with A plain and transposed", () => {
    const e = engine();
    const rng = new Random(32);
    const [m, n, k] = [60, 300, 784];
    const live = Int32Array.from({ length: k }, (_, i) => i).filter((i) => i % 3 !== 0 && (i < 300 || i > 560));
    for (const ta of [0, 1]) {
      tidy(() => {
        const a = tensor(randomArray(rng, m * k)),
          b = tensor(randomArray(rng, k * n));
        const list = tensor(new Float32Array(live.buffer.slice(0)));
        const one = tensor(new Float32Array(m * n)),
          two = tensor(new Float32Array(m * n));
        e.kernels.sgemmLive(ta, m, n, k, a.ptr, b.ptr, one.ptr, 0, e.gemmWork, 0, n, list.ptr, live.length);
        e.gemmLive(ta, m, n, k, a.ptr, b.ptr, two.ptr, 0, list.ptr, live.length);
        expect(bits(two.view())).toEqual(bits(one.view()));
      });
    }
  });

  it("the live product's weight gradient, its rows scattered by both threads, has matmul's bits", () => {
    const rng = new Random(35);
    const [features, outputs, batch] = [300, 400, 60];
    // zero rows: a border of features that are zero in every example, and one in every seventh
    const xValues = randomArray(rng, features * batch).map((v, i) => {
      const f = Math.floor(i / batch);
      return f < 40 || f > 270 || f % 7 === 0 ? 0 : v;
    });
    const dy = randomArray(rng, outputs * batch);
    const gradient = (product: (x: Tensor, w: Tensor) => Tensor): Uint32Array =>
      tidy(() => {
        const x = tensor(xValues, [features, batch]);
        const w = tensor(randomArray(new Random(36), features * outputs), [features, outputs], { requiresGrad: true });
        const y = product(x, w);
        y.gradBuffer().set(dy);
        y.backwardFn!();
        return bits(w.grad!.view()).slice();
      });
    expect(4 * features * outputs).toBeGreaterThan(400_000); // enough to split the scatter
    const live = gradient((x, w) => liveProduct(x, w, "features"));
    const full = gradient((x, w) => matmul(w, x, { transposeA: true }));
    expect(live).toEqual(full);
  });

  it("split sparse kernels give the same bits as one thread", () => {
    const e = engine();
    const rng = new Random(32);
    const [inputs, outputs, batch] = [784, 300, 60];
    tidy(() => {
      const mask = Float32Array.from({ length: inputs * outputs }, () => (rng.uniform() < 0.3 ? 1 : 0));
      const p = new Parameter(
        "w",
        tensor(
          randomArray(rng, inputs * outputs).map((v, i) => v * mask[i]),
          [inputs, outputs],
        ),
        true,
        [inputs, outputs],
        linearProduct(inputs, outputs),
      );
      p.ensureMask().set(mask);
      const sw = new SparseWeights(p);
      const xT = tensor(randomArray(rng, inputs * batch), [inputs, batch], { requiresGrad: true });
      const y = sw.apply(xT);
      const dy = tensor(randomArray(rng, outputs * batch), [outputs, batch]);
      y.gradBuffer().set(dy.view());
      y.backwardFn!();
      // the same on one thread, straight through the kernels
      const blocks = sw as unknown as Record<"offsets" | "colOffsets" | "colValues", number>;
      const { inputRows, colOutputRows } = sw.rowOffsets(batch);
      const y1 = tensor(new Float32Array(outputs * batch)),
        dx1 = tensor(new Float32Array(inputs * batch)),
        dw1 = tensor(new Float32Array(sw.nonzeros));
      e.kernels.sparseForward(blocks.offsets, inputRows, sw.values.ptr, outputs, xT.ptr, y1.ptr, batch);
      e.kernels.sparseBackwardInput(blocks.colOffsets, colOutputRows, blocks.colValues, sw.values.ptr, inputs, dy.ptr, dx1.ptr, batch, 0);
      e.kernels.sparseBackwardWeights(blocks.offsets, inputRows, dw1.ptr, outputs, xT.ptr, dy.ptr, batch);
      expect(bits(y.view())).toEqual(bits(y1.view()));
      expect(bits(xT.grad!.view())).toEqual(bits(dx1.view()));
      expect(bits(sw.values.grad!.view())).toEqual(bits(dw1.view()));
      sw.dispose();
    });
  });

  it("split direct convolution gives the same bits as one thread", () => {
    const e = engine();
    const rng = new Random(33);
    const g = { channels: 3, height: 14, width: 14, kernelH: 5, kernelW: 5, stride: 1, padding: 1 };
    const [outputs, batch, outSide] = [6, 8, 12];
    tidy(() => {
      const x = tensor(randomArray(rng, g.channels * batch * g.height * g.width), [g.channels, batch * g.height * g.width], { requiresGrad: true });
      const w = tensor(randomArray(rng, outputs * 75), [outputs, 75], { requiresGrad: true });
      const b = tensor(randomArray(rng, outputs), [outputs], { requiresGrad: true });
      const y = conv2d(x, w, b, batch, g);
      const dy = tensor(randomArray(rng, y.size), y.shape);
      y.gradBuffer().set(dy.view());
      y.backwardFn!();
      // the same on one thread, straight through the kernels
      const side = g.height + 2;
      const xp = tensor(new Float32Array(g.channels * batch * side * side));
      const splat = tensor(new Float32Array(4 * w.size));
      const y1 = tensor(new Float32Array(y.size)),
        dw1 = tensor(new Float32Array(w.size));
      e.kernels.padPlanes(x.ptr, xp.ptr, g.height, g.width, 1, 0, g.channels * batch);
      e.kernels.splatForwardWeights(w.ptr, splat.ptr, outputs, w.size / outputs);
      e.kernels.convForward(xp.ptr, splat.ptr, b.ptr, y1.ptr, g.channels, batch, side, side, outputs, 5, 5, 0, batch);
      e.kernels.convWeightGrad(
        dy.ptr,
        xp.ptr,
        dw1.ptr,
        g.channels,
        batch,
        side,
        side,
        outputs,
        5,
        5,
        0,
        0,
        Math.ceil(outputs / e.kernels.convWeightGradOutputsPerTask(outputs, 25)) * g.channels,
      );
      // the input gradient: the whole product, then col2im
      const columns = tensor(new Float32Array(75 * y.shape[1]));
      const dx1 = tensor(new Float32Array(x.size));
      e.kernels.sgemm(1, 0, 75, y.shape[1], outputs, w.ptr, dy.ptr, columns.ptr, 0, e.gemmWorkspace(0));
      e.kernels.col2im(columns.ptr, dx1.ptr, g.channels, batch, g.height, g.width, 5, 5, 1, 1, outSide, outSide, 0, g.channels);
      expect(y.shape).toEqual([outputs, batch * outSide * outSide]);
      expect(bits(y.view())).toEqual(bits(y1.view()));
      expect(bits(w.grad!.view())).toEqual(bits(dw1.view()));
      expect(bits(x.grad!.view())).toEqual(bits(dx1.view()));
    });
  });

  it("a split pruned convolution on the compact kernels gives the same bits as one thread", () => {
    const e = engine();
    const rng = new Random(34);
    const g = { channels: 4, height: 16, width: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 1 };
    const [outputs, batch, depth] = [8, 8, 36];
    const weight = new Parameter("conv.weight", tensor(randomArray(rng, outputs * depth), [outputs, depth]), true, [outputs, 4, 3, 3], {
      inputs: depth,
      outputs,
      inputStride: 1,
      outputStride: depth,
    });
    weight.ensureMask().set(Array.from({ length: outputs * depth }, () => (rng.uniform() < 0.4 ? 1 : 0)));
    const sparse = new SparseWeights(weight);
    const lists = sparse.derived("taps", () => new SparseConvTaps(sparse, g)).forBatch(batch);
    expect(2 * lists.nonzeros * batch * 256).toBeGreaterThan(400_000); // enough work to split
    tidy(() => {
      const x = tensor(randomArray(rng, 4 * batch * 256), [4, batch * 256], { requiresGrad: true });
      const b = tensor(randomArray(rng, outputs), [outputs], { requiresGrad: true });
      const y = sparseConv2d(x, sparse.values, b, outputs, batch, g, lists);
      const dy = tensor(randomArray(rng, y.size), y.shape);
      y.gradBuffer().set(dy.view());
      y.backwardFn!();
      // the same on one thread, straight through the kernels
      const xp = tensor(new Float32Array(4 * batch * 18 * 18)),
        dyp = tensor(new Float32Array(outputs * batch * 18 * 18));
      const y1 = tensor(new Float32Array(y.size)),
        dx1 = tensor(new Float32Array(x.size)),
        dw1 = tensor(new Float32Array(lists.nonzeros)),
        partial = tensor(new Float32Array(4 * lists.nonzeros)),
        splatForward = tensor(new Float32Array(4 * lists.nonzeros)),
        splatBackward = tensor(new Float32Array(4 * lists.nonzeros));
      e.kernels.padPlanes(x.ptr, xp.ptr, 16, 16, 1, 0, 4 * batch);
      e.kernels.padPlanes(dy.ptr, dyp.ptr, 16, 16, 1, 0, outputs * batch);
      const f = lists.forward,
        back = lists.backward;
      e.kernels.splatWeights(sparse.values.ptr, splatForward.ptr, lists.nonzeros);
      e.kernels.splatAt(sparse.values.ptr, back.positions!, splatBackward.ptr, lists.nonzeros);
      e.kernels.sparseConvForward(xp.ptr, f.taps, splatForward.ptr, f.offsets, b.ptr, y1.ptr, outputs, batch, 18, 18, 3, 3, 0, 0, batch);
      e.kernels.sparseConvWeightGrad(dy.ptr, xp.ptr, f.taps, f.offsets, dw1.ptr, partial.ptr, batch, 18, 18, 3, 3, 1, 0, 0, outputs);
      e.kernels.sparseConvForward(dyp.ptr, back.taps, splatBackward.ptr, back.offsets, 0, dx1.ptr, 4, batch, 18, 18, 3, 3, 0, 0, batch);
      expect(bits(y.view())).toEqual(bits(y1.view()));
      expect(bits(x.grad!.view())).toEqual(bits(dx1.view()));
      expect(bits(sparse.values.grad!.view().subarray(0, lists.nonzeros))).toEqual(bits(dw1.view()));
    });
    sparse.dispose();
    weight.dispose();
  });

  it("splits ranges on aligned boundaries that cover everything once", () => {
    expect(splitAligned(300, 2, 8)).toEqual([
      [0, 152],
      [152, 300],
    ]);
    expect(splitAligned(60, 2, 4)).toEqual([
      [0, 32],
      [32, 60],
    ]);
    expect(splitAligned(5, 3, 4)).toEqual([
      [0, 4],
      [4, 5],
    ]);
  });
});

describe("threads from the command line", () => {
  const run = runTicket;

  it("two threads train to the same bits as one", () => {
    const results = ["1", "2"].map((threads) => {
      const out = mkdtempSync(join(tmpdir(), "wt-threads-"));
      const r = run(
        "find",
        "--hidden",
        "64,32",
        "--train-subset",
        "3000",
        "--validation",
        "500",
        "--iterations",
        "60",
        "--eval-every",
        "20",
        "--rounds",
        "12",
        "--target-sparsity",
        "0.15",
        "--controls",
        "none",
        "--threads",
        threads,
        "--quiet",
        "--out",
        out,
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    });
    expect(results.map((r) => r.engine.threads)).toEqual([1, 2]);
    const strip = (j: { results: Record<string, unknown>[] }) => j.results.map(({ seconds: _s, stepsPerSecond: _p, ...rest }) => rest);
    expect(strip(results[1])).toEqual(strip(results[0]));
  });

  it("controls trained in a worker beside the next ticket give the same results as in turn", () => {
    const results = [
      ["--threads", "1"],
      ["--threads", "2", "--parallel-arms", "auto"],
    ].map((flags) => {
      const out = mkdtempSync(join(tmpdir(), "wt-arms-"));
      const r = run(
        "find",
        "--hidden",
        "48",
        "--train-subset",
        "2000",
        "--validation",
        "500",
        "--iterations",
        "60",
        "--eval-every",
        "20",
        "--rounds",
        "3",
        "--controls",
        "both",
        ...flags,
        "--quiet",
        "--out",
        out,
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    });
    expect(results.map((r) => r.engine.parallelArms)).toEqual([false, true]);
    const strip = (j: { results: Record<string, unknown>[] }) => j.results.map(({ seconds: _s, stepsPerSecond: _p, ...rest }) => rest);
    expect(strip(results[1])).toEqual(strip(results[0]));
    expect(results[1].results.map((r: { arm: string; round: number }) => `${r.arm}${r.round}`)).toEqual([
      "ticket0",
      "ticket1",
      "reinit1",
      "random1",
      "ticket2",
      "reinit2",
      "random2",
      "ticket3",
      "reinit3",
      "random3",
    ]);
  });

  it("rejects --threads 0 and more threads than cores", () => {
    let r = run("train", "--threads", "0");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads must be at least 1, got 0/);
    r = run("train", "--threads", "999");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads 999 is more than the \d+ cores available here/);
  });
});
