// LeNet-300-100 training speed on real MNIST (batch 60, forward + backward + Adam), measured by
// running the real `ticket train` in a child process, so its peak RSS is the tool's own; the
// TensorFlow.js wasm backend trains the same network on the same data in this process.
import { availableParallelism } from "node:os";
import { printTable, runTicket } from "./harness.js";
import { pytorchAvailable, runPytorch } from "./peers/pytorch.js";
import { initTfjsWasm, mnistFloatImages, tfjsLenetStepsPerSecond } from "./peers/tfjs.js";

function runCli(iterations: number, threads: number): Record<string, any> {
  const result = runTicket(
    ["train", "--iterations", String(iterations), "--eval-every", "1000", "--no-test-curve", "--threads", String(threads)],
    "result.json",
  );
  const windows = result.timing.windows as { stepsPerSecond: number }[];
  return {
    threads,
    variant: result.engine.variant,
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
}

export async function benchTrain(options: { iterations?: number; peers?: boolean } = {}): Promise<Record<string, unknown>> {
  const iterations = options.iterations ?? 10_000;
  const cores = availableParallelism();
  const runs = [runCli(iterations, 1)];
  if (cores > 1) runs.push(runCli(iterations, cores));
  const report: Record<string, unknown> = {
    benchmark: "train",
    model: "LeNet-300-100",
    batch: 60,
    optimizer: "adam",
    iterations,
    runs,
    threadSpeedup: runs.length > 1 ? runs[1].stepsPerSecond / runs[0].stepsPerSecond : 1,
  };
  if (options.peers !== false) {
    const backend = await initTfjsWasm();
    const { images, labels } = mnistFloatImages(6000);
    const tfjs = tfjsLenetStepsPerSecond(images, labels, 60, 300);
    const peers: Record<string, unknown>[] = [{ name: "TensorFlow.js wasm (1 thread)", backend, threads: 1, stepsPerSecond: tfjs }];
    const torch = pytorchAvailable();
    if (torch.ok) {
      for (const threads of runs.map((x) => x.threads as number)) {
        const p = runPytorch({ kind: "train", model: "lenet-300-100", threads, iterations: Math.min(iterations, 5000) });
        peers.push({
          name: `PyTorch ${torch.version} CPU, ${p.blas} (${threads} thread${threads > 1 ? "s" : ""})`,
          threads,
          stepsPerSecond: p.steps_per_second,
        });
      }
    } else report.pytorchNote = torch.note;
    report.peers = peers;
  }
  return report;
}

export function printTrain(r: Awaited<ReturnType<typeof benchTrain>>): void {
  const runs = r.runs as Record<string, any>[];
  const base = runs[0].stepsPerSecond as number;
  const rows: (string | number)[][] = runs.map((x) => [
    `winning-ticket (wasm ${x.variant}, ${x.threads} thread${x.threads > 1 ? "s" : ""})`,
    x.stepsPerSecond.toFixed(0),
    x.samplesPerSecond.toFixed(0),
    x.peakRssMB.toFixed(0),
    `${(x.stepsPerSecond / base).toFixed(2)}×`,
    x.lateOverEarly.toFixed(2),
    String(x.subnormalsAtEnd.total),
  ]);
  for (const p of (r.peers as { name: string; threads: number; stepsPerSecond: number }[] | undefined) ?? []) {
    const ours = runs.find((x) => x.threads === p.threads)?.stepsPerSecond as number | undefined;
    rows.push([
      p.name,
      p.stepsPerSecond.toFixed(0),
      (p.stepsPerSecond * 60).toFixed(0),
      "—",
      `${(p.stepsPerSecond / base).toFixed(2)}×`,
      "—",
      "—",
      ours ? `${(ours / p.stepsPerSecond).toFixed(2)}×` : "—",
    ]);
  }
  rows.forEach((row) => row.length < 8 && row.push("—"));
  printTable(
    `LeNet-300-100 training on MNIST, batch 60, Adam, ${r.iterations} iterations`,
    ["", "steps/s", "samples/s", "peak RSS MB", "vs 1 thread", "last/first 1000 steps", "subnormals at end", "ours / peer (same threads)"],
    rows,
  );
  if (r.pytorchNote) console.log(`\n${r.pytorchNote}`);
}
