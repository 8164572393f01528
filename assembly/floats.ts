// Short copies and fills of f32s (an image row, a border) as inlined vector loops: memory.copy
// and memory.fill call out of the wasm code and cost more than they move at these sizes.

// @ts-ignore: decorator
@inline
export function copyFloats(dst: usize, src: usize, count: i32): void {
  let k = 0;
  for (; k + 4 <= count; k += 4) v128.store(dst + (<usize>k << 2), v128.load(src + (<usize>k << 2)));
  for (; k < count; k++) store<f32>(dst + (<usize>k << 2), load<f32>(src + (<usize>k << 2)));
}

// @ts-ignore: decorator
@inline
export function zeroFloats(dst: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= count; k += 4) v128.store(dst + (<usize>k << 2), zero);
  for (; k < count; k++) store<f32>(dst + (<usize>k << 2), 0);
}
