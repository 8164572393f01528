// TensorFlow.js with its WebAssembly backend (SIMD, XNNPACK), single-threaded: the peer that
// runs in the same JavaScript runtimes we do. Measured in the same process as our kernels.
import { createRequire, createRequire as createRequireForGradients } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";

// tfjs registers its gradients as a side effect of this CommonJS entry
createRequireForGradients(import.meta.url)("@tensorflow/tfjs-core/dist/register_all_gradients");

import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { loadMnistDir } from "../../src/node/mnist-files.js";
import { time } from "../harness.js";

let initialised = false;

/** The first `n` MNIST training images as [0, 1] floats (n × 784) and their labels, as the peers take them. */
export function mnistFloatImages(n: number): { images: Float32Array; labels: Int32Array } {
  const { train } = loadMnistDir();
  const images = new Float32Array(n * 784);
  const row = new Uint8Array(784);
  for (let r = 0; r < n; r++) {
    train.pixels.copyRow(r, row, 0);
    for (let i = 0; i < 784; i++) images[r * 784 + i] = row[i] / 255;
  }
  return { images, labels: Int32Array.from(train.labels.subarray(0, n)) };
}

export async function initTfjsWasm(): Promise<string> {
  if (!initialised) {
    const require = createRequire(import.meta.url);
    setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
    setThreadsCount(1);
    await tf.setBackend("wasm");
    await tf.ready();
    initialised = true;
  }
  return `tfjs-core ${tf.version_core}, backend ${tf.getBackend()}`;
}

/** Median ms of one op(A)·op(B) in TensorFlow.js (result read back, as a training step needs). */
export function tfjsMatmulMs(m: number, k: number, n: number, transA: boolean, transB: boolean): number {
  const a = tf.randomUniform(transA ? [k, m] : [m, k]);
  const b = tf.randomUniform(transB ? [n, k] : [k, n]);
  const t = time(
    () =>
      tf.tidy(() => {
        tf.matMul(a, b, transA, transB).dataSync();
      }),
    { runs: 7, targetMs: 100, warmupMs: 150 },
  );
  a.dispose();
  b.dispose();
  return t.medianMs;
}

/**
 * LeNet-300-100 training steps per second in TensorFlow.js: Glorot-normal weights, Adam 1.2e-3,
 * batch of 60 real MNIST images given as [0, 1] floats and integer labels.
 */
export function tfjsLenetStepsPerSecond(images: Float32Array, labels: Int32Array, batch: number, steps: number): number {
  const sizes = [784, 300, 100, 10];
  const vars = sizes
    .slice(1)
    .flatMap((out, i) => [tf.variable(tf.randomNormal([sizes[i], out], 0, Math.sqrt(2 / (sizes[i] + out)))), tf.variable(tf.zeros([out]))]);
  const optimizer = tf.train.adam(1.2e-3);
  const count = labels.length;
  const step = (s: number): void => {
    const start = (s * batch) % (count - batch);
    tf.tidy(() => {
      const x = tf.tensor2d(images.subarray(start * 784, (start + batch) * 784), [batch, 784]);
      const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + batch), "int32"), 10);
      const cost = optimizer.minimize(() => {
        let h: tf.Tensor = x;
        for (let l = 0; l < 3; l++) {
          h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
          if (l < 2) h = tf.relu(h);
        }
        return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
      }, true);
      cost?.dataSync();
    });
  };
  for (let s = 0; s < 20; s++) step(s);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) step(s);
  const seconds = (performance.now() - t0) / 1000;
  vars.forEach((v) => v.dispose());
  optimizer.dispose();
  return steps / seconds;
}

/**
 * LeNet-5 training steps/s in TensorFlow.js on `backend` ("wasm" or "cpu"), or the error it
 * raises: the wasm backend has no conv2d filter-gradient kernel, so it cannot train a conv net.
 */
export async function tfjsLenet5Training(
  backend: "wasm" | "cpu",
  images: Float32Array,
  labels: Int32Array,
  batch: number,
  steps: number,
): Promise<{ backend: string; stepsPerSecond?: number; error?: string }> {
  if (backend === "cpu") await import("@tensorflow/tfjs-backend-cpu");
  await tf.setBackend(backend);
  await tf.ready();
  const glorot = (shape: number[], fanIn: number, fanOut: number): tf.Variable => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / (fanIn + fanOut))));
  const vars = [
    glorot([5, 5, 1, 6], 25, 150),
    tf.variable(tf.zeros([6])),
    glorot([5, 5, 6, 16], 150, 400),
    tf.variable(tf.zeros([16])),
    glorot([256, 120], 256, 120),
    tf.variable(tf.zeros([120])),
    glorot([120, 84], 120, 84),
    tf.variable(tf.zeros([84])),
    glorot([84, 10], 84, 10),
    tf.variable(tf.zeros([10])),
  ];
  const optimizer = tf.train.adam(1.2e-3);
  const count = labels.length;
  const step = (s: number): void => {
    const start = (s * batch) % (count - batch);
    tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * 784, (start + batch) * 784), [batch, 28, 28, 1]);
      const y = tf.oneHot(tf.tensor1d(labels.subarray(start, start + batch), "int32"), 10);
      const cost = optimizer.minimize(() => {
        let h: tf.Tensor = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, vars[0] as tf.Tensor4D, 1, "valid"), vars[1])) as tf.Tensor4D, 2, 2, "valid");
        h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, vars[2] as tf.Tensor4D, 1, "valid"), vars[3])) as tf.Tensor4D, 2, 2, "valid");
        h = tf.reshape(h, [batch, 256]);
        h = tf.relu(tf.add(tf.matMul(h as tf.Tensor2D, vars[4] as tf.Tensor2D), vars[5]));
        h = tf.relu(tf.add(tf.matMul(h as tf.Tensor2D, vars[6] as tf.Tensor2D), vars[7]));
        return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h as tf.Tensor2D, vars[8] as tf.Tensor2D), vars[9])) as tf.Scalar;
      }, true);
      cost?.dataSync();
    });
  };
  try {
    for (let s = 0; s < 3; s++) step(s);
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) step(s);
    return { backend, stepsPerSecond: steps / ((performance.now() - t0) / 1000) };
  } catch (error) {
    return { backend, error: (error as Error).message.split("\n")[0] };
  } finally {
    vars.forEach((v) => v.dispose());
    optimizer.dispose();
    await tf.setBackend("wasm");
  }
}
