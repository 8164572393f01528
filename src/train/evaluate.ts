// Evaluation without the autograd tape: loss and accuracy over a whole split, in chunks.

import { crossEntropy } from "../autograd/ops.js";
import { noGrad, tidy } from "../autograd/scope.js";
import type { Tensor } from "../autograd/tensor.js";
import { BatchLoader, type InputLayout, type PixelScaling } from "../data/batches.js";
import type { Examples } from "../data/dataset.js";
import { engine } from "../engine/engine.js";

export interface Evaluation {
  loss: number;
  accuracy: number;
}

export interface Classifier {
  /** How the classifier wants its input laid out. */
  inputLayout: InputLayout;
  /** A batch in that layout → logits [batch, classes]. */
  forward(x: Tensor, batch: number): Tensor;
}

/** Evaluates a fixed split repeatedly, reusing its input blocks. */
export class Evaluator {
  /** Input blocks for a full chunk and the remainder, per input layout (made when first needed). */
  private readonly loaders = new Map<InputLayout, BatchLoader[]>();
  private readonly order: Int32Array;
  private readonly predictions: number;
  readonly count: number;
  readonly chunk: number;

  constructor(
    readonly examples: Examples,
    private readonly scaling: PixelScaling,
    chunk = 128,
  ) {
    this.count = examples.indices.length;
    this.chunk = Math.min(chunk, this.count);
    this.order = Int32Array.from({ length: this.count }, (_, i) => i);
    this.predictions = engine().allocator.alloc(this.chunk * 4);
  }

  private loadersFor(layout: InputLayout): BatchLoader[] {
    let made = this.loaders.get(layout);
    if (!made) {
      const rest = this.count % this.chunk;
      made = (rest ? [this.chunk, rest] : [this.chunk]).map((rows) => new BatchLoader(this.examples, rows, this.scaling, layout));
      this.loaders.set(layout, made);
    }
    return made;
  }

  evaluate(model: Classifier): Evaluation {
    const e = engine();
    const loaders = this.loadersFor(model.inputLayout);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < this.count; ) {
      const loader = this.count - start >= loaders[0].rows ? loaders[0] : loaders[1];
      const rows = loader.load(this.order, start, loader.rows);
      noGrad(() =>
        tidy(() => {
          const logits = model.forward(loader.inputs, rows);
          lossSum += crossEntropy(logits, loader.labels).item() * rows;
          e.kernels.argmaxRows(logits.ptr, this.predictions, rows, logits.shape[1]);
          const predicted = e.i32(this.predictions, rows);
          for (let i = 0; i < rows; i++) if (predicted[i] === loader.labels[i]) correct++;
        }),
      );
      start += rows;
    }
    return { loss: lossSum / this.count, accuracy: correct / this.count };
  }

  dispose(): void {
    engine().allocator.release(this.predictions, this.chunk * 4);
    for (const list of this.loaders.values()) list.forEach((l) => l.dispose());
  }
}
