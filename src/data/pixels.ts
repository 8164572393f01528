// Where a dataset's images live. Dense: one uint8 per pixel. Sparse: only the nonzero pixels of
// each image as (position, value) pairs — MNIST is ~81% zeros, so its 47 MB of training pixels
// take ~27 MB — filled in JavaScript, then moved into the engine's memory the first time a batch
// is loaded from it, so that one kernel call writes a whole batch.
import { type Engine, loadedEngine } from "../engine/engine.js";

export interface PixelRows {
  readonly count: number;
  readonly features: number;
  /** Writes image `row` (features bytes) into `into` at `at`. */
  copyRow(row: number, into: Uint8Array, at: number): void;
}

export class DensePixels implements PixelRows {
  constructor(
    readonly data: Uint8Array,
    readonly count: number,
    readonly features: number,
  ) {}

  copyRow(row: number, into: Uint8Array, at: number): void {
    into.set(this.data.subarray(row * this.features, (row + 1) * this.features), at);
  }
}

/** A store's three arrays: image r's nonzero pixels are entries offsets[r] .. offsets[r+1]. */
interface SparseArrays {
  offsets: Uint32Array;
  positions: Uint16Array;
  values: Uint8Array;
}

/** Where a store sits in an engine's memory (byte offsets). */
interface SparseBlocks {
  engine: Engine;
  offsets: number;
  positions: number;
  values: number;
}

function releaseBlocks(b: SparseBlocks, sizes: number[]): void {
  [b.offsets, b.positions, b.values].forEach((block, i) => b.engine.allocator.release(block, sizes[i]));
}

// Releases a store's blocks when the store itself is garbage-collected without dispose().
const unreleased = new FinalizationRegistry<{ blocks: SparseBlocks; sizes: number[] }>(({ blocks, sizes }) => releaseBlocks(blocks, sizes));

export class SparsePixels implements PixelRows {
  /** JavaScript arrays when no engine was loaded at construction, until kernels first read them. */
  private arrays: SparseArrays | null = null;
  private blocks: SparseBlocks | null = null;
  private added = 0;
  private disposed = false;

  /** An empty store for `count` images with `nonzeros` nonzero pixels in all (fill with add()). */
  constructor(
    readonly count: number,
    readonly features: number,
    readonly nonzeros: number,
  ) {
    if (features > 65536) throw new Error(`sparse pixels: ${features} pixels per image is more than 65,536`);
    // straight into the engine's memory when there is one, so the pixels are never held twice
    const e = loadedEngine();
    if (e) this.place(e, null);
    else this.arrays = { offsets: new Uint32Array(count + 1), positions: new Uint16Array(nonzeros), values: new Uint8Array(nonzeros) };
  }

  /** Appends the next image (features bytes). */
  add(image: Uint8Array): void {
    if (this.added >= this.count) throw new Error(`sparse pixels: more than ${this.count} images added`);
    const { offsets, positions, values } = this.view();
    let p = offsets[this.added];
    for (let i = 0; i < this.features; i++) {
      const v = image[i];
      if (v !== 0) {
        if (p >= this.nonzeros) throw new Error(`sparse pixels: more than the ${this.nonzeros} nonzero pixels the store was sized for`);
        positions[p] = i;
        values[p] = v;
        p++;
      }
    }
    offsets[++this.added] = p;
  }

  copyRow(row: number, into: Uint8Array, at: number): void {
    const { offsets, positions, values } = this.view();
    into.fill(0, at, at + this.features);
    for (let p = offsets[row], end = offsets[row + 1]; p < end; p++) into[at + positions[p]] = values[p];
  }

  /**
   * Writes table[pixel] for the nonzero pixels of the images listed at `rows` (count i32 indices,
   * in `e`'s memory) into `out`: pixel f of the i-th listed image at out + 4·(f·pixelStride +
   * i·exampleStride). `out` must already hold table[0] everywhere else, so a batch costs its
   * nonzero pixels, not all of them. One kernel call: the JavaScript loop it replaced took ~2× as long.
   */
  scatter(e: Engine, rows: number, count: number, table: number, out: number, pixelStride: number, exampleStride: number): void {
    const b = this.inMemoryOf(e);
    e.kernels.scatterPixels(b.offsets, b.positions, b.values, rows, count, table, out, pixelStride, exampleStride);
  }

  /** Releases the store's blocks in the engine's memory (it cannot be used afterwards). */
  dispose(): void {
    this.dropBlocks();
    this.arrays = null;
    this.disposed = true;
  }

  // The arrays as they are now: JavaScript arrays, or fresh views of the engine's memory (never
  // kept: growing the memory detaches them).
  private view(): SparseArrays {
    if (this.disposed) throw new Error("sparse pixels: used after dispose()");
    if (this.arrays) return this.arrays;
    const { engine: e, offsets, positions, values } = this.blocks!;
    return { offsets: e.u32(offsets, this.count + 1), positions: e.u16(positions, this.nonzeros), values: e.u8(values, this.nonzeros) };
  }

  // Moves the store into `e`'s memory (from its JavaScript arrays, or from another engine's memory
  // after ready() replaced the engine), once; the old copy is dropped.
  private inMemoryOf(e: Engine): SparseBlocks {
    if (this.blocks?.engine === e) return this.blocks;
    return this.place(e, this.view());
  }

  // Allocates the store in `e`'s memory, copying `from` into it (or zero offsets when null).
  private place(e: Engine, from: SparseArrays | null): SparseBlocks {
    const sizes = this.blockSizes();
    const [offsets, positions, values] = sizes.map((bytes) => e.allocator.alloc(bytes));
    // views of e's memory only after the allocations, which may grow (and detach) it
    if (from) {
      e.u32(offsets, this.count + 1).set(from.offsets);
      e.u16(positions, this.nonzeros).set(from.positions);
      e.u8(values, this.nonzeros).set(from.values);
    } else {
      e.u32(offsets, this.count + 1).fill(0);
    }
    this.dropBlocks();
    this.arrays = null;
    this.blocks = { engine: e, offsets, positions, values };
    unreleased.register(this, { blocks: this.blocks, sizes }, this);
    return this.blocks;
  }

  private dropBlocks(): void {
    if (!this.blocks) return;
    unreleased.unregister(this);
    releaseBlocks(this.blocks, this.blockSizes());
    this.blocks = null;
  }

  private blockSizes(): number[] {
    return [4 * (this.count + 1), 2 * this.nonzeros, this.nonzeros];
  }
}

/**
 * pixel·scale + shift for every byte value, rounded as f32 arithmetic rounds it (as the wasm
 * conversion of dense pixels does), so both storages give batches with the same bits.
 */
export function pixelTable(scaling: { scale: number; shift: number }): Float32Array {
  const s = Math.fround(scaling.scale),
    t = Math.fround(scaling.shift);
  return Float32Array.from({ length: 256 }, (_, v) => Math.fround(v * s) + t);
}

/** Nonzero bytes in a buffer (to size a SparsePixels before filling it). */
export function countNonzero(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) n++;
  return n;
}
