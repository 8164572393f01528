// Runs one sweep trial: the real `ticket find` in a worker thread of this process, on one kernel
// thread, in its own folder (resuming it when it holds a saved round). A worker thread dies with
// its process, so a killed sweep or queue worker leaves no orphaned trial running.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { compiledWorkerUrl } from "./worker-url.js";

const CLI_URL = compiledWorkerUrl("../cli/main.js", import.meta.url);

export interface TrialOutcome {
  ok: boolean;
  /** The last line the trial printed on failure (its error), else empty. */
  message: string;
}

/** Runs `find` with `args` in `folder`; calls onProgress with its completed rounds as they land. */
export async function runTrial(folder: string, args: string[], onProgress?: (completedRounds: number) => void): Promise<TrialOutcome> {
  const { Worker } = await import("node:worker_threads");
  const resumable = existsSync(join(folder, "state.json"));
  if (!resumable) rmSync(folder, { recursive: true, force: true }); // killed before its first round: nothing to keep
  const argv = resumable ? ["find", "--resume", folder, "--threads", "1", "--quiet"] : ["find", ...args, "--threads", "1", "--quiet", "--out", folder];
  let reported = -1;
  const poll = setInterval(() => {
    const rounds = completedRounds(folder);
    if (rounds <= reported) return;
    reported = rounds;
    onProgress?.(rounds);
  }, 500);
  try {
    return await new Promise((resolve) => {
      const worker = new Worker(CLI_URL, { argv, stderr: true, stdout: true });
      let stderr = "";
      worker.stderr.on("data", (chunk) => (stderr += String(chunk)));
      worker.stdout.resume();
      worker.on("error", (error) => resolve({ ok: false, message: error.message }));
      worker.on("exit", (code) => resolve({ ok: code === 0, message: code === 0 ? "" : (stderr.trim().split("\n").at(-1) ?? `exit code ${code}`) }));
    });
  } finally {
    clearInterval(poll);
  }
}

/** Rounds a trial's folder holds complete (0 before its first checkpoint). */
export function completedRounds(folder: string): number {
  try {
    return JSON.parse(readFileSync(join(folder, "state.json"), "utf8")).state.completedRounds ?? 0;
  } catch {
    return 0;
  }
}

/** A finished trial's results.json text, or null while it is unfinished. */
export function finishedResults(folder: string): string | null {
  const path = join(folder, "results.json");
  if (!existsSync(path)) return null;
  const text = readFileSync(path, "utf8");
  try {
    return (JSON.parse(text) as { finished?: boolean }).finished ? text : null;
  } catch {
    return null;
  }
}
