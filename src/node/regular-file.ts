// Reading a whole file only when it is a regular file of bounded size (Node only). The path is
// checked by its stats first and again on the descriptor, which is opened non-blocking: a FIFO or
// device in its place is refused at once instead of blocking the read forever.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { describeFsError } from "./atomic-write.js";
import { kindOf } from "./run-folder.js";

const grouped = (n: number): string => n.toLocaleString("en-US");

/** Throws unless `stats` are a regular file's of at most `limit` bytes. */
export function checkRegularFile(path: string, stats: Stats, limit: number, what: string): void {
  if (!stats.isFile()) throw new Error(`${path}: is ${kindOf(stats)}, not a regular file (a ${what} must be one)`);
  if (stats.size > limit) {
    throw new Error(`${path}: ${grouped(stats.size)} bytes is too large for a ${what} (at most ${grouped(limit)} bytes); refused unread`);
  }
}

/** The stats of `path`, or an error naming it. */
export function statFile(path: string, what: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw describeFsError(path, `read the ${what}`, error);
  }
}

/** Opens a regular file for reading (non-blocking, so nothing else swapped in can hang); returns the descriptor and its stats. */
export function openRegularFile(path: string, limit: number, what: string): { fd: number; stats: Stats } {
  checkRegularFile(path, statFile(path, what), limit, what);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw describeFsError(path, `read the ${what}`, error);
  }
  try {
    const stats = fstatSync(fd);
    checkRegularFile(path, stats, limit, what);
    return { fd, stats };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Reads a whole regular file of at most `limit` bytes (never more than its checked size, even if it grows). */
export function readRegularFile(path: string, limit: number, what: string): Uint8Array {
  const { fd, stats } = openRegularFile(path, limit, what);
  try {
    const bytes = new Uint8Array(stats.size);
    let got = 0;
    while (got < bytes.length) {
      let r: number;
      try {
        r = readSync(fd, bytes, got, bytes.length - got, got);
      } catch (error) {
        throw describeFsError(path, `read the ${what}`, error);
      }
      if (r === 0) throw new Error(`${path}: file shrank while being read`);
      got += r;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
