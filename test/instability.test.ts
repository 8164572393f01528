// Instability analysis (linear mode connectivity): the path's ends are the trained copies, equal
// data orders give exactly zero, masks hold along the path, a small real analysis resumes to the
// same numbers, the rewinding point is chosen as documented, and the CLI end to end.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../src/index.js";
import { paperRates } from "../src/lottery/config.js";
import {
  analyzeInstability,
  chooseRewindPoint,
  findRewindPoint,
  type InstabilityConfig,
  interpolateInto,
  type KResult,
  pathAlphas,
  rewindCandidates,
} from "../src/lottery/instability.js";
import { magnitudePrune, randomMask } from "../src/lottery/masks.js";
import { instabilityChart, instabilityCsv, instabilityPathChart } from "../src/lottery/report.js";
import { Model } from "../src/nn/model.js";
import type { ModelSpec } from "../src/nn/model-spec.js";
import { mlpSpec } from "../src/nn/registry.js";
import { Random } from "../src/random.js";
import { PAPER_TRAINING, type Splits, train } from "../src/train/train.js";
import { mnistSplits, runTicket, tinyFindFlags } from "./helpers.js";

let splits: Splits;

beforeAll(async () => {
  await ready();
  splits = mnistSplits({ train: 2000, validation: 300, test: 500 });
});

const spec = mlpSpec(784, [16], 10);
const quick = { ...PAPER_TRAINING, iterations: 200, evalEvery: 100, testCurve: false };

function config(overrides: Partial<InstabilityConfig> = {}): InstabilityConfig {
  return { spec, seed: 0, train: quick, at: [0, 50], points: 5, copySeeds: [1, 2], threshold: 2, ...overrides };
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Trains `new Model(spec, 0)` for `iterations` with data order `dataSeed`; its weights. */
function trained(dataSeed: number, masks?: Map<string, Float32Array>): Map<string, Float32Array> {
  const model = new Model(spec, 0);
  if (masks) for (const p of model.prunable()) p.ensureMask().set(masks.get(p.name)!);
  model.restore(model.snapshot());
  train(model, splits, { ...quick, iterations: 60, dataSeed });
  const w = model.snapshot();
  model.dispose();
  return w;
}

describe("the interpolation path", () => {
  it("has exactly α = 0 and α = 1 at its ends, evenly spaced between", () => {
    expect(pathAlphas(2)).toEqual([0, 1]);
    expect(pathAlphas(5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(pathAlphas(11)[10]).toBe(1);
  });

  it("endpoints equal the two trained networks bit for bit; the midpoint is their average", () => {
    const a = trained(1);
    const b = trained(2);
    const model = new Model(spec, 7);
    try {
      for (const [alpha, want] of [
        [0, a],
        [1, b],
      ] as const) {
        interpolateInto(model, a, b, alpha);
        for (const p of model.parameters()) expect(bits(p.value.data()), `${p.name} at α = ${alpha}`).toEqual(bits(want.get(p.name)!));
      }
      interpolateInto(model, a, b, 0.5);
      const w = model.parameter("fc1.weight").value.data();
      const [wa, wb] = [a.get("fc1.weight")!, b.get("fc1.weight")!];
      for (let i = 0; i < w.length; i += 97) expect(w[i]).toBe(Math.fround(0.5 * wa[i] + 0.5 * wb[i]));
    } finally {
      model.dispose();
    }
  });

  it("holds the mask: pruned weights are exactly zero at every α, even where the ends are not", () => {
    const model = new Model(spec, 0);
    const rng = new Random(3);
    try {
      for (const p of model.prunable()) p.ensureMask().set(randomMask(p.value.size, Math.round(p.value.size * 0.3), rng));
      // ends with nonzero values everywhere, as two unmasked networks would have
      const a = new Model(spec, 1).snapshot();
      const b = new Model(spec, 2).snapshot();
      for (const alpha of pathAlphas(7)) {
        interpolateInto(model, a, b, alpha);
        for (const p of model.prunable()) {
          const v = p.value.view();
          const m = p.mask!.view();
          let pruned = 0;
          for (let i = 0; i < v.length; i++) {
            if (m[i] === 0) {
              pruned++;
              if (v[i] !== 0) throw new Error(`${p.name}[${i}] = ${v[i]} at α = ${alpha}, pruned`);
            }
          }
          expect(pruned).toBeGreaterThan(0);
        }
      }
    } finally {
      model.dispose();
    }
  });
});

describe("instability analysis", () => {
  it("the same data order twice gives instability exactly 0 (dense and with a mask)", () => {
    const dense = analyzeInstability(splits, config({ at: [0, 40], copySeeds: [5, 5] }));
    const masks = new Map(new Model(spec, 0).prunable().map((p) => [p.name, randomMask(p.value.size, Math.round(p.value.size * 0.25), new Random(9))]));
    const sparse = analyzeInstability(splits, config({ at: [30], copySeeds: [5, 5] }), { start: { masks } });
    for (const r of [...dense.results, ...sparse.results]) {
      expect(r.instability).toBe(0);
      expect(r.lossBarrier).toBe(0);
      expect(new Set(r.path.map((p) => p.testError)).size).toBe(1);
      expect(r.stable).toBe(true);
    }
    expect(sparse.remaining).toBeCloseTo(0.25, 3);
  });

  it("a small real analysis: ends are the trained copies, errors in percent, instability = max − mean; a resumed run gives the same numbers", () => {
    const thetas = new Map<number, Map<string, Float32Array>>();
    const seen: KResult[] = [];
    const c = config({ at: [50, 0], points: 5 });
    const report = analyzeInstability(splits, c, { hooks: { onTheta: (k, w) => thetas.set(k, w), onResult: (r) => seen.push(r) } });
    expect(report.results.map((r) => r.k)).toEqual([0, 50]);
    expect([...thetas.keys()].sort()).toEqual([0, 50]);
    expect(seen.map((r) => r.k)).toEqual([0, 50]);
    for (const r of report.results) {
      expect(r.copyIterations).toBe(200 - r.k);
      expect(r.path.map((p) => p.alpha)).toEqual([0, 0.25, 0.5, 0.75, 1]);
      expect(r.endpointErrors).toEqual([r.path[0].testError, r.path[4].testError]);
      // the ends are the copies as trained: their final test accuracy, measured by train()
      expect(r.endpointErrors[0]).toBeCloseTo((1 - r.copies[0].finalTestAccuracy) * 100, 9);
      expect(r.endpointErrors[1]).toBeCloseTo((1 - r.copies[1].finalTestAccuracy) * 100, 9);
      expect(r.copies.map((x) => x.dataSeed)).toEqual([1, 2]);
      expect(r.endpointErrors[0]).toBeLessThan(30); // trained: well below 90% chance error
      expect(r.maxError).toBe(Math.max(...r.path.map((p) => p.testError)));
      expect(r.instability).toBeCloseTo(r.maxError - (r.endpointErrors[0] + r.endpointErrors[1]) / 2, 12);
      expect(r.instability).toBeGreaterThanOrEqual(0);
      expect(r.stable).toBe(r.instability < 2);
    }
    // different data orders really give different networks
    expect(report.results[0].endpointErrors[0] === report.results[0].endpointErrors[1] && report.results[0].instability === 0).toBe(false);
    expect(report.earliestStable).toBe(report.results.find((r) => r.stable)?.k ?? null);

    // resume: k = 0 finished, θ50 saved: nothing is retrained but k = 50's copies, to the same bits
    let denseSteps = 0;
    const resumed = analyzeInstability(splits, c, {
      finished: [report.results[0]],
      thetas: new Map([[50, thetas.get(50)!]]),
      hooks: { onProgress: (p) => p.phase === "dense run to k" && denseSteps++ },
    });
    expect(denseSteps).toBe(0);
    const strip = (r: KResult) => ({ ...r, seconds: 0 });
    expect(resumed.results.map(strip)).toEqual(report.results.map(strip));

    // the reports: a row per k, a line per k, the threshold on the instability chart
    expect(instabilityCsv(report).trim().split("\n")).toHaveLength(3);
    expect(instabilityCsv(report).split("\n")[0]).toMatch(/^k,copy_iterations,.*instability.*error_alpha_0\.00,.*error_alpha_1\.00$/);
    expect(instabilityPathChart(report).match(/<polyline/g)).toHaveLength(2);
    expect(instabilityChart(report)).toMatch(/threshold 2 points/);
  });

  it("a conv net with a half-pruned kernel (the sparse kernels on the path): equal orders give 0, the ends are the copies", () => {
    const conv = {
      input: [1, 28, 28],
      layers: [
        { type: "conv2d", outputs: 4, kernel: 5 },
        { type: "relu" },
        { type: "maxPool2d", size: 2 },
        { type: "flatten" },
        { type: "linear", outputs: 10 },
      ],
    } as const satisfies ModelSpec;
    const model = new Model(conv, 0);
    const masks = new Map(
      model.prunable().map((p) => [p.name, randomMask(p.value.size, Math.round(p.value.size * (p.name === "conv1.weight" ? 0.5 : 1)), new Random(4))]),
    );
    model.dispose();
    const c = config({ spec: conv, train: { ...quick, iterations: 40, evalEvery: 40 }, at: [0, 20], points: 3 });
    const same = analyzeInstability(splits, { ...c, copySeeds: [3, 3] }, { start: { masks } });
    for (const r of same.results) expect(r.instability).toBe(0);
    const report = analyzeInstability(splits, c, { start: { masks } });
    for (const r of report.results) {
      expect(r.endpointErrors[0]).toBeCloseTo((1 - r.copies[0].finalTestAccuracy) * 100, 9);
      expect(r.endpointErrors[1]).toBeCloseTo((1 - r.copies[1].finalTestAccuracy) * 100, 9);
    }
  });

  it("rejects k beyond the training, a path of one point, repeated k", () => {
    expect(() => analyzeInstability(splits, config({ at: [200] }))).toThrow(/k = 200 is beyond the training: each k must be below the 200 iterations/);
    expect(() => analyzeInstability(splits, config({ points: 1 }))).toThrow(/at least 2 points/);
    expect(() => analyzeInstability(splits, config({ at: [5, 5] }))).toThrow(/each k must be given once/);
  });
});

describe("choosing the rewinding point", () => {
  it("the earliest k below the threshold; otherwise the least unstable, saying so", () => {
    const r = (k: number, instability: number) => ({ k, instability });
    const stable = chooseRewindPoint([r(500, 0.4), r(0, 6.1), r(100, 1.2), r(2000, 0.1)]);
    expect(stable).toMatchObject({ k: 100, stable: true, instability: 1.2, threshold: 2 });
    expect(stable.reason).toBe("k = 100 is the earliest stable point: instability 1.20 points < 2.00 points; earlier k (0: 6.10 points) are not");
    expect(stable.candidates.map((c) => c.k)).toEqual([0, 100, 500, 2000]);
    expect(chooseRewindPoint([r(0, 0)], 2).reason).toBe("k = 0 is the earliest stable point: instability 0.00 points < 2.00 points");
    expect(chooseRewindPoint([r(0, 1.5), r(100, 0.2)], 1)).toMatchObject({ k: 100, stable: true });
    const none = chooseRewindPoint([r(0, 9), r(100, 4), r(500, 4)]);
    expect(none).toMatchObject({ k: 100, stable: false });
    expect(none.reason).toMatch(/^no candidate is stable \(all ≥ 2.00 points\); k = 100 is the least unstable at 4.00 points$/);
    expect(() => chooseRewindPoint([])).toThrow(/no instability results/);
    expect(rewindCandidates(5000)).toEqual([0, 50, 250, 1000]);
    expect(rewindCandidates(10)).toEqual([0, 1, 2]);
  });

  it("findRewindPoint measures a pruning round's mask at the candidates and stops at the first stable k", () => {
    const lottery = {
      spec,
      train: quick,
      seed: 0,
      strategy: "layerwise" as const,
      layerRates: paperRates(spec),
      globalRate: 0.2,
      rounds: 3,
      rewind: 0,
      controls: [],
    };
    const search = findRewindPoint(splits, lottery, { candidates: [0, 20, 60], points: 3, threshold: 100 });
    // the mask of round 3: 0.8³ of fc1 and 0.9³ of the output layer (by count), as the search prunes
    const model = new Model(spec, 0);
    for (let i = 0; i < 3; i++) magnitudePrune(model.prunable(), "layerwise", paperRates(spec), 0.2);
    const expected = model.prunable().reduce((n, p) => n + Math.round(p.mask!.view().reduce((a, b) => a + b, 0)), 0);
    model.dispose();
    expect(search.round).toBe(3);
    expect(search.report.remaining * (784 * 16 + 16 * 10)).toBeCloseTo(expected, 6);
    // everything is stable under a 100-point threshold: only k = 0 is measured
    expect(search.report.results.map((r) => r.k)).toEqual([0]);
    expect(search.choice).toMatchObject({ k: 0, stable: true });
  });
});

describe("ticket instability (CLI)", () => {
  const tiny = ["--hidden", "16", "--train-subset", "1500", "--validation", "500", "--iterations", "150", "--eval-every", "50", "--threads", "1"];
  const tmp = (): string => mkdtempSync(join(tmpdir(), "wt-instability-"));

  it("dense: writes the reports and θk, prints the earliest stable k; --resume finishes an interrupted analysis to the same numbers", () => {
    const out = tmp();
    const r = runTicket("instability", ...tiny, "--at", "0,40", "--points", "3", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/instability of the dense mlp, 150 iterations, 3 points per path/);
    expect(r.stdout).toMatch(/earliest stable k: \d+|no k is stable/);
    for (const f of [
      "instability.json",
      "instability.csv",
      "instability.svg",
      "instability-path.svg",
      "start.safetensors",
      "thetas/k-000000.safetensors",
      "thetas/k-000040.safetensors",
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(out, "instability.json"), "utf8"));
    expect(json.finished).toBe(true);
    expect(json.config.copySeeds).toEqual([1, 2]);
    expect(json.results.map((x: KResult) => x.k)).toEqual([0, 40]);
    expect(json.results[1].path).toHaveLength(3);

    // as if killed after k = 0: resume retrains only k = 40, from the saved θ40
    writeFileSync(join(out, "instability.json"), JSON.stringify({ ...json, finished: false, results: json.results.slice(0, 1) }));
    const again = runTicket("instability", "--resume", out, "--threads", "1", "--quiet");
    expect(again.status, again.stderr).toBe(0);
    const resumed = JSON.parse(readFileSync(join(out, "instability.json"), "utf8"));
    const strip = (x: KResult) => ({ ...x, seconds: 0 });
    expect(resumed.results.map(strip)).toEqual(json.results.map(strip));
  });

  it("a ticket: a find run's round mask and settings; --round out of range", () => {
    const run = tmp();
    expect(runTicket("find", ...tiny, "--rounds", "2", "--controls", "none", "--quiet", "--out", run).status).toBe(0);
    const out = tmp();
    const r = runTicket("instability", "--ticket", run, "--round", "2", "--at", "0,30", "--points", "3", "--threads", "1", "--quiet", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, "instability.json"), "utf8"));
    expect(json.config.ticket).toEqual({ dir: run, round: 2 });
    expect(json.config.train.iterations).toBe(150);
    expect(json.remaining).toBeCloseTo(0.8 * 0.8, 1);
    const bad = runTicket("instability", "--ticket", run, "--round", "3", "--at", "0", "--out", tmp());
    expect(bad.stderr).toMatch(/--round 3: .* has rounds 0 to 2/);
    expect(bad.status).toBe(2);
  });

  it("bad input: one line, exit 2 for the command line, 1 for data", () => {
    const notRun = tmp();
    const cases: [string[], RegExp, number][] = [
      [["--at", "0,500", "--iterations", "200"], /--at 500 is beyond the training: each k must be below the 200 iterations/, 2],
      [["--points", "1"], /--points must be at least 2, got 1/, 2],
      [["--at", "0,x"], /--at must be an integer, got "x"/, 2],
      [["--ticket", notRun], /--ticket .*: not a `ticket find` run \(no state.json\)/, 1],
      [["--round", "1"], /--round needs --ticket DIR/, 2],
      [["--resume", notRun], /nothing to resume/, 1],
      [["--resume", notRun, "--at", "0"], /--at comes from the analysis being resumed; leave it out/, 2],
    ];
    for (const [args, message, status] of cases) {
      const r = runTicket("instability", ...args);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.status, args.join(" ")).toBe(status);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
    }
  });

  it("find --rewind auto: analyses the sparsest round's subnetwork first, rewinds to its earliest stable k and records the choice and why", () => {
    const out = mkdtempSync(join(tmpdir(), "wt-rewind-auto-"));
    const r = runTicket("find", "--rewind", "auto", ...tinyFindFlags(100, 50, "none"), "--threads", "1", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--rewind auto: .*round 2's mask/);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.config.rewindChoice.k).toBe(results.config.rewind);
    expect(results.config.rewindChoice.analysis.length).toBeGreaterThan(0);
    expect(typeof results.config.rewindChoice.reason).toBe("string");
    expect(runTicket("find", "--rewind", "soon", "--iterations", "10").stderr).toMatch(/--rewind must be an integer, got "soon"/);
  });
});
