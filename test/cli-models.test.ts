// The command line with models other than LeNet-300-100: named conv nets, a user's spec file,
// CIFAR-format data, and the flags that pick or contradict a model.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { runTicket as ticket } from "./helpers.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "wt-models-"));
const quick = ["--train-subset", "600", "--validation", "200", "--iterations", "40", "--eval-every", "20", "--quiet", "--threads", "1"];

/** A small CIFAR-10-format set: random pixels whose mean brightness tells the label apart. */
function writeCifar(dir: string, perBatch: number): string {
  let seed = 1;
  const byte = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  };
  const batch = (records: number): Uint8Array => {
    const out = new Uint8Array(records * 3073);
    for (let r = 0; r < records; r++) {
      const label = r % 10;
      out[r * 3073] = label;
      for (let i = 0; i < 3072; i++) out[r * 3073 + 1 + i] = Math.min(255, (byte() >> 2) + label * 18);
    }
    return out;
  };
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), batch(perBatch));
  writeFileSync(join(dir, "test_batch.bin"), batch(perBatch));
  return dir;
}

describe("ticket with other models", () => {
  it("a user's conv spec: find, checkpoints, resume state and export with the spec and PyTorch-shaped kernels", () => {
    const dir = tmp();
    const spec = join(dir, "tiny-conv.json");
    writeFileSync(
      spec,
      JSON.stringify({
        input: [1, 28, 28],
        layers: [
          { type: "conv2d", outputs: 4, kernel: 5, stride: 2 },
          { type: "relu" },
          { type: "maxPool2d", size: 2 },
          { type: "flatten" },
          { type: "linear", outputs: 10 },
        ],
      }),
    );
    const out = join(dir, "run");
    const r = ticket("find", "--model", spec, ...quick, "--rounds", "2", "--controls", "reinit", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.config.model).toBe(spec);
    expect(Object.keys(results.results[1].remainingByLayer)).toEqual(["conv1.weight", "fc1.weight"]);
    // the paper's rates by kind: the convolution loses 10% a round; fc1 is the output layer (10%)
    expect(results.config.layerRates).toEqual({ "conv1.weight": 0.1, "fc1.weight": 0.1 });
    expect(results.results.find((x: { round: number; arm: string }) => x.round === 2 && x.arm === "ticket").remainingByLayer["conv1.weight"]).toBeCloseTo(
      81 / 100,
      2,
    );
    const e = ticket("export", out, "--round", "2");
    expect(e.status, e.stderr).toBe(0);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(join(out, "ticket-round-02.safetensors"))), "ticket");
    expect(tensors.get("mask.conv1.weight")!.shape).toEqual([4, 1, 5, 5]);
    expect(tensors.get("trained.fc1.weight")!.shape).toEqual([4 * 6 * 6, 10]);
    expect(JSON.parse(metadata.model_spec).layers[0]).toEqual({ type: "conv2d", outputs: 4, kernel: 5, stride: 2 });
  });

  it("lenet-5 on CIFAR-format data with per-channel standardisation", () => {
    const data = writeCifar(tmp(), 60);
    const out = tmp();
    const r = ticket(
      "train",
      "--model",
      "lenet-5",
      "--data",
      data,
      "--normalize",
      "--train-subset",
      "200",
      "--validation",
      "50",
      "--iterations",
      "30",
      "--eval-every",
      "10",
      "--quiet",
      "--threads",
      "1",
      "--out",
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(result.config.model.input).toEqual([3, 32, 32]);
    expect(result.final.testAccuracy).toBeGreaterThan(0);
  });

  it("model flags that are wrong or contradict each other: exit 2, one line naming the flag", () => {
    const dir = tmp();
    writeFileSync(join(dir, "broken.json"), "{ not json");
    writeFileSync(join(dir, "wrong-input.json"), JSON.stringify({ input: [3, 32, 32], layers: [{ type: "flatten" }, { type: "linear", outputs: 10 }] }));
    writeFileSync(
      join(dir, "bad-layer.json"),
      JSON.stringify({
        input: [1, 28, 28],
        layers: [
          { type: "conv2d", outputs: 4, kernel: 3 },
          { type: "linear", outputs: 10 },
        ],
      }),
    );
    const cases: [string[], RegExp][] = [
      [["train", "--model", "resnet", "--hidden", "30,10"], /--hidden 30,10 is for --model mlp; --model resnet has its own layers/],
      [
        ["train", "--model", "resnet"],
        /unknown --model "resnet" \(choose lenet-300-100, mlp, lenet-5, conv-2, conv-4, conv-6, or give a \.json model spec file\)/,
      ],
      [["train", "--model", "lenet-5", "--hidden", "30"], /--hidden 30 is for --model mlp; --model lenet-5 has its own layers/],
      [["train", "--hidden", ",,"], /--hidden must be a comma-separated list of layer sizes/],
      [["train", "--model", "mlp"], /--model mlp needs --hidden/],
      [["train", "--model", join(dir, "missing.json")], /missing\.json: cannot read the model spec \(ENOENT\)/],
      [["train", "--model", join(dir, "broken.json")], /broken\.json: not valid JSON/],
      [
        ["train", "--model", join(dir, "wrong-input.json"), "--iterations", "1"],
        /wrong-input\.json: input \[3, 32, 32\] does not match the data's examples \[1, 28, 28\]/,
      ],
      [
        ["train", "--model", join(dir, "bad-layer.json"), "--iterations", "1"],
        /layers\[1\] \(linear fc1\): input is an image \[4, 26, 26\]; put a flatten layer before it/,
      ],
      [
        ["find", "--layer-rates", "fc9.weight=0.3", "--iterations", "1"],
        /--layer-rates: fc9\.weight is not a prunable weight of lenet-300-100 \(it has fc1\.weight, fc2\.weight, fc3\.weight\)/,
      ],
      [["find", "--model", "lenet-5", "--conv-rate", "2"], /--conv-rate must be a fraction in \[0, 1\)/],
    ];
    for (const [args, message] of cases) {
      const r = ticket(...args);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n").length, args.join(" ")).toBe(1);
    }
  });

  it("Node runs the relaxed-SIMD (fused multiply-add) kernels by default, with the same bits on one thread and two; --wasm simd gives the plain build", () => {
    const run = (...flags: string[]) => {
      const out = tmp();
      const r = ticket(
        "train",
        "--hidden",
        "24",
        "--train-subset",
        "1500",
        "--validation",
        "500",
        "--iterations",
        "60",
        "--eval-every",
        "30",
        "--quiet",
        "--out",
        out,
        ...flags,
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    };
    const one = run("--threads", "1"),
      two = run("--threads", "2"),
      plain = run("--threads", "1", "--wasm", "simd");
    expect(one.engine.variant).toBe("relaxed-simd");
    expect(two.engine.variant).toBe("relaxed-simd-threads");
    expect(plain.engine.variant).toBe("simd");
    expect(two.curve).toEqual(one.curve);
    expect(plain.curve).not.toEqual(one.curve); // fused multiply-adds round once, so the last bits differ
  });
});
