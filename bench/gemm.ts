// GEMM throughput: the WebAssembly SIMD kernel in all three training layouts against a plain
// JavaScript triple loop, in the same run. GFLOP/s = 2·M·N·K / median time.
import { engine } from "../src/index.js";
import { Random } from "../src/random.js";
import { printTable, time } from "./harness.js";
import { initTfjsWasm, tfjsMatmulMs } from "./peers/tfjs.js";

interface Case {
  label: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

const cases: Case[] = [
  { label: "fc1 forward (A·B)", m: 60, k: 784, n: 300, transA: false, transB: false },
  { label: "fc2 forward (A·B)", m: 60, k: 300, n: 100, transA: false, transB: false },
  { label: "fc3 forward (A·B)", m: 60, k: 100, n: 10, transA: false, transB: false },
  { label: "fc1 weight grad (Aᵀ·B)", m: 784, k: 60, n: 300, transA: true, transB: false },
  { label: "fc1 input grad (A·Bᵀ)", m: 60, k: 300, n: 784, transA: false, transB: true },
  { label: "square", m: 256, k: 256, n: 256, transA: false, transB: false },
  { label: "square", m: 512, k: 512, n: 512, transA: false, transB: false },
  { label: "square", m: 1024, k: 1024, n: 1024, transA: false, transB: false },
];

/** The baseline: what a JavaScript programmer writes first (i-k-j order, Float32Array). */
function plainJsGemm(c: Case, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const { m, k, n, transA, transB } = c;
  out.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i] : a[i * k + p];
      const row = i * n;
      for (let j = 0; j < n; j++) out[row + j] += av * (transB ? b[j * k + p] : b[p * n + j]);
    }
  }
}

export async function benchGemm(): Promise<Record<string, unknown>> {
  const e = engine();
  const tfjsBackend = await initTfjsWasm();
  const rng = new Random(0);
  // The ceiling: the same multiply-add mix with no memory traffic, measured in this run.
  const peakIterations = 200_000;
  const peak = time(() => e.kernels.simdPeak(peakIterations, 0.5), { runs: 9 });
  const peakGflops = (peakIterations * 48 * 2) / peak.medianMs / 1e6;
  const results = cases.map((c) => {
    const flops = 2 * c.m * c.n * c.k;
    const a = Float32Array.from({ length: c.m * c.k }, () => rng.uniform() - 0.5);
    const b = Float32Array.from({ length: c.k * c.n }, () => rng.uniform() - 0.5);
    const pa = e.allocator.alloc(a.length * 4),
      pb = e.allocator.alloc(b.length * 4),
      pc = e.allocator.alloc(c.m * c.n * 4);
    e.f32(pa, a.length).set(a);
    e.f32(pb, b.length).set(b);
    const wasm = time(() => e.kernels.sgemm(c.transA ? 1 : 0, c.transB ? 1 : 0, c.m, c.n, c.k, pa, pb, pc, 0, e.gemmWork), { runs: 9 });
    const out = new Float32Array(c.m * c.n);
    const js = time(() => plainJsGemm(c, a, b, out), { runs: 3, targetMs: 150, warmupMs: 100 });
    e.allocator.release(pa, a.length * 4);
    e.allocator.release(pb, b.length * 4);
    e.allocator.release(pc, c.m * c.n * 4);
    const tfjsGflops = flops / tfjsMatmulMs(c.m, c.k, c.n, c.transA, c.transB) / 1e6;
    const wasmGflops = flops / wasm.medianMs / 1e6;
    const jsGflops = flops / js.medianMs / 1e6;
    return {
      label: c.label,
      shape: `${c.m}×${c.k}×${c.n}`,
      layout: `${c.transA ? "Aᵀ" : "A"}·${c.transB ? "Bᵀ" : "B"}`,
      wasmGflops,
      plainJsGflops: jsGflops,
      tfjsWasmGflops: tfjsGflops,
      speedup: wasmGflops / jsGflops,
      overTfjs: wasmGflops / tfjsGflops,
      fractionOfPeak: wasmGflops / peakGflops,
      wasmMedianMs: wasm.medianMs,
    };
  });
  return { benchmark: "gemm", variant: e.variant, threads: 1, simdPeakGflops: peakGflops, peer: tfjsBackend, results };
}

export function printGemm(report: Awaited<ReturnType<typeof benchGemm>>): void {
  const rows = (report.results as Record<string, number | string>[]).map((r) => [
    r.label,
    r.shape,
    r.layout,
    (r.wasmGflops as number).toFixed(1),
    `${((r.fractionOfPeak as number) * 100).toFixed(0)}%`,
    (r.plainJsGflops as number).toFixed(2),
    `${(r.speedup as number).toFixed(0)}×`,
    (r.tfjsWasmGflops as number).toFixed(1),
    `${(r.overTfjs as number).toFixed(2)}×`,
  ]);
  printTable(
    `sgemm, one thread, wasm ${report.variant} (M×K×N, GFLOP/s = 2MNK / median time)`,
    ["case", "M×K×N", "layout", "wasm GFLOP/s", "of SIMD peak", "plain JS GFLOP/s", "wasm / JS", "tfjs-wasm GFLOP/s", "wasm / tfjs"],
    rows,
  );
  console.log(`SIMD peak (register-only f32x4 multiply-add, this run): ${(report.simdPeakGflops as number).toFixed(1)} GFLOP/s`);
}
