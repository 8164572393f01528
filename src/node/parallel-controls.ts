// Control arms in a worker thread: while the next round's ticket trains on this thread, the
// previous round's controls train there. Results are identical to running them in turn.
import { createRequire } from "node:module";
import type { WasmVariant } from "../engine/kernels.js";
import type { LotteryConfig } from "../lottery/config.js";
import type { ControlJob, ControlRunner, RoundResult } from "../lottery/find.js";
import type { DataChoice } from "./splits.js";
import { compiledWorkerUrl } from "./worker-url.js";

const WORKER_URL = compiledWorkerUrl("control-worker.js", import.meta.url);

interface Waiting {
  resolve(r: RoundResult): void;
  reject(e: Error): void;
  onStep?: (iteration: number, loss: number) => void;
  reported: number;
}

export class WorkerControls implements ControlRunner {
  private readonly worker: import("node:worker_threads").Worker;
  private readonly waiting = new Map<number, Waiting>();
  /** Jobs posted before the worker has loaded its data. */
  private queued: { id: number; job: ControlJob }[] | null = [];
  private nextId = 0;

  /** `variant` is the main engine's: the controls must run the same kernels as the ticket (and as the results record). */
  constructor(config: LotteryConfig, data: DataChoice, variant?: WasmVariant) {
    const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads");
    this.worker = new Worker(WORKER_URL, { workerData: { config, data, variant: variant?.replace(/-threads$/, "") } });
    this.worker.on("message", (m) => {
      if (m.ready) {
        for (const q of this.queued ?? []) this.worker.postMessage(q);
        this.queued = null;
      } else if (m.failed) this.failAll(new Error(`control worker: ${m.failed}`));
      else this.receive(m);
    });
    this.worker.on("error", (e) => this.failAll(e));
    this.worker.on("exit", (code) => this.failAll(new Error(`control worker exited (code ${code})`)));
  }

  private receive(m: { id: number; result?: RoundResult; error?: string; progress?: { iteration: number; loss: number } }): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    if (m.progress) {
      // catch the progress counter up with the worker's iterations
      for (; w.reported < m.progress.iteration; w.reported++) w.onStep?.(w.reported + 1, m.progress.loss);
    } else if (m.error !== undefined) {
      this.waiting.delete(m.id);
      w.reject(new Error(m.error));
    } else if (m.result) {
      this.waiting.delete(m.id);
      for (; w.reported < (m.result.curve.at(-1)?.iteration ?? 0); w.reported++) w.onStep?.(w.reported + 1, m.result.curve.at(-1)!.trainLoss);
      w.resolve(m.result);
    }
  }

  private failAll(error: Error): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }

  /**
   * Posts the job at once (not after an await: the caller goes straight on to train the next
   * ticket on this thread, and the worker must be busy meanwhile).
   */
  run(job: ControlJob, onStep?: (iteration: number, loss: number) => void): Promise<RoundResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, onStep, reported: 0 });
      if (this.queued) this.queued.push({ id, job });
      else this.worker.postMessage({ id, job });
    });
  }

  close(): void {
    this.worker.removeAllListeners("exit");
    void this.worker.terminate();
  }
}
