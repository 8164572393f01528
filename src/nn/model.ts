// A sequential model built from a plain-JSON ModelSpec. It declares its parameters by dotted
// names derived from the structure (fc1.weight, conv2.bias), which of them are prunable and which
// layer is the output layer, so everything above it (pruning, plans, checkpoints, export) works
// from parameters by name. Weights are drawn in layer order from one seeded stream.
import { transpose } from "../autograd/ops.js";
import type { Tensor } from "../autograd/tensor.js";
import { Random } from "../random.js";
import type { Layer, LayerDescription, Layout, ParameterInfo, RunContext } from "./layer.js";
import { layerKind } from "./layer-types.js";
import { type ActivationShape, describeShape, type LayerSpec, type ModelSpec, shapeOf, sizeOf } from "./model-spec.js";
import type { Parameter, PruneGroup } from "./parameter.js";

export interface ModelDescription {
  layers: LayerDescription[];
  parameters: ParameterInfo[];
  /** The output layer's name (the paper prunes it at its own rate). */
  output: string;
  /**
   * "vector": the input is loaded flat ([batch, features] or [features, batch]) because no layer
   * needs its image structure; "image": channel-major [channels, batch·height·width].
   */
  inputKind: "vector" | "image";
  classes: number;
  /** Only fully connected layers: the model can run row-major. */
  vectorOnly: boolean;
}

/** Shapes and parameters of a spec, without building it; every error names the layer and the shapes. */
export function describeModel(spec: ModelSpec): ModelDescription {
  const specShape = shapeOf(spec.input);
  const firstFlatten = spec.layers.findIndex((l) => l.type === "flatten");
  const spatialBeforeFlatten = spec.layers
    .slice(0, firstFlatten < 0 ? spec.layers.length : firstFlatten)
    .some((l) => l.type === "conv2d" || l.type === "maxPool2d");
  const inputKind = specShape.kind === "image" && spatialBeforeFlatten ? "image" : "vector";
  let shape: ActivationShape = inputKind === "image" ? specShape : { kind: "vector", features: sizeOf(specShape) };
  const names = nameLayers(spec.layers);
  const weighted = spec.layers.map((l, i) => (layerKind(l.type).hasWeights ? names[i] : null)).filter((n): n is string => n !== null);
  if (weighted.length === 0) throw new Error("model: no layer has weights (add a linear or conv2d layer)");
  const output = spec.output ?? weighted[weighted.length - 1];
  if (!weighted.includes(output)) throw new Error(`model: output layer "${output}" is not one of the layers with weights (${weighted.join(", ")})`);
  const layers = spec.layers.map((l, i) => {
    try {
      const d = layerKind(l.type).describe(l as never, shape, names[i], names[i] === output);
      shape = d.output;
      return d;
    } catch (error) {
      throw new Error(`model: layers[${i}] (${l.type} ${names[i]}): ${(error as Error).message}`);
    }
  });
  if (shape.kind !== "vector")
    throw new Error(`model: the last layer gives ${describeShape(shape)}; end with a flatten and a linear layer so it gives one score per class`);
  return {
    layers,
    parameters: layers.flatMap((l) => l.parameters),
    output,
    inputKind,
    classes: shape.features,
    vectorOnly: layers.every((l) => l.input.kind === "vector"),
  };
}

/** Per-round pruning rates by prunable parameter name, from a rate for each group (conv, linear, output). */
export function pruneRatesOf(description: ModelDescription, rates: Record<PruneGroup, number>): Record<string, number> {
  return Object.fromEntries(description.parameters.filter((p) => p.prunable).map((p) => [p.name, rates[p.group ?? "linear"]]));
}

function nameLayers(layers: LayerSpec[]): string[] {
  const counts = new Map<string, number>();
  const names = layers.map((l) => {
    if (l.name) return l.name;
    const prefix = layerKind(l.type).prefix;
    const n = (counts.get(prefix) ?? 0) + 1;
    counts.set(prefix, n);
    return `${prefix}${n}`;
  });
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`model: two layers are named "${n}"`);
    seen.add(n);
  }
  return names;
}

/**
 * The order layers run in: a ReLU directly followed by a max-pool runs after it instead. They
 * commute (ReLU is monotone, and the first maximum of a window is the same before and after it;
 * where it is not positive both orders pass no gradient), so outputs and gradients keep their
 * bits while ReLU touches a quarter of the elements.
 */
export function runOrder(layers: readonly Layer[]): Layer[] {
  const order = [...layers];
  for (let i = 0; i + 1 < order.length; i++) {
    if (order[i].description.type === "relu" && order[i + 1].description.type === "maxPool2d") {
      [order[i], order[i + 1]] = [order[i + 1], order[i]];
      i++;
    }
  }
  return order;
}

export class Model {
  readonly description: ModelDescription;
  readonly layers: Layer[];
  private readonly ordered: Layer[];

  /** Weights are drawn from `new Random(seed, stream)`: the same seed always gives the same θ0. */
  constructor(
    readonly spec: ModelSpec,
    seed: number,
    stream = 0,
  ) {
    this.description = describeModel(spec);
    const rng = new Random(seed, stream);
    this.layers = this.description.layers.map((d, i) => layerKind(d.type).create(d, spec.layers[i] as never, rng));
    this.ordered = runOrder(this.layers);
  }

  get inputKind(): "vector" | "image" {
    return this.description.inputKind;
  }

  /** Whether the model can run row-major: only fully connected layers. */
  get vectorOnly(): boolean {
    return this.description.vectorOnly;
  }

  /**
   * Logits [batch, classes]. Row-major (default for fully connected models): x is [batch,
   * features]. Feature-major: x is [features, batch], or channel-major [channels, batch·H·W] for
   * an image input, and each prunable weight's product runs as `run.sparse` says.
   */
  forward(x: Tensor, run: Partial<RunContext> = {}): Tensor {
    const layout: Layout = run.layout ?? (this.vectorOnly ? "rows" : "features");
    if (layout === "rows" && !this.vectorOnly) throw new Error("model: a model with image layers runs feature-major");
    const first = this.description.layers[0].input;
    const batch = run.batch ?? (layout === "rows" ? x.shape[0] : first.kind === "image" ? x.shape[1] / (first.height * first.width) : x.shape[1]);
    const context: RunContext = { layout, batch, sparse: run.sparse ?? (() => null) };
    let h = x;
    for (const layer of this.ordered) h = layer.forward(h, context);
    return layout === "rows" ? h : transpose(h);
  }

  parameters(): Parameter[] {
    return this.layers.flatMap((l) => [...l.parameters]);
  }

  /** The weights that pruning acts on (biases are never pruned). */
  prunable(): Parameter[] {
    return this.parameters().filter((p) => p.prunable);
  }

  parameter(name: string): Parameter {
    const p = this.parameters().find((q) => q.name === name);
    if (!p)
      throw new Error(
        `model has no parameter "${name}" (it has ${this.parameters()
          .map((q) => q.name)
          .join(", ")})`,
      );
    return p;
  }

  /** Per-round pruning rates by parameter name, from a rate for each group of prunable weights. */
  pruneRates(rates: Record<PruneGroup, number>): Record<string, number> {
    return pruneRatesOf(this.description, rates);
  }

  /** A copy of every parameter's values, by name (θ at some moment). Reuses `into`'s arrays if given. */
  snapshot(into?: Map<string, Float32Array>): Map<string, Float32Array> {
    if (into) {
      for (const p of this.parameters()) {
        const dst = into.get(p.name);
        if (dst && dst.length === p.value.size) dst.set(p.value.view());
        else into.set(p.name, p.value.data());
      }
      return into;
    }
    return new Map(this.parameters().map((p) => [p.name, p.value.data()]));
  }

  /** Restores values from a snapshot, then re-applies masks so pruned weights stay zero. */
  restore(values: Map<string, Float32Array>): void {
    for (const p of this.parameters()) {
      const v = values.get(p.name);
      if (!v) throw new Error(`restore: snapshot has no values for ${p.name}`);
      p.value.set(v);
      p.applyMask();
    }
  }

  dispose(): void {
    this.parameters().forEach((p) => p.dispose());
  }
}
