import type * as TfModule from '@tensorflow/tfjs';
import { outputArray } from './bufferPool';
import { loadAddon } from './native/addon';

type Tf = typeof TfModule;

const KERNEL = 'FieldcalAdamUpdate';

/**
 * Adam (Kingma & Ba 2015) with tfjs's exact update rule (tfjs AdamOptimizer.applyGradients:
 * m ← β1 m + (1-β1) g, v ← β2 v + (1-β2) g², θ ← θ - lr (m / (1-β1ᵗ)) / (√(v / (1-β2ᵗ)) + ε)), but
 * as one kernel per variable instead of a dozen element-wise ops: on small networks the per-op
 * overhead, not the arithmetic, dominates an optimiser step (PyTorch fuses it the same way).
 */
export function fusedAdam(
  tf: Tf,
  learningRate = 0.001,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon = 1e-7,
): FusedAdamOptimizer {
  registerAdamKernel(tf);
  class FusedAdam extends tf.AdamOptimizer {
    private t = 0;
    private readonly m = new Map<string, TfModule.Variable>();
    private readonly v = new Map<string, TfModule.Variable>();
    override applyGradients(
      grads: TfModule.NamedTensorMap | Array<{ name: string; tensor: TfModule.Tensor }>,
    ): void {
      const list = Array.isArray(grads)
        ? grads.map((g) => [g.name, g.tensor] as const)
        : Object.entries(grads);
      this.t++;
      const c1 = 1 - beta1 ** this.t;
      const c2 = 1 - beta2 ** this.t;
      for (const [name, g] of list) {
        if (!g) continue;
        const value = tf.engine().registeredVariables[name]!;
        if (!this.m.has(name)) {
          this.m.set(
            name,
            tf.tidy(() => tf.zerosLike(value).variable(false)),
          );
          this.v.set(
            name,
            tf.tidy(() => tf.zerosLike(value).variable(false)),
          );
        }
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        if (!tf.getKernel(KERNEL, tf.getBackend())) {
          // a backend without the kernel (tfjs-node): the same rule in tfjs ops
          tf.tidy(() => {
            const nm = tf.add(tf.mul(beta1, m), tf.mul(1 - beta1, g));
            const nv = tf.add(tf.mul(beta2, v), tf.mul(1 - beta2, tf.square(g)));
            const step = tf.div(tf.mul(learningRate / c1, nm), tf.add(tf.sqrt(tf.div(nv, c2)), epsilon));
            value.assign(tf.sub(value, step));
            m.assign(nm);
            v.assign(nv);
          });
          continue;
        }
        const [nv, nm, nv2] = tf.engine().runKernel(
          KERNEL,
          { value, m, v, g } as unknown as TfModule.NamedTensorMap,
          {
            lr: learningRate,
            b1: beta1,
            b2: beta2,
            eps: epsilon,
            c1,
            c2,
          } as unknown as TfModule.NamedAttrMap,
        ) as TfModule.Tensor[];
        value.assign(nv!);
        m.assign(nm!);
        v.assign(nv2!);
        tf.dispose([nv!, nm!, nv2!]);
      }
      this.incrementIterations();
    }
    /** The optimiser's state for `vars`, in their order: step count and both moments (checkpoints). */
    saveState(vars: TfModule.Variable[]): AdamState {
      const zeros = (x: TfModule.Variable) => new Float32Array(x.size);
      return {
        t: this.t,
        m: vars.map((x) => (this.m.get(x.name)?.dataSync() as Float32Array | undefined)?.slice() ?? zeros(x)),
        v: vars.map((x) => (this.v.get(x.name)?.dataSync() as Float32Array | undefined)?.slice() ?? zeros(x)),
      };
    }
    /** Restores a state saved by {@link saveState} for the same variables (same shapes, same order). */
    loadState(vars: TfModule.Variable[], s: AdamState): void {
      vars.forEach((x, i) => {
        for (const [moments, values] of [
          [this.m, s.m[i]!],
          [this.v, s.v[i]!],
        ] as const) {
          moments.get(x.name)?.dispose();
          moments.set(
            x.name,
            tf.tidy(() => tf.tensor(values, x.shape).variable(false)),
          );
        }
      });
      this.t = s.t;
    }
    override dispose(): void {
      super.dispose();
      tf.dispose([...this.m.values(), ...this.v.values()]);
    }
  }
  return new FusedAdam(learningRate, beta1, beta2, epsilon);
}

/** Adam's state: the step count t and the first and second moments of each variable. */
export interface AdamState {
  t: number;
  m: Float32Array[];
  v: Float32Array[];
}

/** A tfjs optimiser whose state can be saved and restored exactly (checkpoints, resume). */
export interface FusedAdamOptimizer extends TfModule.Optimizer {
  saveState(vars: TfModule.Variable[]): AdamState;
  loadState(vars: TfModule.Variable[], s: AdamState): void;
}

/**
 * The update kernel on tfjs's CPU backends (the arithmetic in double, stored float32): on
 * cpu-native the addon's adamUpdate (vectorised, threaded; the same bits as the loop below, which
 * the 'cpu' backend and an addon built before it keep).
 */
export function registerAdamKernel(tf: Tf): void {
  for (const backendName of ['cpu', 'cpu-native']) {
    if (!tf.findBackend(backendName) || tf.getKernel(KERNEL, backendName)) continue;
    const addon = backendName === 'cpu-native' ? loadAddon().addon : null;
    const native = typeof addon?.adamUpdate === 'function' ? addon : null;
    tf.registerKernel({
      kernelName: KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as {
          data: { get(id: object): { values: Float32Array } };
          makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TfModule.TensorInfo;
        };
        const { value, m, v, g } = inputs as Record<string, TfModule.TensorInfo>;
        const a = attrs as unknown as {
          lr: number;
          b1: number;
          b2: number;
          eps: number;
          c1: number;
          c2: number;
        };
        const pv = b.data.get(value!.dataId).values;
        const mv = b.data.get(m!.dataId).values;
        const vv = b.data.get(v!.dataId).values;
        const gv = b.data.get(g!.dataId).values;
        const n = pv.length;
        // outputs written in full: recycled arrays on cpu-native
        const np = outputArray(backend, n);
        const nm = outputArray(backend, n);
        const nv = outputArray(backend, n);
        if (native?.adamUpdate)
          native.adamUpdate(pv, mv, vv, gv, a.lr, a.b1, a.b2, a.eps, a.c1, a.c2, np, nm, nv);
        else
          for (let i = 0; i < n; i++) {
            const gi = gv[i]!;
            const mi = a.b1 * mv[i]! + (1 - a.b1) * gi;
            const vi = a.b2 * vv[i]! + (1 - a.b2) * gi * gi;
            nm[i] = mi;
            nv[i] = vi;
            np[i] = pv[i]! - (a.lr * (mi / a.c1)) / (Math.sqrt(vi / a.c2) + a.eps);
          }
        const shape = [...value!.shape];
        return [
          b.makeTensorInfo(shape, 'float32', np),
          b.makeTensorInfo(shape, 'float32', nm),
          b.makeTensorInfo(shape, 'float32', nv),
        ];
      },
    });
  }
}
