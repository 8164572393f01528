// Opens the built page in Debian's chromium (driven by playwright-core; never a downloaded
// browser), starts a tiny search, waits for finished rounds, checks the accuracy and saves a
// screenshot to test-artifacts/web-page.png.

import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const DIST = join(ROOT, "web", "dist");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

let server: Server;
let browser: Browser;
let url: string;

beforeAll(async () => {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("web/dist is missing: run `npm run web:build` first (npm run test:browser does)");
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  server = createServer((req, res) => {
    const path = normalize(join(DIST, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    const file = path.startsWith(DIST) && existsSync(path) && statSync(path).isFile() ? path : join(DIST, "index.html");
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe("the web page", () => {
  it("runs a tiny lottery search in a worker and reports sane accuracy", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    await page.fill("#rounds", "2");
    await page.fill("#iterations", "300");
    await page.fill("#eval-every", "50");
    await page.click("#start");
    // the page stays responsive while the worker trains
    await page.waitForSelector("body[data-runs-done]", { timeout: 120_000 });
    expect(await page.evaluate(() => 1 + 1)).toBe(2);
    await page.waitForSelector("body[data-state='done']", { timeout: 240_000 });
    const rows = await page.$$eval("#results tbody tr", (trs) =>
      trs.map((tr) => ({
        arm: (tr as HTMLElement).dataset.arm,
        round: Number((tr as HTMLElement).dataset.round),
        accuracy: Number((tr as HTMLElement).dataset.accuracy),
      })),
    );
    expect(rows.map((r) => `${r.arm}${r.round}`)).toEqual(["ticket0", "ticket1", "reinit1", "ticket2", "reinit2"]);
    for (const r of rows) expect(r.accuracy).toBeGreaterThan(0.85);
    expect(await page.textContent("#status")).toMatch(/^Done: 2 pruning rounds done/);
    mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-artifacts", "web-page.png"), fullPage: true });
    expect(errors).toEqual([]);
  });

  it("runs a convolutional network (LeNet-5) from the model picker", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    await page.selectOption("#model", "lenet-5");
    await page.fill("#rounds", "1");
    await page.fill("#iterations", "200");
    await page.fill("#eval-every", "100");
    await page.click("#start");
    await page.waitForSelector("body[data-state='done']", { timeout: 240_000 });
    const accuracies = await page.$$eval("#results tbody tr", (trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.accuracy)));
    expect(accuracies.length).toBe(3);
    for (const a of accuracies) expect(a).toBeGreaterThan(0.7);
    expect(errors).toEqual([]);
  });

  it("can stop a run", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.fill("#iterations", "5000");
    await page.click("#start");
    await page.waitForFunction(() => (document.getElementById("status")?.textContent ?? "").startsWith("Round 0"), undefined, { timeout: 60_000 });
    await page.click("#stop");
    expect(await page.textContent("#status")).toMatch(/^Stopped after 0 finished runs/);
    expect(await page.isEnabled("#start")).toBe(true);
  });
});
