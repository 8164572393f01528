// The folder a command writes into (Node only): checked before any data is loaded or any training
// starts (a folder or creatable, writable, on a file system that answers), locked by one process
// at a time, and cleaned of a killed run's temporary files.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { linkSync, lstatSync, readdirSync, readFileSync, renameSync, rmdirSync, type Stats, statfsSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describeFsError, removeLeftoverTempFiles } from "./atomic-write.js";

export const LOCK_FILE = "ticket.lock";
/** The files that mark a folder as holding a search (state first: it is what --resume reads). */
export const RUN_FILES = ["state.json", "results.json"];
const REPORT_FILES = ["results.csv", "accuracy.svg", "early-stop.svg"];

/** File systems of the kernel's own (statfs magic numbers): no place for output, and some hang on mkdir. */
const VIRTUAL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0x73636673, "securityfs"],
  [0x6e736673, "nsfs"],
  [0xcafe4a11, "bpf"],
]);
const VIRTUAL_ROOTS = ["/proc", "/sys", "/dev"];

export function kindOf(stats: Stats): string {
  if (stats.isFile()) return "a regular file";
  if (stats.isDirectory()) return "a directory";
  if (stats.isSymbolicLink()) return "a symbolic link";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "not a regular file";
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Checks that `dir` is a folder or can be made one, without touching it: not a file, not a
 * dangling symlink, not under a component that is a file, not on a virtual file system.
 */
export function checkFolderPath(dir: string, label: string): void {
  const own = lstatOrNull(dir);
  if (own?.isSymbolicLink()) {
    let target: Stats;
    try {
      target = statSync(dir);
    } catch {
      throw new Error(`${label}: is a dangling symbolic link (it points at nothing)`);
    }
    if (!target.isDirectory()) throw new Error(`${label}: is a symbolic link to ${kindOf(target)}, not a folder`);
  } else if (own && !own.isDirectory()) {
    throw new Error(`${label}: is ${kindOf(own)}, not a folder`);
  }
  // the nearest part of the path that exists must be a folder (where the rest will be made)
  let existing = resolve(dir);
  while (!lstatOrNull(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let stats: Stats;
  try {
    stats = statSync(existing);
  } catch {
    throw new Error(`${label}: ${existing} is a dangling symbolic link, so the folder cannot be made`);
  }
  if (!stats.isDirectory()) throw new Error(`${label}: ${existing} is ${kindOf(stats)}, so the folder cannot be made in it`);
  const fileSystem = VIRTUAL_FILE_SYSTEMS.get(Number(statfsSync(existing).type));
  const root = VIRTUAL_ROOTS.find((r) => existing === r || existing.startsWith(`${r}/`));
  if (fileSystem || root) throw new Error(`${label}: is on the kernel's ${fileSystem ?? root} file system, not a place for output files`);
}

// Run in a child process, so a file system that never answers cannot hang this one: make the
// folder, create, flush and remove a probe file; print the error code if any step fails.
const PROBE_SCRIPT = `
const fs = require("node:fs"), path = require("node:path");
const dir = process.argv[1];
try {
  fs.mkdirSync(dir, { recursive: true });
  const probe = path.join(dir, ".ticket-probe." + process.pid + "." + Date.now() + ".tmp");
  const fd = fs.openSync(probe, "wx");
  try { fs.writeSync(fd, "probe"); fs.fsyncSync(fd); } finally { fs.closeSync(fd); fs.unlinkSync(probe); }
  process.stdout.write("ok");
} catch (e) {
  process.stdout.write(JSON.stringify({ code: e.code ?? null, message: String(e.message) }));
}`;

/** Makes `dir` and writes and removes a probe file in it, within `timeoutMs` (a hung file system is reported, not waited for). */
export function probeWritable(dir: string, label: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["-e", PROBE_SCRIPT, dir], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      child.unref();
      reject(new Error(`${label}: the file system does not answer (making the folder and a probe file in it took more than ${timeoutMs / 1000} s)`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${label}: cannot check the folder (${error.message})`));
    });
    child.on("close", () => {
      clearTimeout(timer);
      if (out === "ok") return resolvePromise();
      let failure: { code: string | null; message: string } = { code: null, message: "the check ended without an answer" };
      try {
        failure = JSON.parse(out);
      } catch {
        // killed or crashed: keep the generic message
      }
      reject(describeFsError(label, "write into this folder", Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {})));
    });
  });
}

/**
 * Checks `dir` by its path, then makes it and proves it writable in bounded time. Returns a
 * function that removes the folders this made, if still empty (for a command that then fails on
 * its flags, so it leaves nothing behind).
 */
export async function prepareOutputFolder(dir: string, label = dir, timeoutMs?: number): Promise<() => void> {
  checkFolderPath(dir, label);
  const made: string[] = [];
  for (let missing = resolve(dir); !lstatOrNull(missing) && dirname(missing) !== missing; missing = dirname(missing)) made.push(missing);
  await probeWritable(dir, label, timeoutMs);
  return () => {
    for (const folder of made) {
      try {
        rmdirSync(folder);
      } catch {
        return; // no longer empty (or gone): keep it and its parents
      }
    }
  };
}

interface LockHolder {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux), to tell a reused pid from the holder. */
  startTicks: number | null;
}

function startTicksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the command name, which is in brackets and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]);
  } catch {
    return null;
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const holder = JSON.parse(readFileSync(path, "utf8"));
    return Number.isSafeInteger(holder?.pid) && holder.pid > 0 ? holder : null;
  } catch {
    return null;
  }
}

/** Whether the lock's holder may still be running (a process on another host is assumed to be). */
function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const ticks = startTicksOf(holder.pid);
  return !(ticks !== null && holder.startTicks !== null && ticks !== holder.startTicks);
}

export interface RunLock {
  path: string;
  release(): void;
}

/**
 * Locks a run folder for this process: `ticket.lock` holds the pid, made visible whole and at
 * once (written aside, then hard-linked into place, which fails if a lock exists). A lock whose
 * process is gone is taken over: it is renamed aside first (only one process can), and put back
 * if what was moved turns out to be another process's fresh lock.
 */
export function lockRunFolder(dir: string): RunLock {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), startTicks: startTicksOf(process.pid) };
  const mine = JSON.stringify(me);
  for (let attempt = 0; attempt < 5; attempt++) {
    const candidate = `${path}.${randomBytes(8).toString("hex")}.tmp`;
    try {
      writeFileSync(candidate, mine, { flag: "wx" });
      linkSync(candidate, path);
      const lock: RunLock = {
        path,
        release() {
          process.off("exit", lock.release);
          try {
            if (readFileSync(path, "utf8") === mine) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
      process.on("exit", lock.release);
      return lock;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && lstatOrNull(dir)?.isDirectory()) continue; // the candidate was cleaned away by the lock's holder: try again
      if (code !== "EEXIST") throw describeFsError(path, "create the lock", error);
    } finally {
      try {
        unlinkSync(candidate);
      } catch {
        // not made
      }
    }
    const holder = readHolder(path);
    if (holder && holderAlive(holder)) {
      throw new Error(
        `${dir}: in use by another ticket run (process ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ""} holds ${path}; if it is not running, remove that file)`,
      );
    }
    takeOverStaleLock(path, holder);
  }
  throw new Error(`${path}: could not take the lock (other processes kept taking it)`);
}

function takeOverStaleLock(path: string, seen: LockHolder | null): void {
  const aside = `${path}.stale-${randomBytes(8).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // another process moved it first
  }
  const moved = readHolder(aside);
  if (moved && JSON.stringify(moved) !== JSON.stringify(seen) && holderAlive(moved)) {
    // a live process's lock replaced the stale one meanwhile: put it back
    try {
      linkSync(aside, path);
    } catch {
      // a third process locked meanwhile; it keeps the folder
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // gone
  }
}

/** The file that shows `dir` holds a search, if any. */
export function existingRunFile(dir: string): string | null {
  return RUN_FILES.find((name) => lstatOrNull(join(dir, name))) ?? null;
}

/** Removes a search's state, reports and checkpoints (state first: a kill midway leaves nothing to resume by mistake). */
export function clearRun(dir: string): void {
  const checkpoints = join(dir, "checkpoints");
  let rounds: string[] = [];
  try {
    rounds = readdirSync(checkpoints).filter((name) => /^round-\d+\.safetensors$/.test(name));
  } catch {
    // no checkpoints
  }
  for (const path of [...RUN_FILES, ...REPORT_FILES].map((name) => join(dir, name)).concat(rounds.map((name) => join(checkpoints, name)))) {
    const stats = lstatOrNull(path);
    if (!stats || stats.isDirectory()) continue;
    try {
      unlinkSync(path);
    } catch (error) {
      throw describeFsError(path, "remove the earlier run's file", error);
    }
  }
}

/** Removes leftover temporary files of a killed run in a run folder and its checkpoints/. */
export function cleanRunFolder(dir: string): string[] {
  return removeLeftoverTempFiles([dir, join(dir, "checkpoints")]);
}

/** Locks a checked run folder and removes a killed run's temporary files from it. */
export function lockAndClean(dir: string): RunLock {
  const lock = lockRunFolder(dir);
  try {
    cleanRunFolder(dir);
  } catch (error) {
    lock.release();
    throw error;
  }
  return lock;
}

/** Opens an existing run folder to continue its search: checked (by path, then a bounded probe), locked and cleaned. */
export async function openRunFolderToResume(dir: string, label: string, timeoutMs?: number): Promise<RunLock> {
  if (!lstatOrNull(dir)) throw new Error(`${dir}: nothing to resume (no such folder)`);
  await prepareOutputFolder(dir, label, timeoutMs);
  return lockAndClean(dir);
}
