// The core smoke test, run unchanged in Node, Deno and Bun: train a tiny MLP on synthetic
// images, run two rounds of the lottery (prune, rewind to θ0, retrain), and check the results.
// Uses only the portable library entry: no file system, no Node built-ins.
import { allExamples, DensePixels, engine, findTicket, Model, mlpSpec, PAPER_TRAINING, paperRates, Random, ready } from "../../dist/index.js";

function syntheticDigits(count, seed) {
  // four classes of 8×8 images: a bright row, column, diagonal or border, plus noise
  const rng = new Random(seed);
  const images = new Uint8Array(count * 64);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = rng.int(4);
    labels[n] = label;
    const at = rng.int(6) + 1;
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        const on = label === 0 ? r === at : label === 1 ? c === at : label === 2 ? r === c : r === 0 || c === 0 || r === 7 || c === 7;
        images[n * 64 + r * 8 + c] = Math.min(255, (on ? 200 : 0) + rng.int(60));
      }
    }
  }
  return { name: "synthetic", pixels: new DensePixels(images, count, 64), labels, count, features: 64, shape: [64], classes: 4 };
}

await ready();
const train = allExamples(syntheticDigits(1200, 1));
const validation = allExamples(syntheticDigits(300, 2));
const test = allExamples(syntheticDigits(300, 3));
const spec = mlpSpec(64, [32, 16], 4);
const checkpoints = [];
const state = await findTicket(
  { train, validation, test },
  {
    spec,
    train: { ...PAPER_TRAINING, iterations: 200, evalEvery: 50, testCurve: false },
    seed: 0,
    strategy: "layerwise",
    layerRates: paperRates(spec, 0.5, 0.3),
    globalRate: 0.5,
    rounds: 2,
    rewind: 0,
    controls: ["reinit"],
  },
  { onRoundDone: (_s, c) => checkpoints.push(c) },
);

const theta0 = new Model(spec, 0).snapshot();
const rewoundToTheta0 = checkpoints.every((c) => [...c.theta0].every(([name, v]) => v.every((x, i) => Object.is(x, theta0.get(name)[i]))));
const tickets = state.results.filter((r) => r.arm === "ticket");
const summary = {
  runtime: typeof Deno !== "undefined" ? `deno ${Deno.version.deno}` : typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`,
  variant: engine().variant,
  rounds: tickets.map((r) => ({ remaining: Number(r.remaining.toFixed(4)), testAccuracy: r.earlyStopTestAccuracy })),
  rewoundToTheta0,
};
console.log(JSON.stringify(summary));
if (!rewoundToTheta0) throw new Error("smoke: θ0 was not restored bit for bit");
// fc1 2048 → 512 and fc2 512 → 128 weights (50% per round), fc3 64 → 45 → 31 (30% per round)
const expected = [1, (1024 + 256 + 45) / 2624, (512 + 128 + 31) / 2624];
if (tickets.length !== 3 || tickets.some((r, i) => Math.abs(r.remaining - expected[i]) > 1e-12)) throw new Error("smoke: wrong pruned fractions");
for (const r of tickets)
  if (!(r.earlyStopTestAccuracy > 0.9)) throw new Error(`smoke: accuracy ${r.earlyStopTestAccuracy} at ${r.remaining} remaining is too low`);
