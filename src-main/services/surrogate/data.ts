import { FieldcalError } from '../../../src-shared/ipc';
import type { Ensemble, SurrogateProblem } from './types';

/**
 * What the surrogate networks share: the training data (an ensemble plus runs added by dynamic
 * updates), the standardisation statistics of the training members, and a seeded generator.
 */

export { mulberry32 } from '../common/random';

/** Standard normal deviates from a uniform generator (Box-Muller transform, Box & Muller 1958). */
export function normalGenerator(rand: () => number): () => number {
  return () => {
    let u = 0;
    while (u === 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** A seed for (seed, epoch, stream): independent, reproducible streams (a resumed epoch draws the same batches). */
export const streamSeed = (seed: number, epoch: number, stream: number): number =>
  (Math.imul(seed >>> 0, 0x9e3779b1) ^
    Math.imul(epoch + 1, 0x85ebca77) ^
    Math.imul(stream + 1, 0xc2b2ae3d)) >>>
  0;

/** A run of the model added to the training set by a dynamic update (Tsai et al. 2021). */
export interface ExtraMember {
  fields: Float64Array[];
  /** Step-major [steps x cells]. */
  target: Float64Array;
}

/**
 * The members a surrogate trains on: ensemble members by index (>= 0) and added runs (index -1 -
 * i for the i-th added run), read one member or one window of steps at a time.
 */
export class TrainingData {
  readonly extra: ExtraMember[] = [];
  constructor(
    readonly problem: SurrogateProblem,
    readonly ensemble: Ensemble | null,
  ) {
    if (ensemble) checkEnsemble(problem, ensemble);
  }

  members(split: 'train' | 'valid'): number[] {
    return this.ensemble ? this.ensemble.members(split) : [];
  }

  extraIds(): number[] {
    return this.extra.map((_, i) => -1 - i);
  }

  params(member: number): Float64Array[] {
    if (member >= 0) return this.ensemble!.params(member);
    return this.extra[-1 - member]!.fields;
  }

  target(member: number, t0: number, t1: number): Float64Array {
    if (member >= 0) return this.ensemble!.target(member, t0, t1);
    const c = this.problem.cells;
    return this.extra[-1 - member]!.target.subarray(t0 * c, t1 * c);
  }

  add(m: ExtraMember): number {
    checkFields(this.problem, m.fields, 'newMember.fields');
    const n = this.problem.cells * this.problem.steps;
    if (m.target.length !== n)
      throw new FieldcalError(
        'VALIDATION',
        `newMember.target has ${m.target.length} values for ${this.problem.steps} steps x ${this.problem.cells} cells`,
        { field: 'newMember.target' },
      );
    this.extra.push({
      fields: m.fields.map((f) => Float64Array.from(f)),
      target: Float64Array.from(m.target),
    });
    return -this.extra.length;
  }
}

/** Refuses an ensemble made for another problem (cells, steps, parameters, target, model or data). */
export function checkEnsemble(p: SurrogateProblem, e: Ensemble): void {
  const m = e.manifest;
  const bad = (field: string, got: unknown, want: unknown) =>
    new FieldcalError(
      'VALIDATION',
      `ensemble in ${e.dir} has ${field} ${JSON.stringify(got)}, the problem ${JSON.stringify(want)}`,
      { path: e.dir, field },
    );
  if (m.cells !== p.cells) throw bad('cells', m.cells, p.cells);
  if (m.steps < p.steps) throw bad('steps', m.steps, p.steps);
  if (m.parameters.join(',') !== p.parameters.join(',')) throw bad('parameters', m.parameters, p.parameters);
  if (m.target !== p.target) throw bad('target', m.target, p.target);
  if (m.modelKey !== p.modelKey) throw bad('modelKey', m.modelKey, p.modelKey);
  if (m.dataKey !== p.dataKey) throw bad('dataKey', m.dataKey, p.dataKey);
  if (e.members('train').length < 1) throw bad('train members', 0, '>= 1');
  if (e.members('valid').length < 1) throw bad('valid members', 0, '>= 1');
}

/** Refuses parameter fields of the wrong count or length, or with non-finite values. */
export function checkFields(p: SurrogateProblem, fields: Float64Array[], name = 'fields'): void {
  if (!Array.isArray(fields) || fields.length !== p.parameters.length)
    throw new FieldcalError(
      'VALIDATION',
      `${name} must hold ${p.parameters.length} fields (${p.parameters.join(', ')}), got ${fields?.length}`,
      { field: name },
    );
  fields.forEach((f, j) => {
    if (f.length !== p.cells)
      throw new FieldcalError(
        'VALIDATION',
        `${name}[${p.parameters[j]}] has ${f.length} values for ${p.cells} cells`,
        { field: `${name}.${p.parameters[j]}` },
      );
    for (let k = 0; k < f.length; k++)
      if (!Number.isFinite(f[k]!))
        throw new FieldcalError('VALIDATION', `${name}[${p.parameters[j]}] is not finite at cell ${k}`, {
          field: `${name}.${p.parameters[j]}`,
        });
  });
}

export function checkSteps(p: SurrogateProblem, t0: number, t1: number): void {
  if (!(Number.isInteger(t0) && Number.isInteger(t1) && t0 >= 0 && t1 > t0 && t1 <= p.steps))
    throw new FieldcalError('VALIDATION', `steps [${t0}, ${t1}) are not within [0, ${p.steps})`, {
      field: 't0',
    });
}

/** Mean and standard deviation of one input or output. */
export interface MeanStd {
  mean: number;
  std: number;
}

/** Standardisation of a surrogate's inputs and output, from its training members; stored with the model. */
export interface Standardisation {
  /** One per forcing variable, in `forcingNames` order. */
  forcing: MeanStd[];
  /** One per calibrated parameter. */
  params: MeanStd[];
  target: MeanStd;
}

/** The forcing variables a surrogate reads: P, PET, and T when the problem has it. */
export function forcingNames(p: SurrogateProblem): Array<'P' | 'PET' | 'T'> {
  return p.forcing.T ? ['P', 'PET', 'T'] : ['P', 'PET'];
}

/** Mean and standard deviation of a stream of values (standardisation). */
export class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  /** Welford's online update (Welford 1962). */
  add(x: number) {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  get(): MeanStd {
    const std = this.n > 1 ? Math.sqrt(this.m2 / this.n) : 0;
    // a constant input standardises to 0 (divide by 1), not NaN
    return { mean: this.mean, std: std > 1e-12 ? std : 1 };
  }
}

/** Statistics of the forcing (all steps and cells), the train members' parameters and targets. */
export function standardisation(data: TrainingData, window = 365): Standardisation {
  const p = data.problem;
  const forcing = forcingNames(p).map((name) => {
    const m = new Moments();
    const x = p.forcing[name]!;
    for (let i = 0; i < p.steps * p.cells; i++) m.add(x[i]!);
    return m.get();
  });
  const members = data.members('train');
  const params = p.parameters.map(() => new Moments());
  const target = new Moments();
  for (const mem of members) {
    data.params(mem).forEach((f, j) => {
      for (const v of f) params[j]!.add(v);
    });
    // a window of steps at a time: memory bounded by the window, not the run
    for (let t0 = 0; t0 < p.steps; t0 += window) {
      const y = data.target(mem, t0, Math.min(p.steps, t0 + window));
      for (const v of y) target.add(v);
    }
  }
  return { forcing, params: params.map((m) => m.get()), target: target.get() };
}

/** Standardised copies of parameter fields, one Float32Array per parameter. */
export function standardFields(s: Standardisation, fields: Float64Array[]): Float32Array[] {
  return fields.map((f, j) => {
    const { mean, std } = s.params[j]!;
    return Float32Array.from(f, (v) => (v - mean) / std);
  });
}

/** Standardised forcing, step-major [steps x cells] per variable. */
export function standardForcing(p: SurrogateProblem, s: Standardisation): Float32Array[] {
  return forcingNames(p).map((name, j) => {
    const x = p.forcing[name]!;
    const { mean, std } = s.forcing[j]!;
    const out = new Float32Array(p.steps * p.cells);
    for (let i = 0; i < out.length; i++) out[i] = (x[i]! - mean) / std;
    return out;
  });
}

/** Checks a problem is usable by a surrogate: sizes agree and the forcing covers every step and cell. */
export function checkProblem(p: SurrogateProblem): void {
  const bad = (field: string, msg: string) => new FieldcalError('VALIDATION', msg, { field });
  if (!(Number.isInteger(p.cells) && p.cells > 0)) throw bad('cells', `cells must be > 0 (got ${p.cells})`);
  if (!(Number.isInteger(p.steps) && p.steps > 0)) throw bad('steps', `steps must be > 0 (got ${p.steps})`);
  if (p.mask.length !== p.rows * p.cols)
    throw bad('mask', `mask has ${p.mask.length} values for ${p.rows} x ${p.cols}`);
  let active = 0;
  for (const v of p.mask) if (v) active++;
  if (active !== p.cells) throw bad('mask', `mask has ${active} active cells, problem.cells is ${p.cells}`);
  for (const name of forcingNames(p)) {
    const x = p.forcing[name]!;
    if (x.length !== p.steps * p.cells)
      throw bad(`forcing.${name}`, `forcing ${name} has ${x.length} values for ${p.steps} x ${p.cells}`);
  }
  if (
    p.parameters.length < 1 ||
    p.lower.length !== p.parameters.length ||
    p.upper.length !== p.parameters.length
  )
    throw bad('parameters', 'parameters, lower and upper must be non-empty and of the same length');
}
