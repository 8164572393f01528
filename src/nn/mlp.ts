// A multilayer perceptron with ReLU between layers. LeNet-300-100 is MLP(784, [300, 100], 10).
import type { Tensor } from "../autograd/tensor.js";
import { relu } from "../autograd/ops.js";
import { Random } from "../random.js";
import { Linear } from "./linear.js";
import type { Parameter } from "./parameter.js";

export interface MlpSpec {
  inputs: number;
  hidden: number[];
  classes: number;
}

export const LENET_300_100: MlpSpec = { inputs: 784, hidden: [300, 100], classes: 10 };

/**
 * The fully connected layers a spec describes, in order: fc1 … fcN, each [inputs → outputs].
 * The one place the layer names are made; parameters are `${name}.weight` and `${name}.bias`.
 */
export function mlpLayers(spec: MlpSpec): { name: string; inputs: number; outputs: number }[] {
  const sizes = [spec.inputs, ...spec.hidden, spec.classes];
  return sizes.slice(1).map((outputs, i) => ({ name: `fc${i + 1}`, inputs: sizes[i], outputs }));
}

export class Mlp {
  readonly layers: Linear[];

  /** Weights are drawn from `new Random(seed, stream)`: the same seed always gives the same θ0. */
  constructor(readonly spec: MlpSpec, seed: number, stream = 0) {
    for (const [what, n] of [["inputs", spec.inputs], ["classes", spec.classes], ...spec.hidden.map((h, i) => [`hidden layer ${i + 1}`, h] as const)] as const) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`model: ${what} must be a positive integer, got ${n}`);
    }
    const rng = new Random(seed, stream);
    this.layers = mlpLayers(spec).map((l) => new Linear(l.name, l.inputs, l.outputs, rng));
  }

  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1) h = relu(h);
    });
    return h;
  }

  parameters(): Parameter[] {
    return this.layers.flatMap((l) => [l.weight, l.bias]);
  }

  /** The weights that pruning acts on (biases are never pruned). */
  prunable(): Parameter[] {
    return this.parameters().filter((p) => p.prunable);
  }

  parameter(name: string): Parameter {
    const p = this.parameters().find((q) => q.name === name);
    if (!p) throw new Error(`model has no parameter "${name}" (it has ${this.parameters().map((q) => q.name).join(", ")})`);
    return p;
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
