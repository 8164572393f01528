// Entry of a Node kernel thread: instantiate the shared kernels, say so, then serve jobs.
import { parentPort } from "node:worker_threads";
import { runWorkerLoop, type WorkerInit } from "../engine/thread-pool.js";

parentPort!.once("message", async (init: WorkerInit) => {
  try {
    const instance = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
    parentPort!.postMessage("ready");
    runWorkerLoop(init.memory, instance.exports as Record<string, unknown>, init.slot, init.names);
  } catch (error) {
    parentPort!.postMessage(`kernel worker failed: ${(error as Error).message}`);
  }
});
