import { mulberry32 } from '../random';

/** A fully connected network with tanh hidden layers and a sigmoid output in (0, 1). */
export interface Mlp {
  sizes: number[];
  /** weights[l] is sizes[l] x sizes[l+1], row-major; biases[l] has sizes[l+1] values. */
  weights: Float64Array[];
  biases: Float64Array[];
}

/** Glorot-uniform initialisation (Glorot & Bengio 2010), reproducible from a seed. */
export function buildMlp(sizes: number[], seed: number): Mlp {
  const rand = mulberry32(seed);
  const weights: Float64Array[] = [];
  const biases: Float64Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const a = Math.sqrt(6 / (sizes[l]! + sizes[l + 1]!));
    weights.push(Float64Array.from({ length: sizes[l]! * sizes[l + 1]! }, () => (2 * rand() - 1) * a));
    biases.push(new Float64Array(sizes[l + 1]!));
  }
  return { sizes, weights, biases };
}

/** Forward pass over a batch (rows of `x`); keeps the activations for {@link mlpBackward}. */
export function mlpForward(
  net: Mlp,
  x: Float64Array,
  batch: number,
): { out: Float64Array; acts: Float64Array[] } {
  const acts: Float64Array[] = [x];
  let a = x;
  const L = net.weights.length;
  for (let l = 0; l < L; l++) {
    const nin = net.sizes[l]!;
    const nout = net.sizes[l + 1]!;
    const w = net.weights[l]!;
    const b = net.biases[l]!;
    const z = new Float64Array(batch * nout);
    for (let i = 0; i < batch; i++) {
      for (let j = 0; j < nout; j++) {
        let s = b[j]!;
        for (let k = 0; k < nin; k++) s += a[i * nin + k]! * w[k * nout + j]!;
        z[i * nout + j] = l === L - 1 ? 1 / (1 + Math.exp(-s)) : Math.tanh(s);
      }
    }
    acts.push(z);
    a = z;
  }
  return { out: a, acts };
}

/** Backward pass: gradients of the weights and biases given dLoss/dOutput (sigmoid outputs). */
export function mlpBackward(
  net: Mlp,
  acts: Float64Array[],
  gOut: Float64Array,
  batch: number,
): { gw: Float64Array[]; gb: Float64Array[] } {
  const L = net.weights.length;
  const gw = net.weights.map((w) => new Float64Array(w.length));
  const gb = net.biases.map((b) => new Float64Array(b.length));
  let g = gOut;
  for (let l = L - 1; l >= 0; l--) {
    const nin = net.sizes[l]!;
    const nout = net.sizes[l + 1]!;
    const aOut = acts[l + 1]!;
    const aIn = acts[l]!;
    const w = net.weights[l]!;
    // through the activation: sigmoid' = s(1-s), tanh' = 1 - t²
    const dz = Float64Array.from(
      g,
      (v, i) => v * (l === L - 1 ? aOut[i]! * (1 - aOut[i]!) : 1 - aOut[i]! * aOut[i]!),
    );
    const gIn = new Float64Array(batch * nin);
    for (let i = 0; i < batch; i++) {
      for (let j = 0; j < nout; j++) {
        const d = dz[i * nout + j]!;
        if (d === 0) continue;
        gb[l]![j]! += d;
        for (let k = 0; k < nin; k++) {
          gw[l]![k * nout + j]! += aIn[i * nin + k]! * d;
          gIn[i * nin + k]! += w[k * nout + j]! * d;
        }
      }
    }
    g = gIn;
  }
  return { gw, gb };
}
