// The IDX format (LeCun's MNIST files): a big-endian header — two zero bytes, an element type,
// the number of dimensions — then one u32 per dimension, then the elements. Every field is
// checked against the actual byte length, so a damaged file is named and explained, never read
// past its end.

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dims: number[];
  type: "u8" | "i8" | "i16" | "i32" | "f32" | "f64";
  data: IdxData;
}

const TYPES: Record<number, { type: IdxArray["type"]; size: number }> = {
  0x08: { type: "u8", size: 1 },
  0x09: { type: "i8", size: 1 },
  0x0b: { type: "i16", size: 2 },
  0x0c: { type: "i32", size: 4 },
  0x0d: { type: "f32", size: 4 },
  0x0e: { type: "f64", size: 8 },
};

export class IdxError extends Error {
  constructor(
    readonly source: string,
    problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = "IdxError";
  }
}

export interface IdxHeader {
  dims: number[];
  type: IdxArray["type"];
  /** Bytes per element. */
  size: number;
  headerBytes: number;
}

/**
 * Reads an IDX header from the file's first bytes (at least 4 + 4·rank of them) and returns it
 * with the exact length the file must have, without knowing the file's length (as for a stream).
 */
export function readIdxHeader(bytes: Uint8Array, source: string): IdxHeader & { expectedLength: number } {
  if (bytes.length < 4) throw new IdxError(source, `not an IDX file: ${bytes.length} bytes is shorter than the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError(
      source,
      `not an IDX file: magic number 0x${magic.toString(16).padStart(8, "0")} must start with two zero bytes (is it gzip-compressed? unpack it first)`,
    );
  }
  const kind = TYPES[bytes[2]];
  if (!kind)
    throw new IdxError(source, `unknown IDX element type 0x${bytes[2].toString(16).padStart(2, "0")} in magic number 0x${magic.toString(16).padStart(8, "0")}`);
  const rank = bytes[3];
  if (rank === 0) throw new IdxError(source, "IDX header declares 0 dimensions");
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new IdxError(source, `truncated header: ${rank} dimensions need ${headerBytes} header bytes, file has ${bytes.length}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  return { dims, type: kind.type, size: kind.size, headerBytes, expectedLength: headerBytes + count * kind.size };
}

/**
 * Parses and checks an IDX header from the file's first bytes (at least 4 + 4·rank of them)
 * against the file's total length.
 */
export function parseIdxHeader(bytes: Uint8Array, totalLength: number, source: string): IdxHeader {
  if (totalLength < 4 || bytes.length < 4) throw new IdxError(source, `not an IDX file: ${totalLength} bytes is shorter than the 4-byte magic number`);
  if (bytes.length >= 4 && totalLength < 4 + 4 * bytes[3] && bytes[0] === 0 && bytes[1] === 0 && TYPES[bytes[2]] && bytes[3] !== 0) {
    throw new IdxError(source, `truncated header: ${bytes[3]} dimensions need ${4 + 4 * bytes[3]} header bytes, file has ${totalLength}`);
  }
  const { expectedLength: expected, ...header } = readIdxHeader(bytes, source);
  const { dims, type } = header;
  if (totalLength < expected) {
    throw new IdxError(source, `truncated: dimensions [${dims.join(", ")}] of ${type} need ${expected} bytes, file has ${totalLength}`);
  }
  if (totalLength > expected) {
    throw new IdxError(
      source,
      `${totalLength - expected} unexpected bytes after the data: dimensions [${dims.join(", ")}] of ${type} need exactly ${expected} bytes`,
    );
  }
  return header;
}

/** Parses IDX bytes; `source` (a file name) is named in every error. u8 data is not copied. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const { dims, type, headerBytes } = parseIdxHeader(bytes, bytes.length, source);
  const kind = { type };
  const count = dims.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(headerBytes);
  let data: IdxData;
  switch (kind.type) {
    case "u8":
      data = body;
      break;
    case "i8":
      data = new Int8Array(body.buffer, body.byteOffset, count);
      break;
    default: {
      const bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
      const read = {
        i16: (i: number) => bodyView.getInt16(2 * i),
        i32: (i: number) => bodyView.getInt32(4 * i),
        f32: (i: number) => bodyView.getFloat32(4 * i),
        f64: (i: number) => bodyView.getFloat64(8 * i),
      }[kind.type];
      const out =
        kind.type === "i16"
          ? new Int16Array(count)
          : kind.type === "i32"
            ? new Int32Array(count)
            : kind.type === "f32"
              ? new Float32Array(count)
              : new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = read(i);
      data = out;
    }
  }
  return { dims, type: kind.type, data };
}
