// Where a dataset's images live. Dense: one uint8 per pixel. Sparse: only the nonzero pixels of
// each image as (position, value) pairs — MNIST is ~81% zeros, so its 47 MB of training pixels
// take ~27 MB — unpacked one row at a time into a batch.

export interface PixelRows {
  readonly count: number;
  readonly features: number;
  /** Writes image `row` (features bytes) into `into` at `at`. */
  copyRow(row: number, into: Uint8Array, at: number): void;
}

export class DensePixels implements PixelRows {
  constructor(readonly data: Uint8Array, readonly count: number, readonly features: number) {}

  copyRow(row: number, into: Uint8Array, at: number): void {
    into.set(this.data.subarray(row * this.features, (row + 1) * this.features), at);
  }
}

export class SparsePixels implements PixelRows {
  private readonly offsets: Uint32Array;
  private readonly positions: Uint16Array;
  private readonly values: Uint8Array;
  private added = 0;

  /** An empty store for `count` images with `nonzeros` nonzero pixels in all (fill with add()). */
  constructor(readonly count: number, readonly features: number, nonzeros: number) {
    if (features > 65536) throw new Error(`sparse pixels: ${features} pixels per image is more than 65,536`);
    this.offsets = new Uint32Array(count + 1);
    this.positions = new Uint16Array(nonzeros);
    this.values = new Uint8Array(nonzeros);
  }

  /** Appends the next image (features bytes). */
  add(image: Uint8Array): void {
    if (this.added >= this.count) throw new Error(`sparse pixels: more than ${this.count} images added`);
    let p = this.offsets[this.added];
    for (let i = 0; i < this.features; i++) {
      const v = image[i];
      if (v !== 0) {
        this.positions[p] = i;
        this.values[p] = v;
        p++;
      }
    }
    this.offsets[++this.added] = p;
  }

  copyRow(row: number, into: Uint8Array, at: number): void {
    into.fill(0, at, at + this.features);
    for (let p = this.offsets[row], end = this.offsets[row + 1]; p < end; p++) into[at + this.positions[p]] = this.values[p];
  }

  /**
   * Writes pixel·scale + shift of image `row`'s nonzero pixels into `out` (pixel i at at + i·stride),
   * rounded as f32 arithmetic would (as the wasm conversion does); `out` must already hold `shift`
   * everywhere else. A batch costs its nonzero pixels, not all of them.
   */
  writeNonzeroScaled(row: number, out: Float32Array, at: number, stride: number, scale: number, shift: number): void {
    const s = Math.fround(scale), t = Math.fround(shift);
    for (let p = this.offsets[row], end = this.offsets[row + 1]; p < end; p++) {
      out[at + this.positions[p] * stride] = Math.fround(this.values[p] * s) + t;
    }
  }
}

/** Nonzero bytes in a buffer (to size a SparsePixels before filling it). */
export function countNonzero(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) n++;
  return n;
}
