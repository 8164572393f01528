// `ticket worker --queue URL`: takes sweep trials from the queue, runs each (the real find, one
// thread, in a temporary folder of this machine), reports its rounds as progress and returns its
// results.json through Redis. Run one per machine (or one per core with --jobs).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { finishedResults, runTrial } from "../node/trial-runner.js";
import { integer } from "./options.js";
import { UsageError } from "./usage-error.js";

export function workerCommand(): Command {
  return new Command("worker")
    .description("run sweep trials from a queue (BullMQ on Redis) until stopped")
    .requiredOption("--queue <url>", "the sweep's queue: redis://HOST:PORT/DB")
    .option("--jobs <n>", "trials at once, each on one thread", "1")
    .option("--lock-ms <ms>", "how long a trial's lock lasts without renewal: a dead worker's trial is retried after about this long", "30000")
    .option("--exit-when-idle <seconds>", "stop after this long with no trial to run (default: run until stopped)")
    .action(async (o: { queue: string; jobs: string; lockMs: string; exitWhenIdle?: string }) => {
      // loaded here, so the other commands start without BullMQ
      const { checkRedis, QueueUsageError, queueConnection, startTrialWorker, unfinishedTrials } = await import("../node/trial-queue.js");
      try {
        queueConnection(o.queue);
      } catch (error) {
        throw error instanceof QueueUsageError ? new UsageError(error.message) : error;
      }
      const jobs = integer("--jobs", o.jobs, 1);
      const lockMs = integer("--lock-ms", o.lockMs, 1000);
      const idleSeconds = o.exitWhenIdle === undefined ? null : integer("--exit-when-idle", o.exitWhenIdle, 1);
      await checkRedis(o.queue);
      const scratch = mkdtempSync(join(tmpdir(), "wt-worker-"));
      let busy = 0;
      let lastBusy = Date.now();
      const worker = startTrialWorker(o.queue, jobs, lockMs, async (job) => {
        busy++;
        const folder = join(scratch, job.id ?? job.data.trialId);
        try {
          // a retry starts the trial over: this machine may not be the one that began it
          rmSync(folder, { recursive: true, force: true });
          const outcome = await runTrial(folder, job.data.args, (completedRounds) => void job.updateProgress({ completedRounds }));
          const text = outcome.ok ? finishedResults(folder) : null;
          if (!text) throw new Error(outcome.message || "the trial ended without results");
          process.stderr.write(`worker: finished ${job.data.trialId}\n`);
          return text;
        } finally {
          rmSync(folder, { recursive: true, force: true });
          busy--;
          lastBusy = Date.now();
        }
      });
      worker.on("error", (error) => process.stderr.write(`worker: ${error.message}\n`));
      process.stderr.write(`worker: taking trials from ${o.queue} (${jobs} at once)\n`);
      const stop = async (): Promise<void> => {
        await worker.close();
        rmSync(scratch, { recursive: true, force: true });
      };
      process.once("SIGINT", () => void stop().then(() => process.exit(130)));
      process.once("SIGTERM", () => void stop().then(() => process.exit(143)));
      if (idleSeconds !== null) {
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          if (busy > 0 || Date.now() - lastBusy <= idleSeconds * 1000) continue;
          // idle only with no trial left to run: a slow first fetch, or a dead worker's trial coming back, is not idle
          if ((await unfinishedTrials(o.queue)) === 0) break;
          lastBusy = Date.now();
        }
        await stop();
      } else {
        await new Promise(() => {}); // until a signal
      }
    });
}
