import { beforeAll, describe, expect, it } from 'vitest';
import type * as TfModule from '@tensorflow/tfjs';
import type { CpuBackend } from '../../../../src-main/services/compute/native/context';
import { getTf, initCompute } from '../../../../src-main/services/compute';
import { loadAddon, registerCpuNative } from '../../../../src-main/services/compute/cpuNative';
import { fusedAdam, registerAdamKernel } from '../../../../src-main/services/compute/fusedAdam';
import {
  batchNormalization,
  conv2d,
  lstm,
  lstmMemory,
} from '../../../../src-main/services/compute/fusedLayers';
import {
  dcganDiscriminator,
  ganStep,
  lstmStep,
  lstmSurrogate,
  unetGenerator,
  GAN_SIZES,
} from '../../../../src-main/services/calibration/nets/ganPo';
import { mulberry32 } from '../../../../src-main/services/calibration/random';

type Tf = typeof TfModule;
type T = TfModule.Tensor;
let tf: Tf;
const native = loadAddon();
// where the set-up script builds the addon (CI, developer machines) it must load: no silent skip there
const required = !!process.env.CI || !!process.env.FIELDCAL_REQUIRE_NATIVE;

beforeAll(async () => {
  await initCompute();
  tf = getTf();
  // with FIELDCAL_BACKEND=cpu the ladder never registers cpu-native: register it for these comparisons
  if (native.addon && !tf.findBackend('cpu-native')) registerCpuNative(tf, native.addon, 2);
});

/** A seeded choice among values, for random test shapes. */
function picker(seed: number) {
  const rand = mulberry32(seed);
  return <V>(v: V[]) => v[Math.floor(rand() * v.length)]!;
}

/** Runs `f` on a backend and returns plain arrays, disposing everything it made. */
function on(backend: string, f: () => T | T[]): number[][] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const r = f();
    return (Array.isArray(r) ? r : [r]).map((t) => Array.from(t.dataSync()));
  });
}

function expectClose(a: number[][], b: number[][], rel: number, what: string) {
  expect(a.length).toBe(b.length);
  a.forEach((x, k) => {
    const scale = b[k]!.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
    let worst = 0;
    x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[k]![i]!) / scale)));
    expect(worst, `${what} output ${k}`).toBeLessThan(rel);
  });
}

describe('cpu-native backend (oneDNN kernels)', () => {
  it('loads where it was built, and is the default backend then', () => {
    if (required) expect(native.addon, native.reason ?? '').not.toBeNull();
    if (!native.addon) return;
    expect(native.addon.info()).toMatch(/^oneDNN 2\./);
    expect(tf.getBackend()).toBe(process.env.FIELDCAL_BACKEND === 'cpu' ? 'cpu' : 'cpu-native');
  });

  it.skipIf(!native.addon)(
    'convolutions agree with the JavaScript kernels on random shapes (forward and both gradients)',
    () => {
      const pick = picker(2024);
      for (let trial = 0; trial < 24; trial++) {
        const n = pick([1, 2, 3]);
        const h = pick([5, 7, 8, 11, 16]);
        const w = pick([5, 6, 9, 13]);
        const cin = pick([1, 3, 4, 8]);
        const cout = pick([1, 2, 5, 16]);
        const k = pick([1, 2, 3, 4]);
        const stride = pick([1, 2, 3]);
        const dil = stride === 1 ? pick([1, 2]) : 1;
        const pad = pick(['same', 'valid'] as const);
        if (pad === 'valid' && (h < (k - 1) * dil + 1 || w < (k - 1) * dil + 1)) continue;
        const seed = trial * 7 + 1; // tfjs treats seed 0 as "unseeded"
        const f = () => {
          const x = tf.randomNormal([n, h, w, cin], 0, 1, 'float32', seed) as TfModule.Tensor4D;
          const filt = tf.randomNormal([k, k, cin, cout], 0, 1, 'float32', seed + 1) as TfModule.Tensor4D;
          const y = tf.conv2d(x, filt, stride, pad, 'NHWC', dil);
          const wts = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
          const bias = tf.randomNormal([cout], 0, 1, 'float32', seed + 3);
          const fused = tf.fused.conv2d({
            x,
            filter: filt,
            strides: stride,
            pad,
            dilations: dil,
            bias,
            activation: 'relu',
          });
          // tfjs has no gradient for dilated convolutions: those are checked forward only
          if (dil > 1) return [y, fused];
          const [gx, gf] = tf.grads((a: T, b: T) =>
            tf.sum(
              tf.mul(
                tf.conv2d(a as TfModule.Tensor4D, b as TfModule.Tensor4D, stride, pad, 'NHWC', dil),
                wts,
              ),
            ),
          )([x, filt]);
          return [y, fused, gx!, gf!];
        };
        expectClose(
          on('cpu-native', f),
          on('cpu', f),
          1e-4,
          `conv n${n} ${h}x${w}x${cin}->${cout} k${k} s${stride} d${dil} ${pad}`,
        );
      }
      tf.setBackend('cpu-native');
    },
  );

  it.skipIf(!native.addon)(
    'transposed convolutions, matrix products (transposes, batches, broadcast) and fused matmul agree',
    () => {
      const f = () => {
        const x = tf.randomNormal([2, 8, 8, 16], 0, 1, 'float32', 1) as TfModule.Tensor4D;
        const w = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 2) as TfModule.Tensor4D;
        const up = tf.conv2dTranspose(x, w, [2, 16, 16, 8], 2, 'same');
        const out: T[] = [up];
        for (const [ta, tb] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          const a = tf.randomNormal(ta ? [3, 7, 5] : [3, 5, 7], 0, 1, 'float32', 3);
          const b = tf.randomNormal(tb ? [3, 4, 7] : [3, 7, 4], 0, 1, 'float32', 4);
          out.push(tf.matMul(a, b, ta, tb));
          const a2 = tf.randomNormal(ta ? [9, 6] : [6, 9], 0, 1, 'float32', 5);
          const b2 = tf.randomNormal(tb ? [11, 9] : [9, 11], 0, 1, 'float32', 6);
          out.push(tf.matMul(a2, b2, ta, tb));
        }
        // batch broadcast: one matrix against a batch
        out.push(
          tf.matMul(
            tf.randomNormal([1, 5, 6], 0, 1, 'float32', 7),
            tf.randomNormal([4, 6, 3], 0, 1, 'float32', 8),
          ),
        );
        out.push(
          tf.fused.matMul({
            a: tf.randomNormal([10, 12], 0, 1, 'float32', 9) as TfModule.Tensor2D,
            b: tf.randomNormal([12, 6], 0, 1, 'float32', 10) as TfModule.Tensor2D,
            bias: tf.randomNormal([6], 0, 1, 'float32', 11),
            activation: 'leakyrelu',
            leakyreluAlpha: 0.2,
          }),
        );
        return out;
      };
      expectClose(on('cpu-native', f), on('cpu', f), 1e-4, 'products');
      tf.setBackend('cpu-native');
    },
  );

  it.skipIf(!native.addon)(
    'element-wise, reduction, split, concat, tile and comparison kernels agree, with broadcasting',
    () => {
      const f = () => {
        const a = tf.randomNormal([4, 5, 6, 7], 0, 1, 'float32', 21);
        const c = tf.randomNormal([7], 1, 0.1, 'float32', 22);
        const r = tf.randomNormal([4, 1, 6, 1], 1, 0.1, 'float32', 23);
        return [
          tf.add(a, c),
          tf.sub(r, a),
          tf.mul(a, r),
          tf.div(a, c),
          tf.mul(a, 3),
          tf.sum(a, [0, 1, 2]),
          tf.mean(a, [2, 3], true),
          tf.sum(a),
          tf.sum(a, [0, 2]), // not adjacent: one native pass per run of axes
          tf.sum(a, [0, 3]),
          tf.mean(a, [1, 3], true),
          tf.concat([a, tf.slice(a, [0, 0, 0, 1], [-1, -1, -1, 3]), a], 3),
          tf.concat([a, tf.slice(a, [0, 0, 0, 0], [2, -1, -1, -1])], 0),
          tf.concat([r, r], 2),
          ...tf.split(a, [2, 4, 1], 3),
          ...tf.split(a, 2, 0),
          tf.tile(tf.randomNormal([2, 1, 3], 0, 1, 'float32', 24), [2, 3, 2]),
          tf.cast(tf.greater(a, 0.1), 'float32'),
          tf.cast(tf.lessEqual(a, r), 'float32'),
          tf.where(tf.greater(a, 0), a, tf.neg(a)),
          tf.leakyRelu(a, 0.2),
          // the LeakyReLU gradient (one fused kernel on cpu-native, tfjs's greater/where/mul on cpu)
          tf.grad((v: T) => tf.sum(tf.mul(tf.leakyRelu(v, 0.3), r)))(a),
        ];
      };
      expectClose(on('cpu-native', f), on('cpu', f), 1e-5, 'element-wise');
      tf.setBackend('cpu-native');
    },
  );

  it.skipIf(!native.addon)(
    'a weight in a recycled array is reordered again, not served from the copy kept for the tensor before',
    () => {
      // the addon keeps a filter's copy in oneDNN's layout per tensor (conv's weight token): a new
      // tensor whose array the buffer pool recycled has the old one's address and must not get its copy
      const run = (backend: string) => {
        tf.setBackend(backend);
        const arrays = new Set<unknown>();
        const out: number[][] = [];
        const x = tf.randomNormal([2, 8, 8, 32], 0, 1, 'float32', 41) as TfModule.Tensor4D;
        const dy = tf.randomNormal([2, 8, 8, 32], 0, 1, 'float32', 42) as TfModule.Tensor4D;
        for (let i = 0; i < 6; i++) {
          const w = tf.tidy(
            () => tf.mul(tf.randomNormal([3, 3, 32, 32], 0, 1, 'float32', 50 + i), 1), // pooled: >= 4096 values
          ) as TfModule.Tensor4D;
          arrays.add((tf.backend() as unknown as CpuBackend).data.get(w.dataId).values);
          out.push(
            ...tf.tidy(() =>
              [
                tf.conv2d(x, w, 1, 'same'),
                tf.conv2d(x, w, 1, 'same'), // the kept copy
                tf.conv2dTranspose(dy, w, [2, 16, 16, 32], 2, 'same'), // backward-data primitive
              ].map((t) => Array.from(t.dataSync())),
            ),
          );
          w.dispose();
        }
        tf.dispose([x, dy]);
        return { out, arrays: arrays.size };
      };
      const stats = () => native.addon!.keptWeightStats!();
      const before = stats();
      const nat = run('cpu-native');
      const after = stats();
      const js = run('cpu');
      // the case under test happened: a later filter was made in an earlier one's array
      expect(nat.arrays).toBeLessThan(6);
      // and the kept path ran: oneDNN chose a blocked filter layout, each new filter (the recycled
      // ones too) was reordered into a kept copy, and each second forward was served from it
      const [served, filled] = [after[0] - before[0], after[1] - before[1]];
      expect(filled).toBeGreaterThanOrEqual(6);
      expect(served).toBeGreaterThanOrEqual(6);
      expectClose(nat.out, js.out, 1e-5, 'convolutions with recycled filter arrays');
      tf.setBackend('cpu-native');
    },
  );

  it.skipIf(!native.addon)(
    "the conv layer's gradients are tfjs's Conv2D layer's, and its data input's gradient is not computed",
    async () => {
      // two layers (stride 2 then a sigmoid 1x1 head), as in the GAN-PO networks
      const layers = (make: typeof conv2d) => [
        make(tf, { filters: 8, kernelSize: 3, strides: 2, padding: 'same', inputShape: [9, 10, 3] }),
        make(tf, { filters: 2, kernelSize: 1, activation: 'sigmoid' }),
      ];
      const stock: typeof conv2d = (t, c) => t.layers.conv2d(c);
      for (const backend of ['cpu-native', 'cpu']) {
        tf.setBackend(backend);
        const ours = tf.sequential({ layers: layers(conv2d) });
        const theirs = tf.sequential({ layers: layers(stock) });
        theirs.setWeights(ours.getWeights());
        const x = tf.randomNormal([2, 9, 10, 3], 0, 1, 'float32', 61);
        const target = tf.randomUniform([2, 5, 5, 2], 0, 1, 'float32', 62);
        const grads = (m: TfModule.Sequential) => {
          const vars = m.trainableWeights.map((w) => w.read() as TfModule.Variable);
          const { value, grads: g } = tf.variableGrads(
            () => tf.mean(tf.square(tf.sub(m.apply(x, { training: true }) as T, target))) as TfModule.Scalar,
            vars,
          );
          const out = [value, ...vars.map((v) => g[v.name]!)].map((t) => Array.from(t.dataSync()));
          tf.dispose([value, ...Object.values(g)]);
          return out;
        };
        expectClose(grads(ours), grads(theirs), 1e-5, `conv layer gradients on ${backend}`);
        // x is data: its gradient is never asked for, so no backward-data convolution of the first
        // layer runs (the 1x1 head's, whose input is the first layer's output, is needed by both)
        const backwardData = async (m: TfModule.Sequential) =>
          (await tf.profile(() => void grads(m))).kernels
            .filter((k) => k.name === 'Conv2DBackpropInput')
            .map((k) => JSON.stringify(k.inputShapes[0]));
        expect(await backwardData(ours), backend).toEqual(['[2,5,5,2]']);
        expect((await backwardData(theirs)).length, backend).toBe(2);
        tf.dispose([x, target]);
        ours.dispose();
        theirs.dispose();
      }
      tf.setBackend('cpu-native');
    },
  );

  it.skipIf(!native.addon)("slices are the JavaScript kernel's values exactly, on every axis pattern", () => {
    const cases: Array<[number[], number[], number[]]> = [
      [
        [1, 32, 32, 7],
        [0, 0, 0, 0],
        [-1, -1, -1, 1],
      ], // GAN-PO's first band of a one-sample field
      [
        [3, 4, 5, 6],
        [0, 0, 0, 2],
        [-1, -1, -1, 3],
      ], // the last axis only
      [
        [3, 4, 5, 6],
        [1, 0, 0, 0],
        [2, -1, -1, -1],
      ], // the first axis only: one contiguous block
      [
        [3, 4, 5, 6],
        [0, 1, 0, 0],
        [-1, 2, -1, -1],
      ], // a middle axis under a whole leading one
      [
        [3, 4, 5, 6],
        [1, 2, 3, 4],
        [2, 2, 2, 2],
      ], // every axis
      [
        [3, 4, 5, 6],
        [0, 0, 0, 0],
        [-1, -1, -1, -1],
      ], // the whole tensor
      [
        [3, 4, 5, 6],
        [2, 3, 4, 5],
        [1, 1, 1, 1],
      ], // one element
      [
        [3, 4, 5, 6],
        [0, 0, 0, 0],
        [0, -1, -1, -1],
      ], // empty
      [[17], [5], [9]],
      [
        [2, 3, 2, 4, 3],
        [1, 0, 1, 1, 0],
        [1, -1, 1, 2, -1],
      ],
      [
        [3, 4, 5, 6],
        [1, 0, 2, 0],
        [2, -1, 2, -1],
      ], // sliced, whole, sliced, whole: strided rows under a walked axis
      [
        [70, 70, 3],
        [1, 1, 1],
        [69, 69, 1],
      ], // 4,761 leading combinations: left to tfjs's kernel
    ];
    // past an inner axis's end: an error, as tfjs's kernel gives (a block copy would read the next row)
    tf.setBackend('cpu-native');
    expect(() => tf.tidy(() => tf.slice(tf.zeros([4, 5]), [0, 3], [2, 3]))).toThrow();
    cases.forEach(([shape, begin, sz], k) => {
      const f = () => tf.slice(tf.randomNormal(shape, 0, 1, 'float32', 31 + k), begin, sz);
      const shapeOn = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => f().shape);
      };
      const what = `slice ${shape} at ${begin} size ${sz}`;
      expect(on('cpu-native', f), what).toEqual(on('cpu', f));
      expect(shapeOn('cpu-native'), what).toEqual(shapeOn('cpu'));
    });
    tf.setBackend('cpu-native');
  });

  it.skipIf(!native.addon)(
    "the fused batch normalisation agrees with tfjs's layer: output, moving statistics and gradients",
    () => {
      const rand = mulberry32(77);
      // rank 4 and 2, odd channel counts, and sizes above the kernels' multithreading threshold
      for (const shape of [
        [3, 5, 7, 13],
        [32, 16, 16, 64],
        [50, 3],
        [2, 9, 9, 1],
      ]) {
        const seed = Math.floor(rand() * 1000) + 1;
        const run = () => {
          const layer = batchNormalization(tf, { momentum: 0.9, epsilon: 1e-5 });
          layer.build([null, ...shape.slice(1)]);
          const c = shape[shape.length - 1]!;
          layer.setWeights([
            tf.randomUniform([c], 0.5, 2, 'float32', seed),
            tf.randomNormal([c], 0, 1, 'float32', seed + 1),
            tf.randomNormal([c], 0, 1, 'float32', seed + 2),
            tf.randomUniform([c], 0.5, 2, 'float32', seed + 3),
          ]);
          const x = tf.randomNormal(shape, 2, 3, 'float32', seed + 4);
          const wts = tf.randomNormal(shape, 0, 1, 'float32', seed + 5);
          const [gamma, beta] = layer.trainableWeights.map((v) => v.read());
          const loss = () => tf.sum(tf.mul(layer.apply(x, { training: true }) as T, wts)) as TfModule.Scalar;
          const { value, grads } = tf.variableGrads(loss, [
            gamma as TfModule.Variable,
            beta as TfModule.Variable,
          ]);
          const gx = tf.grad((v: T) => tf.sum(tf.mul(layer.apply(v, { training: true }) as T, wts)))(x);
          return [
            layer.apply(x, { training: true }) as T,
            layer.apply(x, { training: false }) as T,
            value,
            gx,
            ...Object.values(grads),
            ...layer.getWeights().slice(2), // moving mean and variance after three training passes
          ];
        };
        expectClose(on('cpu-native', run), on('cpu', run), 1e-4, `batch norm [${shape}]`);
      }
      tf.setBackend('cpu-native');
      // saved as tfjs's own layer: a model with it round-trips through JSON to a standard BatchNormalization
      const m = tf.sequential({ layers: [batchNormalization(tf, { inputShape: [4] })] });
      const json = m.toJSON(null, false) as { config: { layers: Array<{ class_name: string }> } };
      expect(json.config.layers[0]!.class_name).toBe('BatchNormalization');
      m.dispose();
    },
    120_000,
  );

  /**
   * An LSTM layer's output, loss value and gradients (x, kernel, recurrent kernel, bias) on random
   * weights: `make` is the fused layer (compute/fusedLayers) or tfjs's own step-by-step one.
   */
  const lstmCase =
    (make: (c: Parameters<Tf['layers']['lstm']>[0]) => TfModule.layers.Layer, trial: number) => () => {
      const [b, t, i, h] = LSTM_SHAPES[trial]!;
      const returnSequences = trial % 2 === 1;
      const seed = trial * 10 + 1;
      const layer = make({
        units: h,
        recurrentActivation: 'sigmoid',
        recurrentInitializer: 'glorotUniform',
        returnSequences,
      });
      layer.apply(tf.zeros([1, t, i]));
      layer.setWeights(
        layer.getWeights().map((w, k) => tf.randomNormal(w.shape, 0, 0.6, 'float32', seed + k)),
      );
      const x = tf.randomNormal([b, t, i], 0, 1, 'float32', seed + 5);
      const wts = tf.randomNormal(returnSequences ? [b, t, h] : [b, h], 0, 1, 'float32', seed + 6);
      const loss = () => tf.sum(tf.mul(layer.apply(x, { training: true }) as T, wts)) as TfModule.Scalar;
      const { value, grads } = tf.variableGrads(
        loss,
        layer.trainableWeights.map((v) => v.read() as TfModule.Variable),
      );
      const gx = tf.grad((v: T) => tf.sum(tf.mul(layer.apply(v) as T, wts)))(x);
      return [layer.apply(x) as T, value, gx, ...Object.values(grads)];
    };
  const pickShape = picker(99);
  const LSTM_SHAPES = Array.from({ length: 8 }, (): [number, number, number, number] => [
    pickShape([1, 3, 17]),
    pickShape([1, 2, 9]),
    pickShape([1, 5, 14]),
    pickShape([1, 7, 33]),
  ]);
  const stepByStep = (c: Parameters<Tf['layers']['lstm']>[0]) => tf.layers.lstm(c);
  const fusedLayer = (c: Parameters<Tf['layers']['lstm']>[0]) => lstm(tf, c);

  it("the JavaScript backend's fused LSTM (compute/jsLstm) agrees with tfjs's step-by-step layer", async () => {
    for (let trial = 0; trial < 8; trial++)
      expectClose(
        on('cpu', lstmCase(fusedLayer, trial)),
        on('cpu', lstmCase(stepByStep, trial)),
        1e-5,
        `js lstm trial ${trial}`,
      );
    // it is the kernel that ran: FieldcalLstmInfer (a prediction), not tfjs's per-step kernels
    tf.setBackend('cpu');
    const layer = lstm(tf, { units: 4, recurrentActivation: 'sigmoid' });
    const x = tf.ones([2, 3, 2]);
    const info = await tf.profile(() => layer.apply(x) as T);
    expect(info.kernelNames).toContain('FieldcalLstmInfer');
    expect(info.kernelNames).not.toContain('Unpack');
    x.dispose();
    (info.result as T).dispose();
  });

  it.skipIf(!native.addon)(
    "the fused LSTM agrees with tfjs's step-by-step layer: outputs and gradients of inputs and weights",
    () => {
      for (let trial = 0; trial < 8; trial++)
        expectClose(
          on('cpu-native', lstmCase(fusedLayer, trial)),
          on('cpu', lstmCase(stepByStep, trial)),
          1e-4,
          `lstm trial ${trial}`,
        );
      // the cases it leaves to tfjs's layer still run (hard-sigmoid gates, returned states)
      tf.setBackend('cpu-native');
      tf.tidy(() => {
        const x = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 7);
        expect((lstm(tf, { units: 5 }).apply(x) as T).shape).toEqual([2, 5]);
        const out = lstm(tf, { units: 5, recurrentActivation: 'sigmoid', returnState: true }).apply(x) as T[];
        expect(out.map((o) => o.shape)).toEqual([
          [2, 5],
          [2, 5],
          [2, 5],
        ]);
      });
    },
    120_000,
  );

  it.skipIf(!native.addon)(
    "the fused LSTM's back-propagation makes no zero tensors for the kernel's kept states and gates",
    () => {
      // tfjs back-propagates a kernel's outputs without a gradient as zero tensors of their full size
      // (40 MB per step at the surrogate's batch); the layer's op keeps them as saved tensors instead
      tf.setBackend('cpu-native');
      const [b, t, i, h] = [5, 6, 3, 8];
      const layer = lstm(tf, { units: h, recurrentActivation: 'sigmoid', inputShape: [t, i] });
      const x = tf.randomNormal([b, t, i], 0, 1, 'float32', 71);
      layer.apply(x);
      const engine = tf.engine() as unknown as { makeTensor: (...a: unknown[]) => T };
      const made = engine.makeTensor;
      const shapes: number[][] = [];
      engine.makeTensor = function (this: unknown, ...a: unknown[]) {
        shapes.push([...(a[1] as number[])]);
        return made.apply(this, a);
      };
      try {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(layer.apply(x, { training: true }) as T) as TfModule.Scalar,
          layer.trainableWeights.map((v) => v.read() as TfModule.Variable),
        );
        expect(Object.keys(grads)).toHaveLength(3);
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        engine.makeTensor = made;
      }
      const big = [
        [t, b, 5 * h], // gates
        [t, b, h], // cell states
      ];
      expect(shapes.filter((s) => big.some((g) => JSON.stringify(g) === JSON.stringify(s)))).toEqual([]);
      x.dispose();
      layer.dispose();
    },
  );

  it.each(['cpu', 'cpu-native'])(
    "on %s, a prediction runs FieldcalLstmInfer, equal to the recorded forward's output; the recomputing backward and the one without weightGrads give the kept backward's input gradient",
    async (backend) => {
      if (backend === 'cpu-native' && !native.addon) return;
      tf.setBackend(backend);
      const saved = { ...lstmMemory };
      try {
        for (const returnSequences of [false, true]) {
          const [b, t, i, h] = [7, 9, 4, 12];
          const layer = lstm(tf, {
            units: h,
            recurrentActivation: 'sigmoid',
            returnSequences,
            inputShape: [t, i],
          });
          const x = tf.randomNormal([b, t, i], 0, 1, 'float32', 31);
          layer.apply(x);
          layer.setWeights(
            layer.getWeights().map((w, k) => tf.randomNormal(w.shape, 0, 0.6, 'float32', 40 + k)),
          );
          const wts = tf.randomNormal(returnSequences ? [b, t, h] : [b, h], 0, 1, 'float32', 50);
          // untaped: the inference kernel, nothing kept
          const info = await tf.profile(() => layer.apply(x) as T);
          expect(info.kernelNames).toContain('FieldcalLstmInfer');
          expect(info.kernelNames).not.toContain('FieldcalLstm');
          const predicted = Array.from((info.result as T).dataSync());
          (info.result as T).dispose();
          // taped: the loss's value, every weight's gradient and the input's, with the kernels that ran
          const run = async (kwargs: Record<string, unknown>) => {
            let y: number[] = [];
            const p = await tf.profile(() => {
              const { value, grads } = tf.variableGrads(
                () => {
                  const out = layer.apply(x, kwargs) as T;
                  y = Array.from(out.dataSync());
                  return tf.sum(tf.mul(out, wts)) as TfModule.Scalar;
                },
                layer.trainableWeights.map((v) => v.read() as TfModule.Variable),
              );
              const dx = tf.grad((v: T) => tf.sum(tf.mul(layer.apply(v, kwargs) as T, wts)))(x);
              return [value, dx, ...Object.values(grads)];
            });
            const out = (p.result as T[]).map((r) => Array.from(r.dataSync()));
            tf.dispose(p.result as T[]);
            return { y, dx: out[1]!, weights: out.slice(2), kernels: p.kernelNames };
          };
          const kept = await run({});
          expect(kept.kernels).toContain('FieldcalLstmGrad');
          expect(predicted).toEqual(kept.y);
          const largest = (a: number[]) => Math.max(...a.map(Math.abs));
          expect(largest(kept.dx)).toBeGreaterThan(1e-3);
          // dx alone: the same input gradient, the weights' zero
          const only = await run({ weightGrads: false });
          expect(only.dx).toEqual(kept.dx);
          for (const [k, g] of only.weights.entries()) {
            expect(largest(g), `weight ${k}`).toBe(0);
            expect(largest(kept.weights[k]!), `weight ${k}`).toBeGreaterThan(1e-3);
          }
          // kept states above the limit: recomputed in chunks of 3 sequences (3, 3, 1), the same gradients
          const perSequence = t * (Math.ceil((h + i + 1) / 16) * 16 + 10 * h) * 4;
          Object.assign(lstmMemory, { keepBytes: 1, chunkBytes: 3 * perSequence });
          const again = await run({});
          expect(again.kernels).toContain('FieldcalLstmGradRecompute');
          expect(again.kernels).not.toContain('FieldcalLstmGrad');
          expect(again.y).toEqual(kept.y);
          expectClose([again.dx, ...again.weights], [kept.dx, ...kept.weights], 1e-5, 'recomputed');
          expect((await run({ weightGrads: false })).dx).toEqual(again.dx);
          Object.assign(lstmMemory, saved);
          tf.dispose([x, wts]);
          layer.dispose();
        }
      } finally {
        Object.assign(lstmMemory, saved);
      }
    },
    60_000,
  );

  it.skipIf(!native.addon)(
    'three training steps of both reference networks give the same losses on cpu-native and cpu',
    () => {
      // the reference architectures at reduced batch (4 days, 40 sequences) so the JavaScript backend finishes
      const losses = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const g = unetGenerator(tf);
          const d = dcganDiscriminator(tf);
          // identical initial weights on both backends
          const init = (m: TfModule.LayersModel, seed: number) =>
            m.setWeights(
              m.getWeights().map((w, i) => tf.randomNormal(w.shape, 0, 0.05, 'float32', seed + i)),
            );
          init(g, 100);
          init(d, 200);
          const opt = { g: fusedAdam(tf, 1e-4, 0.5, 0.999), d: fusedAdam(tf, 1e-4, 0.5, 0.999) };
          const S = GAN_SIZES;
          const data = {
            attrs: tf.randomNormal([1, S.H, S.W, S.CA], 0, 1, 'float32', 1),
            forcing: tf.randomNormal([4, S.H, S.W, S.CF], 0, 1, 'float32', 2),
            obs: tf.randomNormal([4, S.H, S.W, 1], 0, 1, 'float32', 3),
          };
          const gan = [0, 1, 2].flatMap(() => Object.values(ganStep(tf, g, d, opt, data)));
          const m = lstmSurrogate(tf);
          init(m, 300);
          const o2 = fusedAdam(tf, 1e-3);
          const x = tf.randomNormal([40, 30, 14], 0, 1, 'float32', 4);
          const y = tf.randomNormal([40, 1], 0, 1, 'float32', 5);
          const lstm = [0, 1, 2].map(() => lstmStep(tf, m, o2, x, y));
          opt.g.dispose();
          opt.d.dispose();
          o2.dispose();
          return [...gan, ...lstm];
        });
      };
      const a = losses('cpu-native');
      const b = losses('cpu');
      a.forEach((v, i) =>
        expect(Math.abs(v - b[i]!) / Math.abs(b[i]!), `loss ${i}: ${v} vs ${b[i]}`).toBeLessThan(1e-3),
      );
      tf.setBackend('cpu-native');
    },
    300_000,
  );

  it("the fused Adam update equals tfjs's Adam over several steps (1e-6)", () => {
    const run = (make: () => TfModule.Optimizer) =>
      tf.tidy(() => {
        const w = tf.variable(tf.randomNormal([5, 3], 0, 1, 'float32', 31));
        const x = tf.randomNormal([8, 5], 0, 1, 'float32', 32);
        const y = tf.randomNormal([8, 3], 0, 1, 'float32', 33);
        const opt = make();
        for (let i = 0; i < 5; i++)
          opt.minimize(() => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as TfModule.Scalar);
        const out = Array.from(w.dataSync());
        opt.dispose();
        w.dispose();
        return out;
      });
    const a = run(() => fusedAdam(tf, 0.01, 0.5, 0.999));
    const b = run(() => tf.train.adam(0.01, 0.5, 0.999));
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-6));
  });

  it.skipIf(!native.addon)(
    "the addon's Adam update gives the JavaScript kernel's bits, on 300,001 values (threaded, with a tail)",
    () => {
      const n = 300_001;
      let s = 12345;
      const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) * 2 - 1;
      const p = Float32Array.from({ length: n }, rand);
      const m = Float32Array.from({ length: n }, () => 0.1 * rand());
      const v = Float32Array.from({ length: n }, () => 0.01 * Math.abs(rand()));
      const g = Float32Array.from({ length: n }, () => 3 * rand());
      // step 7 of Adam(lr 1e-3, β 0.5 / 0.999, ε 1e-7): the bias corrections of that step
      const [lr, b1, b2, eps] = [1e-3, 0.5, 0.999, 1e-7];
      const c1 = 1 - b1 ** 7;
      const c2 = 1 - b2 ** 7;
      const out = [0, 1, 2].map(() => new Float32Array(n));
      native.addon!.adamUpdate!(p, m, v, g, lr, b1, b2, eps, c1, c2, out[0]!, out[1]!, out[2]!);
      const ref = [0, 1, 2].map(() => new Float32Array(n));
      for (let i = 0; i < n; i++) {
        const mi = b1 * m[i]! + (1 - b1) * g[i]!;
        const vi = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        ref[1]![i] = mi;
        ref[2]![i] = vi;
        ref[0]![i] = p[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
      for (let k = 0; k < 3; k++)
        expect(Buffer.from(out[k]!.buffer).equals(Buffer.from(ref[k]!.buffer))).toBe(true);
      expect(ref[0]![n - 1]).not.toBe(p[n - 1]);
      // the registered kernels themselves: cpu-native (the addon) and cpu (the loop), same bits
      registerAdamKernel(tf);
      const kernel = (backend: string) =>
        on(backend, () => {
          const t = (x: Float32Array) => tf.tensor1d(x);
          return tf
            .engine()
            .runKernel(
              'FieldcalAdamUpdate',
              { value: t(p), m: t(m), v: t(v), g: t(g) } as unknown as TfModule.NamedTensorMap,
              { lr, b1, b2, eps, c1, c2 } as unknown as TfModule.NamedAttrMap,
            ) as T[];
        });
      const viaNative = kernel('cpu-native');
      const viaJs = kernel('cpu');
      tf.setBackend('cpu-native');
      for (let k = 0; k < 3; k++) {
        expect(Float32Array.from(viaNative[k]!)).toEqual(ref[k]);
        expect(Float32Array.from(viaJs[k]!)).toEqual(ref[k]);
      }
    },
  );

  it.skipIf(!native.addon)(
    'leaks neither tensors nor native memory over 1,000 training steps of a small net',
    () => {
      tf.setBackend('cpu-native');
      const model = tf.sequential();
      model.add(
        tf.layers.conv2d({
          inputShape: [8, 8, 3],
          filters: 8,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
        }),
      );
      // the fused kernels (batch norm, LeakyReLU gradient) and tfjs's own batch norm
      model.add(batchNormalization(tf, {}));
      model.add(tf.layers.leakyReLU({ alpha: 0.2 }));
      model.add(tf.layers.batchNormalization());
      model.add(tf.layers.flatten());
      model.add(tf.layers.dense({ units: 4 }));
      // and the fused LSTM
      const rnn = tf.sequential({
        layers: [
          lstm(tf, { units: 6, inputShape: [5, 3], recurrentActivation: 'sigmoid' }),
          tf.layers.dense({ units: 4 }),
        ],
      });
      const opt = fusedAdam(tf, 1e-3);
      const x = tf.randomNormal([16, 8, 8, 3], 0, 1, 'float32', 1);
      const xs = tf.randomNormal([16, 5, 3], 0, 1, 'float32', 3);
      const y = tf.randomNormal([16, 4], 0, 1, 'float32', 2);
      const step = () => {
        const l = opt.minimize(
          () =>
            tf.add(
              tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as T, y))),
              tf.mean(tf.square(tf.sub(rnn.apply(xs, { training: true }) as T, y))),
            ) as TfModule.Scalar,
          true,
        )!;
        l.dispose();
      };
      for (let i = 0; i < 50; i++) step();
      const tensors = tf.memory().numTensors;
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      for (let i = 0; i < 1000; i++) step();
      global.gc?.();
      expect(tf.memory().numTensors).toBe(tensors);
      // RSS may grow by allocator noise, not by the ~1 MB per step a leaked buffer set would cost
      expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 2 ** 20);
      tf.dispose([x, xs, y]);
      opt.dispose();
      model.dispose();
      rnn.dispose();
    },
    300_000,
  );
});
