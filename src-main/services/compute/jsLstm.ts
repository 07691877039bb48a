import { FUSED } from './fusedLayers';
import { vals, type CpuBackend, type TensorInfo, type Tf } from './native/context';
import { lstmDims } from './native/fused';

/** An LSTM kernel's sizes: batch, steps, input features, units; and whether y is every step's h. */
interface Dims {
  B: number;
  T: number;
  I: number;
  H: number;
  returnSequences: boolean;
  /** FieldcalLstmGrad: whether the weights' gradients are wanted (else zeros, as the native kernel's) */
  weightGrads: boolean;
}
/** The float32 values of FieldcalLstm's inputs, by name. */
interface ForwardIn {
  x: Float32Array;
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
}
/** The float32 values of FieldcalLstmGradRecompute's inputs: the forward's and dy. */
interface RecomputeIn extends ForwardIn {
  dy: Float32Array;
}
/** The float32 values of FieldcalLstmGrad's inputs: the forward's, its saved tensors and dy. */
interface BackwardIn extends Omit<ForwardIn, 'bias'> {
  states: Float32Array;
  cs: Float32Array;
  gates: Float32Array;
  dy: Float32Array;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * FieldcalLstm on tfjs's JavaScript backend: the whole sequence in one pass over typed arrays, as
 * the native kernel does (fusedLayers.ts runs it where the backend has it). tfjs's own step-by-step
 * RNN runs ~140 kernels per step, each with its JavaScript copies (a slice of a [B, T, I] tensor per
 * step reads element by element); on the LSTM surrogate's 15,000 sequences x 30 days that is minutes
 * per forward pass where this is a second. The cell is tfjs's LSTMCell (Hochreiter & Schmidhuber
 * 1997 with a forget gate, Gers et al. 2000): z = x W + h U + b split into i, f, g, o (that order);
 * c = sigmoid(f) c + sigmoid(i) tanh(g); h = sigmoid(o) tanh(c); h and c start at zero.
 * Saved for the gradient, step-major: each step's incoming h [T, B, H], its c [T, B, H] and the
 * activated gates with tanh(c) [T, B, 5H].
 */
function lstmForward(
  { x, kernel: w, recurrentKernel: u, bias }: ForwardIn,
  { B, T, I, H, returnSequences }: Dims,
) {
  const G = 4 * H;
  const hIn = new Float32Array(T * B * H);
  const cs = new Float32Array(T * B * H);
  const gates = new Float32Array(T * B * 5 * H);
  const y = new Float32Array(returnSequences ? B * T * H : B * H);
  const h = new Float64Array(B * H);
  const c = new Float64Array(B * H);
  const z = new Float64Array(G);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < G; j++) z[j] = bias[j]!;
      const xo = (b * T + t) * I;
      for (let k = 0; k < I; k++) {
        const xv = x[xo + k]!;
        const wo = k * G;
        for (let j = 0; j < G; j++) z[j]! += xv * w[wo + j]!;
      }
      const ho = b * H;
      const so = (t * B + b) * H;
      for (let k = 0; k < H; k++) {
        const hv = h[ho + k]!;
        hIn[so + k] = hv;
        const uo = k * G;
        for (let j = 0; j < G; j++) z[j]! += hv * u[uo + j]!;
      }
      const go = (t * B + b) * 5 * H;
      for (let k = 0; k < H; k++) {
        const i = sig(z[k]!);
        const f = sig(z[H + k]!);
        const g = Math.tanh(z[2 * H + k]!);
        const o = sig(z[3 * H + k]!);
        const cv = f * c[ho + k]! + i * g;
        const tc = Math.tanh(cv);
        c[ho + k] = cv;
        h[ho + k] = o * tc;
        cs[so + k] = cv;
        gates[go + k] = i;
        gates[go + H + k] = f;
        gates[go + 2 * H + k] = g;
        gates[go + 3 * H + k] = o;
        gates[go + 4 * H + k] = tc;
        if (returnSequences) y[(b * T + t) * H + k] = o * tc;
        else if (t === T - 1) y[b * H + k] = o * tc;
      }
    }
  return { y, hIn, cs, gates };
}

/** FieldcalLstmGrad on the JavaScript backend: back-propagation through time from the saved tensors. */
function lstmBackward(
  { x, kernel: w, recurrentKernel: u, states: hIn, cs, gates, dy }: BackwardIn,
  { B, T, I, H, returnSequences }: Dims,
) {
  const G = 4 * H;
  const dx = new Float32Array(B * T * I);
  const dw = new Float64Array(I * G);
  const du = new Float64Array(H * G);
  const db = new Float64Array(G);
  const dhNext = new Float64Array(B * H);
  const dcNext = new Float64Array(B * H);
  const dz = new Float64Array(G);
  for (let t = T - 1; t >= 0; t--)
    for (let b = 0; b < B; b++) {
      const ho = b * H;
      const so = (t * B + b) * H;
      const go = (t * B + b) * 5 * H;
      for (let k = 0; k < H; k++) {
        const dyv = returnSequences ? dy[(b * T + t) * H + k]! : t === T - 1 ? dy[b * H + k]! : 0;
        const dh = dyv + dhNext[ho + k]!;
        const i = gates[go + k]!;
        const f = gates[go + H + k]!;
        const g = gates[go + 2 * H + k]!;
        const o = gates[go + 3 * H + k]!;
        const tc = gates[go + 4 * H + k]!;
        const cPrev = t > 0 ? cs[((t - 1) * B + b) * H + k]! : 0;
        const dc = dh * o * (1 - tc * tc) + dcNext[ho + k]!;
        dcNext[ho + k] = dc * f;
        dz[k] = dc * g * i * (1 - i);
        dz[H + k] = dc * cPrev * f * (1 - f);
        dz[2 * H + k] = dc * i * (1 - g * g);
        dz[3 * H + k] = dh * tc * o * (1 - o);
      }
      for (let j = 0; j < G; j++) db[j]! += dz[j]!;
      const xo = (b * T + t) * I;
      for (let k = 0; k < I; k++) {
        const xv = x[xo + k]!;
        const wo = k * G;
        let s = 0;
        for (let j = 0; j < G; j++) {
          dw[wo + j]! += xv * dz[j]!;
          s += dz[j]! * w[wo + j]!;
        }
        dx[xo + k] = s;
      }
      for (let k = 0; k < H; k++) {
        const hv = hIn[so + k]!;
        const uo = k * G;
        let s = 0;
        for (let j = 0; j < G; j++) {
          du[uo + j]! += hv * dz[j]!;
          s += dz[j]! * u[uo + j]!;
        }
        dhNext[ho + k] = s;
      }
    }
  return { dx, dw: Float32Array.from(dw), du: Float32Array.from(du), db: Float32Array.from(db) };
}

/**
 * Registers a kernel on tfjs's `cpu` backend that runs `run` on its inputs' values and sizes and
 * makes its outputs, each [shape, values].
 */
function registerCpu<V>(tf: Tf, kernelName: string, run: (v: V, d: Dims) => Array<[number[], Float32Array]>) {
  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuBackend;
      const t = inputs as Record<string, TensorInfo>;
      const [B, T, I, H] = lstmDims(t.x!, t.recurrentKernel!);
      const a = attrs as { returnSequences?: boolean; weightGrads?: number | boolean };
      const returnSequences = Boolean(a.returnSequences);
      const weightGrads = a.weightGrads === undefined || Boolean(a.weightGrads);
      const v = Object.fromEntries(Object.entries(t).map(([name, info]) => [name, vals(b, info)])) as V;
      return run(v, { B, T, I, H, returnSequences, weightGrads }).map(([shape, values]) =>
        b.makeTensorInfo(shape, 'float32', values),
      );
    },
  });
}

/**
 * Registers FieldcalLstm, FieldcalLstmInfer, FieldcalLstmGrad and FieldcalLstmGradRecompute on
 * tfjs's `cpu` backend (once): the fused LSTM layer then runs as single kernels there too
 * (`cpu-native` keeps the addon's, with their own saved layout).
 */
export function registerJsLstm(tf: Tf): void {
  if (tf.getKernel(FUSED.lstm, 'cpu')) return;
  registerCpu<ForwardIn>(tf, FUSED.lstm, (v, d) => {
    const { B, T, H, returnSequences } = d;
    const r = lstmForward(v, d);
    return [
      [returnSequences ? [B, T, H] : [B, H], r.y],
      [[T, B, H], r.hIn],
      [[T, B, H], r.cs],
      [[T, B, 5 * H], r.gates],
    ];
  });
  registerCpu<ForwardIn>(tf, FUSED.lstmInfer, (v, d) => {
    const { B, T, H, returnSequences } = d;
    return [[returnSequences ? [B, T, H] : [B, H], lstmForward(v, d).y]];
  });
  const gradients = (r: ReturnType<typeof lstmBackward>, { B, T, I, H, weightGrads }: Dims) => {
    const w = (a: Float32Array) => (weightGrads ? a : a.fill(0));
    return [
      [[B, T, I], r.dx],
      [[I, 4 * H], w(r.dw)],
      [[H, 4 * H], w(r.du)],
      [[4 * H], w(r.db)],
    ] as Array<[number[], Float32Array]>;
  };
  registerCpu<BackwardIn>(tf, FUSED.lstmGrad, (v, d) => gradients(lstmBackward(v, d), d));
  // the forward recomputed whole (the JavaScript kernels keep their states in ordinary arrays)
  registerCpu<RecomputeIn>(tf, FUSED.lstmGradRecompute, (v, d) => {
    const f = lstmForward(v, d);
    return gradients(lstmBackward({ ...v, states: f.hIn, cs: f.cs, gates: f.gates }, d), d);
  });
}
