// Batches from sparse pixel storage (src/data/pixels.ts): image r's nonzero pixels are entries
// offsets[r] .. offsets[r+1] of `positions` (u16 pixel index) and `values` (u8 pixel value).

/**
 * For the i-th of `count` images listed at `rows` (i32 image indices): out[f·pixelStride +
 * i·exampleStride] = table[value] for each nonzero pixel f. Pixels that are zero are not
 * touched (the caller fills the batch with table[0] first). Returns the sum of the bytes read
 * ahead, which nothing uses: it only keeps those reads from being optimized away.
 */
export function scatterPixels(
  offsets: usize, positions: usize, values: usize, rows: usize, count: i32, table: usize, out: usize, pixelStride: i32, exampleStride: i32,
): i32 {
  const pixelBytes = <usize>pixelStride << 2;
  // the listed images lie anywhere in the store: one read per cache line of each, all before any
  // is used, lets their misses overlap instead of waiting on them one image at a time
  let touched: i32 = 0;
  for (let i = 0; i < count; i++) {
    const r = <usize>load<i32>(rows + (<usize>i << 2));
    const begin = <usize>load<u32>(offsets + (r << 2)), end = <usize>load<u32>(offsets + (r << 2), 4);
    for (let q = begin << 1; q < end << 1; q += 64) touched += load<u8>(positions + q);
    for (let q = begin; q < end; q += 64) touched += load<u8>(values + q);
  }
  for (let i = 0; i < count; i++) {
    const r = <usize>load<i32>(rows + (<usize>i << 2));
    const begin = load<u32>(offsets + (r << 2)), end = load<u32>(offsets + (r << 2), 4);
    const image = out + (<usize>i * <usize>exampleStride << 2);
    for (let p = begin; p < end; p++) {
      const at = image + <usize>load<u16>(positions + (<usize>p << 1)) * pixelBytes;
      store<f32>(at, load<f32>(table + (<usize>load<u8>(values + <usize>p) << 2)));
    }
  }
  return touched;
}

/**
 * Dense uint8 images to floats in any layout, with a scale and shift per channel: pixel p of
 * channel c of image r (read at pixels + r·channels·plane + c·plane + p) goes to
 * out[r·exampleStride + c·channelStride + p·pixelStride] as pixel · scales[c] + shifts[c].
 * Channel-major batches ([C, N·plane]) take exampleStride = plane, channelStride = rows·plane.
 */
export function bytesToFloatStrided(
  pixels: usize, out: usize, rows: i32, channels: i32, plane: i32, scales: usize, shifts: usize,
  exampleStride: i32, channelStride: i32, pixelStride: i32,
): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const s = load<f32>(scales + (<usize>c << 2)), t = load<f32>(shifts + (<usize>c << 2));
      const src = pixels + <usize>((r * channels + c) * plane);
      const dst = out + (<usize>(r * exampleStride + c * channelStride) << 2);
      for (let p = 0; p < plane; p++) store<f32>(dst + (<usize>(p * pixelStride) << 2), <f32>load<u8>(src + <usize>p) * s + t);
    }
  }
}
