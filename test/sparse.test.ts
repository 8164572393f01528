import { beforeAll, describe, expect, it } from "vitest";
import { conv2d, suitsDirectConvolution, type WindowGeometry, windowOutput } from "../src/autograd/image-ops.js";
import { add, mul, sum, transpose } from "../src/autograd/ops.js";
import { sparseConv2d } from "../src/autograd/sparse-conv2d.js";
import { Tensor } from "../src/autograd/tensor.js";
import { crossEntropy, ready, tensor, tidy } from "../src/index.js";
import { magnitudePrune } from "../src/lottery/masks.js";
import { Model } from "../src/nn/model.js";
import { linearProduct, Parameter } from "../src/nn/parameter.js";
import { mlpSpec } from "../src/nn/registry.js";
import { SparseConvTaps } from "../src/nn/sparse-conv-lists.js";
import { SparseWeights } from "../src/nn/sparse-weights.js";
import { Random } from "../src/random.js";
import { planExecution } from "../src/train/plan.js";
import { maxRelError, randomArray } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

describe("sparse kernels against a float64 reference", () => {
  const rng = new Random(21);
  // batches cover every block shape (1..7 vectors, several blocks, a scalar tail); 300→7 at 0.8
  // has ~240 weights per output, so several chunks
  for (const [inputs, outputs, density] of [
    [7, 5, 0.5],
    [784, 30, 0.05],
    [33, 17, 0.9],
    [10, 4, 0],
    [300, 7, 0.8],
  ] as const) {
    for (const batch of [1, 3, 4, 7, 32, 33, 60, 61, 100, 128]) {
      it(`${inputs}→${outputs} at density ${density}, batch ${batch}`, () => {
        tidy(() => {
          const maskValues = Float32Array.from({ length: inputs * outputs }, () => (rng.uniform() < density ? 1 : 0));
          const wValues = randomArray(rng, inputs * outputs).map((v, i) => v * maskValues[i]);
          const param = new Parameter("w", tensor(wValues, [inputs, outputs]), true, [inputs, outputs], linearProduct(inputs, outputs));
          param.ensureMask().set(maskValues);
          const sw = new SparseWeights(param);
          const xT = tensor(randomArray(rng, inputs * batch), [inputs, batch], { requiresGrad: true });
          const r = Float64Array.from(randomArray(rng, outputs * batch));
          const y = sw.apply(xT);
          // forward: yT[j][b] = Σ_i w[i][j] xT[i][b]
          const ref = new Float64Array(outputs * batch);
          for (let j = 0; j < outputs; j++)
            for (let b = 0; b < batch; b++) {
              let s = 0;
              for (let i = 0; i < inputs; i++) s += wValues[i * outputs + j] * xT.view()[i * batch + b];
              ref[j * batch + b] = s;
            }
          expect(maxRelError(y.view(), ref)).toBeLessThan(1e-5);
          sum(mul(y, tensor(Float32Array.from(r), [outputs, batch]))).backward();
          const dx = new Float64Array(inputs * batch);
          const dw = new Float64Array(inputs * outputs);
          for (let j = 0; j < outputs; j++)
            for (let b = 0; b < batch; b++)
              for (let i = 0; i < inputs; i++) {
                dx[i * batch + b] += wValues[i * outputs + j] * r[j * batch + b];
                dw[i * outputs + j] += xT.view()[i * batch + b] * r[j * batch + b];
              }
          expect(maxRelError(xT.grad!.view(), dx)).toBeLessThan(1e-5);
          // a second pass adds to the input gradient (the first one overwrote the fresh buffer)
          sum(mul(sw.apply(xT), tensor(Float32Array.from(r), [outputs, batch]))).backward();
          expect(
            maxRelError(
              xT.grad!.view(),
              dx.map((v) => 2 * v),
            ),
          ).toBeLessThan(1e-5);
          xT.zeroGrad();
          sw.values.zeroGrad();
          sum(mul(sw.apply(xT), tensor(Float32Array.from(r), [outputs, batch]))).backward();
          // compact gradients land on surviving weights only
          const gradDense = new Parameter("g", new Tensor([inputs, outputs], false, "g").fill(0), true, [inputs, outputs], linearProduct(inputs, outputs));
          gradDense.ensureMask().set(maskValues);
          const back = new SparseWeights(gradDense);
          back.values.set(sw.values.grad ? sw.values.grad.view() : new Float32Array(back.values.size));
          back.scatter();
          expect(
            maxRelError(
              gradDense.value.view(),
              dw.map((v, i) => v * maskValues[i]),
            ),
          ).toBeLessThan(1e-5);
          sw.dispose();
          back.dispose();
        });
      });
    }
  }
});

describe("data inputs: entries whose feature is zero across the batch are left out", () => {
  // enough weights per input feature for the skipping to run (LIVE_ENTRIES_PER_INPUT)
  for (const [inputs, outputs, density, batch] of [
    [784, 300, 0.1, 60],
    [300, 64, 0.5, 61],
    [40, 40, 0.7, 3],
  ] as const) {
    it(`${inputs}→${outputs} at density ${density}, batch ${batch}: the same bits as with every entry`, () => {
      const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.slice().buffer));
      const rng = new Random(inputs + batch);
      const maskValues = Float32Array.from({ length: inputs * outputs }, () => (rng.uniform() < density ? 1 : 0));
      const wValues = randomArray(rng, inputs * outputs).map((v, i) => v * maskValues[i]);
      // a third of the features zero in every example (one example's −0), as MNIST's border is
      const x = Float32Array.from(randomArray(rng, inputs * batch));
      for (let i = 0; i < inputs; i++) if (i % 3 === 1 || i < inputs / 8) for (let b = 0; b < batch; b++) x[i * batch + b] = b === 1 ? -0 : 0;
      const r = Float32Array.from(randomArray(rng, outputs * batch));
      const run = (asData: boolean) =>
        tidy(() => {
          const param = new Parameter("w", tensor(wValues, [inputs, outputs]), true, [inputs, outputs], linearProduct(inputs, outputs));
          param.ensureMask().set(maskValues);
          const sw = new SparseWeights(param);
          // an input that needs a gradient takes every entry
          const xT = tensor(x, [inputs, batch], { requiresGrad: !asData });
          const out: number[][] = [];
          for (let pass = 0; pass < 2; pass++) {
            const y = sw.apply(xT);
            expect(y.op.endsWith("(live inputs)")).toBe(asData);
            sum(mul(y, tensor(r, [outputs, batch]))).backward();
            out.push(bitsOf(y.view()), bitsOf(sw.values.grad!.view()));
          }
          return out;
        });
      expect(run(true)).toEqual(run(false));
    });
  }

  it("a layer with few weights per input feature takes every entry (finding the live ones would cost what they save)", () => {
    tidy(() => {
      const [inputs, outputs] = [100, 10];
      const param = new Parameter(
        "w",
        tensor(randomArray(new Random(3), inputs * outputs), [inputs, outputs]),
        true,
        [inputs, outputs],
        linearProduct(inputs, outputs),
      );
      param.ensureMask().set(Float32Array.from({ length: inputs * outputs }, (_, i) => (i % 2 ? 1 : 0)));
      const sw = new SparseWeights(param);
      const x = new Float32Array(inputs * 4).fill(1).fill(0, 0, 40);
      expect(sw.apply(tensor(x, [inputs, 4])).op.endsWith("(live inputs)")).toBe(false);
    });
  });
});

describe("the sparse path matches the dense-masked path", () => {
  it("same logits, loss and gradients on a pruned MLP", () => {
    const model = new Model(mlpSpec(50, [40, 20], 10), 4);
    magnitudePrune(model.prunable(), "layerwise", { "fc1.weight": 0.9, "fc2.weight": 0.7, "fc3.weight": 0.3 }, 0);
    const rng = new Random(8);
    const xValues = randomArray(rng, 13 * 50);
    const labels = Array.from({ length: 13 }, (_, i) => i % 10);
    const run = (mode: "always" | "never"): { logits: Float32Array; loss: number; grads: Float32Array[] } => {
      const plan = planExecution(model, mode);
      expect(plan.modes.every((m) => m === (mode === "always" ? "sparse" : "dense"))).toBe(true);
      const out = tidy(() => {
        const rows = tensor(xValues, [13, 50]);
        const logits = plan.forward(plan.inputLayout === "features" ? transpose(rows) : rows, 13);
        const loss = crossEntropy(logits, labels);
        loss.backward();
        return { logits: logits.data(), loss: loss.item() };
      });
      // the gradient of each layer's weights, as a dense masked matrix
      const grads = model.prunable().map((weight, i) => {
        const t = plan.trainable[2 * i];
        if (mode === "never") return t.value.grad!.data().map((g, k) => g * weight.mask!.view()[k]);
        const scratch = new Parameter("scratch", new Tensor(weight.value.shape, false, "scratch").fill(0), true, weight.shape, weight.product);
        scratch.ensureMask().set(weight.mask!.view());
        const sw = new SparseWeights(scratch);
        sw.values.set(t.value.grad!.view());
        sw.scatter();
        const g = scratch.value.data();
        sw.dispose();
        scratch.dispose();
        return g;
      });
      plan.trainable.forEach((p) => p.value.zeroGrad());
      plan.dispose();
      return { ...out, grads };
    };
    const dense = run("never");
    const sparse = run("always");
    expect(maxRelError(sparse.logits, dense.logits)).toBeLessThan(1e-5);
    expect(Math.abs(sparse.loss - dense.loss)).toBeLessThan(1e-5);
    sparse.grads.forEach((g, i) => expect(maxRelError(g, dense.grads[i])).toBeLessThan(1e-5));
    model.dispose();
  });
});

describe("a pruned convolution on the compact direct kernels", () => {
  // LeNet-5's second layer, Conv-2's shape on fewer channels, odd sizes with a partial last vector
  const cases = [
    { c: 6, n: 3, h: 12, w: 12, o: 16, k: 5, padding: 0 },
    { c: 4, n: 2, h: 28, w: 28, o: 6, k: 3, padding: 1 },
    { c: 3, n: 2, h: 7, w: 13, o: 5, k: 3, padding: 1 },
  ];
  for (const t of cases) {
    it(`the dense direct kernels' bits in the output and the kept weights' gradient, an input gradient that accumulates ${JSON.stringify(t)}`, () => {
      const g: WindowGeometry = { channels: t.c, height: t.h, width: t.w, kernelH: t.k, kernelW: t.k, stride: 1, padding: t.padding };
      expect(suitsDirectConvolution(g)).toBe(true);
      const { outH, outW } = windowOutput(g);
      const depth = t.c * t.k * t.k,
        columns = t.n * outH * outW;
      const rng = new Random(11);
      // about a third kept, with one output and one input channel pruned away entirely
      const mask = Array.from({ length: t.o * depth }, (_, i) =>
        rng.uniform() < 0.35 && Math.floor(i / depth) !== 1 && Math.floor((i % depth) / (t.k * t.k)) !== 2 ? 1 : 0,
      );
      const w = randomArray(rng, t.o * depth).map((v, i) => v * mask[i]);
      const x = randomArray(rng, t.c * t.n * t.h * t.w);
      const b = randomArray(rng, t.o);
      const r = tensor(randomArray(rng, t.o * columns), [t.o, columns]);
      const weight = new Parameter("conv.weight", tensor(w, [t.o, depth], { requiresGrad: true }), true, [t.o, t.c, t.k, t.k], {
        inputs: depth,
        outputs: t.o,
        inputStride: 1,
        outputStride: depth,
      });
      weight.ensureMask().set(mask);
      const sparse = new SparseWeights(weight);
      const lists = sparse.derived("taps", () => new SparseConvTaps(sparse, g)).forBatch(t.n);
      const run = (convolve: (xt: Tensor, bt: Tensor) => Tensor, weightGrad: () => Float32Array) =>
        tidy(() => {
          const xt = tensor(x, [t.c, t.n * t.h * t.w], { requiresGrad: true });
          const bt = tensor(b, [t.o], { requiresGrad: true });
          const y = convolve(xt, bt);
          // the input used twice: its gradient accumulates
          add(sum(mul(y, r)), sum(mul(convolve(xt, bt), r))).backward();
          return { y: y.data(), dx: xt.grad!.data(), dw: weightGrad(), db: bt.grad!.data() };
        });
      const dense = run(
        (xt, bt) => conv2d(xt, weight.value, bt, t.n, g),
        () => {
          const all = weight.value.grad!.data();
          weight.value.zeroGrad();
          return Float32Array.from(all.filter((_, i) => mask[i] === 1));
        },
      );
      const compact = run(
        (xt, bt) => sparseConv2d(xt, sparse.values, bt, t.o, t.n, g, lists),
        () => {
          const all = sparse.values.grad!.data().slice(0, sparse.nonzeros);
          sparse.values.zeroGrad();
          return all;
        },
      );
      expect(compact.y).toEqual(dense.y);
      expect(compact.dw).toEqual(dense.dw);
      expect(compact.db).toEqual(dense.db);
      expect(maxRelError(compact.dx, dense.dx)).toBeLessThan(1e-5);
      sparse.dispose();
      weight.dispose();
    });
  }
});
