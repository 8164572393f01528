// What every layer of a model offers: a name, its parameters (dotted names derived from the
// structure: "conv1.weight"), its output shape for its input shape, and a forward pass that runs
// as the execution plan decides (the layout of activations, and for each prunable weight whether
// its product is a dense GEMM or the compact sparse kernels).
import type { Tensor } from "../autograd/tensor.js";
import type { ActivationShape, LayerType } from "./model-spec.js";
import type { Parameter, PruneGroup, WeightProduct } from "./parameter.js";
import type { SparseWeights } from "./sparse-weights.js";

/**
 * How activations are laid out in memory. "rows": vectors as [batch, features] (fully connected
 * models with every product dense). "features": vectors as [features, batch] and images
 * channel-major as [channels, batch·height·width], where the sparse kernels and convolutions work.
 */
export type Layout = "rows" | "features";

export interface RunContext {
  layout: Layout;
  batch: number;
  /** The compact weights a prunable parameter's product runs on, or null for the dense GEMM. */
  sparse(weight: Parameter): SparseWeights | null;
}

/** A parameter as a spec declares it, before any tensor exists. */
export interface ParameterInfo {
  name: string;
  shape: number[];
  prunable: boolean;
  group: PruneGroup | null;
  product: WeightProduct | null;
}

export interface LayerDescription {
  name: string;
  type: LayerType;
  input: ActivationShape;
  output: ActivationShape;
  parameters: ParameterInfo[];
  /** Floats per example this layer allocates in a forward pass (its output and any im2col columns): sizes evaluation chunks. */
  floatsPerExample: number;
}

export interface Layer {
  readonly description: LayerDescription;
  readonly parameters: readonly Parameter[];
  forward(x: Tensor, run: RunContext): Tensor;
}
