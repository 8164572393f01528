// winning-ticket/node: what needs Node — files, checkpoints on disk, worker_threads.

export { writeFileAtomic, writeJsonAtomic } from "./atomic-write.js";
export { checkpointPath, loadSavedRun, readCheckpoint, saveRound } from "./checkpoint.js";
export { defaultMnistDir, loadMnistDir, type MnistFiles } from "./mnist-files.js";
export { defaultThreads, spawnNodeWorker } from "./workers.js";
