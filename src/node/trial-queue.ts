// Sweep trials on a real job queue: BullMQ on Redis. The sweep command enqueues its unfinished
// trials (with attempts and backoff) and records each result once, from the job's return value;
// `ticket worker` on any machine takes trials, runs each in a local temporary folder and returns
// its results.json through Redis. Workers need no shared file system: a trial whose worker dies
// is retried from its start on another worker (checkpoints stay local to the worker that wrote
// them; a trial costs minutes, and starting over keeps retries independent of any one machine).
import { type ConnectionOptions, type Job, Queue, QueueEvents, Worker } from "bullmq";

export const QUEUE_NAME = "winning-ticket-trials";

export interface TrialJob {
  sweepId: string;
  trialId: string;
  args: string[];
}

/** redis://HOST:PORT/DB as connection options; the error names the flag and what is wrong. */
export function queueConnection(url: string): ConnectionOptions & { host: string; port: number; db: number } {
  const m = /^redis:\/\/([^/:]+):(\d{1,5})(?:\/(\d+))?\/?$/.exec(url);
  if (!m) throw new QueueUsageError(`--queue must look like redis://HOST:PORT/DB (e.g. redis://127.0.0.1:6379/0), got "${url}"`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new QueueUsageError(`--queue ${url}: port ${port} is out of range`);
  // BullMQ's workers need maxRetriesPerRequest: null; a bounded reconnect lets a wrong address fail clearly
  return {
    host: m[1],
    port,
    db: Number(m[3] ?? 0),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => (times > 20 ? null : Math.min(1000, 50 * times)),
  };
}

export class QueueUsageError extends Error {}

/** Resolves once Redis answers at `url`, or throws a one-line error naming it (within a few seconds). */
export async function checkRedis(url: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const c = queueConnection(url);
  const client = new Redis({
    host: c.host,
    port: c.port,
    db: c.db,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  let cause: NodeJS.ErrnoException | null = null;
  client.on("error", (error: NodeJS.ErrnoException) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const e = cause ?? (error as NodeJS.ErrnoException);
    throw new Error(`--queue ${url}: cannot reach Redis (${e.code ?? e.message})`);
  } finally {
    client.disconnect();
  }
}

export function jobId(sweepId: string, trialId: string): string {
  return `${sweepId}-${trialId}`.replace(/[^A-Za-z0-9_.=,-]/g, "_");
}

/** A trial in these states has yet to finish (an active one of a dead worker returns to waiting once its lock lapses). */
const UNFINISHED: ("waiting" | "active" | "delayed" | "prioritized" | "waiting-children")[] = [
  "waiting",
  "active",
  "delayed",
  "prioritized",
  "waiting-children",
];

/** How many trials on the queue at `url` have yet to finish. */
export async function unfinishedTrials(url: string): Promise<number> {
  const queue = new Queue<TrialJob>(QUEUE_NAME, { connection: queueConnection(url) });
  try {
    const counts = await queue.getJobCounts(...UNFINISHED);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

/** Enqueues the trials not yet in the queue; refuses a queue that holds another sweep's unfinished trials. */
export async function enqueueTrials(url: string, sweepId: string, trials: { id: string; args: string[] }[], attempts = 3): Promise<Queue<TrialJob>> {
  const queue = new Queue<TrialJob>(QUEUE_NAME, { connection: queueConnection(url) });
  const unfinished = await queue.getJobs(UNFINISHED);
  const others = unfinished.filter((j) => j.data.sweepId !== sweepId);
  if (others.length) {
    await queue.close();
    throw new Error(
      `--queue ${url}: the queue holds ${others.length} unfinished trials of another sweep (${others[0].data.sweepId}); let it finish, or use another Redis database (redis://HOST:PORT/N)`,
    );
  }
  for (const t of trials) {
    await queue.add(
      "trial",
      { sweepId, trialId: t.id, args: t.args },
      { jobId: jobId(sweepId, t.id), attempts, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: false, removeOnFail: false },
    );
  }
  return queue;
}

/**
 * Waits until every trial's job has completed, calling onResult once per trial with its
 * results.json text; throws when a job has failed for good. Progress comes from the queue's events.
 */
export async function awaitTrials(
  url: string,
  queue: Queue<TrialJob>,
  sweepId: string,
  trialIds: string[],
  onResult: (trialId: string, resultsText: string) => void,
  onProgress?: (trialId: string, completedRounds: number) => void,
): Promise<void> {
  const events = new QueueEvents(QUEUE_NAME, { connection: queueConnection(url) });
  await events.waitUntilReady();
  const byJob = new Map(trialIds.map((id) => [jobId(sweepId, id), id]));
  const recorded = new Set<string>();
  const record = (id: string, value: unknown): void => {
    if (recorded.has(id)) return;
    recorded.add(id);
    onResult(id, String(value));
  };
  events.on("progress", ({ jobId: j, data }) => {
    const id = byJob.get(j);
    if (id && typeof data === "object" && data && "completedRounds" in data) onProgress?.(id, Number((data as { completedRounds: number }).completedRounds));
  });
  try {
    for (;;) {
      for (const [j, id] of byJob) {
        if (recorded.has(id)) continue;
        const job = await queue.getJob(j);
        if (!job) throw new Error(`--queue ${url}: the job of trial ${id} disappeared from the queue`);
        const state = await job.getState();
        if (state === "completed") record(id, job.returnvalue);
        else if (state === "failed") throw new Error(`trial ${id} failed after ${job.attemptsMade} attempts: ${job.failedReason}`);
      }
      if (recorded.size === byJob.size) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await events.close();
  }
}

/** A queue worker: runs `process` for each trial job, `concurrency` at once. */
export function startTrialWorker(url: string, concurrency: number, lockMs: number, process: (job: Job<TrialJob>) => Promise<string>): Worker<TrialJob, string> {
  return new Worker<TrialJob, string>(QUEUE_NAME, process, {
    connection: queueConnection(url),
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
  });
}
