// A progress bar on stderr (cli-progress), silent when quiet or when stderr is not a terminal
// (then a line every few seconds instead, so logs stay readable). cli-progress is loaded only
// when a bar is drawn: importing it costs ~5 MB of memory that quiet runs need not pay.

export interface Progress {
  start(total: number, label: string): void;
  update(done: number, fields: Record<string, string>): void;
  log(line: string): void;
  stop(): void;
}

export async function makeProgress(quiet: boolean): Promise<Progress> {
  if (quiet) return { start() {}, update() {}, log() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let lastLogged = 0;
    return {
      start(_total, label) {
        process.stderr.write(`${label}\n`);
        lastLogged = Date.now();
      },
      update(done, fields) {
        if (Date.now() - lastLogged < 5000) return;
        lastLogged = Date.now();
        process.stderr.write(
          `  ${Object.entries({ done: String(done), ...fields })
            .map(([k, v]) => `${k} ${v}`)
            .join("  ")}\n`,
        );
      },
      log(line) {
        process.stderr.write(`${line}\n`);
      },
      stop() {},
    };
  }
  // SingleBar renders synchronously on update(): training blocks the event loop, so a
  // timer-driven bar would never be drawn.
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format: "{label} [{bar}] {percentage}% | loss {loss} | val acc {valAcc} | ETA {eta_formatted}",
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 500,
      synchronousUpdate: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let fields: Record<string, string> = { label: "", loss: "-", valAcc: "-" };
  return {
    start(total, label) {
      fields = { ...fields, label };
      if (!started) {
        bar.start(total, 0, fields);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(fields);
      }
    },
    update(done, f) {
      fields = { ...fields, ...f };
      bar.update(done, fields);
    },
    log(line) {
      // clear the bar's line, print above it, redraw
      process.stderr.write(`\r\x1b[K${line}\n`);
      if (started) bar.render();
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
