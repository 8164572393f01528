// A progress bar on stderr (cli-progress), silent when quiet or when stderr is not a terminal
// (then a line per evaluation instead, so logs stay readable).
import cliProgress from "cli-progress";

export interface Progress {
  start(total: number, label: string): void;
  update(done: number, fields: Record<string, string>): void;
  log(line: string): void;
  stop(): void;
}

export function makeProgress(quiet: boolean): Progress {
  if (quiet) return { start() {}, update() {}, log() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let lastLogged = 0;
    return {
      start(_total, label) { process.stderr.write(`${label}\n`); lastLogged = Date.now(); },
      update(done, fields) {
        if (Date.now() - lastLogged < 5000) return;
        lastLogged = Date.now();
        process.stderr.write(`  ${Object.entries({ done: String(done), ...fields }).map(([k, v]) => `${k} ${v}`).join("  ")}\n`);
      },
      log(line) { process.stderr.write(`${line}\n`); },
      stop() {},
    };
  }
  const multibar = new cliProgress.MultiBar({
    format: "{label} [{bar}] {percentage}% | loss {loss} | val acc {valAcc} | ETA {eta_formatted}",
    hideCursor: true,
    stream: process.stderr,
    etaBuffer: 500,
    fps: 5,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(total, label) { bar = multibar.create(total, 0, { label, loss: "-", valAcc: "-" }); },
    update(done, fields) { bar?.update(done, fields); },
    log(line) { multibar.log(`${line}\n`); },
    stop() { multibar.stop(); },
  };
}
