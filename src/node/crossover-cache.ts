// The timings behind the crossovers on disk (Node only), so a machine measures each layer shape
// once: one small JSON file per measurement under the user's cache folder, named by a hash of
// everything the measurement depends on (CPU model and cores, the engine binaries' build, the
// variant and threads, the layer's shape, batch and optimizer). The first process to write an
// entry wins: a hard link never replaces a file, so concurrent runs never use different values.
// A damaged entry is named in one warning and measured again; a cache that cannot be written
// only warns.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { cpus, homedir } from "node:os";
import { basename, join } from "node:path";
import { relaxedSimdBase64, sharedRelaxedSimdBase64, sharedSimdBase64, simdBase64 } from "../engine/wasm-bytes.generated.js";
import type { CrossoverStore, Timings } from "../train/crossover.js";
import { describeFsError, removeQuietly, syncDirectory } from "./atomic-write.js";
import { readRegularFile } from "./regular-file.js";

const ENTRY_FORMAT = "winning-ticket/crossover@1";
/** An entry is a few hundred bytes; anything much larger is not one. */
const MAX_ENTRY_BYTES = 64 * 1024;

/** `$XDG_CACHE_HOME/winning-ticket`, else the platform's user cache folder. */
export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return join(xdg, "winning-ticket");
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "winning-ticket");
  if (process.platform === "win32" && process.env.LOCALAPPDATA) return join(process.env.LOCALAPPDATA, "winning-ticket", "Cache");
  return join(homedir(), ".cache", "winning-ticket");
}

let engineBuild: string | undefined;

/** Changes whenever any kernel binary is rebuilt, so a new build measures afresh. */
function engineBuildId(): string {
  engineBuild ??= createHash("sha256")
    .update(simdBase64)
    .update(relaxedSimdBase64)
    .update(sharedSimdBase64)
    .update(sharedRelaxedSimdBase64)
    .digest("hex")
    .slice(0, 16);
  return engineBuild;
}

export class CrossoverCache implements CrossoverStore {
  /** Entries found damaged: replaced by the next measurement instead of being kept as the first writer's. */
  private readonly damaged = new Set<string>();
  private warnedUnwritable = false;

  constructor(
    /** The folder for entries (`crossovers/` under the user's cache folder by default). */
    readonly dir = join(defaultCacheDir(), "crossovers"),
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`warning: ${line}\n`),
  ) {}

  read(key: string): Timings | undefined {
    const { path, full } = this.entry(key);
    const found = entryValue(path, full);
    if (typeof found === "string") {
      this.damaged.add(path);
      this.warn(`${path}: ignored (${found}); measuring the crossover again`);
      return undefined;
    }
    return found;
  }

  write(key: string, timings: Timings): Timings {
    const { path, full } = this.entry(key);
    const text = `${JSON.stringify({ format: ENTRY_FORMAT, key: full, milliseconds: timings, measured: new Date().toISOString() }, null, 2)}\n`;
    let temp: string | undefined;
    try {
      mkdirSync(this.dir, { recursive: true });
      temp = join(this.dir, `${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
      writeSynced(temp, text);
      if (this.damaged.delete(path)) removeQuietly(path);
      try {
        linkSync(temp, path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EEXIST") return keptValue(path, full, timings); // another process measured first: its timings count
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw error;
        // a file system without hard links: a rename, unless an entry appeared meanwhile
        if (existsSync(path)) return keptValue(path, full, timings);
        renameSync(temp, path);
        temp = undefined;
      }
      syncDirectory(this.dir);
      return timings;
    } catch (error) {
      if (!this.warnedUnwritable) {
        this.warnedUnwritable = true;
        this.warn(`${describeFsError(this.dir, "keep measured crossovers", error).message}; this run measures them itself`);
      }
      return timings;
    } finally {
      if (temp) removeQuietly(temp);
    }
  }

  private entry(key: string): { path: string; full: string } {
    const cpu = cpus();
    const full = `cpu=${JSON.stringify(cpu[0]?.model ?? "unknown")} cores=${cpu.length} engine-build=${engineBuildId()} ${key}`;
    return { path: join(this.dir, `${createHash("sha256").update(full).digest("hex").slice(0, 32)}.json`), full };
  }
}

/** The entry's timings; undefined when there is none; what is wrong with it when it is damaged. */
function entryValue(path: string, full: string): Timings | undefined | string {
  if (!existsSync(path) && !isLink(path)) return undefined;
  let text: string;
  try {
    text = new TextDecoder().decode(readRegularFile(path, MAX_ENTRY_BYTES, "crossover cache entry"));
  } catch (error) {
    return (error as Error).message.replace(`${path}: `, "");
  }
  let json: { format?: unknown; key?: unknown; milliseconds?: unknown };
  try {
    json = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  const ms = json?.milliseconds;
  if (json?.format !== ENTRY_FORMAT || json.key !== full || typeof ms !== "object" || ms === null || Array.isArray(ms)) {
    return "not a crossover cache entry for this measurement";
  }
  const values = Object.values(ms);
  if (values.length === 0 || !values.every((v) => typeof v === "number" && Number.isFinite(v) && v > 0)) return "timings that are not positive numbers";
  return ms as Timings;
}

/** The timings another process kept first, or `ours` if that entry is unreadable. */
function keptValue(path: string, full: string, ours: Timings): Timings {
  const theirs = entryValue(path, full);
  return typeof theirs === "object" ? theirs : ours;
}

/** Writes a new file (never through a symlink or over a file) and flushes it to disk. */
function writeSynced(path: string, text: string): void {
  const fd = openSync(path, "wx", 0o644);
  try {
    const bytes = new TextEncoder().encode(text);
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
