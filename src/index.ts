// winning-ticket: the library entry. Runs unchanged in Node, browsers, Deno and Bun: it imports
// no Node built-ins and carries its WebAssembly inside.
export { ready, engine, Engine } from "./engine/engine.js";
export type { WasmVariant } from "./engine/kernels.js";
export { Tensor, tensor, zeros, type Shape } from "./autograd/tensor.js";
export { tidy, noGrad } from "./autograd/scope.js";
export { matmul, add, mul, scale, relu, sum, mean, crossEntropy } from "./autograd/ops.js";
