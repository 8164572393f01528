// A host-side allocator over one WebAssembly.Memory. TypeScript owns the memory; the kernels
// only ever see byte offsets. Blocks are 64-byte aligned (a cache line, and v128-aligned) and
// recycled by exact size first, so a training loop that frees what it allocates reaches a steady
// state in which nothing new is taken from the memory. A request no freed block matches exactly
// takes the smallest freed block at most twice its size, split when the rest is worth keeping:
// a lottery's sparse layers shrink every round, and exact sizes alone never reused last round's
// blocks (the heap grew round after round with nothing live leaking).

const ALIGN = 64;
const PAGE = 65536;
/**
 * The memory always extends at least this far past the last block: a kernel may read (never
 * write) a vector that straddles the end of a block, and that read must not leave the memory.
 */
const READ_PAST_END = 64;

export class Allocator {
  private top: number;
  private readonly free = new Map<number, number[]>();
  /** The size of every block handed out, by offset (a split block is smaller than the one it came from). */
  private readonly sizes = new Map<number, number>();
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
    const exact = this.free.get(size)?.pop();
    const block = exact !== undefined ? { offset: exact, size } : this.takeLarger(size);
    this.live++;
    if (block) {
      this.sizes.set(block.offset, block.size);
      this.liveBytes += block.size;
      return block.offset;
    }
    this.liveBytes += size;
    const offset = this.top;
    const end = offset + size;
    const have = this.memory.buffer.byteLength;
    if (end + READ_PAST_END > have) {
      // Grow by at least a quarter of the current size so growth is rare (it detaches views).
      const pages = Math.max(Math.ceil((end + READ_PAST_END - have) / PAGE), Math.ceil(have / PAGE / 4));
      try {
        this.memory.grow(pages);
      } catch {
        throw new Error(`alloc: out of WebAssembly memory growing ${have} bytes by ${pages} pages for a ${size}-byte block`);
      }
    }
    this.top = end;
    this.sizes.set(offset, size);
    return offset;
  }

  release(offset: number, bytes: number): void {
    const size = this.sizes.get(offset);
    if (size === undefined || size < roundUp(Math.max(bytes, 1), ALIGN)) throw new Error(`release: ${offset} is not a live block of ${bytes} bytes`);
    this.sizes.delete(offset);
    this.live--;
    this.liveBytes -= size;
    this.addFree(offset, size);
  }

  private addFree(offset: number, size: number): void {
    const list = this.free.get(size);
    if (list) list.push(offset);
    else this.free.set(size, [offset]);
  }

  /** The smallest freed block of more than `size` and at most twice it, split if the rest is at least a quarter. */
  private takeLarger(size: number): { offset: number; size: number } | undefined {
    let best = 0;
    for (const [s, list] of this.free) if (s > size && s <= 2 * size && list.length && (!best || s < best)) best = s;
    if (!best) return undefined;
    const offset = this.free.get(best)!.pop()!;
    const rest = best - size;
    if (rest < size / 4) return { offset, size: best }; // a small rest stays with the block
    this.addFree(offset + size, rest);
    return { offset, size };
  }

  /** High-water mark of the heap (bytes), live block count and live bytes: for tests and benchmarks. */
  stats(): { heapTop: number; liveBlocks: number; liveBytes: number; memoryBytes: number } {
    return { heapTop: this.top, liveBlocks: this.live, liveBytes: this.liveBytes, memoryBytes: this.memory.buffer.byteLength };
  }
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
