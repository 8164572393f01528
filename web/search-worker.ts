// The lottery search, off the page's thread: loads the MNIST subset (IDX files served beside
// the page), runs findTicket and reports progress. The page stops a run by terminating this worker.
import { allExamples, datasetFromIdx, findTicket, namedModel, PAPER_TRAINING, paperRates, Random, ready, splitValidation } from "../src/index.js";
import type { FromWorker, StartSearch } from "./messages.js";

const post = (m: FromWorker): void => postMessage(m);

async function fetchBytes(base: string, name: string): Promise<Uint8Array> {
  const response = await fetch(new URL(name, base));
  if (!response.ok) throw new Error(`could not load ${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function run(request: StartSearch): Promise<void> {
  post({ type: "loading" });
  const engine = await ready();
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    fetchBytes(request.dataUrl, "train-images-idx3-ubyte"),
    fetchBytes(request.dataUrl, "train-labels-idx1-ubyte"),
    fetchBytes(request.dataUrl, "t10k-images-idx3-ubyte"),
    fetchBytes(request.dataUrl, "t10k-labels-idx1-ubyte"),
  ]);
  const trainFile = datasetFromIdx("train", trainImages, "train-images-idx3-ubyte", trainLabels, "train-labels-idx1-ubyte");
  const test = datasetFromIdx("test", testImages, "t10k-images-idx3-ubyte", testLabels, "t10k-labels-idx1-ubyte");
  const { train, validation } = splitValidation(trainFile, 1000, new Random(0, 2));
  const total = request.iterations * (1 + request.rounds * (1 + request.controls.length));
  post({ type: "started", variant: engine.variant, total, trainExamples: train.indices.length });
  const model = namedModel(request.model);
  if (!model) throw new Error(`unknown model ${request.model}`);
  const spec = model.spec(trainFile.shape, trainFile.classes);
  const state = await findTicket(
    { train, validation, test: allExamples(test) },
    {
      spec,
      model: model.name,
      train: { ...PAPER_TRAINING, lr: model.protocol.lr, iterations: request.iterations, evalEvery: request.evalEvery, testCurve: false },
      seed: 0,
      strategy: "layerwise",
      // the page's rate is the hidden layers'; the output layer and convolutions lose half as much, as in the paper
      layerRates: paperRates(spec, request.rate, request.rate / 2, request.rate / 2),
      globalRate: request.rate,
      rounds: request.rounds,
      rewind: 0,
      controls: request.controls,
    },
    {
      onProgress: (p) => {
        if (p.iteration % 10 === 0) post({ type: "progress", arm: p.arm, round: p.round, iteration: p.iteration, loss: p.loss, done: p.done, total: p.total });
      },
      onRunDone: (r) =>
        post({
          type: "run",
          result: {
            arm: r.arm,
            round: r.round,
            remaining: r.remaining,
            earlyStopTestAccuracy: r.earlyStopTestAccuracy,
            earlyStopIteration: r.earlyStopIteration,
            stepsPerSecond: r.stepsPerSecond,
          },
        }),
    },
  );
  post({ type: "done", stopReason: state.stopReason });
}

self.onmessage = (event: MessageEvent<StartSearch>) => {
  run(event.data).catch((error: Error) => post({ type: "error", message: error.message }));
};
