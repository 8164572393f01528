// A tensor is a shape and a block of f32s in the engine's memory. Tensors that come out of an op
// remember their parents and a `backward` closure that pushes their gradient to those parents;
// `backward()` on a scalar walks that graph in reverse topological order (as micrograd does).
import { engine } from "../engine/engine.js";
import { currentScope, gradEnabled } from "./scope.js";

export type Shape = readonly number[];
type Nested = number | Nested[];

export class Tensor {
  readonly size: number;
  private gradData: Tensor | null = null;
  /** zeroGrad() only marks the buffer stale: the next gradient overwrites it or it is cleared on use. */
  private gradStale = false;
  /** Set by ops: the inputs this tensor was computed from, and how to push its gradient to them. */
  parents: readonly Tensor[] = [];
  backwardFn: (() => void) | null = null;
  private offset: number;
  private disposed = false;

  constructor(
    readonly shape: Shape,
    public requiresGrad = false,
    /** The op that made this tensor, for error messages. */
    readonly op = "tensor",
    track = true,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 1) throw new Error(`${op}: invalid shape [${shape.join(", ")}]: every dimension must be a positive integer`);
    }
    this.size = shape.reduce((a, b) => a * b, 1);
    this.offset = engine().allocator.alloc(this.size * 4);
    if (track) currentScope()?.track(this);
  }

  /** Byte offset of the data in the engine's memory. Throws if the tensor was disposed. */
  get ptr(): number {
    if (this.disposed) throw new Error(`use of a disposed tensor (made by ${this.op}, shape [${this.shape.join(", ")}])`);
    return this.offset;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** A fresh view of the data. Do not keep it across anything that may allocate. */
  view(): Float32Array {
    return engine().f32(this.ptr, this.size);
  }

  /** A copy of the data. */
  data(): Float32Array {
    return this.view().slice();
  }

  /** The values as nested plain arrays, following the shape. */
  toArray(): Nested {
    const flat = Array.from(this.view());
    const build = (dim: number, start: number): Nested => {
      if (dim === this.shape.length) return flat[start];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, start + i * stride));
    };
    return this.shape.length === 0 ? flat[0] : build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: expected one element, got shape [${this.shape.join(", ")}]`);
    return this.view()[0];
  }

  /** The gradient so far (null before any flowed here); gradients accumulate. */
  get grad(): Tensor | null {
    return this.gradData ? this.gradBuffer() : null;
  }

  /** The gradient buffer to add into, created zeroed on first use. Gradients live as long as their tensor. */
  gradBuffer(): Tensor {
    const { buffer, overwrite } = this.gradTarget();
    if (overwrite) buffer.fill(0);
    return buffer;
  }

  /**
   * The gradient buffer for a kernel that can either overwrite or add: `overwrite` when nothing has
   * flowed here since it was created or zeroed, so the first gradient of a step is written straight
   * in (saving a pass that clears it and the read of those zeros).
   */
  gradTarget(): { buffer: Tensor; overwrite: boolean } {
    if (!this.gradData) {
      this.gradData = new Tensor(this.shape, false, `grad of ${this.op}`, false);
      return { buffer: this.gradData, overwrite: true };
    }
    const overwrite = this.gradStale;
    this.gradStale = false;
    return { buffer: this.gradData, overwrite };
  }

  zeroGrad(): void {
    if (this.gradData) this.gradStale = true;
  }

  fill(value: number): this {
    engine().kernels.fill(this.ptr, value, this.size);
    return this;
  }

  /** Copies values in (same number of elements). */
  set(values: ArrayLike<number>): this {
    if (values.length !== this.size) {
      throw new Error(`set: got ${values.length} values for a tensor of shape [${this.shape.join(", ")}] (${this.size} elements)`);
    }
    this.view().set(values);
    return this;
  }

  /**
   * Backpropagates from this scalar: every tensor it depends on that requires a gradient gets
   * d(this)/d(tensor) added to its `.grad`.
   */
  backward(): void {
    if (this.size !== 1) {
      throw new Error(`backward: needs a scalar (one element), got shape [${this.shape.join(", ")}] from ${this.op}; reduce it with sum() or mean() first`);
    }
    if (!this.requiresGrad) throw new Error(`backward: ${this.op} output does not depend on any tensor with requiresGrad`);
    const order: Tensor[] = [];
    const visited = new Set<Tensor>();
    const visit = (t: Tensor): void => {
      if (visited.has(t)) return;
      visited.add(t);
      for (const p of t.parents) visit(p);
      order.push(t);
    };
    visit(this);
    engine().kernels.addScalar(this.gradBuffer().ptr, 1, 1);
    for (let i = order.length - 1; i >= 0; i--) order[i].backwardFn?.();
  }

  /** Frees the data and the gradient. Using the tensor afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.gradData?.dispose();
    this.gradData = null;
    this.gradStale = false;
    engine().allocator.release(this.offset, this.size * 4);
    this.disposed = true;
    this.parents = [];
    this.backwardFn = null;
  }

  toString(): string {
    return `Tensor(${this.op}, [${this.shape.join(", ")}])`;
  }
}

/**
 * Records how `out` was computed: it requires a gradient when any input does (and gradients are
 * enabled), in which case it keeps its inputs and backward closure for `backward()`.
 */
export function fromOp(out: Tensor, inputs: readonly Tensor[], backward: () => void): Tensor {
  if (gradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.parents = inputs;
    out.backwardFn = backward;
  }
  return out;
}

/**
 * A tensor from nested arrays (shape inferred) or from flat values with an explicit shape.
 * `tensor([[1, 2], [3, 4]])`, `tensor(new Float32Array(6), [2, 3])`.
 */
export function tensor(values: Nested | ArrayLike<number>, shape?: Shape, options: { requiresGrad?: boolean } = {}): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof values === "number") {
    flat = [values];
    inferred = [1];
  } else if (Array.isArray(values) && values.some(Array.isArray)) {
    inferred = [];
    let level: Nested = values;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    flat = (values as unknown[]).flat(Infinity as 1) as number[];
    const expected = inferred.reduce((a, b) => a * b, 1);
    if (flat.length !== expected) throw new Error(`tensor: ragged nested array: shape [${inferred.join(", ")}] needs ${expected} values, found ${flat.length}`);
  } else {
    flat = values as ArrayLike<number>;
    inferred = [flat.length];
  }
  const finalShape = shape ?? inferred;
  const t = new Tensor(finalShape, options.requiresGrad ?? false);
  if (t.size !== flat.length) {
    t.dispose();
    throw new Error(`tensor: ${flat.length} values do not fit shape [${finalShape.join(", ")}] (${t.size} elements)`);
  }
  for (let i = 0; i < flat.length; i++) {
    if (typeof flat[i] !== "number") {
      t.dispose();
      throw new Error(`tensor: value at flat index ${i} is ${typeof flat[i]}, expected a number`);
    }
  }
  return t.set(flat);
}

export function zeros(shape: Shape, options: { requiresGrad?: boolean } = {}): Tensor {
  return new Tensor(shape, options.requiresGrad ?? false).fill(0);
}
