import { beforeAll, describe, expect, it } from "vitest";
import { take } from "../src/data/dataset.js";
import { ready } from "../src/index.js";
import { Model } from "../src/nn/model.js";
import { mlpSpec } from "../src/nn/registry.js";
import { PAPER_TRAINING, type Splits, train } from "../src/train/train.js";
import { mnistSplits } from "./helpers.js";

let splits: Splits;

beforeAll(async () => {
  await ready();
  splits = mnistSplits({ train: 6000, validation: 1000, test: 2000 });
});

const small = { ...PAPER_TRAINING, iterations: 400, evalEvery: 100 };

describe("training on real MNIST", () => {
  it("a small MLP learns to a sane accuracy in seconds", () => {
    const model = new Model(mlpSpec(784, [64], 10), 0);
    const result = train(model, splits, small);
    expect(result.curve.map((p) => p.iteration)).toEqual([0, 100, 200, 300, 400]);
    expect(result.curve[0].valAccuracy).toBeLessThan(0.3);
    expect(result.final.valAccuracy).toBeGreaterThan(0.88);
    expect(result.final.testAccuracy).toBeGreaterThan(0.88);
    const best = result.curve.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    expect(result.earlyStop.iteration).toBe(best.iteration);
    model.dispose();
  });

  it("SGD with momentum trains too", () => {
    const model = new Model(mlpSpec(784, [64], 10), 0);
    const result = train(model, splits, { ...small, optimizer: "sgd", lr: 0.05 });
    expect(result.final.valAccuracy).toBeGreaterThan(0.85);
    model.dispose();
  });

  it("the same seed gives the same bits; another seed does not", () => {
    const run = (seed: number): Float32Array[] => {
      const model = new Model(mlpSpec(784, [32, 16], 10), seed);
      train(model, splits, { ...small, iterations: 150, dataSeed: seed });
      const values = model.parameters().map((p) => p.value.data());
      model.dispose();
      return values;
    };
    const a = run(3),
      b = run(3),
      c = run(4);
    a.forEach((v, i) => expect(new Uint32Array(v.buffer)).toEqual(new Uint32Array(b[i].buffer)));
    expect(Array.from(a[0].subarray(0, 10))).not.toEqual(Array.from(c[0].subarray(0, 10)));
  });

  it("evaluation records test accuracy at the early-stop point even without a test curve", () => {
    const model = new Model(mlpSpec(784, [32], 10), 1);
    const withCurve = train(model, splits, { ...small, iterations: 200, testCurve: true });
    model.dispose();
    const again = new Model(mlpSpec(784, [32], 10), 1);
    const without = train(again, splits, { ...small, iterations: 200, testCurve: false });
    again.dispose();
    expect(without.earlyStop.iteration).toBe(withCurve.earlyStop.iteration);
    expect(without.earlyStop.testAccuracy).toBe(withCurve.earlyStop.testAccuracy);
    expect(without.curve.every((p) => p.testAccuracy === undefined)).toBe(true);
  });

  it("rejects a batch larger than the data and a non-positive learning rate", () => {
    const model = new Model(mlpSpec(784, [8], 10), 0);
    expect(() => train(model, { ...splits, train: take(splits.train, 10) }, small)).toThrow("batch size 60 is larger than the 10 training examples");
    expect(() => train(model, splits, { ...small, lr: 0 })).toThrow("learning rate must be a positive number, got 0");
    model.dispose();
  });
});
