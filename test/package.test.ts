// The package as users get it: `npm pack`, installed into an empty project, used through its
// exports map (library, Node entry, types) and its `ticket` binary.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const npm = (args: string[], cwd: string): string => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 });

describe("npm pack", () => {
  it("installs into an empty project and works there", () => {
    const packDir = mkdtempSync(join(tmpdir(), "wt-pack-"));
    // dist/ is already built by `npm ci`; skip the prepare script here
    npm(["pack", "--ignore-scripts", "--pack-destination", packDir], ROOT);
    const tarball = readdirSync(packDir).find((f) => f.endsWith(".tgz"))!;
    const project = mkdtempSync(join(tmpdir(), "wt-user-"));
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user", version: "1.0.0", type: "module", private: true }));
    npm(["install", "--no-audit", "--no-fund", "--prefer-offline", join(packDir, tarball)], project);
    const script = `
      import { ready, tensor, matmul, sum, engine } from "winning-ticket";
      import { loadMnistDir } from "winning-ticket/node";
      await ready();
      const w = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
      const loss = sum(matmul(w, w));
      loss.backward();
      const { train } = loadMnistDir();
      console.log(JSON.stringify({ loss: loss.item(), grad: w.grad.toArray(), variant: engine().variant, images: train.count }));
    `;
    writeFileSync(join(project, "use.mjs"), script);
    const out = JSON.parse(execFileSync(process.execPath, ["use.mjs"], { cwd: project, encoding: "utf8" }));
    expect(out).toMatchObject({
      loss: 54,
      grad: [
        [7, 11],
        [9, 13],
      ],
      images: 60000,
    });
    const help = spawnSync(join(project, "node_modules", ".bin", "ticket"), ["--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/find a winning ticket/);
    // types ship with it
    expect(readdirSync(join(project, "node_modules", "winning-ticket", "dist")).includes("index.d.ts")).toBe(true);
  });
});
