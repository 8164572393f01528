// A sweep through a real Redis (Debian's redis-server, started here on 127.0.0.1 with a free port
// and a temporary directory): two `ticket worker` processes take the trials, one is killed in the
// middle of a trial, its trial is retried by the other, every trial completes exactly once, and
// sweep.json equals the local sweep's. No mocks: BullMQ's Lua scripts run on the real server.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { QUEUE_NAME } from "../src/node/trial-queue.js";
import { TICKET_BIN, runTicket as ticket, tinyFindFlags } from "./helpers.js";

const REDIS = "/usr/bin/redis-server";
const haveRedis = existsSync(REDIS);
const find = tinyFindFlags(60, 20, "reinit");
const sweepArgs = ["--prune-rate", "0.2,0.5", "--seeds", "0,1", ...find];
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [TICKET_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c) => (output += String(c)));
  child.stderr!.on("data", (c) => (output += String(c)));
  children.push(child);
  return Object.assign(child, { output: () => output });
}

/** The child's exit code, or "still running" after `ms` (so a hang fails with the children's output, not a bare timeout). */
const exited = (child: ChildProcess, ms = 45_000): Promise<number | null | "still running"> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => resolve("still running"), ms);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

describe.skipIf(!haveRedis)("a sweep on BullMQ over a real Redis", () => {
  it("two workers, one killed mid-trial: every trial completes once, with the local sweep's results", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wt-queue-"));
    const port = await freePort();
    const redis = spawn(REDIS, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    children.push(redis);
    const url = `redis://127.0.0.1:${port}/0`;
    for (let i = 0; i < 100 && spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout?.trim() !== "PONG"; i++)
      await new Promise((r) => setTimeout(r, 50));

    const local = join(dir, "local");
    expect(ticket("sweep", ...sweepArgs, "--quiet", "--out", local).status).toBe(0);

    const queued = join(dir, "queued");
    const sweep = start(["sweep", ...sweepArgs, "--queue", url, "--out", queued]);
    const first = start(["worker", "--queue", url, "--lock-ms", "2000"]);
    // kill the first worker while it holds a trial
    const queue = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port, maxRetriesPerRequest: null } });
    for (let i = 0; i < 600 && (await queue.getActiveCount()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await queue.getActiveCount()).toBe(1);
    await new Promise((r) => setTimeout(r, 150));
    first.kill("SIGKILL");
    await exited(first);
    const second = start(["worker", "--queue", url, "--lock-ms", "2000", "--exit-when-idle", "3"]);
    const outputs = (): string => `sweep:\n${sweep.output()}\nfirst worker:\n${first.output()}\nsecond worker:\n${second.output()}`;
    expect(await exited(sweep), outputs()).toBe(0);
    expect(await exited(second), outputs()).toBe(0);

    const strip = (path: string) => {
      const j = JSON.parse(readFileSync(path, "utf8"));
      return { rows: j.rows, answers: j.answers, trials: j.trials };
    };
    expect(strip(join(queued, "sweep.json"))).toEqual(strip(join(local, "sweep.json")));
    // each trial completed exactly once, none failed; the killed worker's trial was retried and finished by the second
    expect(await queue.getCompletedCount()).toBe(4);
    expect(await queue.getFailedCount()).toBe(0);
    expect(second.output().match(/finished /g)!.length + first.output().split("finished ").length - 1).toBe(4);
    await queue.close();

    // clear errors: a wrong URL, an unreachable server, a queue holding another sweep's trials
    expect(ticket("worker", "--queue", "http://127.0.0.1:1/0").stderr).toMatch(/--queue must look like redis:\/\/HOST:PORT\/DB/);
    const unreachable = ticket("sweep", ...sweepArgs, "--queue", `redis://127.0.0.1:${await freePort()}/0`, "--out", join(dir, "nowhere"));
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach Redis \(ECONNREFUSED\)/);
    const other = start(["sweep", ...sweepArgs, "--queue", `redis://127.0.0.1:${port}/1`, "--out", join(dir, "other")]);
    const q1 = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port, db: 1, maxRetriesPerRequest: null } });
    for (let i = 0; i < 300 && (await q1.getWaitingCount()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const clash = ticket("sweep", ...sweepArgs, "--queue", `redis://127.0.0.1:${port}/1`, "--out", join(dir, "clash"));
    expect(clash.stderr).toMatch(/the queue holds 4 unfinished trials of another sweep/);
    other.kill("SIGKILL");
    await q1.close();
    redis.kill("SIGTERM");
  });
});
