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
  forward(x: Tensor): Tensor;
}

/** Evaluates a fixed split repeatedly, reusing its input blocks. */
export class Evaluator {
  private readonly loaders: BatchLoader[] = [];
  private readonly order: Int32Array;
  private readonly predictions: number;
  readonly count: number;

  constructor(readonly examples: Examples, scaling: PixelScaling, readonly chunk = 128) {
    this.count = examples.indices.length;
    const full = Math.min(chunk, this.count);
    this.loaders.push(new BatchLoader(examples, full, scaling));
    const rest = this.count % full;
    if (rest) this.loaders.push(new BatchLoader(examples, rest, scaling));
    this.order = Int32Array.from({ length: this.count }, (_, i) => i);
    this.predictions = engine().allocator.alloc(full * 4);
  }

  evaluate(model: Classifier): Evaluation {
    const e = engine();
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < this.count; ) {
      const loader = this.count - start >= this.loaders[0].rows ? this.loaders[0] : this.loaders[1];
      const rows = loader.load(this.order, start, loader.rows);
      noGrad(() => tidy(() => {
        const logits = model.forward(loader.inputs);
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
    this.loaders.forEach((l) => l.dispose());
    engine().allocator.release(this.predictions, this.loaders[0].rows * 4);
  }
}
