import { mulberry32 } from '../random';

/**
 * A one-layer LSTM (Hochreiter & Schmidhuber 1997; gates as in Gers et al. 2000, forget-gate bias
 * 1) read over a sequence, whose last hidden state goes through a dense layer and a sigmoid: the
 * g_z network of dPL (Tsai et al. 2021) mapping a cell's forcing and response history to its
 * parameters in (0, 1). Written over typed arrays with exact backpropagation through time.
 */
export interface Lstm {
  nIn: number;
  hidden: number;
  nOut: number;
  /** [nIn x 4H], [H x 4H], [4H] for gates i, f, g, o; then the head [H x nOut], [nOut]. */
  wx: Float64Array;
  wh: Float64Array;
  b: Float64Array;
  wo: Float64Array;
  bo: Float64Array;
}

export function buildLstm(nIn: number, hidden: number, nOut: number, seed: number): Lstm {
  const rand = mulberry32(seed);
  const u = (n: number, a: number) => Float64Array.from({ length: n }, () => (2 * rand() - 1) * a);
  const H = hidden;
  const b = new Float64Array(4 * H);
  for (let j = H; j < 2 * H; j++) b[j] = 1; // forget gate open at start (Gers et al. 2000)
  return {
    nIn,
    hidden: H,
    nOut,
    wx: u(nIn * 4 * H, Math.sqrt(6 / (nIn + 4 * H))),
    wh: u(H * 4 * H, Math.sqrt(6 / (5 * H))),
    b,
    wo: u(H * nOut, Math.sqrt(6 / (H + nOut))),
    bo: new Float64Array(nOut),
  };
}

export const lstmParams = (n: Lstm) => [n.wx, n.wh, n.b, n.wo, n.bo];

const sig = (z: number) => 1 / (1 + Math.exp(-z));

/** Activations kept for the backward pass. */
export interface LstmTape {
  batch: number;
  steps: number;
  x: Float64Array;
  /** Gate activations per step [steps][batch][4H] (i, f, g, o after their nonlinearity). */
  gates: Float64Array;
  /** Cell and hidden states after each step [steps + 1][batch][H] (slot 0: zeros). */
  c: Float64Array;
  h: Float64Array;
  out: Float64Array;
}

/** Runs the LSTM over `x` ([batch][steps][nIn], row-major) and the head: outputs [batch x nOut] in (0, 1). */
export function lstmForward(n: Lstm, x: Float64Array, batch: number, steps: number): LstmTape {
  const H = n.hidden;
  const G = 4 * H;
  const gates = new Float64Array(steps * batch * G);
  const c = new Float64Array((steps + 1) * batch * H);
  const h = new Float64Array((steps + 1) * batch * H);
  const z = new Float64Array(G);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < batch; i++) {
      z.set(n.b);
      const xo = (i * steps + t) * n.nIn;
      for (let k = 0; k < n.nIn; k++) {
        const xv = x[xo + k]!;
        if (xv === 0) continue;
        const row = k * G;
        for (let j = 0; j < G; j++) z[j]! += xv * n.wx[row + j]!;
      }
      const hp = (t * batch + i) * H;
      for (let k = 0; k < H; k++) {
        const hv = h[hp + k]!;
        if (hv === 0) continue;
        const row = k * G;
        for (let j = 0; j < G; j++) z[j]! += hv * n.wh[row + j]!;
      }
      const go = (t * batch + i) * G;
      const cn = ((t + 1) * batch + i) * H;
      for (let j = 0; j < H; j++) {
        const ig = sig(z[j]!);
        const fg = sig(z[H + j]!);
        const gg = Math.tanh(z[2 * H + j]!);
        const og = sig(z[3 * H + j]!);
        gates[go + j] = ig;
        gates[go + H + j] = fg;
        gates[go + 2 * H + j] = gg;
        gates[go + 3 * H + j] = og;
        const cv = fg * c[hp + j]! + ig * gg;
        c[cn + j] = cv;
        h[cn + j] = og * Math.tanh(cv);
      }
    }
  }
  const out = new Float64Array(batch * n.nOut);
  const last = steps * batch * H;
  for (let i = 0; i < batch; i++)
    for (let o = 0; o < n.nOut; o++) {
      let s = n.bo[o]!;
      for (let k = 0; k < H; k++) s += h[last + i * H + k]! * n.wo[k * n.nOut + o]!;
      out[i * n.nOut + o] = sig(s);
    }
  return { batch, steps, x, gates, c, h, out };
}

/** Backpropagation through time: gradients of every weight given dLoss/dOutput ([batch x nOut]). */
export function lstmBackward(n: Lstm, tape: LstmTape, gOut: Float64Array): Float64Array[] {
  const { batch, steps, x, gates, c, h, out } = tape;
  const H = n.hidden;
  const G = 4 * H;
  const gwx = new Float64Array(n.wx.length);
  const gwh = new Float64Array(n.wh.length);
  const gb = new Float64Array(n.b.length);
  const gwo = new Float64Array(n.wo.length);
  const gbo = new Float64Array(n.bo.length);
  const dh = new Float64Array(batch * H);
  const dc = new Float64Array(batch * H);
  const last = steps * batch * H;
  for (let i = 0; i < batch; i++)
    for (let o = 0; o < n.nOut; o++) {
      const y = out[i * n.nOut + o]!;
      const dz = gOut[i * n.nOut + o]! * y * (1 - y);
      gbo[o]! += dz;
      for (let k = 0; k < H; k++) {
        gwo[k * n.nOut + o]! += h[last + i * H + k]! * dz;
        dh[i * H + k]! += n.wo[k * n.nOut + o]! * dz;
      }
    }
  const dz = new Float64Array(G);
  for (let t = steps - 1; t >= 0; t--) {
    for (let i = 0; i < batch; i++) {
      const go = (t * batch + i) * G;
      const cp = (t * batch + i) * H;
      const cn = ((t + 1) * batch + i) * H;
      for (let j = 0; j < H; j++) {
        const ig = gates[go + j]!;
        const fg = gates[go + H + j]!;
        const gg = gates[go + 2 * H + j]!;
        const og = gates[go + 3 * H + j]!;
        const tc = Math.tanh(c[cn + j]!);
        const dhv = dh[i * H + j]!;
        const dcv = dc[i * H + j]! + dhv * og * (1 - tc * tc);
        dz[j] = dcv * gg * ig * (1 - ig);
        dz[H + j] = dcv * c[cp + j]! * fg * (1 - fg);
        dz[2 * H + j] = dcv * ig * (1 - gg * gg);
        dz[3 * H + j] = dhv * tc * og * (1 - og);
        dc[i * H + j] = dcv * fg;
      }
      for (let j = 0; j < G; j++) gb[j]! += dz[j]!;
      const xo = (i * steps + t) * n.nIn;
      for (let k = 0; k < n.nIn; k++) {
        const xv = x[xo + k]!;
        if (xv === 0) continue;
        const row = k * G;
        for (let j = 0; j < G; j++) gwx[row + j]! += xv * dz[j]!;
      }
      for (let k = 0; k < H; k++) {
        const hv = h[cp + k]!;
        const row = k * G;
        let s = 0;
        for (let j = 0; j < G; j++) {
          if (hv !== 0) gwh[row + j]! += hv * dz[j]!;
          s += n.wh[row + j]! * dz[j]!;
        }
        dh[i * H + k] = s;
      }
    }
  }
  return [gwx, gwh, gb, gwo, gbo];
}
