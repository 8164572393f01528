// Evaluation without the autograd tape: loss and accuracy over a whole split, in chunks.
import { engine } from "../engine/engine.js";
import { noGrad, tidy } from "../autograd/scope.js";
import { crossEntropy } from "../autograd/ops.js";
import type { Tensor } from "../autograd/tensor.js";
import { BatchLoader, type PixelScaling } from "../data/batches.js";
import type { Examples } from "../data/dataset.js";

export interface Evaluation {
  loss: number;
  accuracy: number;
}

export interface Classifier {
  /** Row-major inputs [rows, features] → logits [rows, classes]. */
  forward(x: Tensor): Tensor;
  /** The same from feature-major inputs [features, rows], where the model runs that way (sparse layers). */
  forwardFeatures?(xT: Tensor): Tensor;
}

/** Evaluates a fixed split repeatedly, reusing its input blocks. */
export class Evaluator {
  /** Input blocks for a full chunk and the remainder, row-major and (made when first needed) feature-major. */
  private readonly loaders: { rows: BatchLoader[]; features: BatchLoader[] } = { rows: [], features: [] };
  private readonly order: Int32Array;
  private readonly predictions: number;
  readonly count: number;

  constructor(readonly examples: Examples, private readonly scaling: PixelScaling, readonly chunk = 128) {
    this.count = examples.indices.length;
    this.loaders.rows = this.makeLoaders(false);
    this.order = Int32Array.from({ length: this.count }, (_, i) => i);
    this.predictions = engine().allocator.alloc(this.loaders.rows[0].rows * 4);
  }

  private makeLoaders(featureMajor: boolean): BatchLoader[] {
    const full = Math.min(this.chunk, this.count);
    const rest = this.count % full;
    return (rest ? [full, rest] : [full]).map((rows) => new BatchLoader(this.examples, rows, this.scaling, featureMajor));
  }

  evaluate(model: Classifier): Evaluation {
    const e = engine();
    const byFeatures = model.forwardFeatures !== undefined;
    if (byFeatures && !this.loaders.features.length) this.loaders.features = this.makeLoaders(true);
    const loaders = byFeatures ? this.loaders.features : this.loaders.rows;
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < this.count; ) {
      const loader = this.count - start >= loaders[0].rows ? loaders[0] : loaders[1];
      const rows = loader.load(this.order, start, loader.rows);
      noGrad(() => tidy(() => {
        const logits = byFeatures ? model.forwardFeatures!(loader.inputs) : model.forward(loader.inputs);
        lossSum += crossEntropy(logits, loader.labels).item() * rows;
        e.kernels.argmaxRows(logits.ptr, this.predictions, rows, logits.shape[1]);
        const predicted = e.i32(this.predictions, rows);
        for (let i = 0; i < rows; i++) if (predicted[i] === loader.labels[i]) correct++;
      }));
      start += rows;
    }
    return { loss: lossSum / this.count, accuracy: correct / this.count };
  }

  dispose(): void {
    engine().allocator.release(this.predictions, this.loaders.rows[0].rows * 4);
    [...this.loaders.rows, ...this.loaders.features].forEach((l) => l.dispose());
  }
}
