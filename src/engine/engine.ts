// The engine: one WebAssembly.Memory, its allocator, the kernel exports and their scratch space,
// and (optionally) a pool of kernel threads over that memory. Views into the memory are made
// fresh on every access, never cached, because growing the memory detaches (or, when shared,
// outgrows) every view on the old buffer.
import { Allocator } from "./allocator.js";
import { compileSharedKernels, instantiateKernels, type KernelExports, type WasmVariant } from "./kernels.js";
import { SLOT_BYTES, type SpawnWorker, ThreadPool, type WorkerInit } from "./thread-pool.js";

const INITIAL_PAGES = 256; // 16 MiB: LeNet-300-100 training fits without growing
const MAXIMUM_PAGES = 32768; // 2 GiB
/**
 * Work smaller than this many flops runs on one thread: waking a worker would cost more. Measured
 * on two threads: 400k trains a 21%-dense LeNet ~19% faster than 1M did (Adam over fc1's 50k
 * surviving weights and fc2's sparse products now split); 200k and 100k were no faster.
 */
const PARALLEL_FLOPS = 400_000;
/** A·Bᵀ with at most this many outputs and at least this depth runs as row dot products (see sgemmDot). */
const DOT_OUTPUTS = 4096;
const DOT_DEPTH = 512;

export interface EngineOptions {
  /** Force the plain-SIMD or relaxed-SIMD binary; the default picks relaxed SIMD where it validates. */
  variant?: WasmVariant | "auto";
  /** Kernel threads including the caller (default 1). More than 1 needs `spawnWorker` and SharedArrayBuffer. */
  threads?: number;
  /** Starts one kernel worker (e.g. the Node entry's `spawnNodeWorker`). */
  spawnWorker?: SpawnWorker;
  initialPages?: number;
}

export class Engine {
  readonly allocator: Allocator;
  /** Scratch for sgemm (packed panels), one per thread, and for magnitude selection. */
  readonly gemmWork: number;
  readonly selectWork: number;
  private readonly threadGemmWork: number[];

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly kernels: KernelExports,
    readonly variant: WasmVariant,
    readonly pool: ThreadPool | null,
    allocator: Allocator,
    /** Why a request for threads fell back to one, if it did. */
    readonly threadNote: string | null,
  ) {
    this.allocator = allocator;
    this.gemmWork = this.allocator.alloc(kernels.sgemmWorkspaceBytes());
    this.selectWork = this.allocator.alloc(kernels.selectWorkspaceBytes());
    this.threadGemmWork = [this.gemmWork];
    for (let t = 1; t < this.threads; t++) this.threadGemmWork.push(this.allocator.alloc(kernels.sgemmWorkspaceBytes()));
  }

  get threads(): number {
    return this.pool ? this.pool.size : 1;
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    const initial = options.initialPages ?? INITIAL_PAGES;
    let note: string | null = null;
    if (threads > 1) {
      if (!options.spawnWorker) note = "no worker factory given";
      else if (typeof SharedArrayBuffer === "undefined") note = "SharedArrayBuffer is unavailable (browsers need cross-origin isolation)";
      if (!note) return Engine.createThreaded(threads, initial, options.spawnWorker!, options.variant ?? "auto");
    }
    const memory = new WebAssembly.Memory({ initial, maximum: MAXIMUM_PAGES });
    const { kernels, variant } = await instantiateKernels(memory, options.variant ?? "auto");
    return new Engine(
      memory,
      kernels,
      variant,
      null,
      new Allocator(memory, Math.max(kernels.heapBase(), 1024)),
      note ? `running on one thread: ${note}` : null,
    );
  }

  private static async createThreaded(threads: number, initial: number, spawn: SpawnWorker, prefer: WasmVariant | "auto"): Promise<Engine> {
    const memory = new WebAssembly.Memory({ initial, maximum: MAXIMUM_PAGES, shared: true });
    const { module, variant } = await compileSharedKernels(prefer);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const kernels = instance.exports as unknown as KernelExports;
    const allocator = new Allocator(memory, Math.max(kernels.heapBase(), 1024));
    const names = Object.keys(instance.exports).filter((n) => typeof instance.exports[n] === "function");
    const slots: number[] = [];
    const workers = [];
    for (let w = 1; w < threads; w++) {
      const slot = allocator.alloc(SLOT_BYTES);
      new Int32Array(memory.buffer, slot, SLOT_BYTES / 4).fill(0);
      slots.push(slot);
      const worker = spawn();
      const init: WorkerInit = { module, memory, slot, names };
      worker.postMessage(init);
      workers.push(worker);
    }
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (error) {
      workers.forEach((w) => w.terminate());
      throw new Error(`could not start kernel threads: ${(error as Error).message}`);
    }
    const pool = new ThreadPool(memory, workers, slots, names, instance.exports as Record<string, unknown>);
    return new Engine(memory, kernels, variant, pool, allocator, null);
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }
  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, length);
  }
  u16(offset: number, length: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, offset, length);
  }
  u32(offset: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, offset, length);
  }
  u8(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  /** Whether gemm runs this product as dot products of rows (sgemmDot) rather than packed panels. */
  takesDotProducts(transA: number, transB: number, m: number, n: number, k: number): boolean {
    return !transA && transB !== 0 && m * n <= DOT_OUTPUTS && k >= DOT_DEPTH;
  }

  /** C = op(A)·op(B) (or += when accumulating), split by columns across the threads. */
  gemm(transA: number, transB: number, m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number): void {
    if (this.takesDotProducts(transA, transB, m, n, k)) {
      // a small output summed over a long depth (a convolution's weight gradient): dot products, no packing
      this.parallel("sgemmDot", n, 4, 2 * m * n * k, (n0, n1) => [m, n, k, a, b, c, accumulate, n0, n1]);
      return;
    }
    this.packedGemm(transA, transB, m, n, k, a, b, c, accumulate);
  }

  /** gemm on packed panels whatever its shape (the path every product that is not dot products takes). */
  packedGemm(transA: number, transB: number, m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number): void {
    const parts = this.pool ? Math.min(this.threads, Math.floor(n / 8)) : 1;
    if (parts < 2 || 2 * m * n * k < PARALLEL_FLOPS) {
      this.kernels.sgemm(transA, transB, m, n, k, a, b, c, accumulate, this.gemmWork);
      return;
    }
    const bounds = splitAligned(n, parts, 8);
    this.pool!.run(
      "sgemmColumns",
      bounds.map(([n0, n1], t) => [transA, transB, m, n, k, a, b, c, accumulate, this.threadGemmWork[t], n0, n1]),
    );
  }

  /**
   * C = op(A)·B over the `liveCount` depths listed at `live` (sgemmLive: the same bits as the full
   * product when the other depths' terms are zero), split by columns across the threads.
   */
  gemmLive(transA: number, m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, live: number, liveCount: number): void {
    const parts = this.pool ? Math.min(this.threads, Math.floor(n / 8)) : 1;
    if (parts < 2 || 2 * m * n * liveCount < PARALLEL_FLOPS) {
      this.kernels.sgemmLive(transA, m, n, k, a, b, c, accumulate, this.gemmWork, 0, n, live, liveCount);
      return;
    }
    this.pool!.run(
      "sgemmLive",
      splitAligned(n, parts, 8).map(([n0, n1], t) => [transA, m, n, k, a, b, c, accumulate, this.threadGemmWork[t], n0, n1, live, liveCount]),
    );
  }

  /** Splits [0, n) into ranges for the threads (aligned), running `name` with `args(begin, end, part)` on each. */
  parallel(name: string, n: number, align: number, work: number, args: (begin: number, end: number, part: number) => number[]): void {
    const parts = this.pool && work >= PARALLEL_FLOPS ? Math.min(this.threads, Math.floor(n / align)) : 1;
    if (parts < 2) {
      (this.kernels as unknown as Record<string, (...a: number[]) => void>)[name](...args(0, n, 0));
      return;
    }
    this.pool!.run(
      name,
      splitAligned(n, parts, align).map(([b, e], part) => args(b, e, part)),
    );
  }

  /** The GEMM workspace for part `part` (< threads) of a parallel call: each thread has its own. */
  gemmWorkspace(part: number): number {
    return this.threadGemmWork[part];
  }

  /** Stops the kernel threads (a process can then exit). */
  shutdown(): void {
    this.pool?.terminate();
  }
}

/** [begin, end) ranges covering [0, n), each starting at a multiple of `align`. */
export function splitAligned(n: number, parts: number, align: number): [number, number][] {
  const blocks = Math.ceil(n / align);
  const out: [number, number][] = [];
  for (let p = 0; p < parts; p++) {
    const b = Math.min(n, Math.round((blocks * p) / parts) * align);
    const e = Math.min(n, Math.round((blocks * (p + 1)) / parts) * align);
    if (e > b) out.push([b, e]);
  }
  return out;
}

let current: Engine | undefined;
let pending: Promise<Engine> | undefined;

/**
 * Loads the WebAssembly kernels. Await it once before using tensors; later calls return the same
 * engine unless they ask for a different variant or thread count.
 */
export function ready(options: EngineOptions = {}): Promise<Engine> {
  const same = (e: Engine): boolean =>
    (!options.variant || options.variant === "auto" || options.variant === e.variant || `${options.variant}-threads` === e.variant) &&
    (options.threads === undefined || options.threads === e.threads || (options.threads > 1 && e.threadNote !== null));
  if (current && same(current)) return Promise.resolve(current);
  if (pending && !current && options.variant === undefined && options.threads === undefined) return pending;
  const previous = current;
  pending = Engine.create(options).then((e) => {
    previous?.shutdown();
    current = e;
    return e;
  });
  return pending;
}

/** The loaded engine, or undefined before `ready()` has finished. */
export function loadedEngine(): Engine | undefined {
  return current;
}

/** The loaded engine; throws a clear error if `ready()` has not finished. */
export function engine(): Engine {
  if (!current) throw new Error("winning-ticket is not initialised: `await ready()` before creating tensors");
  return current;
}
