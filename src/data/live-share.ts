// How much of a batch's input is live: the share of input features that are nonzero in at least
// one example of a batch. The rest are left out of a first layer's products, so this is what the
// chooser's calibration reproduces when it times that layer.
import type { PixelScaling } from "./batches.js";
import type { Examples } from "./dataset.js";

/** Batches sampled (consecutive examples of the split, about as mixed as shuffled ones). */
const SAMPLED_BATCHES = 20;

/** The mean share of live features over the first batches of `batchSize` examples, scaled as training scales them. */
export function liveInputShare(examples: Examples, batchSize: number, scaling: PixelScaling): number {
  const { data, indices } = examples;
  const features = data.features;
  const plane = features / (scaling.channels?.length ?? 1);
  // whether each byte value is zero once scaled, by channel
  const zeroAt = (scaling.channels ?? [{ scale: scaling.scale, shift: scaling.shift }]).map((c) =>
    Uint8Array.from({ length: 256 }, (_, p) => (Math.fround(p * c.scale + c.shift) === 0 ? 1 : 0)),
  );
  const row = new Uint8Array(features);
  const live = new Uint8Array(features);
  const batches = Math.max(1, Math.min(SAMPLED_BATCHES, Math.floor(indices.length / batchSize)));
  let share = 0;
  for (let b = 0; b < batches; b++) {
    live.fill(0);
    const end = Math.min(indices.length, (b + 1) * batchSize);
    for (let r = b * batchSize; r < end; r++) {
      data.pixels.copyRow(indices[r], row, 0);
      zeroAt.forEach((zero, c) => {
        for (let k = c * plane; k < (c + 1) * plane; k++) if (!zero[row[k]]) live[k] = 1;
      });
    }
    share += live.reduce((a, v) => a + v, 0) / features;
  }
  return share / batches;
}
