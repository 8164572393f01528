// Turns examples into input tensors, one batch at a time, into a tensor that is reused for every
// batch: sparse pixel stores write their nonzero pixels straight into it (one kernel call per
// batch); dense ones are gathered into a staging block in wasm memory and scaled to f32 there.

import { Tensor } from "../autograd/tensor.js";
import { engine } from "../engine/engine.js";
import type { Random } from "../random.js";
import type { Examples } from "./dataset.js";
import { pixelTable, SparsePixels } from "./pixels.js";

export interface PixelScaling {
  /** input = pixel · scale + shift. [0, 1] by default: scale 1/255, shift 0. */
  scale: number;
  shift: number;
  /** Per-channel scale and shift (standardised colour images); overrides scale and shift. */
  channels?: { scale: number; shift: number }[];
}

export const UNIT_SCALING: PixelScaling = { scale: 1 / 255, shift: 0 };

/**
 * How a batch is laid out: "rows" [batch, features]; "features" [features, batch] (for sparse
 * layers); "channels" channel-major images [channels, batch·height·width] (for convolutions).
 */
export type InputLayout = "rows" | "features" | "channels";

/** Standardises with the training set's pixel mean and standard deviation (the --normalize flag). */
export function standardScaling(examples: Examples): PixelScaling {
  const { data, indices } = examples;
  let sum = 0,
    sumSq = 0;
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

/** A reusable input block: fills `inputs` (in `layout`) and `labels` from chosen example rows. */
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
  /** Dense storage in a strided layout: per-channel scales and shifts (f32 × channels each). */
  private readonly channelScaling: number;
  private readonly channels: number;
  private readonly strided: boolean;

  constructor(
    readonly examples: Examples,
    readonly rows: number,
    readonly scaling: PixelScaling = UNIT_SCALING,
    readonly layout: InputLayout = "rows",
  ) {
    const { features, shape } = examples.data;
    this.channels = layout === "channels" || scaling.channels ? shape[0] : 1;
    const plane = features / this.channels;
    if (scaling.channels && scaling.channels.length !== this.channels)
      throw new Error(`batch: ${scaling.channels.length} channel scalings for images of ${this.channels} channels`);
    this.inputs = new Tensor(
      layout === "features" ? [features, rows] : layout === "channels" ? [this.channels, rows * plane] : [rows, features],
      false,
      "batch inputs",
      false,
    );
    this.labels = new Int32Array(rows);
    const e = engine();
    const sparse = examples.data.pixels instanceof SparsePixels;
    if (sparse && (this.channels > 1 || scaling.channels))
      throw new Error(`batch: ${examples.name}: sparse pixel storage holds single-channel images with one scaling`);
    // channel-major batches of one channel have the rows layout's memory; more channels (or a scaling per channel) take the strided kernel
    this.strided = !sparse && (this.channels > 1 || scaling.channels !== undefined);
    this.staging = sparse ? 0 : e.allocator.alloc(rows * features);
    this.rowList = sparse ? e.allocator.alloc(4 * rows) : 0;
    this.table = sparse ? e.allocator.alloc(4 * 256) : 0;
    this.channelScaling = this.strided ? e.allocator.alloc(8 * this.channels) : 0;
    const table = sparse ? pixelTable(scaling) : null;
    if (table) e.f32(this.table, 256).set(table);
    if (this.strided) {
      const per = scaling.channels ?? Array.from({ length: this.channels }, () => ({ scale: scaling.scale, shift: scaling.shift }));
      e.f32(this.channelScaling, 2 * this.channels).set([...per.map((c) => c.scale), ...per.map((c) => c.shift)]);
    }
    this.zeroPixel = table ? table[0] : 0;
  }

  /** Loads examples.indices[order[start .. start+count)] (count ≤ rows); returns count. */
  load(order: ArrayLike<number>, start: number, count: number): number {
    const e = engine();
    const { data, indices } = this.examples;
    const f = data.features;
    if (this.layout !== "rows" && count !== this.rows) throw new Error(`batch: a ${this.layout}-major batch must be full (${count} of ${this.rows} rows)`);
    if (data.pixels instanceof SparsePixels) {
      // MNIST is ~81% zeros: fill with the zero pixel's value, then write only the nonzero pixels
      const rowList = e.i32(this.rowList, count);
      for (let i = 0; i < count; i++) {
        const r = indices[order[start + i]];
        rowList[i] = r;
        this.labels[i] = data.labels[r];
      }
      e.kernels.fill(this.inputs.ptr, this.zeroPixel, this.inputs.size);
      if (this.layout === "features") data.pixels.scatter(e, this.rowList, count, this.table, this.inputs.ptr, this.rows, 1);
      else data.pixels.scatter(e, this.rowList, count, this.table, this.inputs.ptr, 1, f);
      return count;
    }
    const bytes = e.u8(this.staging, count * f);
    for (let i = 0; i < count; i++) {
      const r = indices[order[start + i]];
      data.pixels.copyRow(r, bytes, i * f);
      this.labels[i] = data.labels[r];
    }
    if (this.strided) {
      const plane = f / this.channels;
      const [exampleStride, channelStride, pixelStride] =
        this.layout === "rows" ? [f, plane, 1] : this.layout === "features" ? [1, plane * this.rows, this.rows] : [plane, this.rows * plane, 1];
      e.kernels.bytesToFloatStrided(
        this.staging,
        this.inputs.ptr,
        count,
        this.channels,
        plane,
        this.channelScaling,
        this.channelScaling + 4 * this.channels,
        exampleStride,
        channelStride,
        pixelStride,
      );
    } else if (this.layout === "features") {
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
    if (this.channelScaling) allocator.release(this.channelScaling, 8 * this.channels);
  }
}

/** An endless stream of shuffled minibatches: a new seeded permutation every epoch. */
export class MinibatchStream {
  private order: Int32Array;
  private position: number;
  epoch = 0;

  constructor(
    private readonly loader: BatchLoader,
    private readonly rng: Random,
  ) {
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
