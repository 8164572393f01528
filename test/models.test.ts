// The general model layer: specs, the registry, θ0 of LeNet-300-100 as it always was, conv nets
// on the sparse path, and a conv net that learns.
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { crossEntropy, ready, type Tensor, tensor, tidy, transpose } from "../src/index.js";
import { paperRates } from "../src/lottery/config.js";
import { magnitudePrune } from "../src/lottery/masks.js";
import { describeModel, Model, runOrder } from "../src/nn/model.js";
import { type ModelSpec, parseModelSpec } from "../src/nn/model-spec.js";
import { LENET_300_100, MODELS, mlpSpec, namedModel, upgradeSpec } from "../src/nn/registry.js";
import { Random } from "../src/random.js";
import { planExecution } from "../src/train/plan.js";
import { PAPER_TRAINING, train } from "../src/train/train.js";
import { maxRelError, mnistSplits, randomArray } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const hashOf = (model: Model): string => {
  const h = createHash("sha256");
  for (const [name, v] of model.snapshot()) {
    h.update(name);
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest("hex");
};

describe("models from specs", () => {
  it("LeNet-300-100's θ0 is bit for bit what the fully connected model drew before the general model layer", () => {
    // sha256 over (name, f32 bytes) of every parameter, recorded from the MLP class this layer replaced
    const before: Record<string, string> = {
      "0/0": "e886dd8db84a0bf7d72b8f57cda0901127c2aa5d7c5f87c36dffdcfe60e1bdb2",
      "0/1001": "d78877b88f899cde90d9d09ffef5989adfee4d7b12d6d6c790e70767bffa52d7",
      "1/0": "c62e6318a764a15799e46e9ca8d1fea62b625e9ff9f42ef7f436a6bc8ded37b2",
      "7/1001": "81091e82f0fbfb01be053e772c989f3fecb8fca2034412cced7a6d48da985473",
    };
    for (const [key, hash] of Object.entries(before)) {
      const [seed, stream] = key.split("/").map(Number);
      for (const spec of [LENET_300_100, mlpSpec(784, [300, 100], 10), upgradeSpec({ inputs: 784, hidden: [300, 100], classes: 10 }) as ModelSpec]) {
        const model = new Model(spec, seed, stream);
        expect(model.parameters().map((p) => p.name)).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]);
        expect(hashOf(model), key).toBe(hash);
        model.dispose();
      }
    }
  });

  it("registry models: names from the structure, shapes, prunable weights, output layer and the paper's rates", () => {
    const conv2 = describeModel(namedModel("conv-2")!.spec([1, 28, 28], 10));
    expect(conv2.parameters.map((p) => `${p.name} [${p.shape.join(",")}]`)).toEqual([
      "conv1.weight [64,1,3,3]",
      "conv1.bias [64]",
      "conv2.weight [64,64,3,3]",
      "conv2.bias [64]",
      "fc1.weight [12544,256]",
      "fc1.bias [256]",
      "fc2.weight [256,256]",
      "fc2.bias [256]",
      "fc3.weight [256,10]",
      "fc3.bias [10]",
    ]);
    expect(conv2.output).toBe("fc3");
    expect(conv2.inputKind).toBe("image");
    expect(paperRates(namedModel("conv-6")!.spec([3, 32, 32], 10), 0.2, 0.1, 0.15)).toMatchObject({
      "conv6.weight": 0.15,
      "fc1.weight": 0.2,
      "fc3.weight": 0.1,
    });
    const lenet5 = describeModel(namedModel("lenet-5")!.spec([1, 28, 28], 10));
    expect(lenet5.parameters.find((p) => p.name === "fc1.weight")!.shape).toEqual([256, 120]); // 16·4·4 features into fc1
    const weights = (spec: ModelSpec): number =>
      describeModel(spec)
        .parameters.filter((p) => p.prunable)
        .reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(weights(LENET_300_100)).toBe(266_200);
    expect(weights(namedModel("lenet-5")!.spec([1, 28, 28], 10))).toBe(6 * 25 + 16 * 6 * 25 + 256 * 120 + 120 * 84 + 84 * 10);
    for (const m of MODELS.filter((x) => x.name !== "mlp")) expect(() => describeModel(m.spec([3, 32, 32], 10)), m.name).not.toThrow();
  });

  it("a user's spec is checked field by field and shape by shape, naming the layer", () => {
    const bad = (json: unknown): string => {
      try {
        describeModel(parseModelSpec(json, "my.json"));
      } catch (error) {
        return (error as Error).message;
      }
      return "accepted";
    };
    const conv = { type: "conv2d", outputs: 4, kernel: 3, padding: 1 };
    expect(bad(null)).toMatch(/^my\.json: model spec: must be a JSON object/);
    expect(bad({ input: [1, 28], layers: [conv] })).toMatch(/my\.json: input: must be \[features\] or \[channels, height, width\]/);
    expect(bad({ input: [1, 28, 28], layers: [{ type: "dense", outputs: 3 }] })).toMatch(/layers\[0\]\.type: unknown layer type "dense"/);
    expect(bad({ input: [1, 28, 28], layers: [{ ...conv, kernel: 0 }] })).toMatch(/layers\[0\]\.kernel \(conv2d\): must be a positive integer, got 0/);
    expect(bad({ input: [1, 28, 28], layers: [{ ...conv, strides: 2 }] })).toMatch(/layers\[0\] \(conv2d\): unknown field "strides"/);
    expect(bad({ input: [1, 28, 28], layers: [conv, { type: "linear", outputs: 10 }] })).toMatch(
      /layers\[1\] \(linear fc1\): input is an image \[4, 28, 28\]; put a flatten layer before it/,
    );
    expect(bad({ input: [1, 4, 4], layers: [{ type: "conv2d", outputs: 2, kernel: 5 }, { type: "flatten" }, { type: "linear", outputs: 10 }] })).toMatch(
      /layers\[0\] \(conv2d conv1\): a 5×5 kernel with padding 0 does not fit an image \[1, 4, 4\]/,
    );
    expect(bad({ input: [1, 28, 28], layers: [conv, { type: "relu" }] })).toMatch(/the last layer gives an image \[4, 28, 28\]/);
    expect(bad({ input: [1, 28, 28], layers: [conv, { type: "flatten" }, { type: "linear", outputs: 10 }], output: "conv9" })).toMatch(
      /output layer "conv9" is not one of the layers with weights \(conv1, fc1\)/,
    );
    expect(bad({ input: [1, 28, 28], layers: [{ ...conv, name: "a" }, { type: "flatten" }, { type: "linear", outputs: 10, name: "a" }] })).toMatch(
      /two layers are named "a"/,
    );
    expect(bad({ input: [1, 28, 28], layers: [conv, { type: "maxPool2d", size: 2 }, { type: "flatten" }, { type: "linear", outputs: 10 }] })).toBe("accepted");
  });
});

describe("conv nets", () => {
  const small: ModelSpec = {
    input: [1, 9, 9],
    layers: [
      { type: "conv2d", outputs: 5, kernel: 3, padding: 1 },
      { type: "relu" },
      { type: "maxPool2d", size: 2 },
      { type: "conv2d", outputs: 6, kernel: 3, stride: 2, padding: 1 },
      { type: "relu" },
      { type: "flatten" },
      { type: "linear", outputs: 7 },
      { type: "relu" },
      { type: "linear", outputs: 3 },
    ],
  };

  it("the sparse path matches the dense-masked path: logits, loss and every weight's gradient", () => {
    const model = new Model(small, 3);
    magnitudePrune(model.prunable(), "layerwise", { "conv1.weight": 0.5, "conv2.weight": 0.7, "fc1.weight": 0.6, "fc2.weight": 0.3 }, 0);
    const batch = 5;
    const x = randomArray(new Random(4), batch * 81);
    const labels = [0, 1, 2, 1, 0];
    const run = (mode: "always" | "never") => {
      const plan = planExecution(model, mode);
      expect(plan.modes).toEqual(Array(4).fill(mode === "always" ? "sparse" : "dense"));
      expect(plan.inputLayout).toBe("channels");
      const out = tidy(() => {
        const logits = plan.forward(tensor(x, [1, batch * 81]), batch);
        const loss = crossEntropy(logits, labels);
        loss.backward();
        return { logits: logits.data(), loss: loss.item() };
      });
      plan.syncToDense();
      // gradients of the compact values, scattered back to dense positions through a copy of the plan's weights
      const grads = plan.trainable.filter((p) => p.name.endsWith("weight") || p.name.endsWith("(sparse)")).map((p) => p.value.grad!.data());
      plan.trainable.forEach((p) => p.value.zeroGrad());
      plan.dispose();
      return { ...out, grads };
    };
    const dense = run("never");
    const sparse = run("always");
    expect(maxRelError(sparse.logits, dense.logits)).toBeLessThan(1e-5);
    expect(Math.abs(sparse.loss - dense.loss)).toBeLessThan(1e-6);
    // each surviving weight's gradient, in the compact order (by output, then input)
    model.prunable().forEach((w, i) => {
      const { inputs, outputs, inputStride, outputStride } = w.product!;
      const mask = w.mask!.view();
      const kept: number[] = [];
      for (let j = 0; j < outputs; j++)
        for (let k = 0; k < inputs; k++) if (mask[k * inputStride + j * outputStride]) kept.push(dense.grads[i][k * inputStride + j * outputStride]);
      expect(maxRelError(sparse.grads[i].subarray(0, kept.length), kept), w.name).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  it("a ReLU before a max-pool runs after it: the same bits as the spec's order, in outputs and every gradient", () => {
    const model = new Model(small, 5);
    expect(runOrder(model.layers).map((l) => l.description.type)).toEqual([
      "conv2d",
      "maxPool2d",
      "relu",
      "conv2d",
      "relu",
      "flatten",
      "linear",
      "relu",
      "linear",
    ]);
    const batch = 4;
    // a shifted input, so that many windows hold only negative values and their gradient must stay zero
    const x = randomArray(new Random(6), batch * 81).map((v) => v - 0.3);
    const labels = [0, 1, 2, 1];
    const run = (forward: (input: Tensor) => Tensor) =>
      tidy(() => {
        const logits = forward(tensor(x, [1, batch * 81]));
        crossEntropy(logits, labels).backward();
        const grads = model.parameters().map((p) => Array.from(p.value.grad!.data()));
        model.parameters().forEach((p) => p.value.zeroGrad());
        return { logits: Array.from(logits.data()), grads };
      });
    const context = { layout: "features" as const, batch, sparse: () => null };
    const swapped = run((input) => model.forward(input, { batch }));
    const specOrder = run((input) => transpose(model.layers.reduce((h, layer) => layer.forward(h, context), input)));
    expect(swapped.logits).toEqual(specOrder.logits);
    expect(swapped.grads).toEqual(specOrder.grads);
    model.dispose();
  });

  it("LeNet-5 learns MNIST (a few hundred steps), the same bits twice", () => {
    const splits = mnistSplits({ train: 6000, validation: 500, test: 500 });
    const config = { ...PAPER_TRAINING, iterations: 300, evalEvery: 100, testCurve: false };
    const runOnce = (): { accuracy: number; hash: string } => {
      const model = new Model(namedModel("lenet-5")!.spec([1, 28, 28], 10), 0);
      const r = train(model, splits, config);
      const hash = hashOf(model);
      model.dispose();
      return { accuracy: r.final.testAccuracy, hash };
    };
    const a = runOnce(),
      b = runOnce();
    expect(a.accuracy).toBeGreaterThan(0.85);
    expect(b.hash).toBe(a.hash);
  });
});
