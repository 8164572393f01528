import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../src/index.js";
import { type LotteryConfig, paperRates } from "../src/lottery/config.js";
import { findTicket, type LotteryCheckpoint, type LotteryState, plannedRounds } from "../src/lottery/find.js";
import { density, magnitudePrune, pruneToFraction, randomMask } from "../src/lottery/masks.js";
import { Model } from "../src/nn/model.js";
import { LENET_300_100, mlpSpec } from "../src/nn/registry.js";
import { countKept } from "../src/prune/magnitude.js";
import { Random } from "../src/random.js";
import { PAPER_TRAINING, type Splits, train } from "../src/train/train.js";
import { mnistSplits } from "./helpers.js";

let splits: Splits;

beforeAll(async () => {
  await ready();
  splits = mnistSplits({ train: 3000, validation: 500, test: 1000 });
});

const spec = mlpSpec(784, [40, 20], 10);
const quick = { ...PAPER_TRAINING, iterations: 120, evalEvery: 40, testCurve: false };

function config(overrides: Partial<LotteryConfig> = {}): LotteryConfig {
  return {
    spec,
    train: quick,
    seed: 0,
    strategy: "layerwise",
    layerRates: paperRates(spec),
    globalRate: 0.2,
    rounds: 2,
    rewind: 0,
    controls: ["reinit", "random"],
    ...overrides,
  };
}

describe("pruning counts", () => {
  it("layer-wise: exactly round(rate · remaining) per layer, per round (the paper's 20% / 10%)", () => {
    const model = new Model(LENET_300_100, 0);
    const rates = paperRates(LENET_300_100);
    const expected = new Map(model.prunable().map((p) => [p.name, p.value.size]));
    for (let round = 1; round <= 5; round++) {
      magnitudePrune(model.prunable(), "layerwise", rates, 0.2);
      for (const p of model.prunable()) {
        const before = expected.get(p.name)!;
        const after = before - Math.round(rates[p.name] * before);
        expected.set(p.name, after);
        expect(countKept(p.mask!)).toBe(after);
      }
    }
    // the paper's fractions: 0.8^5 of hidden weights, 0.9^5 of output weights
    expect(density(model.prunable()).byLayer["fc1.weight"]).toBeCloseTo(0.8 ** 5, 4);
    expect(density(model.prunable()).byLayer["fc3.weight"]).toBeCloseTo(0.9 ** 5, 2);
    model.dispose();
  });

  it("global: exactly round(rate · remaining) overall, the smallest magnitudes across layers", () => {
    const model = new Model(spec, 1);
    const all = model.prunable().flatMap((p) => Array.from(p.value.view(), Math.abs));
    magnitudePrune(model.prunable(), "global", {}, 0.3);
    const d = density(model.prunable());
    expect(d.total - d.kept).toBe(Math.round(0.3 * all.length));
    const threshold = all.sort((a, b) => a - b)[Math.round(0.3 * all.length) - 1];
    for (const p of model.prunable()) {
      const v = p.value.view(),
        m = p.mask!.view();
      for (let i = 0; i < v.length; i++) if (m[i] === 1) expect(Math.abs(v[i])).toBeGreaterThanOrEqual(threshold);
    }
    model.dispose();
  });

  it("one-shot pruning to a fraction, and random masks with exact counts", () => {
    const model = new Model(spec, 2);
    pruneToFraction(model.prunable(), "layerwise", 0.1);
    for (const p of model.prunable()) expect(countKept(p.mask!)).toBe(Math.round(0.1 * p.value.size));
    model.dispose();
    const m = randomMask(1000, 137, new Random(5));
    expect(m.reduce((a, b) => a + b, 0)).toBe(137);
    expect(randomMask(1000, 137, new Random(5))).toEqual(m);
  });

  it("plans the rounds needed to reach a target", () => {
    const lenet = config({ spec: LENET_300_100, layerRates: paperRates(LENET_300_100), rounds: 30, targetRemaining: 0.07 });
    expect(plannedRounds(lenet)).toBe(12); // the paper: 7.0% after 12 rounds
  });
});

describe("masked training", () => {
  it("masked weights stay exactly zero (+0) through training; kept weights move", () => {
    const model = new Model(spec, 3);
    magnitudePrune(model.prunable(), "layerwise", { "fc1.weight": 0.9, "fc2.weight": 0.5, "fc3.weight": 0.5 }, 0);
    const before = model.snapshot();
    train(model, splits, quick);
    for (const p of model.prunable()) {
      const v = p.value.view(),
        m = p.mask!.view(),
        b = before.get(p.name)!;
      let moved = 0;
      for (let i = 0; i < v.length; i++) {
        if (m[i] === 0) expect(Object.is(v[i], 0)).toBe(true);
        else if (v[i] !== b[i]) moved++;
      }
      // fc1 rows fed by always-blank border pixels get no gradient; everything else moves
      expect(moved).toBeGreaterThan((p.name === "fc1.weight" ? 0.6 : 0.99) * countKept(p.mask!));
    }
    model.dispose();
  });
});

describe("findTicket", async () => {
  it("runs every arm, resets to θ0 bit for bit, and the controls differ as they should", async () => {
    const checkpoints: LotteryCheckpoint[] = [];
    const state = await findTicket(splits, config(), { onRoundDone: (_s, c) => checkpoints.push(c) });
    expect(state.results.map((r) => `${r.arm}${r.round}`)).toEqual(["ticket0", "ticket1", "reinit1", "random1", "ticket2", "reinit2", "random2"]);
    expect(state.stopReason).toBe("2 pruning rounds done");
    const fresh = new Model(spec, 0).snapshot();
    for (const c of checkpoints) {
      for (const [name, v] of c.theta0) expect(new Uint32Array(v.buffer)).toEqual(new Uint32Array(fresh.get(name)!.buffer));
    }
    // the ticket and its controls share the per-layer counts; the random mask is a different mask
    const ticket1 = state.results.find((r) => r.arm === "ticket" && r.round === 1)!;
    for (const arm of ["reinit", "random"] as const) {
      const r = state.results.find((x) => x.arm === arm && x.round === 1)!;
      expect(r.kept).toBe(ticket1.kept);
      expect(r.remainingByLayer).toEqual(ticket1.remainingByLayer);
    }
    const c1 = checkpoints[1];
    expect(c1.randomMasks!.get("fc1.weight")).not.toEqual(c1.masks.get("fc1.weight"));
    // masks are nested: every weight pruned in round 1 stays pruned in round 2
    const m1 = c1.masks.get("fc1.weight")!,
      m2 = checkpoints[2].masks.get("fc1.weight")!;
    for (let i = 0; i < m1.length; i++) if (m1[i] === 0) expect(m2[i]).toBe(0);
    // trained ticket weights are zero where masked
    const t2 = checkpoints[2].trained.get("fc1.weight")!;
    for (let i = 0; i < m2.length; i++) if (m2[i] === 0) expect(t2[i]).toBe(0);
  });

  it("the training at round 1 starts from θ0 masked (checked by re-running it by hand)", async () => {
    const checkpoints: LotteryCheckpoint[] = [];
    const state = await findTicket(splits, config({ rounds: 1, controls: [] }), { onRoundDone: (_s, c) => checkpoints.push(c) });
    const model = new Model(spec, 0); // θ0
    for (const p of model.prunable()) p.ensureMask().set(checkpoints[1].masks.get(p.name)!);
    model.restore(checkpoints[0].theta0);
    train(model, splits, quick);
    for (const [name, v] of model.snapshot()) {
      expect(new Uint32Array(v.buffer)).toEqual(new Uint32Array(checkpoints[1].trained.get(name)!.buffer));
    }
    expect(state.results[1].remaining).toBeCloseTo(density(model.prunable()).remaining, 12);
    model.dispose();
  });

  it("rewinding keeps θK from round 0 and resets to it bit for bit", async () => {
    const checkpoints: LotteryCheckpoint[] = [];
    await findTicket(splits, config({ rounds: 1, controls: [], rewind: 50 }), { onRoundDone: (_s, c) => checkpoints.push(c) });
    const thetaK = checkpoints[0].rewind!;
    // θK is what 50 iterations of round 0 produce
    const model = new Model(spec, 0);
    train(model, splits, { ...quick, iterations: 50, evalEvery: 50 });
    for (const [name, v] of model.snapshot()) expect(new Uint32Array(v.buffer)).toEqual(new Uint32Array(thetaK.get(name)!.buffer));
    // and round 1 trains from θK under the mask
    for (const p of model.prunable()) p.ensureMask().set(checkpoints[1].masks.get(p.name)!);
    model.restore(thetaK);
    train(model, splits, quick);
    for (const [name, v] of model.snapshot()) expect(new Uint32Array(v.buffer)).toEqual(new Uint32Array(checkpoints[1].trained.get(name)!.buffer));
    model.dispose();
  });

  it("stops at a target and on tolerance", async () => {
    const target = await findTicket(splits, config({ rounds: 10, controls: [], targetRemaining: 0.7 }));
    expect(target.results.length).toBe(3); // 80%, 64.2% (≤ 70%)
    expect(target.stopReason).toMatch(/^target reached/);
    const tol = await findTicket(
      splits,
      config({ rounds: 5, controls: [], layerRates: { "fc1.weight": 0.9, "fc2.weight": 0.9, "fc3.weight": 0.9 }, tolerance: 0.001 }),
    );
    expect(tol.stopReason).toMatch(/accuracy fell .* below dense/);
    expect(tol.results.length).toBeLessThan(6);
  });

  it("resuming from a checkpoint gives the same results as an uninterrupted run", async () => {
    const full = await findTicket(splits, config());
    let saved: { state: LotteryState; checkpoint: LotteryCheckpoint } | undefined;
    await findTicket(splits, config(), {
      onRoundDone: (s, c) => {
        if (c.round === 1) saved = { state: structuredClone(s), checkpoint: c };
      },
    });
    const resumed = await findTicket(splits, config(), {}, saved);
    const strip = (rs: typeof full.results) => rs.map(({ seconds: _s, stepsPerSecond: _p, ...r }) => r);
    expect(strip(resumed.results)).toEqual(strip(full.results));
  });

  it("a conv net: global pruning, rewinding, both controls, and resume to the same results", async () => {
    const conv: LotteryConfig["spec"] = {
      input: [1, 28, 28],
      layers: [
        { type: "conv2d", outputs: 4, kernel: 5, stride: 2 },
        { type: "relu" },
        { type: "maxPool2d", size: 2 },
        { type: "flatten" },
        { type: "linear", outputs: 16 },
        { type: "relu" },
        { type: "linear", outputs: 10 },
      ],
    };
    const c = config({ spec: conv, layerRates: paperRates(conv), strategy: "global", globalRate: 0.3, rewind: 40, controls: ["reinit", "random"] });
    const full = await findTicket(splits, c);
    expect(full.results.map((r) => `${r.arm}${r.round}`)).toEqual(["ticket0", "ticket1", "reinit1", "random1", "ticket2", "reinit2", "random2"]);
    expect(full.results[4].remaining).toBeCloseTo(0.49, 2);
    for (const r of full.results) expect(r.earlyStopTestAccuracy).toBeGreaterThan(0.3); // 120 steps: learning, well above chance
    let saved: { state: LotteryState; checkpoint: LotteryCheckpoint } | undefined;
    await findTicket(splits, c, {
      onRoundDone: (s, k) => {
        if (k.round === 1) saved = { state: structuredClone(s), checkpoint: k };
      },
    });
    expect(saved!.checkpoint.rewind!.get("conv1.weight")!.length).toBe(4 * 25);
    const resumed = await findTicket(splits, c, {}, saved);
    const strip = (rs: typeof full.results) => rs.map(({ seconds: _s, stepsPerSecond: _p, ...r }) => r);
    expect(strip(resumed.results)).toEqual(strip(full.results));
  });
});
