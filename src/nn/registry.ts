// Named models and the training protocol each comes with (the paper's, where it has one). A
// model is a ModelSpec made for the data's example shape and class count; its protocol holds the
// optimizer settings and per-round pruning rates a search uses unless flags say otherwise.
import type { LayerSpec, ModelSpec } from "./model-spec.js";
import type { PruneGroup } from "./parameter.js";

export interface Protocol {
  lr: number;
  /** Training iterations (`ticket train`'s default). */
  iterations: number;
  /** Iterations per round of `ticket find` by default, where shorter than a full training. */
  findIterations?: number;
  batchSize: number;
  /** Fraction of each layer's remaining weights pruned per round, by kind of layer. */
  rates: Record<PruneGroup, number>;
  /** Where these settings come from. */
  source: string;
}

export interface NamedModel {
  name: string;
  description: string;
  /** The spec for examples of `input` shape (channels first) and `classes` classes. */
  spec(input: number[], classes: number, hidden?: number[]): ModelSpec;
  protocol: Protocol;
}

const dense = (sizes: number[], classes: number): LayerSpec[] => [
  ...sizes.flatMap((outputs): LayerSpec[] => [{ type: "linear", outputs }, { type: "relu" }]),
  { type: "linear", outputs: classes },
];

/** The paper's conv nets: pairs of 3×3 'same' convolutions, each pair followed by a 2×2 max-pool, then 256-256-classes. */
function vggLike(widths: number[]): (input: number[], classes: number) => ModelSpec {
  return (input, classes) => ({
    input,
    layers: [
      ...widths.flatMap((outputs, i): LayerSpec[] => [
        { type: "conv2d", outputs, kernel: 3, padding: "same" },
        { type: "relu" },
        ...(i % 2 === 1 ? [{ type: "maxPool2d", size: 2 } as LayerSpec] : []),
      ]),
      { type: "flatten" },
      ...dense([256, 256], classes),
    ],
  });
}

const PAPER_LENET = "Frankle & Carbin 2019, LeNet-300-100 (Adam 1.2e-3, batch 60; 20% per round, 10% for the output layer)";
const paperConv = (net: string, lr: number, iterations: number, conv: number) =>
  `Frankle & Carbin 2019, ${net} (Adam ${lr}, ${iterations.toLocaleString("en")} iterations, batch 60; ${conv * 100}% of conv, 20% of fc, 10% of output weights per round)`;

export const MODELS: readonly NamedModel[] = [
  {
    name: "lenet-300-100",
    description: "fully connected 300-100, ReLU (the paper's MNIST network)",
    spec: (input, classes) => ({ input, layers: [{ type: "flatten" }, ...dense([300, 100], classes)] }),
    protocol: { lr: 1.2e-3, iterations: 10_000, findIterations: 5_000, batchSize: 60, rates: { conv: 0.1, linear: 0.2, output: 0.1 }, source: PAPER_LENET },
  },
  {
    name: "mlp",
    description: "fully connected with the hidden sizes of --hidden, ReLU",
    spec: (input, classes, hidden) => {
      if (!hidden) throw new Error("model mlp needs hidden layer sizes (--hidden 300,100)");
      return { input, layers: [{ type: "flatten" }, ...dense(hidden, classes)] };
    },
    protocol: { lr: 1.2e-3, iterations: 10_000, findIterations: 5_000, batchSize: 60, rates: { conv: 0.1, linear: 0.2, output: 0.1 }, source: PAPER_LENET },
  },
  {
    name: "lenet-5",
    description: "LeNet-5: conv 6@5×5, max-pool, conv 16@5×5, max-pool, fc 120-84, ReLU",
    spec: (input, classes) => ({
      input,
      layers: [
        { type: "conv2d", outputs: 6, kernel: 5 },
        { type: "relu" },
        { type: "maxPool2d", size: 2 },
        { type: "conv2d", outputs: 16, kernel: 5 },
        { type: "relu" },
        { type: "maxPool2d", size: 2 },
        { type: "flatten" },
        ...dense([120, 84], classes),
      ],
    }),
    protocol: {
      lr: 1.2e-3,
      iterations: 10_000,
      batchSize: 60,
      rates: { conv: 0.1, linear: 0.2, output: 0.1 },
      source: "not in the paper: LeNet-300-100's optimizer settings with the paper's conv-net rates (10% of conv, 20% of fc, 10% of output weights per round)",
    },
  },
  {
    name: "conv-2",
    description: "the paper's Conv-2: conv 64, 64, max-pool, fc 256-256",
    spec: vggLike([64, 64]),
    protocol: { lr: 2e-4, iterations: 20_000, batchSize: 60, rates: { conv: 0.1, linear: 0.2, output: 0.1 }, source: paperConv("Conv-2", 2e-4, 20_000, 0.1) },
  },
  {
    name: "conv-4",
    description: "the paper's Conv-4: conv 64, 64, max-pool, 128, 128, max-pool, fc 256-256",
    spec: vggLike([64, 64, 128, 128]),
    protocol: { lr: 3e-4, iterations: 25_000, batchSize: 60, rates: { conv: 0.1, linear: 0.2, output: 0.1 }, source: paperConv("Conv-4", 3e-4, 25_000, 0.1) },
  },
  {
    name: "conv-6",
    description: "the paper's Conv-6: conv 64, 64, max-pool, 128, 128, max-pool, 256, 256, max-pool, fc 256-256",
    spec: vggLike([64, 64, 128, 128, 256, 256]),
    protocol: { lr: 3e-4, iterations: 30_000, batchSize: 60, rates: { conv: 0.15, linear: 0.2, output: 0.1 }, source: paperConv("Conv-6", 3e-4, 30_000, 0.15) },
  },
];

export function namedModel(name: string): NamedModel | undefined {
  return MODELS.find((m) => m.name === name);
}

/** LeNet-300-100 on MNIST, the default model. */
export const LENET_300_100: ModelSpec = MODELS[0].spec([1, 28, 28], 10);

/** A fully connected model on `inputs` features: inputs-hidden…-classes with ReLU. */
export function mlpSpec(inputs: number, hidden: number[], classes: number): ModelSpec {
  return { input: [inputs], layers: dense(hidden, classes) };
}

/**
 * A spec as saved by earlier versions ({inputs, hidden, classes}: a fully connected network) or
 * as now; the parameter names and shapes of an old spec are the same in its new form.
 */
export function upgradeSpec(saved: unknown): unknown {
  const o = saved as { inputs?: unknown; hidden?: unknown; classes?: unknown; input?: unknown };
  if (o && typeof o === "object" && o.input === undefined && typeof o.inputs === "number" && Array.isArray(o.hidden) && typeof o.classes === "number") {
    return mlpSpec(o.inputs, o.hidden as number[], o.classes);
  }
  return saved;
}
