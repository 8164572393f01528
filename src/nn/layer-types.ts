// The layer types a ModelSpec may use, as one table typed over every type, so the compiler
// proves each type has a description (shapes, parameters) and a constructor.
import type { Random } from "../random.js";
import { Conv2d, describeConv2d } from "./conv2d.js";
import type { Layer, LayerDescription } from "./layer.js";
import { describeLinear, Linear } from "./linear.js";
import type { ActivationShape, LayerType, SpecOf } from "./model-spec.js";
import { describeFlatten, describeMaxPool2d, describeRelu, Flatten, MaxPool2d, Relu } from "./pointwise-layers.js";

interface LayerKind<T extends LayerType> {
  /** Prefix of default names, numbered per type in order: fc1, fc2; conv1, conv2. */
  prefix: string;
  hasWeights: boolean;
  /** The layer's shapes and parameters for an input shape; throws what does not fit. */
  describe(spec: SpecOf<T>, input: ActivationShape, name: string, isOutput: boolean): LayerDescription;
  create(description: LayerDescription, spec: SpecOf<T>, rng: Random): Layer;
}

export const LAYER_KINDS: { [T in LayerType]: LayerKind<T> } = {
  linear: { prefix: "fc", hasWeights: true, describe: describeLinear, create: (d, _s, rng) => new Linear(d, rng) },
  conv2d: { prefix: "conv", hasWeights: true, describe: describeConv2d, create: (d, s, rng) => new Conv2d(d, s, rng) },
  maxPool2d: { prefix: "pool", hasWeights: false, describe: describeMaxPool2d, create: (d, s) => new MaxPool2d(d, s) },
  relu: { prefix: "relu", hasWeights: false, describe: describeRelu, create: (d) => new Relu(d) },
  flatten: { prefix: "flatten", hasWeights: false, describe: describeFlatten, create: (d) => new Flatten(d) },
};

export function layerKind<T extends LayerType>(type: T): LayerKind<T> {
  return LAYER_KINDS[type] as LayerKind<T>;
}
