// Weight initialisation, drawn from the seeded PRNG so a seed fixes θ0.
import type { Random } from "../random.js";

/**
 * Glorot (Xavier) normal: N(0, 2 / (fanIn + fanOut)), as in the Lottery Ticket paper; `count`
 * values (fanIn · fanOut for a matrix; a convolution's fans include its kernel area).
 */
export function glorotNormal(rng: Random, fanIn: number, fanOut: number, count = fanIn * fanOut): Float32Array {
  const std = Math.sqrt(2 / (fanIn + fanOut));
  const out = new Float32Array(count);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  return out;
}
