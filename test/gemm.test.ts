import { beforeAll, describe, expect, it } from "vitest";
import { engine, ready } from "../src/index.js";
import { Random } from "../src/random.js";
import { maxRelError, randomArray, referenceGemm } from "./helpers.js";

beforeAll(async () => {
  await ready();
});

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [2, 3, 4],
  [7, 13, 5],
  [4, 8, 8],
  [5, 9, 17],
  [33, 1, 31],
  [60, 784, 300],
  [129, 257, 65],
  [3, 600, 1030],
  [300, 100, 10],
  [64, 513, 9],
];

function runGemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c0: Float32Array | null): Float32Array {
  const e = engine();
  const pa = e.allocator.alloc(a.length * 4),
    pb = e.allocator.alloc(b.length * 4),
    pc = e.allocator.alloc(m * n * 4);
  e.f32(pa, a.length).set(a);
  e.f32(pb, b.length).set(b);
  if (c0) e.f32(pc, m * n).set(c0);
  else e.f32(pc, m * n).fill(Number.NaN); // overwrite mode must not read C
  e.kernels.sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, pa, pb, pc, c0 ? 1 : 0, e.gemmWork);
  const out = e.f32(pc, m * n).slice();
  e.allocator.release(pa, a.length * 4);
  e.allocator.release(pb, b.length * 4);
  e.allocator.release(pc, m * n * 4);
  return out;
}

describe("sgemm against a float64 reference", () => {
  const rng = new Random(42);
  for (const [m, k, n] of shapes) {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const layout = `${transA ? "Aᵀ" : "A"}·${transB ? "Bᵀ" : "B"}`;
      it(`${layout} ${m}×${k}×${n}`, () => {
        const a = randomArray(rng, m * k);
        const b = randomArray(rng, k * n);
        const ref = referenceGemm(transA, transB, m, n, k, a, b);
        // float32 accumulation error grows like sqrt(k)·eps
        const tol = 2e-6 * Math.sqrt(k) + 1e-6;
        expect(maxRelError(runGemm(transA, transB, m, n, k, a, b, null), ref)).toBeLessThan(tol);
        const c0 = randomArray(rng, m * n);
        const refAcc = ref.map((v, i) => v + c0[i]);
        expect(maxRelError(runGemm(transA, transB, m, n, k, a, b, c0), refAcc)).toBeLessThan(tol);
      });
    }
  }

  it("multi-block sizes (K and N beyond one cache block)", () => {
    const [m, k, n] = [37, 700, 1100];
    const a = randomArray(rng, m * k);
    const b = randomArray(rng, k * n);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      expect(maxRelError(runGemm(ta, tb, m, n, k, a, b, null), referenceGemm(ta, tb, m, n, k, a, b))).toBeLessThan(1e-4);
    }
  });
});

describe("engine.gemm's dot-product path (small A·Bᵀ outputs over a long depth: convolution weight gradients)", () => {
  const rng = new Random(43);
  for (const [m, k, n] of [
    [6, 3000, 25],
    [7, 1027, 13],
    [1, 600, 1],
    [16, 3840, 150],
    [2, 513, 4],
  ] as [number, number, number][]) {
    it(`A·Bᵀ ${m}×${k}×${n}`, () => {
      const e = engine();
      const a = randomArray(rng, m * k),
        b = randomArray(rng, k * n),
        c0 = randomArray(rng, m * n);
      const ref = referenceGemm(false, true, m, n, k, a, b);
      const pa = e.allocator.alloc(a.length * 4),
        pb = e.allocator.alloc(b.length * 4),
        pc = e.allocator.alloc(m * n * 4);
      e.f32(pa, a.length).set(a);
      e.f32(pb, b.length).set(b);
      e.f32(pc, m * n).fill(Number.NaN);
      e.gemm(0, 1, m, n, k, pa, pb, pc, 0);
      expect(maxRelError(e.f32(pc, m * n), ref)).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
      e.f32(pc, m * n).set(c0);
      e.gemm(0, 1, m, n, k, pa, pb, pc, 1);
      expect(
        maxRelError(
          e.f32(pc, m * n),
          ref.map((v, i) => v + c0[i]),
        ),
      ).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
      [pa, pb, pc].forEach((p, i) => e.allocator.release(p, [a.length, b.length, m * n][i] * 4));
    });
  }
});
