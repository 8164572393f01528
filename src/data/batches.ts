// Turns examples into input tensors, one batch at a time, into a tensor that is reused for every
// batch: sparse pixel stores write their nonzero pixels straight into it (one kernel call per
// batch); dense ones are gathered into a staging block in wasm memory and scaled to f32 there.
import { engine } from "../engine/engine.js";
import { Tensor } from "../autograd/tensor.js";
import type { Random } from "../random.js";
import type { Examples } from "./dataset.js";
import { pixelTable, SparsePixels } from "./pixels.js";

export interface PixelScaling {
  /** input = pixel · scale + shift. [0, 1] by default: scale 1/255, shift 0. */
  scale: number;
  shift: number;
}

export const UNIT_SCALING: PixelScaling = { scale: 1 / 255, shift: 0 };

/** Standardises with the training set's pixel mean and standard deviation (the --normalize flag). */
export function standardScaling(examples: Examples): PixelScaling {
  const { data, indices } = examples;
  let sum = 0, sumSq = 0;
  const row = new Uint8Array(data.features);
  for (const r of indices) {
    data.pixels.copyRow(r, row, 0);
    for (let i = 0; i < row.length; i++) {
      sum += row[i];
      sumSq += row[i] * row[i];
    }
  }
  const n = indices.length * data.features;
  const mean = sum / n;
  const std = Math.sqrt(Math.max(sumSq / n - mean * mean, 1e-12));
  return { scale: 1 / std, shift: -mean / std };
}

/** A reusable input block: fills `inputs` (rows × features) and `labels` from chosen example rows. */
export class BatchLoader {
  readonly inputs: Tensor;
  readonly labels: Int32Array;
  /** Dense storage only: the chosen images' bytes, scaled to f32 by a kernel (0 for sparse storage). */
  private readonly staging: number;
  /** Sparse storage only: the chosen images' indices (i32) and each byte value's scaled input (f32 × 256). */
  private readonly rowList: number;
  private readonly table: number;
  /** Sparse storage only: the scaled value of a zero pixel, which fills the batch first. */
  private readonly zeroPixel: number;

  /** `featureMajor` lays inputs out [features, rows] (for sparse layers) instead of [rows, features]. */
  constructor(readonly examples: Examples, readonly rows: number, readonly scaling: PixelScaling = UNIT_SCALING, readonly featureMajor = false) {
    const { features } = examples.data;
    this.inputs = new Tensor(featureMajor ? [features, rows] : [rows, features], false, "batch inputs", false);
    this.labels = new Int32Array(rows);
    const e = engine();
    const sparse = examples.data.pixels instanceof SparsePixels;
    this.staging = sparse ? 0 : e.allocator.alloc(rows * features);
    this.rowList = sparse ? e.allocator.alloc(4 * rows) : 0;
    this.table = sparse ? e.allocator.alloc(4 * 256) : 0;
    const table = sparse ? pixelTable(scaling) : null;
    if (table) e.f32(this.table, 256).set(table);
    this.zeroPixel = table ? table[0] : 0;
  }

  /** Loads examples.indices[order[start .. start+count)] (count ≤ rows); returns count. */
  load(order: ArrayLike<number>, start: number, count: number): number {
    const e = engine();
    const { data, indices } = this.examples;
    const f = data.features;
    if (this.featureMajor && count !== this.rows) throw new Error(`batch: a feature-major batch must be full (${count} of ${this.rows} rows)`);
    if (data.pixels instanceof SparsePixels) {
      // MNIST is ~81% zeros: fill with the zero pixel's value, then write only the nonzero pixels
      const rowList = e.i32(this.rowList, count);
      for (let i = 0; i < count; i++) {
        const r = indices[order[start + i]];
        rowList[i] = r;
        this.labels[i] = data.labels[r];
      }
      e.kernels.fill(this.inputs.ptr, this.zeroPixel, this.inputs.size);
      if (this.featureMajor) data.pixels.scatter(e, this.rowList, count, this.table, this.inputs.ptr, this.rows, 1);
      else data.pixels.scatter(e, this.rowList, count, this.table, this.inputs.ptr, 1, f);
      return count;
    }
    const bytes = e.u8(this.staging, count * f);
    for (let i = 0; i < count; i++) {
      const r = indices[order[start + i]];
      data.pixels.copyRow(r, bytes, i * f);
      this.labels[i] = data.labels[r];
    }
    if (this.featureMajor) {
      e.kernels.bytesToFloatTransposed(this.staging, this.inputs.ptr, count, f, this.scaling.scale, this.scaling.shift);
    } else {
      e.kernels.bytesToFloat(this.staging, this.inputs.ptr, count * f, this.scaling.scale, this.scaling.shift);
    }
    return count;
  }

  dispose(): void {
    this.inputs.dispose();
    const { allocator } = engine();
    if (this.staging) allocator.release(this.staging, this.rows * this.examples.data.features);
    if (this.rowList) allocator.release(this.rowList, 4 * this.rows);
    if (this.table) allocator.release(this.table, 4 * 256);
  }
}

/** An endless stream of shuffled minibatches: a new seeded permutation every epoch. */
export class MinibatchStream {
  private order: Int32Array;
  private position: number;
  epoch = 0;

  constructor(private readonly loader: BatchLoader, private readonly rng: Random) {
    const n = loader.examples.indices.length;
    if (loader.rows > n) throw new Error(`batch size ${loader.rows} is larger than the ${n} training examples`);
    this.order = Int32Array.from({ length: n }, (_, i) => i);
    this.position = n; // shuffle on first use
  }

  /** Loads the next full batch into the loader's inputs and labels. */
  next(): void {
    const n = this.order.length;
    if (this.position + this.loader.rows > n) {
      // Drop the partial tail so every step sees a full batch, as the paper's loader does.
      this.rng.shuffle(this.order);
      this.position = 0;
      this.epoch++;
    }
    this.loader.load(this.order, this.position, this.loader.rows);
    this.position += this.loader.rows;
  }
}
