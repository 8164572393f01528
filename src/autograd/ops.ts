// The differentiable ops. Each one computes its output with a kernel and, right beside it, says
// how the output's gradient flows back to each input, accumulating into `.grad` (matmul writes a
// step's first gradient straight in: the same sum, minus a pass over zeros). Shapes are checked up
// front so a mistake is reported with the op and the shapes.
import { engine } from "../engine/engine.js";
import { fromOp, Tensor } from "./tensor.js";

const fmt = (t: Tensor): string => `[${t.shape.join(", ")}]`;

function expectMatrix(op: string, name: string, t: Tensor): [number, number] {
  if (t.shape.length !== 2) throw new Error(`${op}: ${name} must be a matrix (2-D), got shape ${fmt(t)}`);
  return [t.shape[0], t.shape[1]];
}

/**
 * Matrix product op(a)·op(b), where op transposes when asked: `matmul(a, b)` is a·b for a [m, k]
 * and b [k, n]; `matmul(w, xT, { transposeA: true })` is wᵀ·xT.
 */
export function matmul(a: Tensor, b: Tensor, options: { transposeA?: boolean; transposeB?: boolean } = {}): Tensor {
  const tA = options.transposeA ? 1 : 0,
    tB = options.transposeB ? 1 : 0;
  const [ar, ac] = expectMatrix("matmul", "a", a);
  const [br, bc] = expectMatrix("matmul", "b", b);
  const [m, k] = tA ? [ac, ar] : [ar, ac];
  const [k2, n] = tB ? [bc, br] : [br, bc];
  if (k !== k2) {
    const shown = (t: Tensor, tr: number, name: string): string => (tr ? `${name}ᵀ is [${t.shape[1]}, ${t.shape[0]}]` : `${name} is ${fmt(t)}`);
    throw new Error(`matmul: inner dimensions differ: ${shown(a, tA, "a")} and ${shown(b, tB, "b")} (${k} ≠ ${k2})`);
  }
  const e = engine();
  const out = new Tensor([m, n], false, "matmul");
  e.gemm(tA, tB, m, n, k, a.ptr, b.ptr, out.ptr, 0);
  return fromOp(out, [a, b], () => {
    const g = out.gradBuffer().ptr;
    const gemm = (ta: number, tb: number, rows: number, cols: number, depth: number, x: number, y: number, into: Tensor): void => {
      const { buffer, overwrite } = into.gradTarget();
      e.gemm(ta, tb, rows, cols, depth, x, y, buffer.ptr, overwrite ? 0 : 1);
    };
    // dL/d op(a) = dL/dout · op(b)ᵀ and dL/d op(b) = op(a)ᵀ · dL/dout, written for the stored layouts
    if (a.requiresGrad) {
      if (!tA) gemm(0, tB ? 0 : 1, m, k, n, g, b.ptr, a);
      else gemm(tB, 1, k, m, n, b.ptr, g, a);
    }
    if (b.requiresGrad) {
      if (!tB) gemm(tA ? 0 : 1, 0, k, n, m, a.ptr, g, b);
      else gemm(1, tA, n, k, m, g, a.ptr, b);
    }
  });
}

/** The transpose of a matrix. */
export function transpose(x: Tensor): Tensor {
  const [rows, cols] = expectMatrix("transpose", "x", x);
  const e = engine();
  const out = new Tensor([cols, rows], false, "transpose");
  e.kernels.transpose(x.ptr, out.ptr, rows, cols);
  return fromOp(out, [x], () => {
    const g = out.gradBuffer();
    const tmp = e.allocator.alloc(x.size * 4);
    e.kernels.transpose(g.ptr, tmp, cols, rows);
    e.kernels.axpy(1, tmp, x.gradBuffer().ptr, x.size);
    e.allocator.release(tmp, x.size * 4);
  });
}

/** x [rows, cols] + v [rows]: one value added along each row (a bias in feature-major layout). */
export function addPerRow(x: Tensor, v: Tensor): Tensor {
  const [rows, cols] = expectMatrix("addPerRow", "x", x);
  if (v.shape.length !== 1 || v.shape[0] !== rows) throw new Error(`addPerRow: v must have shape [${rows}] for x ${fmt(x)}, got ${fmt(v)}`);
  const e = engine();
  const out = new Tensor(x.shape, false, "addPerRow");
  e.kernels.addPerRow(x.ptr, v.ptr, out.ptr, rows, cols);
  return fromOp(out, [x, v], () => {
    const g = out.gradBuffer().ptr;
    if (x.requiresGrad) e.kernels.axpy(1, g, x.gradBuffer().ptr, x.size);
    if (v.requiresGrad) e.kernels.sumEachRow(g, v.gradBuffer().ptr, rows, cols, 1);
  });
}

/**
 * Elementwise a + b for equal shapes, or a [rows, cols] + b [cols]: b is added to every row
 * (a bias).
 */
export function add(a: Tensor, b: Tensor): Tensor {
  const e = engine();
  const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (sameShape) {
    const out = new Tensor(a.shape, false, "add");
    e.kernels.add(a.ptr, b.ptr, out.ptr, out.size);
    return fromOp(out, [a, b], () => {
      const g = out.gradBuffer().ptr;
      if (a.requiresGrad) e.kernels.axpy(1, g, a.gradBuffer().ptr, a.size);
      if (b.requiresGrad) e.kernels.axpy(1, g, b.gradBuffer().ptr, b.size);
    });
  }
  if (a.shape.length === 2 && b.shape.length === 1 && b.shape[0] === a.shape[1]) {
    const [rows, cols] = a.shape;
    const out = new Tensor(a.shape, false, "add");
    e.kernels.addRowBroadcast(a.ptr, b.ptr, out.ptr, rows, cols);
    return fromOp(out, [a, b], () => {
      const g = out.gradBuffer().ptr;
      if (a.requiresGrad) e.kernels.axpy(1, g, a.gradBuffer().ptr, a.size);
      if (b.requiresGrad) e.kernels.sumRows(g, b.gradBuffer().ptr, rows, cols, 1);
    });
  }
  throw new Error(`add: shapes ${fmt(a)} and ${fmt(b)} do not match (equal shapes, or a matrix [rows, cols] plus a row [cols])`);
}

/** Elementwise a · b for equal shapes. */
export function mul(a: Tensor, b: Tensor): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`mul: shapes ${fmt(a)} and ${fmt(b)} differ`);
  }
  const e = engine();
  const out = new Tensor(a.shape, false, "mul");
  e.kernels.mul(a.ptr, b.ptr, out.ptr, out.size);
  return fromOp(out, [a, b], () => {
    const g = out.gradBuffer();
    // d(a·b)/da = b, d(a·b)/db = a: multiply, then accumulate
    const tmp = e.allocator.alloc(a.size * 4);
    if (a.requiresGrad) {
      e.kernels.mul(g.ptr, b.ptr, tmp, a.size);
      e.kernels.axpy(1, tmp, a.gradBuffer().ptr, a.size);
    }
    if (b.requiresGrad) {
      e.kernels.mul(g.ptr, a.ptr, tmp, a.size);
      e.kernels.axpy(1, tmp, b.gradBuffer().ptr, b.size);
    }
    e.allocator.release(tmp, a.size * 4);
  });
}

/** alpha · x */
export function scale(x: Tensor, alpha: number): Tensor {
  const e = engine();
  const out = new Tensor(x.shape, false, "scale");
  e.kernels.scale(alpha, x.ptr, out.ptr, x.size);
  return fromOp(out, [x], () => {
    e.kernels.axpy(alpha, out.gradBuffer().ptr, x.gradBuffer().ptr, x.size);
  });
}

/** max(x, 0) elementwise. */
export function relu(x: Tensor): Tensor {
  const e = engine();
  const out = new Tensor(x.shape, false, "relu");
  e.kernels.relu(x.ptr, out.ptr, x.size);
  return fromOp(out, [x], () => {
    // passes the gradient where the input was positive
    e.kernels.reluBackward(x.ptr, out.gradBuffer().ptr, x.gradBuffer().ptr, x.size);
  });
}

/** The sum of all elements, as a one-element tensor. */
export function sum(x: Tensor): Tensor {
  const e = engine();
  const out = new Tensor([1], false, "sum");
  out.view()[0] = e.kernels.sum(x.ptr, x.size);
  return fromOp(out, [x], () => {
    e.kernels.addScalar(x.gradBuffer().ptr, out.gradBuffer().view()[0], x.size);
  });
}

/** The mean of all elements, as a one-element tensor. */
export function mean(x: Tensor): Tensor {
  const e = engine();
  const out = new Tensor([1], false, "mean");
  out.view()[0] = e.kernels.sum(x.ptr, x.size) / x.size;
  return fromOp(out, [x], () => {
    e.kernels.addScalar(x.gradBuffer().ptr, out.gradBuffer().view()[0] / x.size, x.size);
  });
}

/**
 * Mean softmax cross-entropy of logits [batch, classes] against integer labels (one per row),
 * fused and numerically stable: −mean_r log softmax(logits_r)[label_r].
 */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  const [rows, cols] = expectMatrix("crossEntropy", "logits", logits);
  if (labels.length !== rows) {
    throw new Error(`crossEntropy: ${labels.length} labels for ${rows} rows of logits ${fmt(logits)}`);
  }
  for (let r = 0; r < rows; r++) {
    const l = labels[r];
    if (!Number.isInteger(l) || l < 0 || l >= cols) {
      throw new Error(`crossEntropy: label ${l} at row ${r} is not a class index in [0, ${cols})`);
    }
  }
  const e = engine();
  // Labels travel as int32 bits in a tensor's block, so scopes free them like any other tensor.
  const labelBlock = new Tensor([rows], false, "crossEntropy labels");
  e.i32(labelBlock.ptr, rows).set(labels);
  const probs = new Tensor(logits.shape, false, "crossEntropy probabilities");
  const out = new Tensor([1], false, "crossEntropy");
  out.view()[0] = e.kernels.softmaxCrossEntropy(logits.ptr, labelBlock.ptr, probs.ptr, rows, cols) / rows;
  return fromOp(out, [logits], () => {
    const scaleBy = out.gradBuffer().view()[0] / rows;
    e.kernels.softmaxCrossEntropyBackward(probs.ptr, labelBlock.ptr, logits.gradBuffer().ptr, rows, cols, scaleBy);
  });
}
