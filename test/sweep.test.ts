// Sweeps: the grid, the aggregation over seeds and the answer, and `ticket sweep` as a user runs
// it: trials side by side, the same results as a trial run alone, a killed sweep resumed to the
// same sweep.json, and bad input as one-line usage errors.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RoundResult } from "../src/lottery/find.js";
import { aggregate, answer, expandGrid } from "../src/lottery/sweep.js";
import { TICKET_BIN, runTicket as ticket, tinyFindFlags } from "./helpers.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "wt-sweep-"));
const find = tinyFindFlags(40, 20, "reinit");

const result = (arm: RoundResult["arm"], round: number, remaining: number, accuracy: number, iteration: number): RoundResult =>
  ({ arm, round, remaining, earlyStopTestAccuracy: accuracy, earlyStopIteration: iteration }) as RoundResult;

describe("sweep grid and answers", () => {
  it("expands every combination times every seed, names trials by their parameters, and keeps single values fixed", () => {
    const trials = expandGrid({
      dimensions: { rewind: ["0", "500"], "prune-rate": ["0.2", "0.4"], iterations: ["3000"] },
      seeds: [0, 1],
      fixed: ["--rounds", "8"],
    });
    expect(trials.map((t) => t.id)).toEqual([
      "rewind=0,prune-rate=0.2,seed=0",
      "rewind=0,prune-rate=0.2,seed=1",
      "rewind=0,prune-rate=0.4,seed=0",
      "rewind=0,prune-rate=0.4,seed=1",
      "rewind=500,prune-rate=0.2,seed=0",
      "rewind=500,prune-rate=0.2,seed=1",
      "rewind=500,prune-rate=0.4,seed=0",
      "rewind=500,prune-rate=0.4,seed=1",
    ]);
    expect(trials[5].args).toEqual(["--rounds", "8", "--iterations", "3000", "--rewind", "500", "--prune-rate", "0.2", "--seed", "1"]);
  });

  it("aggregates mean, min and max over seeds, and names the sparsest round within the tolerance", () => {
    const trials = expandGrid({ dimensions: { "prune-rate": ["0.2", "0.4"] }, seeds: [0, 1], fixed: [] });
    const results = new Map<string, RoundResult[]>([
      [trials[0].id, [result("ticket", 0, 1, 0.98, 4000), result("ticket", 1, 0.8, 0.981, 3000), result("ticket", 2, 0.64, 0.97, 2000)]],
      [trials[1].id, [result("ticket", 0, 1, 0.97, 3000), result("ticket", 1, 0.8, 0.979, 2000), result("ticket", 2, 0.64, 0.96, 2000)]],
      [trials[2].id, [result("ticket", 0, 1, 0.98, 4000), result("ticket", 1, 0.6, 0.976, 2000), result("ticket", 2, 0.36, 0.972, 1000)]],
      [trials[3].id, [result("ticket", 0, 1, 0.97, 3000), result("ticket", 1, 0.6, 0.974, 2000), result("ticket", 2, 0.36, 0.968, 1000)]],
    ]);
    const rows = aggregate(trials, results);
    const r = rows.find((x) => x.setting === "prune-rate=0.2" && x.round === 1)!;
    expect(r.testAccuracy.mean).toBeCloseTo(0.98, 10);
    expect([r.testAccuracy.min, r.testAccuracy.max, r.earlyStopIteration.mean]).toEqual([0.979, 0.981, 2500]);
    const a = answer(rows, 0.005);
    // dense mean 0.975: p = 0.2 holds at 80% (0.98) but not at 64% (0.965); p = 0.4 holds down to 36% (0.970)
    expect(a.settings.map((s) => [s.setting, s.sparsestWithin?.round])).toEqual([
      ["prune-rate=0.2", 1],
      ["prune-rate=0.4", 2],
    ]);
    expect(a.best!.setting).toBe("prune-rate=0.4");
    expect(a.settings[1].sparsestWithin!.earlyStopSpeedup).toBeCloseTo(3.5, 10);
  });
});

describe("ticket sweep", () => {
  const strip = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));
  const stripResults = (path: string): unknown =>
    (JSON.parse(readFileSync(path, "utf8")).results as Record<string, unknown>[]).map(({ seconds: _s, stepsPerSecond: _p, ...r }) => r);

  it("runs trials side by side, each with the results it has alone; a killed sweep resumes to the same sweep.json", async () => {
    const args = ["sweep", "--prune-rate", "0.2,0.5", "--seeds", "0,1", "--quiet", ...find];
    const full = join(tmp(), "full");
    const r = ticket(...args, "--out", full);
    expect(r.status, r.stderr).toBe(0);
    for (const f of ["sweep.json", "sweep.csv", "sweep-accuracy.svg", "sweep-early-stop.svg"]) expect(existsSync(join(full, f)), f).toBe(true);
    const sweep = strip(join(full, "sweep.json")) as { rows: { arm: string }[]; trials: string[] };
    expect(sweep.trials).toEqual(["prune-rate=0.2,seed=0", "prune-rate=0.2,seed=1", "prune-rate=0.5,seed=0", "prune-rate=0.5,seed=1"]);
    expect(new Set(sweep.rows.map((x) => x.arm))).toEqual(new Set(["ticket", "reinit"]));
    expect(readFileSync(join(full, "sweep-accuracy.svg"), "utf8")).toMatch(/>p=0\.5</); // legends abbreviate the swept flags

    // one trial alone, as a user would run it
    const alone = join(tmp(), "alone");
    expect(ticket("find", ...find, "--prune-rate", "0.5", "--seed", "1", "--threads", "1", "--quiet", "--out", alone).status).toBe(0);
    expect(stripResults(join(full, "trials", "prune-rate=0.5,seed=1", "results.json"))).toEqual(stripResults(join(alone, "results.json")));

    // kill a second sweep once its first trial has finished, then resume it
    const killed = join(tmp(), "killed");
    const child = spawn(process.execPath, [TICKET_BIN, ...args, "--jobs", "1", "--out", killed], { stdio: "ignore" });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const trials = join(killed, "trials");
        const finished =
          existsSync(trials) &&
          readdirSync(trials).some(
            (t) =>
              existsSync(join(trials, t, "results.json")) &&
              strip(join(trials, t, "results.json")) &&
              (strip(join(trials, t, "results.json")) as { finished: boolean }).finished,
          );
        if (finished) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        }
      }, 20);
      child.on("exit", () => {
        clearInterval(timer);
        reject(new Error("the sweep finished before it could be killed"));
      });
    });
    await new Promise((resolve) => child.on("exit", resolve));
    expect(existsSync(join(killed, "sweep.json"))).toBe(false);
    const resumed = ticket("sweep", "--resume", killed, "--quiet");
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(strip(join(killed, "sweep.json"))).toEqual(strip(join(full, "sweep.json")));
  });

  it("bad sweeps: exit 2, one line naming the flag", () => {
    const dir = tmp();
    writeFileSync(join(dir, "bad.json"), "{ nope");
    writeFileSync(join(dir, "odd.json"), JSON.stringify({ rewind: [0, 100], depth: [3] }));
    const existing = join(dir, "existing");
    expect(ticket("sweep", "--seeds", "0", "--quiet", ...find, "--out", existing).status).toBe(0);
    const cases: [string[], RegExp][] = [
      [["sweep", "--prune-rate", "0.2,,0.4"], /--prune-rate must be a comma-separated list of values, got "0\.2,,0\.4"/],
      [["sweep", "--prune-rate", "0.2,1.5"], /--prune-rate values must be fractions in \[0, 1\), got "1\.5"/],
      [["sweep", "--rewind", "0,ten"], /--rewind values must be whole numbers, got "ten"/],
      [["sweep", "--strategy", "layerwise,random"], /--strategy values must be layerwise or global, got "random"/],
      [["sweep", "--seeds", "0,0"], /--seeds lists a seed twice: 0,0/],
      [["sweep", "--seeds", "0", "--seed", "3"], /--seed is set by the sweep for each trial/],
      [["sweep", "--rewind", "0,100", "--file", join(dir, "bad.json")], /bad\.json: not valid JSON/],
      [["sweep", "--file", join(dir, "odd.json")], /odd\.json: unknown field "depth"/],
      [["sweep", "--out", existing], /already holds a sweep; continue it with --resume/],
    ];
    for (const [args, message] of cases) {
      const r = ticket(...args);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n").length, args.join(" ")).toBe(1);
    }
    expect(ticket("sweep", "--resume", join(dir, "nothing")).stderr).toMatch(/nothing to resume \(no sweep plan/);
  });
});
