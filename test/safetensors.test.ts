import { describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from "../src/io/safetensors.js";
import { Random } from "../src/random.js";

const sample = (): Map<string, { shape: number[]; data: Float32Array }> =>
  new Map([
    ["a/w", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6]) }],
    ["b", { shape: [1], data: Float32Array.from([0.5]) }],
  ]);

describe("safetensors", () => {
  it("round-trips tensors and metadata, with 8-byte aligned data", () => {
    const bytes = encodeSafetensors(sample(), { round: "3" });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(bytes, "x.safetensors");
    expect(metadata).toEqual({ round: "3" });
    expect(tensors.get("a/w")).toEqual(sample().get("a/w"));
    expect(tensors.get("b")).toEqual(sample().get("b"));
  });

  it("every truncation and random corruption is a SafetensorsError naming the file", () => {
    const bytes = encodeSafetensors(sample());
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeSafetensors(bytes.subarray(0, n), "t.safetensors")).toThrow(SafetensorsError);
    }
    const rng = new Random(9);
    for (let trial = 0; trial < 300; trial++) {
      const damaged = bytes.slice();
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      damaged[rng.int(8 + headerLength)] = rng.int(256);
      try {
        decodeSafetensors(damaged, "t.safetensors");
      } catch (error) {
        expect(error).toBeInstanceOf(SafetensorsError);
        expect((error as Error).message).toMatch(/^t\.safetensors: /);
      }
    }
  });

  it("rejects overlapping ranges, offsets past the end and wrong sizes", () => {
    const build = (header: object, dataBytes: number): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + json.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() =>
      decodeSafetensors(build({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, 12), "o"),
    ).toThrow("o: corrupt header: tensors a and b overlap");
    expect(() => decodeSafetensors(build({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8), "o")).toThrow(
      "o: truncated: tensor a ends at byte 16 of the data, but the file holds only 8 data bytes",
    );
    expect(() => decodeSafetensors(build({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8), "o")).toThrow(
      "o: corrupt header: tensor a of shape [3] needs 12 bytes, offsets give 8",
    );
    expect(() => decodeSafetensors(build({ a: { dtype: "F16", shape: [1], data_offsets: [0, 2] } }, 2), "o")).toThrow(
      "o: tensor a has dtype F16; only F32 is supported",
    );
  });
});
