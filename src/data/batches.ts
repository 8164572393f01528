// Turns examples into input tensors, one batch at a time, into a tensor that is reused for every
// batch: sparse pixel stores write their nonzero pixels straight into it; dense ones are gathered
// into a staging block in wasm memory and scaled to f32 there.
import { engine } from "../engine/engine.js";
import { Tensor } from "../autograd/tensor.js";
import type { Random } from "../random.js";
import type { Examples } from "./dataset.js";
import { SparsePixels } from "./pixels.js";

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

  /** `featureMajor` lays inputs out [features, rows] (for sparse layers) instead of [rows, features]. */
  constructor(readonly examples: Examples, readonly rows: number, readonly scaling: PixelScaling = UNIT_SCALING, readonly featureMajor = false) {
    const { features } = examples.data;
    this.inputs = new Tensor(featureMajor ? [features, rows] : [rows, features], false, "batch inputs", false);
    this.labels = new Int32Array(rows);
    this.staging = examples.data.pixels instanceof SparsePixels ? 0 : engine().allocator.alloc(rows * features);
  }

  /** Loads examples.indices[order[start .. start+count)] (count ≤ rows); returns count. */
  load(order: ArrayLike<number>, start: number, count: number): number {
    const e = engine();
    const { data, indices } = this.examples;
    const f = data.features;
    if (this.featureMajor && count !== this.rows) throw new Error(`batch: a feature-major batch must be full (${count} of ${this.rows} rows)`);
    if (data.pixels instanceof SparsePixels) {
      // MNIST is ~81% zeros: fill with the zero pixel's value, then write only the nonzero pixels
      const { scale, shift } = this.scaling;
      e.kernels.fill(this.inputs.ptr, shift, this.inputs.size);
      const out = e.f32(this.inputs.ptr, this.inputs.size);
      for (let i = 0; i < count; i++) {
        const r = indices[order[start + i]];
        if (this.featureMajor) data.pixels.writeNonzeroScaled(r, out, i, this.rows, scale, shift);
        else data.pixels.writeNonzeroScaled(r, out, i * f, 1, scale, shift);
        this.labels[i] = data.labels[r];
      }
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
    if (this.staging) engine().allocator.release(this.staging, this.rows * this.examples.data.features);
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
