// Entry of a worker that trains a lottery search's control arms (Node worker_threads): it loads
// the same data and trains each job it is sent on one kernel thread of its own.
import { parentPort, workerData } from "node:worker_threads";
import { ready } from "../engine/engine.js";
import type { WasmVariant } from "../engine/kernels.js";
import type { LotteryConfig } from "../lottery/config.js";
import { type ControlJob, InProcessControls } from "../lottery/find.js";
import { evaluationChunk, SplitEvaluators } from "../train/train.js";
import { type DataChoice, loadSplits } from "./splits.js";

const { config, data, variant } = workerData as { config: LotteryConfig; data: DataChoice; variant?: WasmVariant };

try {
  await ready({ threads: 1, ...(variant ? { variant } : {}) });
  const splits = loadSplits(data);
  const controls = new InProcessControls(splits, config, new SplitEvaluators(splits, evaluationChunk(config.spec, config.train.batchSize)));
  parentPort!.on("message", async (message: { id: number; job: ControlJob }) => {
    try {
      const result = await controls.run(message.job, (iteration, loss) => {
        if (iteration % 50 === 0) parentPort!.postMessage({ id: message.id, progress: { iteration, loss } });
      });
      parentPort!.postMessage({ id: message.id, result });
    } catch (error) {
      parentPort!.postMessage({ id: message.id, error: (error as Error).message });
    }
  });
  parentPort!.postMessage({ ready: true });
} catch (error) {
  parentPort!.postMessage({ failed: (error as Error).message });
}
