import { cpus } from "node:os";

export function runtimeInfo(): { runtime: string; platform: string; cpu: string } {
  return { runtime: `node ${process.version}`, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? "unknown" };
}
