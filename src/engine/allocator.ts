// A host-side allocator over one WebAssembly.Memory. TypeScript owns the memory; the kernels
// only ever see byte offsets. Blocks are 64-byte aligned (a cache line, and v128-aligned) and
// recycled by exact size, so a training loop that frees what it allocates reaches a steady state
// in which nothing new is taken from the memory.

const ALIGN = 64;
const PAGE = 65536;

export class Allocator {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private live = 0;
  private liveBytes = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = roundUp(base, ALIGN);
  }

  /** A block of at least `bytes` bytes (contents unspecified). */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`alloc: invalid size ${bytes}`);
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    const recycled = this.free.get(size)?.pop();
    this.live++;
    this.liveBytes += size;
    if (recycled !== undefined) return recycled;
    const offset = this.top;
    const end = offset + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least a quarter of the current size so growth is rare (it detaches views).
      const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
      try {
        this.memory.grow(pages);
      } catch {
        throw new Error(`alloc: out of WebAssembly memory growing ${have} bytes by ${pages} pages for a ${size}-byte block`);
      }
    }
    this.top = end;
    return offset;
  }

  release(offset: number, bytes: number): void {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    const list = this.free.get(size);
    if (list) list.push(offset);
    else this.free.set(size, [offset]);
    this.live--;
    this.liveBytes -= size;
  }

  /** High-water mark of the heap (bytes), live block count and live bytes: for tests and benchmarks. */
  stats(): { heapTop: number; liveBlocks: number; liveBytes: number; memoryBytes: number } {
    return { heapTop: this.top, liveBlocks: this.live, liveBytes: this.liveBytes, memoryBytes: this.memory.buffer.byteLength };
  }
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
