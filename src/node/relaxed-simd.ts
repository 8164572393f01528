// Node 20 compiles relaxed SIMD (fused multiply-add) only behind a V8 flag, which NODE_OPTIONS
// refuses but V8 accepts at run time: set it before any kernel module is compiled, so Node picks
// the faster binary where it validates, as Deno, Bun and Chromium do. Later Node versions accept
// relaxed SIMD without the flag, and the validation probe in the engine stays the judge.
import { setFlagsFromString } from "node:v8";

let enabled = false;

export function enableRelaxedSimd(): void {
  if (enabled) return;
  enabled = true;
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    // an engine without the flag: the probe then chooses plain SIMD
  }
}
