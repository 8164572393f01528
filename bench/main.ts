// `npm run bench -- <name...> [--json]`: runs the named benchmarks (all when none is named),
// prints a table per benchmark, or with --json one JSON document on stdout.
import { ready } from "../src/index.js";
import { enableRelaxedSimd } from "../src/node/relaxed-simd.js";
import { benchAccuracy, printAccuracy } from "./accuracy.js";
import { benchConv, printConv } from "./conv.js";
import { benchGemm, printGemm } from "./gemm.js";
import { machine } from "./harness.js";
import { benchSelect, printSelect } from "./select.js";
import { benchSparse, printSparse } from "./sparse.js";
import { benchSweep, printSweep } from "./sweep.js";
import { benchTrain, printTrain } from "./train.js";

type Bench = { run: () => Record<string, unknown> | Promise<Record<string, unknown>>; print: (r: never) => void };

const benches: Record<string, Bench> = {
  gemm: { run: benchGemm, print: printGemm },
  select: { run: benchSelect, print: printSelect },
  train: { run: () => benchTrain({ iterations: numberFlag("--iterations") }), print: printTrain },
  sparse: { run: () => benchSparse({ iterations: numberFlag("--iterations") }), print: printSparse },
  accuracy: { run: () => benchAccuracy({ iterations: numberFlag("--iterations") }), print: printAccuracy },
  conv: { run: () => benchConv({ iterations: numberFlag("--iterations") }), print: printConv },
  sweep: { run: () => benchSweep({ iterations: numberFlag("--iterations") }), print: printSweep },
};

const args = process.argv.slice(2);
function numberFlag(name: string): number | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
}
const json = args.includes("--json");
const names = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1] === "--iterations"));
for (const name of names) {
  if (!(name in benches)) {
    console.error(`bench: unknown benchmark "${name}"; choose from: ${Object.keys(benches).join(", ")}`);
    process.exit(2);
  }
}
// the benchmarks measure what the CLI runs: relaxed SIMD (FMA) where it validates, unless --wasm simd
enableRelaxedSimd();
await ready({ variant: args.includes("--wasm-simd") ? "simd" : "auto" });
const report: Record<string, unknown> = { machine: machine(), benchmarks: {} };
for (const name of names.length ? names : Object.keys(benches)) {
  const result = await benches[name].run();
  (report.benchmarks as Record<string, unknown>)[name] = result;
  if (!json) benches[name].print(result as never);
}
if (json) console.log(JSON.stringify(report, null, 2));
