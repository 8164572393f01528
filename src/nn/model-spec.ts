// A model as plain JSON: an input shape and a sequence of layers. This file holds the spec's
// types and reads a spec from untrusted JSON, naming the field that is wrong; the layer types
// themselves (their shapes and parameters) live in layer-types.ts.

export interface LinearSpec {
  type: "linear";
  outputs: number;
  name?: string;
}

export interface Conv2dSpec {
  type: "conv2d";
  outputs: number;
  /** Square kernel size. */
  kernel: number;
  stride?: number;
  /** Zero padding on every side, or "same" (kernel − 1) / 2 for odd kernels at stride 1. */
  padding?: number | "same";
  name?: string;
}

export interface MaxPool2dSpec {
  type: "maxPool2d";
  size: number;
  /** Defaults to the window size. */
  stride?: number;
  name?: string;
}

export interface ReluSpec {
  type: "relu";
  name?: string;
}

export interface FlattenSpec {
  type: "flatten";
  name?: string;
}

export type LayerSpec = LinearSpec | Conv2dSpec | MaxPool2dSpec | ReluSpec | FlattenSpec;
export type LayerType = LayerSpec["type"];
export type SpecOf<T extends LayerType> = Extract<LayerSpec, { type: T }>;

export interface ModelSpec {
  /** One example's shape, channels first: [1, 28, 28], or [784] for a flat vector. */
  input: number[];
  layers: LayerSpec[];
  /** The output layer's name, when it is not the last layer with weights. */
  output?: string;
}

/** One example's activation between layers: a flat vector, or an image with channels. */
export type ActivationShape = { kind: "vector"; features: number } | { kind: "image"; channels: number; height: number; width: number };

export function shapeOf(dims: readonly number[]): ActivationShape {
  if (dims.length === 1) return { kind: "vector", features: dims[0] };
  if (dims.length === 3) return { kind: "image", channels: dims[0], height: dims[1], width: dims[2] };
  throw new Error(`input shape [${dims.join(", ")}] must be [features] or [channels, height, width]`);
}

export function describeShape(s: ActivationShape): string {
  return s.kind === "vector" ? `a vector of ${s.features}` : `an image [${s.channels}, ${s.height}, ${s.width}]`;
}

export function sizeOf(s: ActivationShape): number {
  return s.kind === "vector" ? s.features : s.channels * s.height * s.width;
}

const LAYER_FIELDS: { [T in LayerType]: { required: string[]; optional: string[] } } = {
  linear: { required: ["outputs"], optional: ["name"] },
  conv2d: { required: ["outputs", "kernel"], optional: ["stride", "padding", "name"] },
  maxPool2d: { required: ["size"], optional: ["stride", "name"] },
  relu: { required: [], optional: ["name"] },
  flatten: { required: [], optional: ["name"] },
};

const isPositiveInteger = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;

/**
 * Reads a ModelSpec from parsed JSON, checking every field's type (`source` names the file in
 * errors). Shapes are checked when the model is described (describeModel), which names the layer.
 */
export function parseModelSpec(json: unknown, source: string): ModelSpec {
  const fail = (where: string, problem: string): never => {
    throw new Error(`${source}: ${where}: ${problem}`);
  };
  if (!json || typeof json !== "object" || Array.isArray(json)) fail("model spec", 'must be a JSON object with "input" and "layers"');
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!["input", "layers", "output"].includes(key)) fail(key, "unknown field (a model spec has input, layers and output)");
  if (!Array.isArray(o.input) || !(o.input.length === 1 || o.input.length === 3) || !o.input.every(isPositiveInteger)) {
    fail("input", `must be [features] or [channels, height, width] of positive integers, got ${JSON.stringify(o.input)}`);
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0) fail("layers", "must be a non-empty array of layers");
  const layers = (o.layers as unknown[]).map((l, i): LayerSpec => {
    const where = `layers[${i}]`;
    if (!l || typeof l !== "object" || Array.isArray(l)) return fail(where, 'must be an object with a "type"');
    const layer = l as Record<string, unknown>;
    const type = layer.type;
    if (typeof type !== "string" || !(type in LAYER_FIELDS)) {
      return fail(`${where}.type`, `unknown layer type ${JSON.stringify(type)} (choose ${Object.keys(LAYER_FIELDS).join(", ")})`);
    }
    const fields = LAYER_FIELDS[type as LayerType];
    for (const key of Object.keys(layer)) {
      if (key !== "type" && !fields.required.includes(key) && !fields.optional.includes(key)) fail(`${where} (${type})`, `unknown field "${key}"`);
    }
    for (const key of fields.required) if (!(key in layer)) fail(`${where} (${type})`, `missing "${key}"`);
    for (const key of ["outputs", "kernel", "size", "stride"]) {
      if (key in layer && !isPositiveInteger(layer[key])) fail(`${where}.${key} (${type})`, `must be a positive integer, got ${JSON.stringify(layer[key])}`);
    }
    if ("padding" in layer && layer.padding !== "same" && !(typeof layer.padding === "number" && Number.isInteger(layer.padding) && layer.padding >= 0)) {
      fail(`${where}.padding (${type})`, `must be a non-negative integer or "same", got ${JSON.stringify(layer.padding)}`);
    }
    if ("name" in layer && (typeof layer.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(layer.name))) {
      fail(`${where}.name (${type})`, `must be an identifier (letters, digits, _), got ${JSON.stringify(layer.name)}`);
    }
    return layer as unknown as LayerSpec;
  });
  if ("output" in o && typeof o.output !== "string") fail("output", `must be a layer name, got ${JSON.stringify(o.output)}`);
  return { input: o.input as number[], layers, ...(typeof o.output === "string" ? { output: o.output } : {}) };
}
