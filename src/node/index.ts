// winning-ticket/node: what needs Node — files, checkpoints on disk, worker_threads. Importing
// it also lets Node 20 use the relaxed-SIMD kernels (see relaxed-simd.ts).
import { enableRelaxedSimd } from "./relaxed-simd.js";

enableRelaxedSimd();

export { writeFileAtomic, writeJsonAtomic } from "./atomic-write.js";
export { checkpointPath, loadSavedRun, readCheckpoint, saveRound } from "./checkpoint.js";
export { CrossoverCache, defaultCacheDir } from "./crossover-cache.js";
export { defaultMnistDir, loadMnistDir, type MnistFiles } from "./mnist-files.js";
export { enableRelaxedSimd } from "./relaxed-simd.js";
export { defaultThreads, spawnNodeWorker } from "./workers.js";
