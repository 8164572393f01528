// winning-ticket/node: what needs Node — files, checkpoints on disk, worker_threads.
export { loadMnistDir, defaultMnistDir, type MnistFiles } from "./mnist-files.js";
export { spawnNodeWorker, defaultThreads } from "./workers.js";
export { saveRound, loadSavedRun, readCheckpoint, checkpointPath } from "./checkpoint.js";
export { writeFileAtomic, writeJsonAtomic } from "./atomic-write.js";
