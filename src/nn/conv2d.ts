// A 2-D convolution on channel-major images: y[O, N·Ho·Wo] = W[O, C·k·k] · im2col(x) + b per
// output channel. The kernel is held as that [O, C·k·k] matrix and shown as PyTorch's
// [O, C, k, k] (the same bytes), so a pruned kernel runs on the sparse kernels unchanged. Dense
// shallow kernels run the direct convolution instead, which never builds the columns, and pruned
// kernels at stride 1 run the compact direct kernels over their surviving taps only.

import { conv2d, im2col, suitsDirectConvolution, type WindowGeometry, windowOutput } from "../autograd/image-ops.js";
import { addPerRow, matmul } from "../autograd/ops.js";
import { sparseConv2d, suitsSparseConvolution } from "../autograd/sparse-conv2d.js";
import { Tensor } from "../autograd/tensor.js";
import type { Random } from "../random.js";
import { glorotNormal } from "./init.js";
import type { Layer, LayerDescription, RunContext } from "./layer.js";
import { type ActivationShape, type Conv2dSpec, describeShape } from "./model-spec.js";
import { Parameter } from "./parameter.js";
import { SparseConvTaps } from "./sparse-conv-lists.js";

export function convGeometry(spec: Conv2dSpec, input: ActivationShape): WindowGeometry {
  if (input.kind !== "image") throw new Error(`input is ${describeShape(input)}, but a convolution needs an image [channels, height, width]`);
  const padding = spec.padding === "same" ? (spec.kernel - 1) / 2 : (spec.padding ?? 0);
  if (!Number.isInteger(padding)) throw new Error(`padding "same" needs an odd kernel, got ${spec.kernel}`);
  return { channels: input.channels, height: input.height, width: input.width, kernelH: spec.kernel, kernelW: spec.kernel, stride: spec.stride ?? 1, padding };
}

export function describeConv2d(spec: Conv2dSpec, input: ActivationShape, name: string, isOutput: boolean): LayerDescription {
  const g = convGeometry(spec, input);
  const { outH, outW } = windowOutput(g);
  if (outH < 1 || outW < 1) throw new Error(`a ${g.kernelH}×${g.kernelW} kernel with padding ${g.padding} does not fit ${describeShape(input)}`);
  const inputs = g.channels * g.kernelH * g.kernelW,
    outputs = spec.outputs;
  return {
    name,
    type: "conv2d",
    input,
    output: { kind: "image", channels: outputs, height: outH, width: outW },
    floatsPerExample: (outputs + inputs) * outH * outW,
    parameters: [
      {
        name: `${name}.weight`,
        shape: [outputs, g.channels, g.kernelH, g.kernelW],
        prunable: true,
        group: isOutput ? "output" : "conv",
        product: { inputs, outputs, inputStride: 1, outputStride: inputs },
      },
      { name: `${name}.bias`, shape: [outputs], prunable: false, group: null, product: null },
    ],
  };
}

export class Conv2d implements Layer {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly parameters: readonly Parameter[];
  private readonly geometry: WindowGeometry;

  constructor(
    readonly description: LayerDescription,
    spec: Conv2dSpec,
    rng: Random,
  ) {
    this.geometry = convGeometry(spec, description.input);
    const [w, b] = description.parameters;
    const { inputs, outputs } = w.product!;
    const area = this.geometry.kernelH * this.geometry.kernelW;
    // Glorot's fans for a convolution count the kernel area on both sides (as Keras and PyTorch do)
    const values = glorotNormal(rng, this.geometry.channels * area, outputs * area, outputs * inputs);
    this.weight = new Parameter(w.name, new Tensor([outputs, inputs], true, w.name, false).set(values), true, w.shape, w.product, w.group);
    this.bias = new Parameter(b.name, new Tensor([outputs], true, b.name, false).fill(0), false);
    this.parameters = [this.weight, this.bias];
  }

  forward(x: Tensor, run: RunContext): Tensor {
    if (run.layout !== "features") throw new Error(`${this.description.name}: convolutions run on channel-major activations`);
    const sparse = run.sparse(this.weight);
    if (!sparse && suitsDirectConvolution(this.geometry)) return conv2d(x, this.weight.value, this.bias.value, run.batch, this.geometry);
    if (sparse && suitsSparseConvolution(this.geometry)) {
      const taps = sparse.derived("conv taps", () => new SparseConvTaps(sparse, this.geometry));
      return sparseConv2d(x, sparse.values, this.bias.value, sparse.outputs, run.batch, this.geometry, taps.forBatch(run.batch));
    }
    const cols = im2col(x, run.batch, this.geometry);
    const h = sparse ? sparse.apply(cols) : matmul(this.weight.value, cols);
    return addPerRow(h, this.bias.value);
  }
}
