// What the page and the search worker say to each other.
export interface StartSearch {
  type: "start";
  /** A model of the registry (lenet-300-100 or lenet-5 on the page). */
  model: string;
  rounds: number;
  rate: number;
  iterations: number;
  evalEvery: number;
  controls: ("reinit" | "random")[];
  /** Where the MNIST subset's IDX files are served. */
  dataUrl: string;
}

export interface RunSummary {
  arm: "ticket" | "reinit" | "random";
  round: number;
  remaining: number;
  earlyStopTestAccuracy: number;
  earlyStopIteration: number;
  stepsPerSecond: number;
}

export type FromWorker =
  | { type: "loading" }
  | { type: "started"; variant: string; total: number; trainExamples: number }
  | { type: "progress"; arm: string; round: number; iteration: number; loss: number; done: number; total: number }
  | { type: "run"; result: RunSummary }
  | { type: "done"; stopReason: string | null }
  | { type: "error"; message: string };
