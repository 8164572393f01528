import { beforeAll, describe, expect, it } from "vitest";
import { engine, ready, tensor, zeros } from "../src/index.js";
import { pruneSmallest, smallestThreshold } from "../src/prune/magnitude.js";
import { Random } from "../src/random.js";
import { maxRelError, randomArray } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("elementwise kernels", () => {
  const rng = new Random(1);
  it("transposePlanes moves every element of each plane to its transposed place, in 4×4 blocks and at the edges, and adds when accumulating", () => {
    const e = engine();
    for (const [planes, rows, cols] of [
      [1, 1, 1],
      [2, 4, 4],
      [3, 5, 7],
      [2, 60, 16],
      [1, 8, 70],
      [2, 13, 66],
      [2, 16, 5],
    ]) {
      const size = rows * cols;
      const x = randomArray(rng, planes * size);
      const start = randomArray(rng, planes * size);
      const expected = new Float32Array(planes * size);
      for (let p = 0; p < planes; p++)
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expected[p * size + c * rows + r] = x[p * size + r * cols + c];
      const tx = tensor(x),
        out = tensor(start.slice());
      e.kernels.transposePlanes(tx.ptr, out.ptr, planes, rows, cols, 0);
      expect(Array.from(out.view()), `${planes}×${rows}×${cols}`).toEqual(Array.from(expected));
      out.set(start);
      e.kernels.transposePlanes(tx.ptr, out.ptr, planes, rows, cols, 1);
      const added = Float32Array.from(start, (v, i) => v + expected[i]);
      expect(Array.from(out.view()), `${planes}×${rows}×${cols}, accumulating`).toEqual(Array.from(added));
      tx.dispose();
      out.dispose();
    }
  });
  it("sumEachRow sums each row in one fixed order (four lanes, the lanes left to right, the last columns), however many rows share the pass, and accumulates", () => {
    const e = engine();
    const f = Math.fround;
    const rowSum = (x: Float32Array, r: number, cols: number): number => {
      const lanes = [0, 0, 0, 0];
      let c = 0;
      for (; c + 4 <= cols; c += 4) for (let l = 0; l < 4; l++) lanes[l] = f(lanes[l] + x[r * cols + c + l]);
      let s = f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]);
      for (; c < cols; c++) s = f(s + x[r * cols + c]);
      return s;
    };
    for (const [rows, cols] of [
      [1, 3],
      [3, 8],
      [4, 9],
      [5, 60],
      [7, 1],
      [9, 34],
    ]) {
      const x = randomArray(rng, rows * cols);
      const start = randomArray(rng, rows);
      const tx = tensor(x),
        out = tensor(start.slice());
      e.kernels.sumEachRow(tx.ptr, out.ptr, rows, cols, 0);
      const sums = Float32Array.from({ length: rows }, (_, r) => rowSum(x, r, cols));
      expect(Array.from(out.view()), `${rows}×${cols}`).toEqual(Array.from(sums));
      out.set(start);
      e.kernels.sumEachRow(tx.ptr, out.ptr, rows, cols, 1);
      expect(Array.from(out.view()), `${rows}×${cols}, accumulated`).toEqual(Array.from(sums.map((s, r) => f(start[r] + s))));
    }
  });
  it("add, mul, scale, axpy, relu, sum on lengths that are not multiples of 4", () => {
    const e = engine();
    for (const n of [1, 3, 4, 5, 17, 1000]) {
      const a = randomArray(rng, n),
        b = randomArray(rng, n);
      const ta = tensor(a),
        tb = tensor(b),
        out = zeros([n]);
      e.kernels.add(ta.ptr, tb.ptr, out.ptr, n);
      expect(
        maxRelError(
          out.view(),
          a.map((v, i) => v + b[i]),
        ),
      ).toBeLessThan(1e-7);
      e.kernels.mul(ta.ptr, tb.ptr, out.ptr, n);
      expect(
        maxRelError(
          out.view(),
          a.map((v, i) => v * b[i]),
        ),
      ).toBeLessThan(1e-7);
      e.kernels.scale(2.5, ta.ptr, out.ptr, n);
      expect(
        maxRelError(
          out.view(),
          a.map((v) => 2.5 * v),
        ),
      ).toBeLessThan(1e-7);
      out.set(b);
      e.kernels.axpy(-0.5, ta.ptr, out.ptr, n);
      expect(
        maxRelError(
          out.view(),
          b.map((v, i) => v - 0.5 * a[i]),
        ),
      ).toBeLessThan(1e-7);
      e.kernels.relu(ta.ptr, out.ptr, n);
      expect(Array.from(out.view())).toEqual(Array.from(a, (v) => Math.max(v, 0)));
      const s = a.reduce((x, y) => x + y, 0);
      expect(Math.abs(e.kernels.sum(ta.ptr, n) - s)).toBeLessThan(1e-9 * n);
      [ta, tb, out].forEach((t) => t.dispose());
    }
  });

  it("row broadcast and row sums", () => {
    const e = engine();
    for (const [rows, cols] of [
      [1, 1],
      [3, 5],
      [60, 300],
      [7, 10],
    ]) {
      const x = randomArray(rng, rows * cols),
        bias = randomArray(rng, cols);
      const tx = tensor(x, [rows, cols]),
        tb = tensor(bias),
        out = zeros([rows, cols]),
        colSum = zeros([cols]);
      e.kernels.addRowBroadcast(tx.ptr, tb.ptr, out.ptr, rows, cols);
      expect(
        maxRelError(
          out.view(),
          x.map((v, i) => v + bias[i % cols]),
        ),
      ).toBeLessThan(1e-7);
      e.kernels.sumRows(tx.ptr, colSum.ptr, rows, cols, 0);
      const ref = new Float64Array(cols);
      x.forEach((v, i) => (ref[i % cols] += v));
      expect(maxRelError(colSum.view(), ref)).toBeLessThan(1e-5);
      [tx, tb, out, colSum].forEach((t) => t.dispose());
    }
  });

  it("softmax cross-entropy is stable for huge logits", () => {
    const e = engine();
    const logits = tensor([
      [1000, 0, -1000],
      [-5, -5, -5],
    ]);
    const labels = tensor([0, 0], [2]);
    e.i32(labels.ptr, 2).set([0, 2]);
    const probs = zeros([2, 3]);
    const total = e.kernels.softmaxCrossEntropy(logits.ptr, labels.ptr, probs.ptr, 2, 3);
    expect(total).toBeCloseTo(0 + Math.log(3), 5);
    expect(Number.isFinite(total)).toBe(true);
    expect(Array.from(probs.view()).every(Number.isFinite)).toBe(true);
  });
});

describe("fused masked optimizer steps", () => {
  const rng = new Random(2);

  function referenceAdam(w: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number, lr: number, wd: number) {
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] + wd * w[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      w[i] -= ((lr / (1 - b1 ** t)) * m[i]) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    }
  }

  it("Adam matches a float64 reference over several steps (dense)", () => {
    const e = engine();
    const n = 1031;
    const w0 = randomArray(rng, n);
    const w = tensor(w0),
      m = zeros([n]),
      v = zeros([n]),
      g = zeros([n]);
    const rw = Float64Array.from(w0),
      rm = new Float64Array(n),
      rv = new Float64Array(n);
    for (let t = 1; t <= 5; t++) {
      const grad = randomArray(rng, n);
      g.set(grad);
      e.kernels.adamStep(w.ptr, g.ptr, m.ptr, v.ptr, 0, n, 1e-2, 0.9, 0.999, 1e-8, 1 - 0.9 ** t, 1 - 0.999 ** t, 1e-3);
      referenceAdam(rw, grad, rm, rv, t, 1e-2, 1e-3);
    }
    expect(maxRelError(w.view(), rw)).toBeLessThan(1e-5);
  });

  it("Adam and SGD keep masked weights and their state exactly zero over many steps", () => {
    const e = engine();
    const n = 999;
    const maskValues = Float32Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0));
    const mask = tensor(maskValues);
    const w = tensor(randomArray(rng, n).map((x, i) => x * maskValues[i]));
    const m = zeros([n]),
      v = zeros([n]),
      g = zeros([n]);
    const w2 = tensor(w.data()),
      vel = zeros([n]);
    for (let t = 1; t <= 200; t++) {
      g.set(randomArray(rng, n)); // gradients are dense: the mask must stop them
      e.kernels.adamStep(w.ptr, g.ptr, m.ptr, v.ptr, mask.ptr, n, 1e-2, 0.9, 0.999, 1e-8, 1 - 0.9 ** t, 1 - 0.999 ** t, 1e-4);
      e.kernels.sgdStep(w2.ptr, g.ptr, vel.ptr, mask.ptr, n, 1e-2, 0.9, 1e-4);
    }
    const [wv, mv, vv, w2v, velv] = [w.view(), m.view(), v.view(), w2.view(), vel.view()];
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (maskValues[i] === 0) {
        expect([wv[i], mv[i], vv[i], w2v[i], velv[i]]).toEqual([0, 0, 0, 0, 0]);
      } else {
        kept += wv[i] !== 0 && w2v[i] !== 0 ? 1 : 0;
      }
    }
    expect(kept).toBe(maskValues.reduce((a, b) => a + b, 0));
  });

  it("SGD with momentum matches a float64 reference", () => {
    const e = engine();
    const n = 37;
    const w0 = randomArray(rng, n);
    const w = tensor(w0),
      vel = zeros([n]),
      g = zeros([n]);
    const rw = Float64Array.from(w0),
      rb = new Float64Array(n);
    for (let t = 0; t < 10; t++) {
      const grad = randomArray(rng, n);
      g.set(grad);
      e.kernels.sgdStep(w.ptr, g.ptr, vel.ptr, 0, n, 0.1, 0.9, 0.01);
      for (let i = 0; i < n; i++) {
        rb[i] = 0.9 * rb[i] + grad[i] + 0.01 * rw[i];
        rw[i] -= 0.1 * rb[i];
      }
    }
    expect(maxRelError(w.view(), rw)).toBeLessThan(1e-5);
  });
});

describe("magnitude selection", () => {
  const rng = new Random(3);

  /** The reference: a full sort of (|w|, buffer, index), then the first k go. */
  function referencePrune(buffers: { w: Float32Array; mask: Float32Array }[], k: number): Float32Array[] {
    const entries: [number, number, number][] = [];
    buffers.forEach((b, bi) =>
      b.w.forEach((x, i) => {
        if (b.mask[i] !== 0) entries.push([Math.abs(x), bi, i]);
      }),
    );
    entries.sort((p, q) => p[0] - q[0] || p[1] - q[1] || p[2] - q[2]);
    const masks = buffers.map((b) => b.mask.slice());
    for (let j = 0; j < k; j++) masks[entries[j][1]][entries[j][2]] = 0;
    return masks;
  }

  it("prunes exactly the k smallest, with ties, masked entries and several buffers (global)", () => {
    for (let trial = 0; trial < 30; trial++) {
      const count = 1 + rng.int(3);
      const buffers = Array.from({ length: count }, () => {
        const n = 1 + rng.int(3000);
        // few distinct values (many ties), negative zero and positive/negative pairs
        const levels = 1 + rng.int(50);
        const w = Float32Array.from({ length: n }, () => (rng.int(levels) - levels / 2) / 7);
        if (n > 2) w[1] = -0;
        const mask = Float32Array.from({ length: n }, () => (rng.uniform() < 0.8 ? 1 : 0));
        w.forEach((_, i) => {
          if (mask[i] === 0) w[i] = 0;
        });
        return { w, mask };
      });
      const unmasked = buffers.reduce((s, b) => s + b.mask.reduce((a, x) => a + x, 0), 0);
      if (unmasked === 0) continue;
      const k = rng.int(unmasked + 1);
      const expected = referencePrune(buffers, k);
      const targets = buffers.map((b, i) => ({ name: `layer${i}`, weights: tensor(b.w), mask: tensor(b.mask) }));
      expect(pruneSmallest(targets, k)).toBe(k);
      targets.forEach((t, i) => {
        expect(Array.from(t.mask.view())).toEqual(Array.from(expected[i]));
        t.mask.view().forEach((keep, j) => {
          if (keep === 0) expect(t.weights.view()[j]).toBe(0);
        });
        t.weights.dispose();
        t.mask.dispose();
      });
    }
  });

  it("finds the same threshold as a full sort on continuous data", () => {
    const n = 266200;
    const w = randomArray(rng, n);
    const k = Math.round(0.2 * n);
    const sorted = Array.from(w, Math.abs).sort((a, b) => a - b);
    const target = { name: "w", weights: tensor(w), mask: tensor(new Float32Array(n).fill(1)) };
    const { threshold, ties } = smallestThreshold([target], k);
    expect(threshold).toBe(sorted[k - 1]);
    expect(ties).toBe(1);
  });

  it("rejects NaN and Infinity with the layer and index", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const w = new Float32Array(10).fill(0.5);
      w[7] = bad;
      const target = { name: "fc2.weight", weights: tensor(w), mask: tensor(new Float32Array(10).fill(1)) };
      expect(() => pruneSmallest([target], 3)).toThrow(/fc2\.weight has a non-finite weight \((NaN|-?Infinity)\) at flat index 7/);
    }
  });

  it("rejects k beyond the unmasked count and mismatched masks", () => {
    const target = { name: "w", weights: tensor([1, 2, 3]), mask: tensor([1, 0, 1]) };
    expect(() => pruneSmallest([target], 3)).toThrow(/cannot select 3 weights among 2 unmasked/);
    const bad = { name: "w", weights: tensor([1, 2, 3]), mask: tensor([1, 1]) };
    expect(() => pruneSmallest([bad], 1)).toThrow(/mask of w has 2 entries but its weights have 3/);
  });
});
