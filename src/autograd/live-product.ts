// The product of a data input with a weight matrix that leaves out the input's features that are
// zero in every example of the batch (found per batch in one pass): MNIST's border pixels are
// zero across a whole batch, so a third of a first layer's forward product and weight gradient
// would only add zeros. Adding a zero leaves a sum unchanged, so outputs and gradients keep the
// bits of matmul (assembly/live-features.ts, sgemmLive).
import { engine } from "../engine/engine.js";
import { matmul } from "./ops.js";
import { fromOp, Tensor } from "./tensor.js";

/** Above this share of live input features, skipping the rest does not pay for finding them. */
export const LIVE_SHARE_WORTH_SKIPPING = 0.95;

/**
 * x·w for x [batch, features] ("rows"), or wᵀ·x for x [features, batch] ("features"), with w
 * [features, outputs]; x must need no gradient (it is data). The same values and gradients as
 * matmul, bit for bit.
 */
export function liveProduct(x: Tensor, w: Tensor, layout: "rows" | "features"): Tensor {
  const rows = layout === "rows";
  if (x.requiresGrad) throw new Error("liveProduct: the input needs a gradient; it is for data, use matmul");
  if (x.shape.length !== 2 || w.shape.length !== 2 || x.shape[rows ? 1 : 0] !== w.shape[0]) {
    throw new Error(`liveProduct: input [${x.shape.join(", ")}] (${layout}) does not fit weights [${w.shape.join(", ")}]`);
  }
  const [features, outputs] = w.shape;
  const batch = x.shape[rows ? 0 : 1];
  const e = engine();
  const live = new Tensor([features], false, "live features"); // int32 bits, freed with the step
  const count = e.kernels.liveFeatures(x.ptr, features, batch, rows ? 1 : 0, live.ptr);
  // the full weight gradient must be packed panels too, or the compact one would not be the same sums
  const gradientsMatch = !e.takesDotProducts(0, 1, features, outputs, batch);
  if (count > LIVE_SHARE_WORTH_SKIPPING * features || !gradientsMatch) {
    live.dispose();
    return rows ? matmul(x, w) : matmul(w, x, { transposeA: true });
  }
  const out = new Tensor(rows ? [batch, outputs] : [outputs, batch], false, "liveProduct");
  if (rows) e.gemmLive(0, batch, outputs, features, x.ptr, w.ptr, out.ptr, 0, live.ptr, count);
  else e.gemmLive(1, outputs, batch, features, w.ptr, x.ptr, out.ptr, 0, live.ptr, count);
  return fromOp(out, [x, w], () => {
    if (!w.requiresGrad) return;
    const g = out.gradBuffer().ptr;
    const { buffer, overwrite } = w.gradTarget();
    // both passes only move memory: their work is counted as the bytes they write, and threads
    // split the list (gather) or the features (scatter), so each writes its own rows
    const scatter = (from: number): void => {
      const listed = e.i32(live.ptr, count).slice();
      e.parallel("scatterRows", features, 1, 4 * features * outputs, (k0, k1) => [
        from,
        buffer.ptr,
        features,
        outputs,
        live.ptr,
        count,
        overwrite ? 0 : 1,
        k0,
        k1,
        firstAtLeast(listed, k0),
      ]);
    };
    if (count === 0) {
      scatter(0);
      return;
    }
    // dW's rows for the live features, as matmul's backward computes them, then put in place
    const compact = new Tensor(rows ? [batch, count] : [count, batch], false, "live input");
    e.parallel("gatherFeatures", count, 16, 4 * count * batch, (r0, r1) => [x.ptr, features, batch, rows ? 1 : 0, live.ptr, count, compact.ptr, r0, r1]);
    const rowsOfGradient = new Tensor([count, outputs], false, "live weight gradient");
    if (rows) e.packedGemm(1, 0, count, outputs, batch, compact.ptr, g, rowsOfGradient.ptr, 0);
    else e.packedGemm(0, 1, count, outputs, batch, compact.ptr, g, rowsOfGradient.ptr, 0);
    scatter(rowsOfGradient.ptr);
    compact.dispose();
    rowsOfGradient.dispose();
  });
}

/** The index of the first entry of the ascending list that is ≥ k (its length when none). */
function firstAtLeast(list: Int32Array, k: number): number {
  let lo = 0,
    hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
