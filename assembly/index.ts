// The kernel module: pointer-based SIMD kernels over memory that TypeScript owns (imported).
// No allocation, no managed objects, no static data beyond constants.
export { sgemm, sgemmColumns, sgemmDot, sgemmLive, sgemmWorkspaceBytes } from "./gemm";
export { liveFeatures, gatherFeatures, scatterRows, liveEntries, takeAt, putAt } from "./live-features";
export {
  add, axpy, scale, mul, addRowBroadcast, sumRows, relu, reluBackward, sum, fill,
  softmaxCrossEntropy, softmaxCrossEntropyBackward, argmaxRows, bytesToFloat, addScalar, countSubnormal,
} from "./elementwise";
export { adamStep, sgdStep } from "./optim";
export { scatterPixels, bytesToFloatStrided } from "./pixels";
export { magnitudeThreshold, applyThreshold, selectWorkspaceBytes } from "./select";

/** First byte past the module's static data: the host allocator starts above it. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 when this binary was built with relaxed SIMD (fused multiply-add), else 0. */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
export { simdPeak } from "./peak";
export {
  sparseForward, sparseBackwardInput, sparseBackwardWeights, transpose, addPerRow, sumEachRow,
  gatherWeights, scatterWeights, bytesToFloatTransposed,
} from "./sparse";
export { im2col, col2im, convInputGradient, maxPool2d, maxPool2dBackward, maxPool2x2BackwardTiled, transposePlanes } from "./conv";
export { padPlanes, splatWeights, splatForwardWeights, convForward, convWeightGrad, convWeightGradOutputsPerTask } from "./direct-conv";
export { sparseConvForward, sparseConvWeightGrad, splatAt } from "./sparse-conv";
export { splatFlippedWeights, convInputGradientSame } from "./direct-input-gradient";
