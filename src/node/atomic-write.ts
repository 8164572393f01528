// Output is written to a temporary file beside the target and renamed over it, so a reader (or
// a crash) never sees a half-written file. The temporary file is created exclusively (O_EXCL:
// never through a symlink or over a file already there) under an unguessable name, flushed to
// disk before the rename, and the folder is flushed after it, so a finished file survives a
// power loss too. Every error names the target file and removes the temporary file.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Temporary files are `<name>.<16 hex digits>.tmp`: recognisable, so a killed run's leftovers can be cleaned. */
const TEMP_SUFFIX = ".tmp";
const TEMP_PATTERN = /\.[0-9a-f]{16}\.tmp$/;
/** The names of earlier versions (`<name>.<pid>.tmp`), cleaned as well. */
const OLD_TEMP_PATTERN = /\.\d+\.tmp$/;

const PLAIN_CODES: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "name too long",
  EIO: "input/output error",
  EEXIST: "already exists",
};

/** One line for a file system error: what failed on which file, and why in words (the code in brackets). */
export function describeFsError(path: string, action: string, error: unknown): Error {
  const e = error as NodeJS.ErrnoException;
  const why = e.code ? `${PLAIN_CODES[e.code] ?? e.message.split(",")[0]} (${e.code})` : e.message;
  return new Error(`${path}: cannot ${action}: ${why}`);
}

export function writeFileAtomic(path: string, contents: string | Uint8Array): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw describeFsError(path, `create its folder ${dir}`, error);
  }
  // renaming a file over a folder fails late and obscurely; say so first
  const existing = lstatOrNull(path);
  if (existing?.isDirectory()) throw new Error(`${path}: cannot write: is a directory (EISDIR)`);
  const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
  const temp = join(dir, `${basename(path)}.${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`);
  let fd: number;
  try {
    fd = openSync(temp, "wx", 0o644);
  } catch (error) {
    throw describeFsError(path, "write", error);
  }
  try {
    try {
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw describeFsError(path, "write", error);
  }
  syncDirectory(dir);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Flushes a folder's entries (the rename) to disk; file systems that cannot (some network ones) are skipped. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR/EPERM on file systems without directory fsync: the rename itself has happened
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Removes a file, if it is there. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Removes the temporary files a killed run left in `dirs` (only regular files and symlinks whose
 * names match; a symlink is removed itself, never what it points to). Returns their paths.
 */
export function removeLeftoverTempFiles(dirs: string[]): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!TEMP_PATTERN.test(name) && !OLD_TEMP_PATTERN.test(name)) continue;
      const path = join(dir, name);
      const stats = lstatOrNull(path);
      if (!stats || !(stats.isFile() || stats.isSymbolicLink())) continue;
      removeQuietly(path);
      removed.push(path);
    }
  }
  return removed;
}
