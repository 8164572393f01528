import { beforeAll, describe, expect, it } from "vitest";
import {
  channelsToFeatures,
  conv2d,
  im2col,
  maxPool2d,
  suitsDirectConvolution,
  suitsDirectInputGradient,
  type WindowGeometry,
  windowOutput,
} from "../src/autograd/image-ops.js";
import { liveProduct } from "../src/autograd/live-product.js";
import { addPerRow, transpose } from "../src/autograd/ops.js";
import { sparseConv2d, suitsSparseConvolution } from "../src/autograd/sparse-conv2d.js";
import { add, crossEntropy, engine, matmul, mean, mul, noGrad, ready, relu, scale, sum, type Tensor, tensor, tidy } from "../src/index.js";
import { Parameter } from "../src/nn/parameter.js";
import { SparseConvTaps } from "../src/nn/sparse-conv-lists.js";
import { SparseWeights } from "../src/nn/sparse-weights.js";
import { Random } from "../src/random.js";
import { maxRelError, numericGradient, randomArray } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

interface OpCase {
  name: string;
  shapes: number[][];
  /** The op under test, reduced to a scalar through a fixed random projection. */
  forward: (inputs: Tensor[]) => Tensor;
  /** The same function, written independently in float64. */
  reference: (inputs: Float64Array[]) => number;
  /** The gradient derived by hand, in float64. */
  formula: (inputs: Float64Array[]) => Float64Array[];
  /** Keeps inputs away from kinks (relu at 0). */
  avoidZero?: boolean;
}

/**
 * The one helper every op goes through (as tinygrad does): forward against the float64
 * reference, and the gradient against both central finite differences of the reference and
 * the hand-derived formula.
 */
function checkOp(c: OpCase, rng: Random): void {
  const values = c.shapes.map((s) => {
    const v = randomArray(
      rng,
      s.reduce((a, b) => a * b, 1),
    );
    if (c.avoidZero) v.forEach((x, i) => (v[i] = x + Math.sign(x) * 0.05 || 0.05));
    return v;
  });
  tidy(() => {
    const inputs = values.map((v, i) => tensor(v, c.shapes[i], { requiresGrad: true }));
    const out = c.forward(inputs);
    const asF64 = values.map((v) => Float64Array.from(v));
    expect(Math.abs(out.item() - c.reference(asF64)) / (1 + Math.abs(c.reference(asF64)))).toBeLessThan(1e-5);
    out.backward();
    const formula = c.formula(asF64);
    inputs.forEach((t, i) => {
      const numeric = numericGradient((x) => c.reference(asF64.map((v, j) => (j === i ? x : v))), Float64Array.from(values[i]));
      const analytic = t.grad!.view();
      expect(maxRelError(analytic, numeric), `${c.name}: input ${i} vs finite differences`).toBeLessThan(1e-4);
      expect(maxRelError(analytic, formula[i]), `${c.name}: input ${i} vs formula`).toBeLessThan(1e-5);
    });
  });
}

describe("every op: forward against float64, gradient against finite differences and the formula", () => {
  const rng = new Random(7);
  const proj = (n: number): Float64Array => Float64Array.from(randomArray(new Random(99), n));

  for (const [m, k, n] of [
    [1, 1, 1],
    [3, 4, 5],
    [7, 13, 5],
    [6, 9, 17],
  ]) {
    it(`matmul ${m}×${k}×${n}`, () => {
      const r = proj(m * n);
      checkOp(
        {
          name: "matmul",
          shapes: [
            [m, k],
            [k, n],
          ],
          forward: ([a, b]) => sum(mul(matmul(a, b), tensor(Float32Array.from(r), [m, n]))),
          reference: ([a, b]) => {
            let s = 0;
            for (let i = 0; i < m; i++)
              for (let j = 0; j < n; j++) {
                let c = 0;
                for (let p = 0; p < k; p++) c += a[i * k + p] * b[p * n + j];
                s += c * r[i * n + j];
              }
            return s;
          },
          // dA = R·Bᵀ, dB = Aᵀ·R
          formula: ([a, b]) => {
            const da = new Float64Array(m * k),
              db = new Float64Array(k * n);
            for (let i = 0; i < m; i++)
              for (let j = 0; j < n; j++)
                for (let p = 0; p < k; p++) {
                  da[i * k + p] += r[i * n + j] * b[p * n + j];
                  db[p * n + j] += a[i * k + p] * r[i * n + j];
                }
            return [da, db];
          },
        },
        rng,
      );
    });
  }

  for (const [tA, tB] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matmul with transposeA=${tA}, transposeB=${tB}`, () => {
      const [m, k, n] = [3, 5, 4];
      const r = proj(m * n);
      // stored layouts: a is [k, m] when transposed, b is [n, k] when transposed
      const aAt = (a: Float64Array, i: number, p: number): number => (tA ? a[p * m + i] : a[i * k + p]);
      const bAt = (b: Float64Array, p: number, j: number): number => (tB ? b[j * k + p] : b[p * n + j]);
      checkOp(
        {
          name: "matmul-transposed",
          shapes: [tA ? [k, m] : [m, k], tB ? [n, k] : [k, n]],
          forward: ([a, b]) => sum(mul(matmul(a, b, { transposeA: tA, transposeB: tB }), tensor(Float32Array.from(r), [m, n]))),
          reference: ([a, b]) => {
            let s = 0;
            for (let i = 0; i < m; i++)
              for (let j = 0; j < n; j++) {
                let c = 0;
                for (let p = 0; p < k; p++) c += aAt(a, i, p) * bAt(b, p, j);
                s += c * r[i * n + j];
              }
            return s;
          },
          formula: ([a, b]) => {
            const da = new Float64Array(m * k),
              db = new Float64Array(k * n);
            for (let i = 0; i < m; i++)
              for (let j = 0; j < n; j++)
                for (let p = 0; p < k; p++) {
                  da[tA ? p * m + i : i * k + p] += r[i * n + j] * bAt(b, p, j);
                  db[tB ? j * k + p : p * n + j] += aAt(a, i, p) * r[i * n + j];
                }
            return [da, db];
          },
        },
        rng,
      );
    });
  }

  // images are channel-major, x[c][n][h][w]; every case below is in float64 with plain loops
  interface ConvCase {
    c: number;
    n: number;
    h: number;
    w: number;
    o: number;
    k: number;
    stride: number;
    padding: number;
  }
  const convCases: ConvCase[] = [
    { c: 2, n: 3, h: 5, w: 7, o: 3, k: 3, stride: 1, padding: 1 }, // odd sizes, 'same' padding
    { c: 1, n: 1, h: 4, w: 4, o: 2, k: 1, stride: 1, padding: 0 }, // kernel 1, batch 1
    { c: 3, n: 2, h: 7, w: 6, o: 2, k: 3, stride: 2, padding: 1 }, // stride 2 with padding
    { c: 2, n: 2, h: 6, w: 5, o: 4, k: 2, stride: 2, padding: 0 }, // even kernel, stride 2
    { c: 1, n: 1, h: 5, w: 5, o: 1, k: 5, stride: 1, padding: 2 }, // kernel as large as the image
  ];
  const geometry = (t: ConvCase): WindowGeometry => ({
    channels: t.c,
    height: t.h,
    width: t.w,
    kernelH: t.k,
    kernelW: t.k,
    stride: t.stride,
    padding: t.padding,
  });
  /** Calls visit(row, column, input index or -1 for padding) for every entry of the im2col matrix. */
  const eachColumn = (t: ConvCase, visit: (row: number, col: number, at: number) => void): void => {
    const { outH, outW } = windowOutput(geometry(t));
    for (let ch = 0; ch < t.c; ch++)
      for (let i = 0; i < t.k; i++)
        for (let j = 0; j < t.k; j++) {
          const row = (ch * t.k + i) * t.k + j;
          for (let n = 0; n < t.n; n++)
            for (let oh = 0; oh < outH; oh++)
              for (let ow = 0; ow < outW; ow++) {
                const ih = oh * t.stride - t.padding + i,
                  iw = ow * t.stride - t.padding + j;
                const inside = ih >= 0 && ih < t.h && iw >= 0 && iw < t.w;
                visit(row, (n * outH + oh) * outW + ow, inside ? ((ch * t.n + n) * t.h + ih) * t.w + iw : -1);
              }
        }
  };

  /** A convolution op against a direct float64 convolution, written without im2col. */
  const checkConvolution = (name: string, t: ConvCase, convolve: (x: Tensor, w: Tensor, b: Tensor) => Tensor): void => {
    const { outH, outW } = windowOutput(geometry(t));
    const rows = t.c * t.k * t.k,
      cols = t.n * outH * outW;
    const r = proj(t.o * cols);
    // a direct convolution, written without im2col
    const conv = (visit: (o: number, col: number, wAt: number, xAt: number) => void): void => {
      for (let o = 0; o < t.o; o++)
        for (let n = 0; n < t.n; n++)
          for (let oh = 0; oh < outH; oh++)
            for (let ow = 0; ow < outW; ow++) {
              const col = (n * outH + oh) * outW + ow;
              for (let ch = 0; ch < t.c; ch++)
                for (let i = 0; i < t.k; i++)
                  for (let j = 0; j < t.k; j++) {
                    const ih = oh * t.stride - t.padding + i,
                      iw = ow * t.stride - t.padding + j;
                    if (ih >= 0 && ih < t.h && iw >= 0 && iw < t.w) visit(o, col, ((o * t.c + ch) * t.k + i) * t.k + j, ((ch * t.n + n) * t.h + ih) * t.w + iw);
                  }
            }
    };
    checkOp(
      {
        name,
        shapes: [[t.c, t.n * t.h * t.w], [t.o, rows], [t.o]],
        forward: ([x, w, b]) => sum(mul(convolve(x, w, b), tensor(Float32Array.from(r), [t.o, cols]))),
        reference: ([x, w, b]) => {
          const y = new Float64Array(t.o * cols);
          for (let o = 0; o < t.o; o++) for (let col = 0; col < cols; col++) y[o * cols + col] = b[o];
          conv((o, col, wAt, xAt) => (y[o * cols + col] += w[wAt] * x[xAt]));
          return y.reduce((s, v, i) => s + v * r[i], 0);
        },
        formula: ([x, w, b]) => {
          const dx = new Float64Array(x.length),
            dw = new Float64Array(w.length),
            db = new Float64Array(b.length);
          for (let o = 0; o < t.o; o++) for (let col = 0; col < cols; col++) db[o] += r[o * cols + col];
          conv((o, col, wAt, xAt) => {
            dx[xAt] += w[wAt] * r[o * cols + col];
            dw[wAt] += x[xAt] * r[o * cols + col];
          });
          return [dx, dw, db];
        },
      },
      rng,
    );
  };

  for (const t of convCases) {
    const { outH, outW } = windowOutput(geometry(t));
    const rows = t.c * t.k * t.k,
      cols = t.n * outH * outW;
    it(`im2col ${JSON.stringify(t)}`, () => {
      const r = proj(rows * cols);
      checkOp(
        {
          name: "im2col",
          shapes: [[t.c, t.n * t.h * t.w]],
          forward: ([x]) => sum(mul(im2col(x, t.n, geometry(t)), tensor(Float32Array.from(r), [rows, cols]))),
          reference: ([x]) => {
            let s = 0;
            eachColumn(t, (row, col, at) => {
              if (at >= 0) s += x[at] * r[row * cols + col];
            });
            return s;
          },
          formula: ([x]) => {
            const d = new Float64Array(x.length);
            eachColumn(t, (row, col, at) => {
              if (at >= 0) d[at] += r[row * cols + col];
            });
            return [d];
          },
        },
        rng,
      );
    });

    it(`conv2d as W · im2col(x) + b ${JSON.stringify(t)}`, () => {
      checkConvolution("conv2d (im2col)", t, (x, w, b) => addPerRow(matmul(w, im2col(x, t.n, geometry(t))), b));
    });
  }

  // the direct kernels: blocks of 4, 2 and 1 output channels, rows with a partial last vector,
  // kernels wider than one register block (7 > 5 columns), kernel 1, batch 1, full padding
  const directCases: ConvCase[] = [
    { c: 2, n: 3, h: 5, w: 7, o: 3, k: 3, stride: 1, padding: 1 },
    { c: 1, n: 2, h: 12, w: 12, o: 6, k: 5, stride: 1, padding: 0 },
    { c: 3, n: 1, h: 6, w: 23, o: 7, k: 3, stride: 1, padding: 1 },
    { c: 2, n: 2, h: 9, w: 10, o: 5, k: 7, stride: 1, padding: 3 },
    { c: 1, n: 1, h: 4, w: 4, o: 2, k: 1, stride: 1, padding: 0 },
    { c: 2, n: 2, h: 6, w: 6, o: 4, k: 3, stride: 1, padding: 2 },
    { c: 2, n: 1, h: 5, w: 19, o: 9, k: 5, stride: 1, padding: 1 },
    // rows of three whole vectors, an odd number of rows: the single vectors of two rows pair up, the last row's runs alone
    { c: 1, n: 2, h: 7, w: 12, o: 4, k: 3, stride: 1, padding: 1 },
    // four outputs whose weight gradient runs in one block of 4 × 2 taps, rows with a partial last vector
    { c: 2, n: 2, h: 6, w: 9, o: 4, k: 3, stride: 1, padding: 1 },
    // col2im's rows of four whole vectors
    { c: 1, n: 2, h: 3, w: 16, o: 2, k: 1, stride: 1, padding: 0 },
    // one input channel and 'same' padding: the direct input gradient, with shifts of two and three
    // floats at the rows' ends, two blocks of output channels, rows of two and seven vectors
    { c: 1, n: 2, h: 5, w: 8, o: 9, k: 5, stride: 1, padding: 2 },
    { c: 1, n: 1, h: 4, w: 28, o: 3, k: 7, stride: 1, padding: 3 },
  ];
  for (const t of directCases) {
    it(`conv2d, direct ${JSON.stringify(t)}`, () => {
      expect(suitsDirectConvolution(geometry(t))).toBe(true);
      checkConvolution("conv2d (direct)", t, (x, w, b) => conv2d(x, w, b, t.n, geometry(t)));
    });
  }
  it("the input gradient folded back a few images at a time has the bits of Wᵀ · dy and col2im over the whole batch, accumulated", () => {
    const e = engine();
    const rng = new Random(12);
    // 27 taps with padding (a product that reads dy in place) and 50 without (packed): chunks of one
    // image up to the whole batch, an uneven last chunk, and the images split in two ranges as two
    // threads split them; the floats past each chunk must stay untouched
    for (const t of [
      { c: 3, n: 5, h: 9, w: 11, o: 7, k: 3, stride: 1, padding: 1 },
      { c: 2, n: 4, h: 12, w: 12, o: 5, k: 5, stride: 1, padding: 0 },
    ]) {
      const g = geometry(t);
      const { outH, outW } = windowOutput(g);
      const depth = t.c * t.k * t.k,
        columns = t.n * outH * outW,
        inputs = t.c * t.n * t.h * t.w;
      tidy(() => {
        const w = tensor(randomArray(rng, t.o * depth), [t.o, depth]);
        const dy = tensor(randomArray(rng, t.o * columns), [t.o, columns]);
        const start = randomArray(rng, inputs);
        const whole = tensor(new Float32Array(depth * columns), [depth, columns]);
        const expected = tensor(start.slice(), [inputs]);
        e.kernels.sgemm(1, 0, depth, columns, t.o, w.ptr, dy.ptr, whole.ptr, 0, e.gemmWorkspace(0));
        e.kernels.col2im(whole.ptr, expected.ptr, t.c, t.n, t.h, t.w, t.k, t.k, 1, t.padding, outH, outW, 0, t.c);
        const shape = [t.c, t.n, t.h, t.w, t.k, t.k, 1, t.padding, outH, outW, t.o] as const;
        for (const chunkImages of [1, 2, 3, t.n]) {
          for (const ranges of [
            [[0, t.n]],
            [
              [0, 2],
              [2, t.n],
            ],
          ]) {
            const dx = tensor(start.slice(), [inputs]);
            const chunkFloats = depth * chunkImages * outH * outW;
            const chunk = tensor(new Float32Array(chunkFloats + 64).fill(7));
            for (const [n0, n1] of ranges) e.kernels.convInputGradient(w.ptr, dy.ptr, dx.ptr, chunk.ptr, e.gemmWorkspace(0), ...shape, chunkImages, n0, n1);
            const label = `${JSON.stringify(t)}, ${chunkImages} images a chunk, images ${JSON.stringify(ranges)}`;
            expect(new Uint32Array(dx.view().slice().buffer), label).toEqual(new Uint32Array(expected.view().slice().buffer));
            expect(Array.from(chunk.view().subarray(chunkFloats)), `${label}: past the chunk`).toEqual(new Array(64).fill(7));
          }
        }
      });
    }
  });

  it("the direct input gradient of a 'same' convolution: float64's sums, accumulated, the same bits for any split of the images, and nothing from outside dy", () => {
    const e = engine();
    const rng = new Random(13);
    // shifts of 1, 2 and 3 floats at the rows' ends, kernel 1, rows of two to seven vectors, one
    // and two blocks of output channels, two input channels
    for (const t of [
      { c: 1, n: 3, h: 5, w: 8, o: 9, k: 5 },
      { c: 2, n: 2, h: 4, w: 28, o: 3, k: 7 },
      { c: 1, n: 2, h: 6, w: 12, o: 16, k: 3 },
      { c: 1, n: 2, h: 3, w: 20, o: 2, k: 1 },
    ]) {
      const p = (t.k - 1) / 2;
      const plane = t.h * t.w,
        taps = t.k * t.k,
        dyFloats = t.o * t.n * plane,
        dxFloats = t.c * t.n * plane;
      tidy(() => {
        const w = tensor(randomArray(rng, t.o * t.c * taps), [t.o, t.c * taps]);
        // dy between guards of NaN and infinity, which the loads at the rows' ends reach and must drop
        const guarded = tensor(new Float32Array(16 + dyFloats + 16).fill(Number.NaN));
        guarded.view().fill(Number.POSITIVE_INFINITY, 16 + dyFloats);
        const dyValues = randomArray(rng, dyFloats);
        guarded.view().set(dyValues, 16);
        const dy = guarded.ptr + 64;
        const start = randomArray(rng, dxFloats);
        const flipped = tensor(new Float32Array(4 * t.o * t.c * taps));
        e.kernels.splatFlippedWeights(w.ptr, flipped.ptr, t.o, t.c, t.k);
        const expected = Float64Array.from(start);
        for (let c = 0; c < t.c; c++)
          for (let n = 0; n < t.n; n++)
            for (let y = 0; y < t.h; y++)
              for (let x = 0; x < t.w; x++)
                for (let o = 0; o < t.o; o++)
                  for (let i = 0; i < t.k; i++)
                    for (let j = 0; j < t.k; j++) {
                      const sy = y + p - i,
                        sx = x + p - j;
                      if (sy < 0 || sy >= t.h || sx < 0 || sx >= t.w) continue;
                      expected[((c * t.n + n) * t.h + y) * t.w + x] +=
                        w.view()[(o * t.c + c) * taps + i * t.k + j] * dyValues[((o * t.n + n) * t.h + sy) * t.w + sx];
                    }
        const runs = [
          [[0, t.n]],
          [
            [0, 1],
            [1, t.n],
          ],
        ].map((ranges) => {
          const dx = tensor(new Float32Array(dxFloats + 16).fill(7));
          dx.view().set(start);
          for (const [n0, n1] of ranges) e.kernels.convInputGradientSame(flipped.ptr, dy, dx.ptr, t.c, t.n, t.h, t.w, t.o, t.k, 1, n0, n1);
          expect(Array.from(dx.view().subarray(dxFloats)), `${JSON.stringify(t)}: past dx`).toEqual(new Array(16).fill(7));
          return dx.view().slice(0, dxFloats);
        });
        expect(maxRelError(runs[0], expected), JSON.stringify(t)).toBeLessThan(1e-5);
        expect(new Uint32Array(runs[1].buffer), `${JSON.stringify(t)}: split in two`).toEqual(new Uint32Array(runs[0].buffer));
        // without accumulating, the sums alone
        const fresh = tensor(new Float32Array(dxFloats).fill(Number.NaN));
        e.kernels.convInputGradientSame(flipped.ptr, dy, fresh.ptr, t.c, t.n, t.h, t.w, t.o, t.k, 0, 0, t.n);
        expect(
          maxRelError(
            fresh.view(),
            expected.map((v, i) => v - start[i]),
          ),
          `${JSON.stringify(t)}: not accumulated`,
        ).toBeLessThan(1e-5);
      });
    }
    expect(suitsDirectInputGradient({ channels: 1, height: 28, width: 28, kernelH: 3, kernelW: 3, stride: 1, padding: 1 })).toBe(true);
    expect(suitsDirectInputGradient({ channels: 1, height: 28, width: 28, kernelH: 5, kernelW: 5, stride: 1, padding: 0 })).toBe(false);
    expect(suitsDirectInputGradient({ channels: 1, height: 14, width: 14, kernelH: 3, kernelW: 3, stride: 1, padding: 1 })).toBe(false);
    expect(suitsDirectInputGradient({ channels: 1, height: 32, width: 32, kernelH: 3, kernelW: 3, stride: 1, padding: 1 })).toBe(false);
  });

  // the compact kernels with every tap kept (the values are then W itself, by output then input):
  // blocks of several short rows, of 8 and 7 vectors, partial last vectors, and the 'full'
  // correlation of the input gradient with and without padding
  const sparseCases: ConvCase[] = [
    ...directCases,
    { c: 2, n: 1, h: 4, w: 37, o: 2, k: 3, stride: 1, padding: 1 },
    { c: 1, n: 1, h: 3, w: 28, o: 2, k: 3, stride: 1, padding: 1 },
    { c: 2, n: 3, h: 11, w: 8, o: 3, k: 3, stride: 1, padding: 0 },
  ];
  for (const t of sparseCases) {
    it(`conv2d, compact sparse kernels, every tap kept ${JSON.stringify(t)}`, () => {
      expect(suitsSparseConvolution(geometry(t))).toBe(true);
      const made: { weight: Parameter; sparse: SparseWeights }[] = [];
      checkConvolution("conv2d (sparse)", t, (x, w, b) => {
        const rows = t.c * t.k * t.k;
        const weight = new Parameter("w", w, true, [t.o, t.c, t.k, t.k], { inputs: rows, outputs: t.o, inputStride: 1, outputStride: rows });
        weight.ensureMask();
        const sparse = new SparseWeights(weight);
        made.push({ weight, sparse });
        const lists = sparse.derived("taps", () => new SparseConvTaps(sparse, geometry(t))).forBatch(t.n);
        return sparseConv2d(x, w, b, t.o, t.n, geometry(t), lists);
      });
      // the values are the test's own tensor: only the mask and the compact structures are ours to free
      for (const { weight, sparse } of made) {
        sparse.dispose();
        weight.mask?.dispose();
      }
    });
  }

  it("conv2d, direct: strides, rows narrower than a vector, wide padding and deep kernels on narrow rows are left to im2col", () => {
    const g = { channels: 1, height: 8, width: 8, kernelH: 3, kernelW: 3, stride: 1, padding: 1 };
    expect(suitsDirectConvolution(g)).toBe(true);
    expect(suitsDirectConvolution({ ...g, stride: 2 })).toBe(false);
    expect(suitsDirectConvolution({ ...g, width: 3 })).toBe(false);
    expect(suitsDirectConvolution({ ...g, padding: 3 })).toBe(false);
    expect(suitsDirectConvolution({ ...g, channels: 29 })).toBe(false);
    expect(suitsDirectConvolution({ ...g, channels: 64, height: 28, width: 28 })).toBe(true); // deep, but rows of 28
    expect(() => tidy(() => conv2d(tensor(new Float32Array(64), [1, 64]), tensor(new Float32Array(9), [1, 9]), tensor([0]), 1, { ...g, stride: 2 }))).toThrow(
      /im2col/,
    );
  });

  for (const t of [
    { c: 2, n: 3, h: 4, w: 8, size: 2, stride: 2 }, // four windows at a time
    { c: 1, n: 2, h: 6, w: 12, size: 2, stride: 2 }, // windows that tile the image, four at a time and two alone
    { c: 1, n: 1, h: 5, w: 7, size: 2, stride: 2 }, // odd sizes: the last row and column are dropped
    { c: 2, n: 1, h: 6, w: 6, size: 3, stride: 2 }, // overlapping windows
    { c: 1, n: 2, h: 3, w: 3, size: 2, stride: 1 },
  ]) {
    it(`maxPool2d ${JSON.stringify(t)}`, () => {
      const { outH, outW } = windowOutput({ channels: t.c, height: t.h, width: t.w, kernelH: t.size, kernelW: t.size, stride: t.stride, padding: 0 });
      const outSize = t.c * t.n * outH * outW;
      const r = proj(outSize);
      const argmaxes = (x: Float64Array): number[] => {
        const at: number[] = [];
        for (let p = 0; p < t.c * t.n; p++)
          for (let oh = 0; oh < outH; oh++)
            for (let ow = 0; ow < outW; ow++) {
              let best = -1;
              for (let i = 0; i < t.size; i++)
                for (let j = 0; j < t.size; j++) {
                  const k = p * t.h * t.w + (oh * t.stride + i) * t.w + ow * t.stride + j;
                  if (best < 0 || x[k] > x[best]) best = k;
                }
              at.push(best);
            }
        return at;
      };
      checkOp(
        {
          name: "maxPool2d",
          shapes: [[t.c, t.n * t.h * t.w]],
          forward: ([x]) => sum(mul(maxPool2d(x, t.c, t.n, t.h, t.w, t.size, t.stride), tensor(Float32Array.from(r), [t.c, t.n * outH * outW]))),
          reference: ([x]) => argmaxes(x).reduce((s, at, q) => s + x[at] * r[q], 0),
          formula: ([x]) => {
            const d = new Float64Array(x.length);
            argmaxes(x).forEach((at, q) => (d[at] += r[q]));
            return [d];
          },
        },
        rng,
      );
    });
  }
  it("maxPool2d over 2×2 windows, four at a time: the first maximum in row-major order, with ties, ±0 and NaNs (a NaN takes over and stays)", () => {
    const e = engine();
    const [planes, height, width] = [2, 6, 16];
    const rng = new Random(13);
    // few distinct values, so windows tie often; NaNs and signed zeros scattered in
    const pick = [-1, 0, -0, 0.5, 0.5, 2, Number.NaN];
    const x = Array.from({ length: planes * height * width }, () => pick[rng.int(pick.length)]);
    const [outH, outW] = [height / 2, width / 2];
    const expected: number[] = [];
    for (let p = 0; p < planes; p++)
      for (let oh = 0; oh < outH; oh++)
        for (let ow = 0; ow < outW; ow++) {
          const first = p * height * width + 2 * oh * width + 2 * ow;
          let best = first;
          for (const at of [first + 1, first + width, first + width + 1]) {
            const v = x[at],
              b = x[best];
            if (v > b || (Number.isNaN(v) && !Number.isNaN(b))) best = at;
          }
          expected.push(best);
        }
    tidy(() => {
      const xt = tensor(x, [planes, height * width]);
      const out = tensor(new Float32Array(expected.length), [planes, outH * outW]);
      const argmax = tensor(new Float32Array(expected.length), [planes, outH * outW]);
      e.kernels.maxPool2d(xt.ptr, out.ptr, argmax.ptr, height, width, 2, 2, outH, outW, 0, planes);
      expect(Array.from(new Int32Array(argmax.data().buffer))).toEqual(expected);
      expect(new Uint32Array(out.data().buffer)).toEqual(new Uint32Array(Float32Array.from(expected.map((k) => x[k])).buffer));
    });
  });

  it("maxPool2d backward over 2×2 windows that tile the image writes the bits of clearing the gradient and adding to it, −0 and NaN included", () => {
    const e = engine();
    const [planes, outH, outW] = [3, 5, 6];
    const rng = new Random(12);
    tidy(() => {
      const x = tensor(randomArray(rng, planes * 4 * outH * outW), [planes, 4 * outH * outW]);
      const dyValues = randomArray(rng, planes * outH * outW);
      dyValues[0] = -0;
      dyValues[5] = Number.NaN;
      dyValues[9] = -0;
      const dy = tensor(dyValues, [planes, outH * outW]);
      const out = tensor(new Float32Array(dy.size), dy.shape);
      const argmax = tensor(new Float32Array(dy.size), dy.shape);
      e.kernels.maxPool2d(x.ptr, out.ptr, argmax.ptr, 2 * outH, 2 * outW, 2, 2, outH, outW, 0, planes);
      const tiled = tensor(new Float32Array(x.size).fill(7), x.shape);
      e.kernels.maxPool2x2BackwardTiled(dy.ptr, argmax.ptr, tiled.ptr, outH, outW, 0, planes);
      const added = tensor(new Float32Array(x.size), x.shape);
      e.kernels.maxPool2dBackward(dy.ptr, argmax.ptr, added.ptr, 0, dy.size);
      expect(new Uint32Array(tiled.data().buffer)).toEqual(new Uint32Array(added.data().buffer));
    });
  });

  // data whose features 1, 4 and 5 are zero in every example (one of them −0), in either layout
  const liveCases = [
    { layout: "rows", batch: 5, features: 9, outputs: 4 },
    { layout: "features", batch: 5, features: 9, outputs: 4 },
    { layout: "features", batch: 3, features: 7, outputs: 10 },
  ] as const;
  for (const t of liveCases) {
    it(`liveProduct ${JSON.stringify(t)}`, () => {
      const { batch, features, outputs } = t;
      const rows = t.layout === "rows";
      const at = (n: number, k: number): number => (rows ? n * features + k : k * batch + n);
      const x = Float32Array.from(randomArray(new Random(5), batch * features));
      for (let n = 0; n < batch; n++) for (const k of [1, 4, 5]) x[at(n, k)] = k === 4 && n === 0 ? -0 : 0;
      const r = proj(batch * outputs);
      const rAt = (n: number, j: number): number => (rows ? r[n * outputs + j] : r[j * batch + n]);
      checkOp(
        {
          name: "liveProduct",
          shapes: [[features, outputs]],
          forward: ([w]) =>
            sum(
              mul(
                liveProduct(tensor(x, rows ? [batch, features] : [features, batch]), w, t.layout),
                tensor(Float32Array.from(r), rows ? [batch, outputs] : [outputs, batch]),
              ),
            ),
          reference: ([w]) => {
            let s = 0;
            for (let n = 0; n < batch; n++)
              for (let j = 0; j < outputs; j++) {
                let c = 0;
                for (let k = 0; k < features; k++) c += x[at(n, k)] * w[k * outputs + j];
                s += c * rAt(n, j);
              }
            return s;
          },
          // dW[k][j] = Σ_n x[n][k] · R[n][j]
          formula: () => {
            const dw = new Float64Array(features * outputs);
            for (let k = 0; k < features; k++) for (let j = 0; j < outputs; j++) for (let n = 0; n < batch; n++) dw[k * outputs + j] += x[at(n, k)] * rAt(n, j);
            return [dw];
          },
        },
        rng,
      );
    });
  }

  it("flatten (channel-major images to feature-major vectors)", () => {
    const [c, n, plane] = [3, 4, 5];
    const r = proj(c * n * plane);
    // feature c·plane + p of example n
    const at = (ch: number, e: number, p: number): number => (ch * n + e) * plane + p;
    checkOp(
      {
        name: "channelsToFeatures",
        shapes: [[c, n * plane]],
        forward: ([x]) => sum(mul(channelsToFeatures(x, n), tensor(Float32Array.from(r), [c * plane, n]))),
        reference: ([x]) => {
          let s = 0;
          for (let ch = 0; ch < c; ch++) for (let e = 0; e < n; e++) for (let p = 0; p < plane; p++) s += x[at(ch, e, p)] * r[(ch * plane + p) * n + e];
          return s;
        },
        formula: () => {
          const d = new Float64Array(c * n * plane);
          for (let ch = 0; ch < c; ch++) for (let e = 0; e < n; e++) for (let p = 0; p < plane; p++) d[at(ch, e, p)] = r[(ch * plane + p) * n + e];
          return [d];
        },
      },
      rng,
    );
  });

  it("transpose", () => {
    const r = proj(12);
    checkOp(
      {
        name: "transpose",
        shapes: [[3, 4]],
        forward: ([a]) => sum(mul(transpose(a), tensor(Float32Array.from(r), [4, 3]))),
        reference: ([a]) => {
          let s = 0;
          for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) s += a[i * 4 + j] * r[j * 3 + i];
          return s;
        },
        formula: () => {
          const d = new Float64Array(12);
          for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) d[i * 4 + j] = r[j * 3 + i];
          return [d];
        },
      },
      rng,
    );
  });

  it("addPerRow", () => {
    const [rows, cols] = [4, 6];
    const r = proj(rows * cols);
    checkOp(
      {
        name: "addPerRow",
        shapes: [[rows, cols], [rows]],
        forward: ([x, v]) => sum(mul(addPerRow(x, v), tensor(Float32Array.from(r), [rows, cols]))),
        reference: ([x, v]) => x.reduce((s, val, i) => s + (val + v[Math.floor(i / cols)]) * r[i], 0),
        formula: () => {
          const dv = new Float64Array(rows);
          r.forEach((val, i) => (dv[Math.floor(i / cols)] += val));
          return [r.slice(), dv];
        },
      },
      rng,
    );
  });

  it("add (same shape)", () => {
    const r = proj(12);
    checkOp(
      {
        name: "add",
        shapes: [
          [3, 4],
          [3, 4],
        ],
        forward: ([a, b]) => sum(mul(add(a, b), tensor(Float32Array.from(r), [3, 4]))),
        reference: ([a, b]) => a.reduce((s, x, i) => s + (x + b[i]) * r[i], 0),
        formula: () => [r.slice(), r.slice()],
      },
      rng,
    );
  });

  it("add (bias broadcast over rows)", () => {
    const [rows, cols] = [5, 3];
    const r = proj(rows * cols);
    checkOp(
      {
        name: "add-broadcast",
        shapes: [[rows, cols], [cols]],
        forward: ([a, b]) => sum(mul(add(a, b), tensor(Float32Array.from(r), [rows, cols]))),
        reference: ([a, b]) => a.reduce((s, x, i) => s + (x + b[i % cols]) * r[i], 0),
        formula: () => {
          const db = new Float64Array(cols);
          r.forEach((x, i) => (db[i % cols] += x));
          return [r.slice(), db];
        },
      },
      rng,
    );
  });

  it("mul", () => {
    checkOp(
      {
        name: "mul",
        shapes: [
          [2, 5],
          [2, 5],
        ],
        forward: ([a, b]) => sum(mul(a, b)),
        reference: ([a, b]) => a.reduce((s, x, i) => s + x * b[i], 0),
        formula: ([a, b]) => [b.slice(), a.slice()],
      },
      rng,
    );
  });

  it("scale", () => {
    const r = proj(6);
    checkOp(
      {
        name: "scale",
        shapes: [[6]],
        forward: ([a]) => sum(mul(scale(a, -1.5), tensor(Float32Array.from(r)))),
        reference: ([a]) => a.reduce((s, x, i) => s - 1.5 * x * r[i], 0),
        formula: () => [r.map((x) => -1.5 * x)],
      },
      rng,
    );
  });

  it("relu", () => {
    const r = proj(20);
    checkOp(
      {
        name: "relu",
        shapes: [[4, 5]],
        avoidZero: true,
        forward: ([a]) => sum(mul(relu(a), tensor(Float32Array.from(r), [4, 5]))),
        reference: ([a]) => a.reduce((s, x, i) => s + Math.max(x, 0) * r[i], 0),
        formula: ([a]) => [a.map((x, i) => (x > 0 ? r[i] : 0))],
      },
      rng,
    );
  });

  it("sum and mean", () => {
    checkOp(
      {
        name: "mean",
        shapes: [[3, 7]],
        forward: ([a]) => add(mean(a), scale(sum(a), 0.5)),
        reference: ([a]) => a.reduce((s, x) => s + x, 0) * (1 / 21 + 0.5),
        formula: ([a]) => [a.map(() => 1 / 21 + 0.5)],
      },
      rng,
    );
  });

  it("crossEntropy", () => {
    const [rows, cols] = [6, 10];
    const labels = [3, 0, 9, 9, 1, 5];
    const softmaxRows = (x: Float64Array): Float64Array => {
      const p = new Float64Array(x.length);
      for (let r = 0; r < rows; r++) {
        const row = x.subarray(r * cols, (r + 1) * cols);
        const m = Math.max(...row);
        const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
        row.forEach((v, c) => (p[r * cols + c] = Math.exp(v - m) / z));
      }
      return p;
    };
    checkOp(
      {
        name: "crossEntropy",
        shapes: [[rows, cols]],
        forward: ([x]) => crossEntropy(scale(x, 3), labels),
        reference: ([x]) => {
          const p = softmaxRows(x.map((v) => 3 * v));
          return -labels.reduce((s, l, r) => s + Math.log(p[r * cols + l]), 0) / rows;
        },
        // d/dx = 3 · (softmax(3x) − onehot) / rows
        formula: ([x]) => {
          const p = softmaxRows(x.map((v) => 3 * v));
          labels.forEach((l, r) => (p[r * cols + l] -= 1));
          return [p.map((v) => (3 * v) / rows)];
        },
      },
      rng,
    );
  });
});

describe("autograd behaviour", () => {
  it("gradients accumulate across backward calls and through shared inputs", () => {
    tidy(() => {
      const x = tensor([1, -2, 3], [3], { requiresGrad: true });
      sum(add(x, x)).backward(); // x used twice: gradient 2
      expect(Array.from(x.grad!.view())).toEqual([2, 2, 2]);
      sum(x).backward();
      expect(Array.from(x.grad!.view())).toEqual([3, 3, 3]);
      x.zeroGrad();
      expect(Array.from(x.grad!.view())).toEqual([0, 0, 0]);
    });
  });

  it("matmul writes a step's first gradient straight in, then accumulates, with the same results", () => {
    tidy(() => {
      const rng = new Random(12);
      const a = tensor(randomArray(rng, 12), [3, 4], { requiresGrad: true });
      const b = tensor(randomArray(rng, 20), [4, 5], { requiresGrad: true });
      const c = tensor(randomArray(rng, 12), [4, 3], { requiresGrad: true });
      const once = (): void => sum(matmul(a, b)).backward();
      once();
      const [ga, gb] = [a.grad!.data(), b.grad!.data()];
      once(); // accumulates: twice the gradient
      expect(Array.from(a.grad!.view())).toEqual(Array.from(ga, (v) => 2 * v));
      expect(Array.from(b.grad!.view())).toEqual(Array.from(gb, (v) => 2 * v));
      a.zeroGrad();
      b.zeroGrad();
      once(); // after zeroGrad the old values are overwritten, not added to
      expect(Array.from(a.grad!.view())).toEqual(Array.from(ga));
      expect(Array.from(b.grad!.view())).toEqual(Array.from(gb));
      // a zeroed gradient that nothing flows into reads as zeros, also to the optimizer's path
      sum(matmul(c, a)).backward();
      a.zeroGrad();
      sum(b).backward();
      expect(Array.from(a.grad!.view())).toEqual(new Array(12).fill(0));
      c.zeroGrad();
      expect(Array.from(c.gradBuffer().view())).toEqual(new Array(12).fill(0));
      // a second product into the same gradient in one step adds to the first
      a.zeroGrad();
      sum(add(matmul(a, b), matmul(a, b))).backward();
      expect(
        maxRelError(
          a.grad!.view(),
          Float64Array.from(ga, (v) => 2 * v),
        ),
      ).toBeLessThan(1e-6);
    });
  });

  it("a two-layer MLP's gradients match finite differences end to end", () => {
    const rng = new Random(5);
    const [batch, inputs, hidden, classes] = [4, 6, 5, 3];
    const labels = [0, 2, 1, 2];
    const xs = Float64Array.from(randomArray(rng, batch * inputs));
    const params = [[inputs, hidden], [hidden], [hidden, classes], [classes]].map((s) => ({
      shape: s,
      values: Float64Array.from(
        randomArray(
          rng,
          s.reduce((a, b) => a * b, 1),
        ),
      ),
    }));
    const reference = (p: Float64Array[]): number => {
      const [w1, b1, w2, b2] = p;
      let loss = 0;
      for (let r = 0; r < batch; r++) {
        const h = new Float64Array(hidden);
        for (let j = 0; j < hidden; j++) {
          let s = b1[j];
          for (let i = 0; i < inputs; i++) s += xs[r * inputs + i] * w1[i * hidden + j];
          h[j] = Math.max(s, 0);
        }
        const z = new Float64Array(classes);
        for (let c = 0; c < classes; c++) {
          let s = b2[c];
          for (let j = 0; j < hidden; j++) s += h[j] * w2[j * classes + c];
          z[c] = s;
        }
        const m = Math.max(...z);
        loss += m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) - z[labels[r]];
      }
      return loss / batch;
    };
    tidy(() => {
      const ps = params.map((p) => tensor(Float32Array.from(p.values), p.shape, { requiresGrad: true }));
      const x = tensor(Float32Array.from(xs), [batch, inputs]);
      const loss = crossEntropy(add(matmul(relu(add(matmul(x, ps[0]), ps[1])), ps[2]), ps[3]), labels);
      expect(loss.item()).toBeCloseTo(reference(params.map((p) => p.values)), 5);
      loss.backward();
      ps.forEach((t, i) => {
        const numeric = numericGradient((v) => reference(params.map((p, j) => (j === i ? v : p.values))), params[i].values.slice());
        expect(maxRelError(t.grad!.view(), numeric)).toBeLessThan(1e-4);
      });
    });
  });

  it("liveProduct gives matmul's bits: outputs and weight gradients, both layouts, a depth block with no live feature, no live feature at all, and accumulation", () => {
    const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.slice().buffer));
    // 600 features: the GEMM's depth blocks of 256 end at 256 and 512, and features 256..511 are all zero
    const [batch, features, outputs] = [7, 600, 13];
    for (const layout of ["rows", "features"] as const) {
      const rows = layout === "rows";
      for (const zeroed of [(k: number) => (k >= 256 && k < 512) || k % 7 === 0, () => true]) {
        const rng = new Random(21);
        const x = Float32Array.from(randomArray(rng, batch * features));
        for (let n = 0; n < batch; n++) for (let k = 0; k < features; k++) if (zeroed(k)) x[rows ? n * features + k : k * batch + n] = n === 2 ? -0 : 0;
        const w = Float32Array.from(randomArray(rng, features * outputs));
        const g = Float32Array.from(randomArray(rng, batch * outputs));
        const run = (product: (x: Tensor, w: Tensor) => Tensor) =>
          tidy(() => {
            const wt = tensor(w, [features, outputs], { requiresGrad: true });
            const xt = tensor(x, rows ? [batch, features] : [features, batch]);
            const out: number[][] = [];
            for (let pass = 0; pass < 2; pass++) {
              // the second pass adds onto the first's gradient
              const y = product(xt, wt);
              sum(mul(y, tensor(g, y.shape))).backward();
              out.push(bitsOf(y.view()), bitsOf(wt.grad!.view()));
            }
            return out;
          });
        const live = run((xt, wt) => liveProduct(xt, wt, layout));
        const full = run((xt, wt) => (rows ? matmul(xt, wt) : matmul(wt, xt, { transposeA: true })));
        expect(live).toEqual(full);
      }
    }
  });

  it("noGrad records no graph", () => {
    tidy(() => {
      const w = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        undefined,
        { requiresGrad: true },
      );
      const out = noGrad(() => sum(matmul(w, w)));
      expect(out.requiresGrad).toBe(false);
      expect(out.parents.length).toBe(0);
      expect(() => out.backward()).toThrow(/does not depend on any tensor with requiresGrad/);
    });
  });

  it("toArray follows the shape", () => {
    tidy(() => {
      expect(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]).toArray(),
      ).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(tensor(new Float32Array([1, 2, 3, 4]), [2, 2]).toArray()).toEqual([
        [1, 2],
        [3, 4],
      ]);
    });
  });
});

describe("bad input gets a clear error naming the op and shapes", () => {
  it("shape mismatches", () => {
    tidy(() => {
      const a = tensor(new Float32Array(6), [2, 3]);
      const b = tensor(new Float32Array(8), [4, 2]);
      expect(() => matmul(a, b)).toThrow("matmul: inner dimensions differ: a is [2, 3] and b is [4, 2] (3 ≠ 4)");
      expect(() => matmul(a, tensor([1, 2, 3]))).toThrow("matmul: b must be a matrix (2-D), got shape [3]");
      expect(() => add(a, b)).toThrow(/add: shapes \[2, 3\] and \[4, 2\] do not match/);
      expect(() => crossEntropy(a, [0])).toThrow("crossEntropy: 1 labels for 2 rows of logits [2, 3]");
      expect(() => crossEntropy(a, [0, 3])).toThrow("crossEntropy: label 3 at row 1 is not a class index in [0, 3)");
      expect(() => crossEntropy(a, [0, Number.NaN])).toThrow(/label NaN at row 1/);
      expect(() => tensor([1, 2, 3], [2, 2])).toThrow("tensor: 3 values do not fit shape [2, 2] (4 elements)");
      expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    });
  });

  it("backward from a non-scalar", () => {
    tidy(() => {
      const a = tensor([1, 2, 3], [3], { requiresGrad: true });
      expect(() => relu(a).backward()).toThrow("backward: needs a scalar (one element), got shape [3] from relu; reduce it with sum() or mean() first");
    });
  });

  it("use after dispose", () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    a.dispose();
    expect(() => matmul(a, a)).toThrow("use of a disposed tensor (made by tensor, shape [2, 2])");
    expect(() => a.toArray()).toThrow(/disposed/);
  });
});

describe("memory", () => {
  it("survives memory growth in the middle of a computation", () => {
    const e = engine();
    tidy(() => {
      const rng = new Random(11);
      const w = tensor(randomArray(rng, 64 * 32), [64, 32], { requiresGrad: true });
      const x = tensor(randomArray(rng, 16 * 64), [16, 64]);
      const hidden = relu(matmul(x, w));
      const before = e.memory.buffer.byteLength;
      const big = tensor(new Float32Array(before / 4 + 1000), [before / 4 + 1000]); // forces growth
      expect(e.memory.buffer.byteLength).toBeGreaterThan(before);
      big.dispose();
      const loss = mean(hidden);
      loss.backward();
      // recompute in float64 and compare
      const xv = x.data(),
        wv = w.data();
      const grad = new Float64Array(64 * 32);
      for (let r = 0; r < 16; r++)
        for (let j = 0; j < 32; j++) {
          let s = 0;
          for (let i = 0; i < 64; i++) s += xv[r * 64 + i] * wv[i * 32 + j];
          if (s > 0) for (let i = 0; i < 64; i++) grad[i * 32 + j] += xv[r * 64 + i] / (16 * 32);
        }
      expect(maxRelError(w.grad!.view(), grad)).toBeLessThan(1e-5);
    });
  });

  it("a training step in tidy() reaches a steady state with no new memory", () => {
    const e = engine();
    const rng = new Random(12);
    const w = tensor(randomArray(rng, 784 * 30, 0.05), [784, 30], { requiresGrad: true });
    const b = tensor(new Float32Array(30), [30], { requiresGrad: true });
    const x = tensor(randomArray(rng, 60 * 784), [60, 784]);
    const labels = Array.from({ length: 60 }, (_, i) => i % 30);
    const step = (): void =>
      tidy(() => {
        const loss = crossEntropy(add(matmul(x, w), b), labels);
        loss.backward();
        e.kernels.axpy(-0.1, w.grad!.ptr, w.ptr, w.size);
        w.zeroGrad();
        b.zeroGrad();
      });
    step();
    step();
    const settled = e.allocator.stats();
    for (let i = 0; i < 20; i++) step();
    const after = e.allocator.stats();
    expect(after.heapTop).toBe(settled.heapTop);
    expect(after.liveBlocks).toBe(settled.liveBlocks);
    [w, b, x].forEach((t) => t.dispose());
  });
});
