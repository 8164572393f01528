import { ready } from "../src/index.js";
import { benchConvLayers } from "../bench/conv.js";
await ready({ variant: "auto" });
const r = benchConvLayers();
console.log("peak", r.peakGflops.toFixed(1));
for (const row of r.layerRows) console.log(JSON.stringify(row));
