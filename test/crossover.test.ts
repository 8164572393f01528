// The sparse/dense chooser's crossovers: derived from the two paths' costs, measured once per
// layer shape, kept in the Node cache (the first writer wins, a damaged entry is measured
// again), recorded by a search and reused on resume, and pinned by --crossover. Nothing here
// checks a speed: costs are given, or only their form is checked.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { UNIT_SCALING } from "../src/data/batches.js";
import { liveInputShare } from "../src/data/live-share.js";
import { ready } from "../src/engine/engine.js";
import { magnitudePrune, pruneToFraction } from "../src/lottery/masks.js";
import { Model } from "../src/nn/model.js";
import type { ModelSpec } from "../src/nn/model-spec.js";
import { mlpSpec } from "../src/nn/registry.js";
import { CrossoverCache } from "../src/node/crossover-cache.js";
import {
  CrossoverCalibration,
  type CrossoverStore,
  layerSteps,
  measurementKey,
  sparseRuleFor,
  type Timings,
  withRecordedCrossovers,
} from "../src/train/crossover.js";
import { crossoverFromCosts, type LayoutCosts, measureLayoutCosts, measurePathCosts, type PathCosts } from "../src/train/path-costs.js";
import { chooseModes } from "../src/train/plan.js";
import { PAPER_TRAINING, withLiveInputShare } from "../src/train/train.js";
import { mnistSplits, runTicket } from "./helpers.js";
import { ticketAsync } from "./trust-helpers.js";

beforeAll(async () => {
  await ready();
});

const tmp = (): string => mkdtempSync(join(tmpdir(), "wt-crossover-"));
const spec = mlpSpec(64, [32], 10);
const conv: ModelSpec = {
  input: [1, 8, 8],
  layers: [{ type: "conv2d", outputs: 4, kernel: 3 }, { type: "relu" }, { type: "flatten" }, { type: "linear", outputs: 10 }],
};
const auto = { ...PAPER_TRAINING, sparse: "auto" as const };

/** Dense 10 ms a step; sparse 2 ms + 10 ms × the fraction kept: the lines meet at 80%. */
const meetAt80: PathCosts = { dense: 10, sparseHalf: 7, sparseFull: 12 };
/** Lines that meet at 30%. */
const meetAt30: PathCosts = { dense: 5, sparseHalf: 7, sparseFull: 12 };
/** Moving the model to feature-major costs nothing. */
const freeMove: LayoutCosts = { rowMajor: 20, featureMajor: 20 };

/** A calibration whose "measurements" return the costs given, counting how often it measures. */
function givenCosts(
  path: PathCosts,
  store: CrossoverStore | null = null,
  layouts: LayoutCosts = freeMove,
): { calibration: CrossoverCalibration; measured: () => number } {
  let count = 0;
  const calibration = new CrossoverCalibration(store, {
    path: () => {
      count++;
      return path;
    },
    layouts: () => {
      count++;
      return layouts;
    },
  });
  return { calibration, measured: () => count };
}

function memoryStore(firstWriter?: Timings): CrossoverStore & { entries: Map<string, Timings> } {
  const entries = new Map<string, Timings>();
  return {
    entries,
    read: (key) => entries.get(key),
    write: (key, timings) => {
      entries.set(key, firstWriter ?? timings);
      return entries.get(key)!;
    },
  };
}

/** The chooser's paths for `model` pruned to these fractions of each layer's weights. */
function pathsAt(fractions: [number, number], config: Parameters<typeof sparseRuleFor>[1], calibration: CrossoverCalibration): string[] {
  const model = new Model(spec, 0);
  magnitudePrune(model.prunable(), "layerwise", { "fc1.weight": 1 - fractions[0], "fc2.weight": 1 - fractions[1] }, 0);
  const modes = chooseModes(model, "auto", sparseRuleFor(model, config, calibration));
  model.dispose();
  return modes;
}

describe("the crossover of a product", () => {
  it("is where the sparse path's cost line meets the dense cost, within [0, 1]", () => {
    const costs = (dense: number, sparseHalf: number, sparseFull: number): PathCosts => ({ dense, sparseHalf, sparseFull });
    expect(crossoverFromCosts(meetAt80)).toBe(0.8);
    expect(crossoverFromCosts(meetAt30)).toBe(0.3);
    expect(crossoverFromCosts(meetAt80, 2)).toBe(0.6); // where sparse saves 2 ms
    expect(crossoverFromCosts(costs(1, 2, 3))).toBe(0); // sparse slower even with nothing kept
    expect(crossoverFromCosts(costs(5, 1, 2))).toBe(1); // sparse faster even with everything kept
    expect(crossoverFromCosts(costs(5, 3, 3))).toBe(1); // a flat sparse cost below the dense one
    expect(crossoverFromCosts(costs(2, 3, 3))).toBe(0);
    expect(crossoverFromCosts(costs(10, 7.0004, 12))).toBe(0.8); // rounded to 0.001
  });

  it("is measured on the layer's real shape, as the layer runs: both paths; and a row-major model's step in both layouts", () => {
    const steps = layerSteps(spec, 8, "adam");
    expect(steps.get("fc1.weight")).toEqual({
      layer: { type: "linear", outputs: 32 },
      input: { kind: "vector", features: 64 },
      batch: 8,
      inputGradient: false,
      liveShare: 1,
      optimizer: "adam",
    });
    expect(steps.get("fc2.weight")).toMatchObject({ layer: { type: "linear", outputs: 10 }, input: { kind: "vector", features: 32 }, inputGradient: true });
    const convSteps = layerSteps(conv, 5, "sgd");
    expect(convSteps.get("conv1.weight")).toMatchObject({ input: { kind: "image", channels: 1, height: 8, width: 8 }, inputGradient: false, optimizer: "sgd" });
    expect(convSteps.get("fc1.weight")).toMatchObject({ input: { kind: "vector", features: 4 * 6 * 6 }, inputGradient: true });
    for (const step of [steps.get("fc2.weight")!, convSteps.get("conv1.weight")!, convSteps.get("fc1.weight")!]) {
      const costs = measurePathCosts(step, 1);
      for (const ms of [costs.dense, costs.sparseHalf, costs.sparseFull]) expect(Number.isFinite(ms) && ms > 0).toBe(true);
      const crossover = crossoverFromCosts(costs);
      expect(crossover >= 0 && crossover <= 1).toBe(true);
    }
    const layouts = measureLayoutCosts(spec, 8, "sgd", 1, 1);
    for (const ms of [layouts.rowMajor, layouts.featureMajor]) expect(Number.isFinite(ms) && ms > 0).toBe(true);
    expect(() => measureLayoutCosts(conv, 8, "adam")).toThrow(/only runs feature-major/);
  });

  it("the first layer is measured on data with the training batches' share of live features, as it trains", () => {
    const splits = mnistSplits({ train: 2000, validation: 100, test: 100 });
    const share = liveInputShare(splits.train, 60, UNIT_SCALING);
    // MNIST's border: about a third of the pixels are zero in every image of a batch of 60
    expect(share).toBeGreaterThan(0.5);
    expect(share).toBeLessThan(0.8);
    // standardised pixels are nonzero everywhere
    expect(liveInputShare(splits.train, 60, { scale: 1 / 80, shift: -0.4 })).toBe(1);
    const steps = layerSteps(spec, 8, "adam", 0.63);
    expect(steps.get("fc1.weight")!.liveShare).toBe(0.64); // rounded to 1/50, so nearby shares share a measurement
    expect(steps.get("fc2.weight")!.liveShare).toBe(1);
    expect(measurementKey(steps.get("fc1.weight")!)).not.toBe(measurementKey(layerSteps(spec, 8, "adam").get("fc1.weight")!));
    const costs = measurePathCosts(steps.get("fc1.weight")!, 1);
    for (const ms of [costs.dense, costs.sparseHalf, costs.sparseFull]) expect(Number.isFinite(ms) && ms > 0).toBe(true);
    expect(withLiveInputShare({ ...PAPER_TRAINING }, splits).liveInputShare).toBeCloseTo(share, 10);
    expect(withLiveInputShare({ ...PAPER_TRAINING, liveInputShare: 0.5 }, splits).liveInputShare).toBe(0.5);
  });

  it("a layer's name is no part of its measurement", () => {
    const named = layerSteps({ ...spec, layers: spec.layers.map((l, i) => ({ ...l, name: `layer${i}` })) }, 8, "adam");
    expect(measurementKey(named.get("layer0.weight")!)).toBe(measurementKey(layerSteps(spec, 8, "adam").get("fc1.weight")!));
  });
});

describe("the chooser", () => {
  it("picks sparse at low density and dense at full density from a calibration", () => {
    const { calibration, measured } = givenCosts(meetAt80);
    const model = new Model(spec, 0);
    expect(sparseRuleFor(model, auto, calibration)).toEqual({ crossover: {} }); // a dense model: nothing to measure
    for (const p of model.prunable()) p.ensureMask();
    expect(sparseRuleFor(model, auto, calibration)).toEqual({ crossover: {} }); // masks that keep everything: still dense
    expect(chooseModes(model, "auto")).toEqual(["dense", "dense"]);
    expect(measured()).toBe(0);

    pruneToFraction(model.prunable(), "layerwise", 0.05);
    const rule = sparseRuleFor(model, auto, calibration);
    expect(rule.crossover).toEqual({ "fc1.weight": 0.8, "fc2.weight": 0.8 });
    expect(chooseModes(model, "auto", rule)).toEqual(["sparse", "sparse"]);
    expect(measured()).toBe(3); // one measurement per product shape, and the model's two layouts
    model.dispose();

    expect(pathsAt([0.8, 0.8], auto, calibration)).toEqual(["sparse", "sparse"]); // at the crossover: sparse
    expect(pathsAt([0.9, 0.9], auto, calibration)).toEqual(["dense", "dense"]);
    expect(pathsAt([0.5, 0.9], auto, calibration)).toEqual(["sparse", "dense"]);
    expect(measured()).toBe(3); // the same shapes: measured once
  });

  it("a row-major model moves to feature-major only where a weight's saving pays for the move", () => {
    // the move costs 2 ms a step: a weight must save that much alone, at 60% kept or fewer
    const { calibration } = givenCosts(meetAt80, null, { rowMajor: 20, featureMajor: 22 });
    const model = new Model(spec, 0);
    pruneToFraction(model.prunable(), "layerwise", 0.5);
    expect(sparseRuleFor(model, auto, calibration)).toEqual({
      crossover: { "fc1.weight": 0.8, "fc2.weight": 0.8 },
      rowMajorCrossover: { "fc1.weight": 0.6, "fc2.weight": 0.6 },
    });
    model.dispose();
    expect(pathsAt([0.7, 0.7], auto, calibration)).toEqual(["dense", "dense"]); // below the crossover, but no single saving pays
    expect(pathsAt([0.55, 0.7], auto, calibration)).toEqual(["sparse", "sparse"]); // fc1's does; once moved, fc2 goes by its crossover
    expect(pathsAt([0.55, 0.9], auto, calibration)).toEqual(["sparse", "dense"]);
    // a given crossover is the whole rule (the fixed rule of earlier versions has no such allowance)
    expect(pathsAt([0.7, 0.7], { ...auto, crossover: 0.8 }, calibration)).toEqual(["sparse", "sparse"]);
    // a model with image layers runs feature-major anyway
    const { calibration: convCalibration, measured } = givenCosts(meetAt80, null, { rowMajor: 20, featureMajor: 22 });
    const convModel = new Model(conv, 0);
    pruneToFraction(convModel.prunable(), "layerwise", 0.7);
    const rule = sparseRuleFor(convModel, auto, convCalibration);
    expect(rule).toEqual({ crossover: { "conv1.weight": 0.8, "fc1.weight": 0.8 } });
    expect(chooseModes(convModel, "auto", rule)).toEqual(["sparse", "sparse"]);
    expect(measured()).toBe(2); // no layouts to measure
    convModel.dispose();
  });

  it("a pruned weight needs a crossover; --sparse on and off need none", () => {
    const model = new Model(spec, 0);
    pruneToFraction(model.prunable(), "layerwise", 0.5);
    expect(() => chooseModes(model, "auto")).toThrow(/no crossover for fc1\.weight/);
    expect(chooseModes(model, "always")).toEqual(["sparse", "sparse"]);
    expect(chooseModes(model, "never")).toEqual(["dense", "dense"]);
    expect(sparseRuleFor(model, { ...auto, sparse: "never" }, givenCosts(meetAt80).calibration)).toEqual({ crossover: {} });
    expect(sparseRuleFor(model, { ...auto, crossover: 0.6 })).toEqual({ crossover: { "fc1.weight": 0.6, "fc2.weight": 0.6 } });
    model.dispose();
  });

  it("a store is read before measuring, and its first writer's timings are the ones used", () => {
    const store = memoryStore();
    const shape = layerSteps(spec, 60, "adam").get("fc1.weight")!;
    const first = givenCosts(meetAt80, store);
    expect(first.calibration.crossover(shape)).toBe(0.8);
    expect(first.calibration.crossover(shape)).toBe(0.8);
    expect(first.measured()).toBe(1);
    expect([...store.entries.keys()]).toEqual([measurementKey(shape)]);
    // another process: it finds the kept timings and does not measure
    const second = givenCosts(meetAt30, store);
    expect(second.calibration.crossover(shape)).toBe(0.8);
    expect(second.measured()).toBe(0);
    // another batch is another measurement
    expect(second.calibration.crossover(layerSteps(spec, 30, "adam").get("fc1.weight")!)).toBe(0.3);
    expect(second.measured()).toBe(1);
    // a store that already holds another process's timings returns them from write: those count
    const late = givenCosts(meetAt30, memoryStore({ dense: 10, sparseHalf: 5, sparseFull: 15 }));
    expect(late.calibration.crossover(shape)).toBe(0.75);
    expect(late.calibration.crossover(shape)).toBe(0.75);
  });

  it("a run records its rule for every prunable weight, and a recorded rule is reused without measuring", () => {
    const { calibration, measured } = givenCosts(meetAt80, null, { rowMajor: 20, featureMajor: 22 });
    const recorded = withRecordedCrossovers(spec, auto, calibration);
    expect(recorded.crossover).toEqual({ "fc1.weight": 0.8, "fc2.weight": 0.8 });
    expect(recorded.rowMajorCrossover).toEqual({ "fc1.weight": 0.6, "fc2.weight": 0.6 });
    expect(measured()).toBe(3);
    const again = givenCosts(meetAt30, null, freeMove);
    expect(withRecordedCrossovers(spec, recorded, again.calibration)).toEqual(recorded);
    const model = new Model(spec, 0);
    pruneToFraction(model.prunable(), "layerwise", 0.7);
    expect(sparseRuleFor(model, recorded, again.calibration)).toEqual({ crossover: recorded.crossover, rowMajorCrossover: recorded.rowMajorCrossover });
    model.dispose();
    expect(again.measured()).toBe(0);
    expect(withRecordedCrossovers(spec, { ...auto, crossover: 0.7 }, calibration)).toEqual({ ...auto, crossover: 0.7 });
    expect(withRecordedCrossovers(spec, { ...auto, crossover: { "fc1.weight": 0.25 } }, calibration)).toEqual({
      ...auto,
      crossover: { "fc1.weight": 0.25, "fc2.weight": 0.8 },
    });
    expect(withRecordedCrossovers(spec, { ...auto, sparse: "never" as const }, calibration).crossover).toBeUndefined();
  });
});

describe("the crossover cache on disk", () => {
  const key = "simd threads=1 product=64x32 strides=32,1 columns=60 no-input-gradient adam";

  it("keeps a measurement for later processes; the first writer wins", () => {
    const dir = join(tmp(), "crossovers");
    const warnings: string[] = [];
    const a = new CrossoverCache(dir, (line) => warnings.push(line));
    expect(a.read(key)).toBeUndefined();
    expect(a.write(key, meetAt80)).toEqual(meetAt80);
    const b = new CrossoverCache(dir, (line) => warnings.push(line));
    expect(b.read(key)).toEqual(meetAt80);
    expect(b.write(key, meetAt30)).toEqual(meetAt80); // measured meanwhile by another process: the first timings stay
    expect(b.read(key.replace("columns=60", "columns=30"))).toBeUndefined();
    const files = readdirSync(dir);
    expect(files).toHaveLength(1); // no temporary file left
    expect(JSON.parse(readFileSync(join(dir, files[0]), "utf8"))).toMatchObject({ format: "winning-ticket/crossover@1", milliseconds: meetAt80 });
    expect(warnings).toEqual([]);
  });

  it("a damaged entry is ignored with a one-line warning, measured again and replaced", () => {
    const dir = join(tmp(), "crossovers");
    const shape = layerSteps(spec, 60, "adam").get("fc1.weight")!;
    new CrossoverCache(dir).write(measurementKey(shape), meetAt30);
    const [file] = readdirSync(dir);
    const valid = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const damages = [
      "{ not json",
      "",
      JSON.stringify({ ...valid, milliseconds: { dense: -1, sparseHalf: 1, sparseFull: 2 } }),
      JSON.stringify({ ...valid, milliseconds: [] }),
      JSON.stringify({ ...valid, key: "other" }),
    ];
    for (const damaged of damages) {
      writeFileSync(join(dir, file), damaged);
      const warnings: string[] = [];
      const { calibration, measured } = givenCosts(meetAt80, new CrossoverCache(dir, (line) => warnings.push(line)));
      expect(calibration.crossover(shape), damaged).toBe(0.8);
      expect(measured()).toBe(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^${join(dir, file)}: ignored \\(.+\\); measuring the crossover again$`));
      expect(new CrossoverCache(dir).read(measurementKey(shape))).toEqual(meetAt80);
    }
  });

  it("a cache that cannot be written warns once, and the run uses its own measurement", () => {
    const blocked = join(tmp(), "a-file");
    writeFileSync(blocked, "");
    const warnings: string[] = [];
    const cache = new CrossoverCache(join(blocked, "crossovers"), (line) => warnings.push(line));
    expect(cache.read(key)).toBeUndefined();
    expect(cache.write(key, meetAt80)).toEqual(meetAt80);
    expect(cache.write(`${key} again`, meetAt30)).toEqual(meetAt30);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot keep measured crossovers/);
  });
});

describe("crossovers on the command line", () => {
  const tiny = ["--hidden", "16", "--train-subset", "600", "--validation", "200", "--iterations", "30", "--eval-every", "10", "--quiet", "--threads", "1"];
  /** The environment of a user who pins nothing, with the cache under `cache`. */
  const measuring = (cache: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache };
    delete env.WT_CROSSOVER;
    return env;
  };
  const results = (dir: string) => JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));

  it("bad --crossover values: one clear line naming the flag, exit 2", async () => {
    const expected = /must be "measured", a fraction of weights remaining in \[0, 1\] or a list such as fc1\.weight=0\.68,fc2\.weight=0\.7, got/;
    const cases: [string[], RegExp][] = [
      [["find", "--crossover", "1.5"], new RegExp(`--crossover ${expected.source} "1\\.5"`)],
      [["find", "--crossover", "often"], new RegExp(`--crossover ${expected.source} "often"`)],
      [["train", "--crossover", "-0.1"], new RegExp(`--crossover ${expected.source} "-0\\.1"`)],
      [["find", "--crossover", "fc1.weight=2"], /--crossover fc1\.weight must be a fraction of weights remaining in \[0, 1\], got "2"/],
      [["find", "--crossover", "fc1.weight=0.5,=0.3"], /--crossover: "=0\.3" is not of the form name\.weight=fraction/],
      [["find", "--crossover", "fc1.weight=0.5,fc1.weight=0.6"], /--crossover: fc1\.weight is given twice/],
      [["find", "--crossover", "0.5", "--sparse", "off"], /--crossover is the rule of --sparse auto; with --sparse off leave it out/],
      [["find", ...tiny, "--crossover", "fc9.weight=0.5"], /--crossover: fc9\.weight is not a prunable weight of mlp \(it has fc1\.weight, fc2\.weight\)/],
    ];
    for (const [args, message] of cases) {
      const r = runTicket(...args, "--out", join(tmp(), "run"));
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.status, args.join(" ")).toBe(2);
    }
    const r = await ticketAsync(["find", "--out", join(tmp(), "run")], 30_000, { ...process.env, WT_CROSSOVER: "often" });
    expect(r.stderr).toMatch(new RegExp(`WT_CROSSOVER ${expected.source} "often"`));
    expect(r.status).toBe(2);
  });

  it("a search measures and records each layer's crossover, caches it, and a resumed search reuses the recorded ones", async () => {
    const cache = tmp();
    const entries = join(cache, "winning-ticket", "crossovers");
    const find = ["find", ...tiny, "--rounds", "1", "--controls", "none"];
    const first = join(tmp(), "run");
    let r = await ticketAsync([...find, "--out", first], 60_000, measuring(cache));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const { crossover, rowMajorCrossover } = results(first).config.train;
    for (const rule of [crossover, rowMajorCrossover]) {
      expect(Object.keys(rule)).toEqual(["fc1.weight", "fc2.weight"]);
      for (const c of Object.values(rule) as number[]) expect(c >= 0 && c <= 1).toBe(true);
    }
    expect(readdirSync(entries).filter((f) => f.endsWith(".json"))).toHaveLength(3); // two product shapes and the model's layouts
    for (const run of results(first).results) {
      const kept = run.remainingByLayer as Record<string, number>;
      const moved = Object.keys(kept).some((name) => kept[name] < 1 && kept[name] <= rowMajorCrossover[name]);
      for (const [name, mode] of Object.entries(run.products)) {
        expect(mode, `round ${run.round} ${name}`).toBe(moved && kept[name] < 1 && kept[name] <= crossover[name] ? "sparse" : "dense");
      }
    }

    // another search on this machine reads them from the cache
    const second = join(tmp(), "run");
    r = await ticketAsync([...find, "--out", second], 60_000, measuring(cache));
    expect(r.status, r.stderr).toBe(0);
    expect(results(second).config.train.crossover).toEqual(crossover);
    expect(results(second).config.train.rowMajorCrossover).toEqual(rowMajorCrossover);

    // a damaged entry: one warning, measured again, rewritten
    const [file] = readdirSync(entries);
    writeFileSync(join(entries, file), "garbage");
    r = await ticketAsync([...find, "--out", join(tmp(), "run")], 60_000, measuring(cache));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^ticket: warning: ${join(entries, file)}: ignored \\(not valid JSON\\); measuring the crossover again`));
    expect(JSON.parse(readFileSync(join(entries, file), "utf8")).format).toBe("winning-ticket/crossover@1");

    // resumed (one more round), a search chooses by its recorded crossovers, never measuring them again
    const statePath = join(first, "state.json");
    const state = JSON.parse(readFileSync(statePath, "utf8"));
    state.config.rounds = 2;
    state.state.stopReason = null;
    state.config.train.crossover = { "fc1.weight": 0, "fc2.weight": 1 };
    state.config.train.rowMajorCrossover = { "fc1.weight": 0, "fc2.weight": 1 };
    writeFileSync(statePath, JSON.stringify(state));
    const emptyCache = tmp();
    r = await ticketAsync(["find", "--resume", first, "--quiet"], 60_000, measuring(emptyCache));
    expect(r.status, r.stderr).toBe(0);
    const resumed = results(first);
    expect(resumed.config.train.crossover).toEqual({ "fc1.weight": 0, "fc2.weight": 1 });
    expect(resumed.results.find((x: { round: number }) => x.round === 2).products).toEqual({ "fc1.weight": "dense", "fc2.weight": "sparse" });
    expect(readdirSync(emptyCache)).toEqual([]); // nothing measured

    // a search saved before crossovers were measured resumes with the fixed rule it ran by
    const older = JSON.parse(readFileSync(statePath, "utf8"));
    older.config.rounds = 3;
    older.state.stopReason = null;
    delete older.config.train.crossover;
    delete older.config.train.rowMajorCrossover;
    writeFileSync(statePath, JSON.stringify(older));
    r = await ticketAsync(["find", "--resume", first, "--quiet"], 60_000, measuring(emptyCache));
    expect(r.status, r.stderr).toBe(0);
    expect(results(first).config.train.crossover).toBe(0.7);
    expect(results(first).config.train.rowMajorCrossover).toBeUndefined();
    expect(readdirSync(emptyCache)).toEqual([]);
  });
});
