// The engine: one WebAssembly.Memory, its allocator, the kernel exports and their scratch space.
// Views into the memory are made fresh on every access, never cached, because growing the memory
// detaches every view on the old buffer.
import { Allocator } from "./allocator.js";
import { instantiateKernels, type KernelExports, type WasmVariant } from "./kernels.js";

const INITIAL_PAGES = 256; // 16 MiB: LeNet-300-100 training fits without growing
const MAXIMUM_PAGES = 32768; // 2 GiB

export class Engine {
  readonly allocator: Allocator;
  /** Scratch for sgemm (packed panels) and for magnitude selection (histogram, records, result). */
  readonly gemmWork: number;
  readonly selectWork: number;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly kernels: KernelExports,
    readonly variant: WasmVariant,
  ) {
    this.allocator = new Allocator(memory, Math.max(kernels.heapBase(), 1024));
    this.gemmWork = this.allocator.alloc(kernels.sgemmWorkspaceBytes());
    this.selectWork = this.allocator.alloc(kernels.selectWorkspaceBytes());
  }

  static async create(options: { variant?: WasmVariant | "auto"; initialPages?: number } = {}): Promise<Engine> {
    const memory = new WebAssembly.Memory({ initial: options.initialPages ?? INITIAL_PAGES, maximum: MAXIMUM_PAGES });
    const { kernels, variant } = await instantiateKernels(memory, options.variant ?? "auto");
    return new Engine(memory, kernels, variant);
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }
  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, length);
  }
  u32(offset: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, offset, length);
  }
  u8(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }
}

let current: Engine | undefined;
let pending: Promise<Engine> | undefined;

/**
 * Loads the WebAssembly kernels. Await it once before using tensors. Safe to call repeatedly.
 * `variant` forces the plain-SIMD or relaxed-SIMD binary; the default picks relaxed SIMD only
 * where the runtime validates it.
 */
export function ready(options: { variant?: WasmVariant | "auto" } = {}): Promise<Engine> {
  if (current && (!options.variant || options.variant === "auto" || options.variant === current.variant)) {
    return Promise.resolve(current);
  }
  if (pending && !options.variant) return pending;
  pending = Engine.create(options).then((e) => (current = e));
  return pending;
}

/** The loaded engine; throws a clear error if `ready()` has not finished. */
export function engine(): Engine {
  if (!current) throw new Error("winning-ticket is not initialised: `await ready()` before creating tensors");
  return current;
}
