// How a (possibly pruned) model runs: for each prunable weight, whether its product is the dense
// GEMM or the compact sparse kernels, chosen by its density against its crossover (see
// crossover.ts); and the layout of activations that follows (row-major only for fully connected
// models with every product dense). The model's own forward pass runs the plan's decisions; the
// plan never knows the architecture.
import type { Tensor } from "../autograd/tensor.js";
import type { Layout } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
import { Parameter } from "../nn/parameter.js";
import { SparseWeights } from "../nn/sparse-weights.js";
import { countKept } from "../prune/magnitude.js";

export type SparseMode = "auto" | "always" | "never";
export type ProductMode = "dense" | "sparse";

/** By parameter name, a fraction of weights kept. */
export type Crossovers = Readonly<Record<string, number>>;

/**
 * When "auto" runs a pruned weight's product sparse: at or below its `crossover`. A model that
 * can run row-major moves as a whole to feature-major when any product is sparse, which has a
 * cost of its own; with `rowMajorCrossover` it does so only once some weight is at or below that
 * (lower) fraction, where its own saving pays for the move.
 */
export interface SparseRule {
  crossover: Crossovers;
  rowMajorCrossover?: Crossovers;
}

/** How a batch's input must be laid out for the plan: the BatchLoader's layout. */
export type InputLayout = "rows" | "features" | "channels";

export interface ExecutionPlan {
  /** Per prunable weight, in the model's order. */
  modes: ProductMode[];
  layout: Layout;
  inputLayout: InputLayout;
  /** What the optimizer updates: compact values for sparse weights, dense parameters otherwise. */
  trainable: Parameter[];
  /** A batch in `inputLayout` → logits [batch, classes]. */
  forward(x: Tensor, batch: number): Tensor;
  /** Writes trained compact weights back into the model's dense parameters. */
  syncToDense(): void;
  /** Reads the model's dense parameters into the compact weights (after they were restored). */
  syncFromDense(): void;
  dispose(): void;
}

/** Per prunable weight, the path its product takes (see SparseRule); a weight with nothing pruned stays dense. */
export function chooseModes(model: Model, mode: SparseMode, rule: SparseRule = { crossover: {} }): ProductMode[] {
  const prunable = model.prunable();
  if (mode !== "auto") return prunable.map((w) => (mode === "always" && w.mask && w.product ? "sparse" : "dense"));
  const kept = prunable.map((w) => (w.mask && w.product ? countKept(w.mask) / w.value.size : 1));
  const below = (crossovers: Crossovers, i: number): boolean => {
    // unpruned, a weight runs as in the dense network (and round 0 of a search needs no measurement)
    if (kept[i] === 1) return false;
    const crossover = crossovers[prunable[i].name];
    if (crossover === undefined) throw new Error(`execution plan: no crossover for ${prunable[i].name} (see sparseRuleFor)`);
    return kept[i] <= crossover;
  };
  const rowMajor = rule.rowMajorCrossover;
  if (model.vectorOnly && rowMajor && !prunable.some((_, i) => below(rowMajor, i))) return prunable.map(() => "dense");
  return prunable.map((_, i) => (below(rule.crossover, i) ? "sparse" : "dense"));
}

export function planExecution(model: Model, mode: SparseMode = "auto", rule: SparseRule = { crossover: {} }): ExecutionPlan {
  const modes = chooseModes(model, mode, rule);
  const prunable = model.prunable();
  const sparse = new Map<Parameter, SparseWeights>();
  prunable.forEach((p, i) => {
    if (modes[i] === "sparse") sparse.set(p, new SparseWeights(p));
  });
  const layout: Layout = sparse.size === 0 && model.vectorOnly ? "rows" : "features";
  const inputLayout: InputLayout = layout === "rows" ? "rows" : model.inputKind === "image" ? "channels" : "features";
  const trainable = model.parameters().map((p) => {
    const s = sparse.get(p);
    return s ? new Parameter(`${p.name} (sparse)`, s.values, false) : p;
  });
  return {
    modes,
    layout,
    inputLayout,
    trainable,
    forward: (x, batch) => model.forward(x, { layout, batch, sparse: (p) => sparse.get(p) ?? null }),
    syncToDense: () => sparse.forEach((s) => s.scatter()),
    syncFromDense: () => sparse.forEach((s) => s.gather()),
    dispose: () => sparse.forEach((s) => s.dispose()),
  };
}
