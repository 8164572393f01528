// Loads the kernel module into a host-owned memory. Two binaries are embedded: plain SIMD (the
// default) and relaxed SIMD (fused multiply-add), used only where WebAssembly.validate accepts it.
import { relaxedSimdBase64, sharedRelaxedSimdBase64, sharedSimdBase64, simdBase64 } from "./wasm-bytes.generated.js";

/** The kernel exports, as typed functions (pointers are byte offsets, sizes are element counts). */
export interface KernelExports {
  heapBase(): number;
  simdPeak(iterations: number, seed: number): number;
  relaxedSimd(): number;
  sgemmWorkspaceBytes(): number;
  sgemm(transA: number, transB: number, m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, work: number): void;
  sgemmColumns(
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    accumulate: number,
    work: number,
    n0: number,
    n1: number,
  ): void;
  sgemmLive(
    transA: number,
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    accumulate: number,
    work: number,
    n0: number,
    n1: number,
    live: number,
    liveCount: number,
  ): void;
  liveFeatures(x: number, features: number, batch: number, rowsLayout: number, live: number): number;
  gatherFeatures(x: number, features: number, batch: number, rowsLayout: number, live: number, count: number, out: number, r0: number, r1: number): void;
  scatterRows(
    rows: number,
    into: number,
    features: number,
    cols: number,
    live: number,
    count: number,
    accumulate: number,
    k0: number,
    k1: number,
    r0: number,
  ): void;
  liveEntries(
    offsets: number,
    indices: number,
    inputRows: number,
    outputs: number,
    inputs: number,
    live: number,
    count: number,
    flags: number,
    liveOffsets: number,
    liveRows: number,
    livePositions: number,
  ): number;
  takeAt(values: number, positions: number, out: number, count: number): void;
  putAt(values: number, positions: number, into: number, count: number): void;
  sgemmDot(m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, n0: number, n1: number): void;
  add(a: number, b: number, out: number, n: number): void;
  axpy(alpha: number, src: number, dst: number, n: number): void;
  scale(alpha: number, x: number, out: number, n: number): void;
  mul(a: number, b: number, out: number, n: number): void;
  addRowBroadcast(x: number, bias: number, out: number, rows: number, cols: number): void;
  sumRows(x: number, out: number, rows: number, cols: number, accumulate: number): void;
  relu(x: number, out: number, n: number): void;
  reluBackward(x: number, gradOut: number, gradIn: number, n: number): void;
  sum(x: number, n: number): number;
  fill(x: number, value: number, n: number): void;
  softmaxCrossEntropy(logits: number, labels: number, probs: number, rows: number, cols: number): number;
  softmaxCrossEntropyBackward(probs: number, labels: number, gradLogits: number, rows: number, cols: number, scale: number): void;
  argmaxRows(x: number, out: number, rows: number, cols: number): void;
  bytesToFloat(pixels: number, out: number, n: number, scale: number, shift: number): void;
  countSubnormal(x: number, n: number): number;
  addScalar(x: number, value: number, n: number): void;
  adamStep(
    w: number,
    g: number,
    m: number,
    v: number,
    mask: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    correction1: number,
    correction2: number,
    weightDecay: number,
  ): void;
  sgdStep(w: number, g: number, velocity: number, mask: number, n: number, lr: number, momentum: number, weightDecay: number): void;
  sparseForward(offsets: number, inputRows: number, values: number, outputs: number, xT: number, yT: number, batch: number): void;
  sparseBackwardInput(
    colOffsets: number,
    colOutputRows: number,
    colValues: number,
    values: number,
    inputs: number,
    dyT: number,
    dxT: number,
    batch: number,
    accumulate: number,
  ): void;
  sparseBackwardWeights(offsets: number, inputRows: number, grad: number, outputs: number, xT: number, dyT: number, batch: number): void;
  transpose(x: number, out: number, rows: number, cols: number): void;
  addPerRow(x: number, v: number, out: number, rows: number, cols: number): void;
  sumEachRow(x: number, out: number, rows: number, cols: number, accumulate: number): void;
  gatherWeights(w: number, outputs: number, offsets: number, inputs: number, values: number, inputStride: number, outputStride: number): void;
  scatterWeights(values: number, outputs: number, offsets: number, inputs: number, w: number, inputStride: number, outputStride: number): void;
  scatterPixels(
    offsets: number,
    positions: number,
    values: number,
    rows: number,
    count: number,
    table: number,
    out: number,
    pixelStride: number,
    exampleStride: number,
  ): number;
  bytesToFloatTransposed(pixels: number, out: number, rows: number, features: number, scale: number, shift: number): void;
  bytesToFloatStrided(
    pixels: number,
    out: number,
    rows: number,
    channels: number,
    plane: number,
    scales: number,
    shifts: number,
    exampleStride: number,
    channelStride: number,
    pixelStride: number,
  ): void;
  im2col(
    x: number,
    cols: number,
    channels: number,
    batch: number,
    height: number,
    width: number,
    kernelH: number,
    kernelW: number,
    stride: number,
    padding: number,
    outH: number,
    outW: number,
    row0: number,
    row1: number,
  ): void;
  col2im(
    cols: number,
    dx: number,
    channels: number,
    batch: number,
    height: number,
    width: number,
    kernelH: number,
    kernelW: number,
    stride: number,
    padding: number,
    outH: number,
    outW: number,
    c0: number,
    c1: number,
  ): void;
  convInputGradient(
    w: number,
    dy: number,
    dx: number,
    chunk: number,
    work: number,
    channels: number,
    batch: number,
    height: number,
    width: number,
    kernelH: number,
    kernelW: number,
    stride: number,
    padding: number,
    outH: number,
    outW: number,
    outputs: number,
    chunkImages: number,
    n0: number,
    n1: number,
  ): void;
  splatFlippedWeights(w: number, out: number, outputs: number, channels: number, k: number): void;
  convInputGradientSame(
    weights: number,
    dy: number,
    dx: number,
    channels: number,
    batch: number,
    height: number,
    width: number,
    outputs: number,
    k: number,
    accumulate: number,
    n0: number,
    n1: number,
  ): void;
  maxPool2d(
    x: number,
    out: number,
    argmax: number,
    height: number,
    width: number,
    size: number,
    stride: number,
    outH: number,
    outW: number,
    p0: number,
    p1: number,
  ): void;
  maxPool2dBackward(dy: number, argmax: number, dx: number, k0: number, k1: number): void;
  maxPool2x2BackwardTiled(dy: number, argmax: number, dx: number, outH: number, outW: number, p0: number, p1: number): void;
  transposePlanes(x: number, out: number, planes: number, rows: number, cols: number, accumulate: number): void;
  padPlanes(x: number, xp: number, height: number, width: number, pad: number, plane0: number, plane1: number): void;
  splatWeights(w: number, out: number, count: number): void;
  splatForwardWeights(w: number, out: number, outputs: number, depth: number): void;
  convForward(
    xp: number,
    weights: number,
    bias: number,
    y: number,
    channels: number,
    batch: number,
    paddedH: number,
    paddedW: number,
    outputs: number,
    kh: number,
    kw: number,
    n0: number,
    n1: number,
  ): void;
  convWeightGradOutputsPerTask(outputs: number, kernelTaps: number): number;
  convWeightGrad(
    dy: number,
    xp: number,
    dw: number,
    channels: number,
    batch: number,
    paddedH: number,
    paddedW: number,
    outputs: number,
    kh: number,
    kw: number,
    accumulate: number,
    t0: number,
    t1: number,
  ): void;
  splatAt(values: number, positions: number, out: number, count: number): void;
  sparseConvForward(
    xp: number,
    taps: number,
    weights: number,
    offsets: number,
    bias: number,
    y: number,
    outputs: number,
    batch: number,
    paddedH: number,
    paddedW: number,
    kh: number,
    kw: number,
    accumulate: number,
    n0: number,
    n1: number,
  ): void;
  sparseConvWeightGrad(
    dy: number,
    xp: number,
    taps: number,
    offsets: number,
    dw: number,
    partial: number,
    batch: number,
    paddedH: number,
    paddedW: number,
    kh: number,
    kw: number,
    chunk: number,
    accumulate: number,
    o0: number,
    o1: number,
  ): void;
  selectWorkspaceBytes(): number;
  magnitudeThreshold(list: number, count: number, k: number, histogram: number, result: number): number;
  applyThreshold(list: number, count: number, thresholdBits: number, ties: number): number;
}

export type WasmVariant = "simd" | "relaxed-simd" | "simd-threads" | "relaxed-simd-threads";

export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The binary to load of a pair: relaxed SIMD (fused multiply-add) where it validates or is asked
 * for, else plain SIMD; `needs` names what the runtime lacks in the error when neither will do.
 * The plain binary is decoded only when it is the one chosen.
 */
function chooseBinary(
  relaxedBase64: string,
  plainBase64: string,
  prefer: WasmVariant | "auto",
  needs: string,
): { bytes: Uint8Array<ArrayBuffer>; relaxed: boolean } {
  const wantsRelaxed = prefer === "relaxed-simd" || prefer === "relaxed-simd-threads";
  if (wantsRelaxed || prefer === "auto") {
    const relaxed = decodeBase64(relaxedBase64);
    if (WebAssembly.validate(relaxed)) return { bytes: relaxed, relaxed: true };
    if (wantsRelaxed)
      throw new Error(`relaxed SIMD was requested but this runtime does not validate the relaxed-SIMD build (it needs ${needs} with relaxed SIMD)`);
  }
  const plain = decodeBase64(plainBase64);
  if (!WebAssembly.validate(plain)) throw new Error(`this JavaScript runtime does not support ${needs}`);
  return { bytes: plain, relaxed: false };
}

/** The shared-memory build (SIMD plus atomics) that every thread of a pool instantiates. */
export async function compileSharedKernels(prefer: WasmVariant | "auto" = "auto"): Promise<{ module: WebAssembly.Module; variant: WasmVariant }> {
  const { bytes, relaxed } = chooseBinary(sharedRelaxedSimdBase64, sharedSimdBase64, prefer, "WebAssembly threads with SIMD");
  return { module: await WebAssembly.compile(bytes), variant: relaxed ? "relaxed-simd-threads" : "simd-threads" };
}

export async function instantiateKernels(
  memory: WebAssembly.Memory,
  prefer: WasmVariant | "auto" = "auto",
): Promise<{ kernels: KernelExports; variant: WasmVariant }> {
  const { bytes, relaxed } = chooseBinary(relaxedSimdBase64, simdBase64, prefer, "WebAssembly SIMD (fixed-width 128-bit), which winning-ticket requires");
  const variant: WasmVariant = relaxed ? "relaxed-simd" : "simd";
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  return { kernels: instance.exports as unknown as KernelExports, variant };
}
