// Shared by the trust tests: the CLI run asynchronously under a time limit, a few at a time, and
// the checks every failure must pass (exit 1 or 2, one line, no stack, no internal error).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { TICKET_BIN } from "./helpers.js";

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export const tinyFind = ["--hidden", "8", "--train-subset", "600", "--validation", "200", "--iterations", "30", "--eval-every", "10", "--quiet"];

export const scratch = (name = "trust"): string => mkdtempSync(join(tmpdir(), `wt-${name}-`));

/** Runs `ticket` in a child process; kills it with SIGKILL after `timeoutMs` (then status is null). */
export function ticketAsync(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TICKET_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs jobs at most `width` at a time (two cores are shared), in order of the results. */
export async function inPool<T, R>(items: T[], width: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

const INTERNAL = /TypeError|ReferenceError|RangeError|Cannot read propert|is not a function|is not iterable|undefined|\[object Object\]/;

/** A message a user may see: one line, no stack frame, no JavaScript internals. */
export function expectCleanMessage(message: string, label: string): void {
  expect(message.trim().split("\n"), `${label}: one line`).toHaveLength(1);
  expect(message, `${label}: no stack`).not.toMatch(/\n\s+at /);
  expect(message, `${label}: no internal error`).not.toMatch(INTERNAL);
}

/** A failed command: exit 1 or 2 (as given), within its time limit, one clean line on stderr matching `pattern`. */
export function expectCleanFailure(r: CliRun, pattern: RegExp, label: string, status?: 1 | 2): void {
  expect(r.signal, `${label}: finished within its time limit (${r.stderr})`).toBeNull();
  if (status) expect(r.status, `${label}: exit code (${r.stderr})`).toBe(status);
  else expect([1, 2], `${label}: exit code (${r.stderr})`).toContain(r.status);
  expect(r.stderr, label).toMatch(/^ticket: /);
  expectCleanMessage(r.stderr, label);
  expect(r.stderr, label).toMatch(pattern);
}

export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
