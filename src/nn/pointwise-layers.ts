// The layers without parameters: ReLU, max pooling and flattening. Their shapes follow from
// their input's; they run in whatever layout the plan chose.

import { channelsToFeatures, maxPool2d, windowOutput } from "../autograd/image-ops.js";
import { relu } from "../autograd/ops.js";
import type { Tensor } from "../autograd/tensor.js";
import type { Layer, LayerDescription, RunContext } from "./layer.js";
import { type ActivationShape, describeShape, type FlattenSpec, type MaxPool2dSpec, type ReluSpec, sizeOf } from "./model-spec.js";

export function describeRelu(_spec: ReluSpec, input: ActivationShape, name: string): LayerDescription {
  return { name, type: "relu", input, output: input, parameters: [], floatsPerExample: sizeOf(input) };
}

export class Relu implements Layer {
  readonly parameters = [];
  constructor(readonly description: LayerDescription) {}
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export function describeMaxPool2d(spec: MaxPool2dSpec, input: ActivationShape, name: string): LayerDescription {
  if (input.kind !== "image") throw new Error(`input is ${describeShape(input)}, but max pooling needs an image`);
  const { outH, outW } = windowOutput({ ...input, kernelH: spec.size, kernelW: spec.size, stride: spec.stride ?? spec.size, padding: 0 });
  if (outH < 1 || outW < 1) throw new Error(`a ${spec.size}×${spec.size} window does not fit ${describeShape(input)}`);
  const output: ActivationShape = { kind: "image", channels: input.channels, height: outH, width: outW };
  return { name, type: "maxPool2d", input, output, parameters: [], floatsPerExample: 2 * sizeOf(output) };
}

export class MaxPool2d implements Layer {
  readonly parameters = [];
  constructor(
    readonly description: LayerDescription,
    private readonly spec: MaxPool2dSpec,
  ) {}
  forward(x: Tensor, run: RunContext): Tensor {
    const input = this.description.input;
    if (input.kind !== "image" || run.layout !== "features") throw new Error(`${this.description.name}: max pooling runs on channel-major images`);
    return maxPool2d(x, input.channels, run.batch, input.height, input.width, this.spec.size, this.spec.stride ?? this.spec.size);
  }
}

export function describeFlatten(_spec: FlattenSpec, input: ActivationShape, name: string): LayerDescription {
  const output: ActivationShape = { kind: "vector", features: sizeOf(input) };
  return { name, type: "flatten", input, output, parameters: [], floatsPerExample: input.kind === "image" ? sizeOf(input) : 0 };
}

export class Flatten implements Layer {
  readonly parameters = [];
  constructor(readonly description: LayerDescription) {}
  forward(x: Tensor, run: RunContext): Tensor {
    // a model without convolutions loads its input flat, and its flatten layer passes it through
    return this.description.input.kind === "vector" ? x : channelsToFeatures(x, run.batch);
  }
}
