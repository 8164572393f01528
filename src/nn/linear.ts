// A fully connected layer, y = x·W + b, with W stored [in, out] so the row-major forward pass is a
// plain A·B product and the two backward products are Aᵀ·B and A·Bᵀ. Feature-major, it is
// Wᵀ·xT (dense) or the sparse kernels, plus a bias per row.

import { liveProduct } from "../autograd/live-product.js";
import { add, addPerRow, matmul } from "../autograd/ops.js";
import { Tensor } from "../autograd/tensor.js";
import type { Random } from "../random.js";
import { glorotNormal } from "./init.js";
import type { Layer, LayerDescription, RunContext } from "./layer.js";
import type { ActivationShape, LinearSpec } from "./model-spec.js";
import { describeShape } from "./model-spec.js";
import { linearProduct, Parameter } from "./parameter.js";

export function describeLinear(spec: LinearSpec, input: ActivationShape, name: string, isOutput: boolean): LayerDescription {
  if (input.kind !== "vector") throw new Error(`input is ${describeShape(input)}; put a flatten layer before it`);
  const inputs = input.features,
    outputs = spec.outputs;
  return {
    name,
    type: "linear",
    input,
    output: { kind: "vector", features: outputs },
    floatsPerExample: outputs,
    parameters: [
      { name: `${name}.weight`, shape: [inputs, outputs], prunable: true, group: isOutput ? "output" : "linear", product: linearProduct(inputs, outputs) },
      { name: `${name}.bias`, shape: [outputs], prunable: false, group: null, product: null },
    ],
  };
}

export class Linear implements Layer {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly parameters: readonly Parameter[];

  constructor(
    readonly description: LayerDescription,
    rng: Random,
  ) {
    const [w, b] = description.parameters;
    const [inputs, outputs] = w.shape;
    const weight = new Tensor([inputs, outputs], true, w.name, false).set(glorotNormal(rng, inputs, outputs));
    this.weight = new Parameter(w.name, weight, true, w.shape, w.product, w.group);
    this.bias = new Parameter(b.name, new Tensor([outputs], true, b.name, false).fill(0), false);
    this.parameters = [this.weight, this.bias];
  }

  forward(x: Tensor, run: RunContext): Tensor {
    // an input that needs no gradient is data: its features that are zero across the batch are left out
    const product = (): Tensor =>
      x.requiresGrad
        ? run.layout === "rows"
          ? matmul(x, this.weight.value)
          : matmul(this.weight.value, x, { transposeA: true })
        : liveProduct(x, this.weight.value, run.layout);
    if (run.layout === "rows") return add(product(), this.bias.value);
    const sparse = run.sparse(this.weight);
    return addPerRow(sparse ? sparse.apply(x) : product(), this.bias.value);
  }
}
