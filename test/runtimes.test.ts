// The portable core in every JavaScript runtime we can run here, and proof that it stays portable.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const SMOKE = join(ROOT, "test", "runtimes", "smoke.mjs");
const bin = (name: string): string => join(ROOT, "node_modules", ".bin", name);

const runtimes: [string, string, string[]][] = [
  ["node", process.execPath, [SMOKE]],
  ["deno", bin("deno"), ["run", "--allow-read", SMOKE]],
  ["bun", bin("bun"), [SMOKE]],
];

describe("the core smoke test in each runtime", () => {
  for (const [name, exe, args] of runtimes) {
    it(name, () => {
      expect(existsSync(exe), `${name} is a devDependency; npm ci installs it`).toBe(true);
      const r = spawnSync(exe, args, { encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
      expect(summary.runtime.startsWith(name)).toBe(true);
      expect(summary.rewoundToTheta0).toBe(true);
      expect(summary.rounds.length).toBe(3);
    });
  }
});

describe("portability of the library entry", () => {
  it("nothing reachable from dist/index.js imports a Node built-in", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:import|export)\s[^"']*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2];
        expect(spec.startsWith("node:") || /^(fs|path|os|url|worker_threads|child_process|module|zlib)$/.test(spec), `${file} imports ${spec}`).toBe(false);
        if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      }
    };
    visit(join(ROOT, "dist", "index.js"));
    expect(seen.size).toBeGreaterThan(15);
  });
});
