// A run folder under crashes, concurrency, full disks and hostile paths: atomic writes that
// never follow a planted symlink and never leave temporary files, a lock that a second process
// respects and a killed one's successor takes over, a folder holding a run never overwritten
// without --force, a search that cannot go on forever, divergence reported with its arm and
// round, and every resume ending where an uninterrupted run ends.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ready } from "../src/engine/engine.js";
import { type LotteryConfig, paperRates } from "../src/lottery/config.js";
import { findTicket, type LotteryState } from "../src/lottery/find.js";
import { Model } from "../src/nn/model.js";
import { mlpSpec } from "../src/nn/registry.js";
import { writeFileAtomic } from "../src/node/atomic-write.js";
import { LOCK_FILE, probeWritable } from "../src/node/run-folder.js";
import { PAPER_TRAINING, type Splits, train } from "../src/train/train.js";
import { mnistSplits, TICKET_BIN } from "./helpers.js";
import { expectCleanFailure, expectCleanMessage, scratch, ticketAsync, tinyFind } from "./trust-helpers.js";

/** Temporary files anywhere under `dir`. */
function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".tmp"));
}

/** results.json without what differs between identical runs (timings, the engine's thread split). */
function comparable(dir: string): unknown {
  const j = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
  delete j.totalSeconds;
  delete j.engine;
  for (const r of j.results) {
    delete r.seconds;
    delete r.stepsPerSecond;
  }
  return j;
}

const waitFor = async (condition: () => boolean, timeoutMs: number): Promise<void> => {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
};

const completedRounds = (dir: string): number => {
  try {
    return JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).state.completedRounds;
  } catch {
    return 0;
  }
};

describe("atomic writes", () => {
  it("replace a symlink at the target instead of writing through it, and never use a planted temporary name", () => {
    const dir = scratch("atomic");
    writeFileSync(join(dir, "victim.txt"), "precious");
    symlinkSync(join(dir, "victim.txt"), join(dir, "out.json"));
    // the names earlier versions used, planted for this process
    symlinkSync(join(dir, "victim.txt"), join(dir, `out.json.${process.pid}.tmp`));
    writeFileAtomic(join(dir, "out.json"), "new");
    expect(readFileSync(join(dir, "victim.txt"), "utf8")).toBe("precious");
    expect(lstatSync(join(dir, "out.json")).isFile()).toBe(true);
    expect(readFileSync(join(dir, "out.json"), "utf8")).toBe("new");
    expect(tempFiles(dir)).toEqual([`out.json.${process.pid}.tmp`]); // only the planted one, untouched
  });

  it("name the target in one line and leave no temporary file when the target is a folder or its parent a file", () => {
    const dir = scratch("atomic");
    mkdirSync(join(dir, "taken"));
    writeFileSync(join(dir, "plain"), "x");
    const cases: [string, RegExp][] = [
      [join(dir, "taken"), /taken: cannot write: is a directory \(EISDIR\)$/],
      [join(dir, "plain", "x.json"), /plain\/x\.json: cannot create its folder .*plain: .*\((EEXIST|ENOTDIR)\)$/],
    ];
    for (const [path, pattern] of cases) {
      let message = "";
      try {
        writeFileAtomic(path, "data");
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(pattern);
      expectCleanMessage(message, path);
    }
    expect(tempFiles(dir)).toEqual([]);
  });

  it("export --out onto a folder: one line naming it, exit 1, no temporary file beside it", async () => {
    const run = join(scratch("export"), "run");
    expect((await ticketAsync(["find", ...tinyFind, "--rounds", "1", "--controls", "none", "--threads", "1", "--out", run])).status).toBe(0);
    const target = join(run, "taken.safetensors");
    mkdirSync(target);
    const r = await ticketAsync(["export", run, "--round", "1", "--out", target]);
    expectCleanFailure(r, /taken\.safetensors: cannot write: is a directory \(EISDIR\)/, "export onto a folder", 1);
    expect(tempFiles(run)).toEqual([]);
  });
});

const canMountTmpfs = spawnSync("unshare", ["-m", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d"]).status === 0;

describe("a full disk", () => {
  it.skipIf(!canMountTmpfs)(
    "names the file, keeps the last complete round, leaves no temporary file; the run resumes once space is back, to the uninterrupted results",
    async () => {
      const args = ["find", ...tinyFind, "--rounds", "2", "--controls", "none", "--threads", "1"];
      const reference = join(scratch("ref"), "run");
      expect((await ticketAsync([...args, "--out", reference])).status).toBe(0);
      const mount = scratch("mnt");
      const copy = join(scratch("copy"), "run");
      // a private mount namespace: a 160 KB tmpfs holds round 0's files but not round 1's checkpoint too
      const script = [
        'mount -t tmpfs -o size=160k tmpfs "$1" || exit 99',
        `"$0" ${JSON.stringify(TICKET_BIN)} ${args.map((a) => JSON.stringify(a)).join(" ")} --out "$1/run" 2>"$1.err"; echo "first=$?"`,
        'cat "$1.err"',
        'echo "rounds=$(grep -o \'"completedRounds": [0-9]*\' "$1/run/state.json" | tail -1)"',
        'echo "temps=$(find "$1" -name "*.tmp" | wc -l)"',
        'mount -o remount,size=8m "$1"',
        `"$0" ${JSON.stringify(TICKET_BIN)} find --resume "$1/run" --quiet; echo "resumed=$?"`,
        'echo "temps=$(find "$1" -name "*.tmp" | wc -l)"',
        'cp -r "$1/run" "$2"',
      ].join("\n");
      const r = spawnSync("unshare", ["-m", "sh", "-c", script, process.execPath, mount, copy], { encoding: "utf8", timeout: 90_000 });
      const out = r.stdout;
      expect(out, r.stderr).toMatch(/first=1/);
      const line = out.split("\n").find((l) => l.startsWith("ticket: "))!;
      expect(line).toMatch(/^ticket: \S+\/run\/\S+: cannot write: no space left on the device \(ENOSPC\)$/);
      expect(out).toMatch(/rounds="completedRounds": 1/);
      expect(out).toMatch(/temps=0\nresumed=0\ntemps=0/);
      expect(comparable(copy)).toEqual(comparable(reference));
    },
    120_000,
  );
});

describe("the run folder", () => {
  it("a file system that does not answer is reported within the time limit (Node's recursive mkdir never returns under /proc)", async () => {
    const started = Date.now();
    await expect(probeWritable("/proc/wt-x/y", "--out /proc/wt-x/y", 1500)).rejects.toThrow(
      "--out /proc/wt-x/y: the file system does not answer (making the folder and a probe file in it took more than 1.5 s)",
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a second process is refused, naming the pid that holds the lock; a SIGKILLed holder's lock is taken over by the resume", async () => {
    const args = ["find", ...tinyFind, "--rounds", "3", "--controls", "reinit", "--threads", "1"];
    const reference = join(scratch("ref"), "run");
    const dir = join(scratch("lock"), "run");
    const refRun = ticketAsync([...args, "--out", reference], 120_000);
    const holder = spawn(process.execPath, [TICKET_BIN, ...args, "--out", dir], { stdio: "ignore" });
    await waitFor(() => completedRounds(dir) >= 1, 60_000);
    holder.kill("SIGSTOP"); // frozen mid-search: alive, holding the lock, for as long as the test needs
    const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8"));
    expect(lock.pid).toBe(holder.pid);
    const [second, resume] = await Promise.all([ticketAsync([...args, "--force", "--out", dir]), ticketAsync(["find", "--resume", dir])]);
    for (const r of [second, resume])
      expectCleanFailure(r, new RegExp(`in use by another ticket run \\(process ${holder.pid} holds .*ticket\\.lock`), "second process", 1);
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.on("exit", resolve));
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true); // stale: its pid is gone
    const resumed = await ticketAsync(["find", "--resume", dir, "--quiet"], 120_000);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect((await refRun).status).toBe(0);
    expect(comparable(dir)).toEqual(comparable(reference));
    expect(tempFiles(dir)).toEqual([]);
  }, 180_000);

  it("a lock left by a dead process is taken over at the start of a new search", async () => {
    const dir = join(scratch("stale"), "run");
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout), host: (await import("node:os")).hostname(), startTicks: null }));
    const r = await ticketAsync(["find", ...tinyFind, "--rounds", "1", "--controls", "none", "--threads", "1", "--out", dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it("a command that fails on its flags or its data leaves no folder behind (the --out check made it)", async () => {
    const base = scratch("nothing-left");
    const runs = await Promise.all([
      ticketAsync(["find", ...tinyFind, "--layer-rates", "fc9.weight=0.3", "--out", join(base, "a", "b")]),
      ticketAsync(["find", ...tinyFind, "--data", join(base, "no-data"), "--out", join(base, "c")]),
      ticketAsync(["train", ...tinyFind, "--batch-size", "100000", "--out", join(base, "d", "e")]),
    ]);
    expectCleanFailure(runs[2], /batch size 100000 is larger than the 600 training examples/, "train: bad batch size", 2);
    expectCleanFailure(runs[0], /--layer-rates: fc9\.weight is not a prunable weight/, "bad flag", 2);
    expectCleanFailure(runs[1], /data: .*no-data is not a directory/, "no data", 1);
    expect(readdirSync(base)).toEqual([]);
  });

  it("a folder that holds a search is refused (exit 2, one line, nothing changed) unless --force, which replaces it", async () => {
    const dir = join(scratch("exists"), "run");
    const args = ["find", ...tinyFind, "--controls", "none", "--threads", "1", "--out", dir];
    expect((await ticketAsync([...args, "--rounds", "2"])).status).toBe(0);
    const before = readFileSync(join(dir, "results.json"), "utf8");
    const refused = await ticketAsync([...args, "--rounds", "1"]);
    expectCleanFailure(
      refused,
      /--out .* already holds a search \(state\.json\); continue it with --resume .*, or give --force to replace it/,
      "existing run",
      2,
    );
    expect(readFileSync(join(dir, "results.json"), "utf8")).toBe(before);
    const both = await ticketAsync([...args, "--force", "--resume", dir]);
    expectCleanFailure(both, /--force starts a new search and --resume continues one/, "--force with --resume", 2);
    const forced = await ticketAsync([...args, "--rounds", "1", "--force"]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "results.json"), "utf8")).completedRounds).toBe(2);
    expect(existsSync(join(dir, "checkpoints", "round-02.safetensors"))).toBe(false); // the replaced search's
  });

  it("leftover temporary files of a killed run are removed at the next start and resume (a symlink itself, never its target)", async () => {
    const dir = join(scratch("leftover"), "run");
    mkdirSync(join(dir, "checkpoints"), { recursive: true });
    const victim = join(scratch("victim"), "victim.txt");
    writeFileSync(victim, "precious");
    const plant = (): void => {
      writeFileSync(join(dir, "state.json.0123456789abcdef.tmp"), "half");
      writeFileSync(join(dir, "checkpoints", "round-01.safetensors.4242.tmp"), "half");
      symlinkSync(victim, join(dir, "results.json.00112233aabbccdd.tmp"));
    };
    plant();
    const started = await ticketAsync(["find", ...tinyFind, "--rounds", "1", "--controls", "none", "--threads", "1", "--out", dir]);
    expect(started.status, started.stderr).toBe(0);
    expect(tempFiles(dir)).toEqual([]);
    plant();
    const resumed = await ticketAsync(["find", "--resume", dir]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(tempFiles(dir)).toEqual([]);
    expect(readFileSync(victim, "utf8")).toBe("precious");
  });

  it("random SIGKILLs (mid-round, mid-write, during the resume) all resume to the uninterrupted results, leaving no temporary file", async () => {
    const args = ["find", ...tinyFind, "--rounds", "3", "--controls", "both"];
    const reference = join(scratch("ref"), "run");
    expect((await ticketAsync([...args, "--out", reference])).status).toBe(0);
    const dir = join(scratch("kills"), "run");
    // a seeded schedule of kill times, from start-up to the last round
    let seed = 7;
    const nextDelay = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 150 + (seed % 1500);
    };
    let kills = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      const resume = completedRounds(dir) >= 1;
      const child = spawn(process.execPath, [TICKET_BIN, ...(resume ? ["find", "--resume", dir, "--quiet"] : [...args, "--force", "--out", dir])], {
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const timer = setTimeout(() => child.kill("SIGKILL"), nextDelay());
      const code = await exited;
      clearTimeout(timer);
      if (code === null) kills++;
      else if (code === 0) break;
    }
    expect(kills).toBeGreaterThan(0);
    const r = await ticketAsync(completedRounds(dir) >= 1 ? ["find", "--resume", dir, "--quiet"] : [...args, "--force", "--out", dir], 120_000);
    expect(r.status, r.stderr).toBe(0);
    expect(comparable(dir)).toEqual(comparable(reference));
    expect(tempFiles(dir)).toEqual([]);
  }, 180_000);
});

describe("a search that would never end", () => {
  it("stops once a round would prune nothing, from the flags and from a state.json whose rounds were edited to 1e9", async () => {
    const dir = join(scratch("endless"), "run");
    const args = ["find", "--hidden", "3,3", "--train-subset", "600", "--validation", "200", "--iterations", "5", "--eval-every", "5", "--controls", "none"];
    const r = await ticketAsync([...args, "--rounds", "1000000000", "--threads", "1", "--quiet", "--out", dir], 90_000);
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    expect(results.stopReason).toMatch(/^round \d+ would prune nothing: round\(rate × remaining\) is 0 in every layer/);
    expect(results.completedRounds).toBeLessThan(60);

    const edited = join(scratch("endless"), "run");
    expect((await ticketAsync([...args, "--rounds", "2", "--threads", "1", "--quiet", "--out", edited])).status).toBe(0);
    const state = JSON.parse(readFileSync(join(edited, "state.json"), "utf8"));
    state.config.rounds = 1e9;
    state.state.stopReason = null;
    writeFileSync(join(edited, "state.json"), JSON.stringify(state));
    const resumed = await ticketAsync(["find", "--resume", edited, "--quiet"], 90_000);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(edited, "results.json"), "utf8")).stopReason).toMatch(/would prune nothing/);
  }, 120_000);
});

describe("divergence", () => {
  let splits: Splits;
  beforeAll(async () => {
    await ready({ threads: 1 });
    splits = mnistSplits({ train: 600, validation: 200, test: 200 });
  });

  it("SGD at 1e3 and Adam at 50 stop with one line naming the round, the arm and the iteration", async () => {
    const runs = await Promise.all(
      [
        ["--optimizer", "sgd", "--lr", "1000"],
        ["--lr", "50"],
      ].map((flags) => ticketAsync(["find", ...tinyFind, ...flags, "--rounds", "1", "--threads", "1", "--out", join(scratch("diverge"), "run")])),
    );
    for (const r of runs) expectCleanFailure(r, /round 0, ticket arm: training diverged: .* at iteration \d+/, "divergence", 1);
  });

  it("Adam's blow-up to a finite but exploding validation loss is caught (beyond 10× the first evaluation)", () => {
    const model = new Model(mlpSpec(784, [8], 10), 0);
    expect(() => train(model, splits, { ...PAPER_TRAINING, iterations: 30, evalEvery: 10, lr: 50, testCurve: false })).toThrow(
      /training diverged: (validation loss [\d.e+]+ at iteration \d+ is more than 10× its value at the first evaluation|.*is NaN)/,
    );
    model.dispose();
  });

  it("a round that fails keeps the round before it: saved, and resumable", async () => {
    const spec = mlpSpec(784, [8], 10);
    const config: LotteryConfig = {
      spec,
      train: { ...PAPER_TRAINING, iterations: 20, evalEvery: 10, testCurve: false },
      seed: 0,
      strategy: "layerwise",
      layerRates: paperRates(spec),
      globalRate: 0.2,
      rounds: 3,
      rewind: 0,
      controls: ["reinit"],
    };
    const saved: number[] = [];
    let error = "";
    try {
      await findTicket(splits, config, {
        onProgress: (p) => {
          // the ticket of round 2 fails, as a diverging one would, while round 1's control is pending
          if (p.round === 2 && p.arm === "ticket" && p.iteration === 5) throw new Error("training diverged: loss is NaN at iteration 5");
        },
        onRoundDone: (s: LotteryState) => saved.push(s.completedRounds),
      });
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toBe("round 2, ticket arm: training diverged: loss is NaN at iteration 5");
    expect(saved).toEqual([1, 2]);
  });
});

describe("controls in a worker", () => {
  it("run the kernel binary the flags chose and the results record (--wasm simd is not the worker's default)", async () => {
    const args = ["find", ...tinyFind, "--rounds", "1", "--controls", "both", "--wasm", "simd"];
    const [inWorker, inTurn] = await Promise.all(
      [
        ["--threads", "2"],
        ["--threads", "1", "--parallel-arms", "off"],
      ].map(async (flags) => {
        const out = join(scratch("variant"), "run");
        const r = await ticketAsync([...args, ...flags, "--out", out]);
        expect(r.status, r.stderr).toBe(0);
        return out;
      }),
    );
    expect(JSON.parse(readFileSync(join(inWorker, "results.json"), "utf8")).engine.parallelArms).toBe(true);
    expect(comparable(inWorker)).toEqual(comparable(inTurn));
  });
});
