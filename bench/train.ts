// LeNet-300-100 training speed on real MNIST (batch 60, forward + backward + Adam), measured by
// running the real `ticket train` in a child process, so its peak RSS is the tool's own; the
// TensorFlow.js wasm backend trains the same network on the same data in this process.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMnistDir } from "../src/node/mnist-files.js";
import { printTable } from "./harness.js";
import { initTfjsWasm, tfjsLenetStepsPerSecond } from "./peers/tfjs.js";

const BIN = join(import.meta.dirname, "..", "dist", "cli", "main.js");

export async function benchTrain(options: { iterations?: number; peers?: boolean } = {}): Promise<Record<string, unknown>> {
  const iterations = options.iterations ?? 10_000;
  const out = mkdtempSync(join(tmpdir(), "wt-bench-train-"));
  execFileSync(process.execPath, [BIN, "train", "--iterations", String(iterations), "--eval-every", "1000", "--no-test-curve", "--quiet", "--out", out], { stdio: "inherit" });
  const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
  rmSync(out, { recursive: true, force: true });
  const windows = result.timing.windows as { fromIteration: number; toIteration: number; stepsPerSecond: number }[];
  const report: Record<string, unknown> = {
    benchmark: "train", model: "LeNet-300-100", batch: 60, optimizer: "adam", iterations, variant: result.engine.variant,
    stepsPerSecond: result.timing.stepsPerSecond,
    samplesPerSecond: result.timing.samplesPerSecond,
    peakRssMB: result.timing.peakRssMB,
    firstWindowStepsPerSecond: windows[0].stepsPerSecond,
    lastWindowStepsPerSecond: windows[windows.length - 1].stepsPerSecond,
    lateOverEarly: windows[windows.length - 1].stepsPerSecond / windows[0].stepsPerSecond,
    windows,
    subnormalsAtEnd: result.numerics.subnormalsAtEnd,
    earlyStop: result.earlyStop,
  };
  if (options.peers !== false) {
    const backend = await initTfjsWasm();
    const { train } = loadMnistDir();
    const n = 6000;
    const images = new Float32Array(n * 784);
    for (let i = 0; i < images.length; i++) images[i] = train.images[i] / 255;
    const labels = Int32Array.from(train.labels.subarray(0, n));
    const tfjs = tfjsLenetStepsPerSecond(images, labels, 60, 200);
    report.peers = [{ name: "TensorFlow.js wasm (1 thread)", backend, stepsPerSecond: tfjs, oursOverPeer: result.timing.stepsPerSecond / tfjs }];
  }
  return report;
}

export function printTrain(r: Awaited<ReturnType<typeof benchTrain>>): void {
  const rows: (string | number)[][] = [
    [`winning-ticket (wasm ${r.variant}, 1 thread)`, (r.stepsPerSecond as number).toFixed(0), (r.samplesPerSecond as number).toFixed(0), (r.peakRssMB as number).toFixed(0), "1.0×"],
  ];
  for (const p of (r.peers as { name: string; stepsPerSecond: number; oursOverPeer: number }[] | undefined) ?? []) {
    rows.push([p.name, p.stepsPerSecond.toFixed(0), (p.stepsPerSecond * 60).toFixed(0), "—", `${(1 / p.oursOverPeer).toFixed(2)}×`]);
  }
  printTable(`LeNet-300-100 training on MNIST, batch 60, Adam, ${r.iterations} iterations`, ["", "steps/s", "samples/s", "peak RSS MB", "vs ours"], rows);
  const sub = r.subnormalsAtEnd as { total: number };
  console.log(`speed late vs early in training (last / first 1000 steps): ${(r.lateOverEarly as number).toFixed(2)}; subnormal floats in weights and Adam state at the end: ${sub.total}`);
}
