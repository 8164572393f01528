// A pool of kernel threads over one shared WebAssembly.Memory. Each worker instantiates the
// shared-memory kernel binary over the same memory and waits on its slot of a control block;
// the calling thread writes a kernel name and arguments there, wakes the workers, does its own
// share, and waits for theirs. Work is split so that every element is computed exactly as on one
// thread: results are bit-identical whatever the thread count.
//
// Only `Atomics` and `postMessage` are used, so the same code serves Node's worker_threads and
// browsers' Web Workers (which need cross-origin isolation for SharedArrayBuffer).

/** What the pool needs of a worker: a way to send it the init message and to learn it is ready. */
export interface WorkerHandle {
  postMessage(message: unknown): void;
  /** Resolves when the worker has instantiated the kernels; rejects on a worker error. */
  ready: Promise<void>;
  terminate(): void;
}

export type SpawnWorker = () => WorkerHandle;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of this worker's control slot. */
  slot: number;
  names: string[];
}

export const SLOT_BYTES = 256;
const MAX_ARGS = (SLOT_BYTES - 16) / 8;
const SPIN = 20_000;
// slot layout (int32 words): [0] job sequence (−1: exit), [1] finished sequence, [2] kernel index,
// [3] argument count; from byte 16: f64 arguments
const SEQ = 0,
  DONE = 1,
  FN = 2,
  NARGS = 3;

/** The loop a worker runs after instantiating the kernels (blocks its thread until told to exit). */
export function runWorkerLoop(memory: WebAssembly.Memory, exports: Record<string, unknown>, slot: number, names: string[]): void {
  let seen = 0;
  const base = slot >> 2;
  for (;;) {
    const words = new Int32Array(memory.buffer);
    let seq = Atomics.load(words, base + SEQ);
    for (let i = 0; seq === seen && i < SPIN; i++) seq = Atomics.load(words, base + SEQ);
    while (seq === seen) {
      Atomics.wait(words, base + SEQ, seen, 50);
      seq = Atomics.load(words, base + SEQ);
    }
    if (seq < 0) return;
    const fn = exports[names[Atomics.load(words, base + FN)]] as (...args: number[]) => void;
    const args = Array.from(new Float64Array(memory.buffer, slot + 16, Atomics.load(words, base + NARGS)));
    let status = seq;
    try {
      fn(...args);
    } catch {
      status = -seq; // reported to the caller as a failure
    }
    seen = seq;
    Atomics.store(words, base + DONE, status);
    Atomics.notify(words, base + DONE);
  }
}

export class ThreadPool {
  private sequence = 0;
  private readonly canBlock: boolean;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly workers: WorkerHandle[],
    private readonly slots: number[],
    private readonly names: string[],
    private readonly local: Record<string, unknown>,
  ) {
    // a browser's main thread may not block in Atomics.wait; it spins instead
    this.canBlock = typeof (globalThis as { document?: unknown }).document === "undefined";
  }

  /** Threads including the caller. */
  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs kernel `name` once per argument list, concurrently: the first list on this thread, the
   * others on the workers. Returns when all are done.
   */
  run(name: string, argLists: number[][]): void {
    const index = this.names.indexOf(name);
    if (index < 0) throw new Error(`thread pool: unknown kernel ${name}`);
    if (argLists.length > this.size) throw new Error(`thread pool: ${argLists.length} parts for ${this.size} threads`);
    const seq = ++this.sequence;
    let words = new Int32Array(this.memory.buffer);
    for (let w = 1; w < argLists.length; w++) {
      const args = argLists[w];
      if (args.length > MAX_ARGS) throw new Error(`thread pool: ${name} has more than ${MAX_ARGS} arguments`);
      const slot = this.slots[w - 1];
      new Float64Array(this.memory.buffer, slot + 16, args.length).set(args);
      Atomics.store(words, (slot >> 2) + FN, index);
      Atomics.store(words, (slot >> 2) + NARGS, args.length);
      Atomics.store(words, (slot >> 2) + SEQ, seq);
      Atomics.notify(words, (slot >> 2) + SEQ);
    }
    (this.local[name] as (...args: number[]) => void)(...argLists[0]);
    words = new Int32Array(this.memory.buffer);
    for (let w = 1; w < argLists.length; w++) {
      const at = (this.slots[w - 1] >> 2) + DONE;
      let done = Atomics.load(words, at);
      for (let i = 0; done !== seq && done !== -seq && i < SPIN; i++) done = Atomics.load(words, at);
      while (done !== seq && done !== -seq) {
        if (this.canBlock) Atomics.wait(words, at, done, 50);
        done = Atomics.load(words, at);
      }
      if (done === -seq) throw new Error(`thread pool: kernel ${name} failed in worker ${w}`);
    }
  }

  terminate(): void {
    const words = new Int32Array(this.memory.buffer);
    for (const slot of this.slots) {
      Atomics.store(words, (slot >> 2) + SEQ, -1);
      Atomics.notify(words, (slot >> 2) + SEQ);
    }
    for (const w of this.workers) w.terminate();
  }
}
