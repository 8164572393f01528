// A fully connected layer, y = x·W + b, with W stored [in, out] so the forward pass is a plain
// A·B product and the two backward products are Aᵀ·B and A·Bᵀ.
import { Tensor } from "../autograd/tensor.js";
import { add, matmul } from "../autograd/ops.js";
import { Parameter } from "./parameter.js";
import { glorotNormal } from "./init.js";
import type { Random } from "../random.js";

export class Linear {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly name: string, readonly inputs: number, readonly outputs: number, rng: Random) {
    const w = new Tensor([inputs, outputs], true, `${name}.weight`, false).set(glorotNormal(rng, inputs, outputs));
    const b = new Tensor([outputs], true, `${name}.bias`, false).fill(0);
    this.weight = new Parameter(`${name}.weight`, w, true);
    this.bias = new Parameter(`${name}.bias`, b, false);
  }

  forward(x: Tensor): Tensor {
    return add(matmul(x, this.weight.value), this.bias.value);
  }
}
