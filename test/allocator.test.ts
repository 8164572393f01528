// The allocator: exact-size reuse, and reuse of a larger freed block when sizes shrink (a
// lottery's sparse layers shrink every round: with exact sizes only, the heap grew every round).
import { describe, expect, it } from "vitest";
import { Allocator } from "../src/engine/allocator.js";

describe("allocator", () => {
  it("blocks that shrink every round reuse the last round's blocks: the heap stops growing", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096 });
    const a = new Allocator(memory, 1024);
    let size = 4_000_000;
    let blocks: number[] = [];
    const tops: number[] = [];
    for (let round = 0; round < 20; round++) {
      blocks.forEach((b, i) => a.release(b, Math.round(size / 0.8) + i * 64));
      blocks = [0, 1, 2].map((i) => a.alloc(size + i * 64));
      tops.push(a.stats().heapTop);
      size = Math.round(size * 0.8);
    }
    // round 0 takes the heap; every later round fits into the blocks the previous one freed
    expect(new Set(tops.slice(1)).size).toBe(1);
    expect(tops[19]).toBe(tops[0]);
    expect(a.stats().liveBlocks).toBe(3);
  });

  it("reuses exact sizes first, splits a much larger block, and refuses to release what is not live", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64 });
    const a = new Allocator(memory, 0);
    const big = a.alloc(64 * 100);
    const small = a.alloc(64);
    a.release(small, 64);
    expect(a.alloc(64)).toBe(small);
    a.release(big, 64 * 100);
    const first = a.alloc(64 * 60); // 40 blocks of rest: worth keeping, split off
    expect(first).toBe(big);
    expect(a.alloc(64 * 40)).toBe(big + 64 * 60);
    expect(() => a.release(big + 64, 64)).toThrow(/is not a live block/);
  });
});
