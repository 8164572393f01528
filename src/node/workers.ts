// Kernel threads in Node: worker_threads running the portable worker loop.

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import type { WorkerHandle } from "../engine/thread-pool.js";
import { compiledWorkerUrl } from "./worker-url.js";

const WORKER_URL = compiledWorkerUrl("kernel-worker.js", import.meta.url);

export function spawnNodeWorker(): WorkerHandle {
  // loaded on first use, so single-threaded runs do not pay for worker_threads
  const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads");
  const worker = new Worker(WORKER_URL);
  worker.unref(); // a waiting kernel thread must not keep the process alive
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", (m) => (m === "ready" ? resolve() : reject(new Error(String(m)))));
    worker.once("error", reject);
  });
  return { postMessage: (m) => worker.postMessage(m), ready, terminate: () => void worker.terminate() };
}

/** The default thread count: the cores this process may use. */
export function defaultThreads(): number {
  return availableParallelism();
}
