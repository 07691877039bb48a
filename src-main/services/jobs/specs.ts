import { constants as bufferConstants } from 'node:buffer';
import { totalmem } from 'node:os';
import {
  FieldcalError,
  jobSpecSchema,
  prototypeKeyIssues,
  type JobSpec,
  type TwinJobSpec,
} from '../../../src-shared/ipc';
import { issuePath } from '../calibration/gridded/options';
import { dailyDates, periodsSpan, stepPeriods } from '../calibration/gridded/periods';
import { methodNames, methodOptions } from '../calibration/registry';
import { VIC3L } from '../physics/vic3l';

export type { JobSpec, TwinJobSpec };

/** One thing wrong with a job, at a dotted path of its spec (`dataset.path`, `periods.0.end`, `gauges.1`). */
export type Issue = { path: string; message: string };

/** The VALIDATION error that refuses a job: every issue in the message, the list in `details.issues`. */
export const refuse = (source: string, issues: Issue[]) =>
  new FieldcalError('VALIDATION', `${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    issues,
    field: issues[0]!.path,
  });

/** The registry's problem kind a job calibrates: gauge discharge, a lumped basin, or a gridded field (twins too). */
export const problemKindOf = (spec: JobSpec): 'gauges' | 'gridded' | 'lumped' | 'basins' =>
  spec.kind === 'gauges' || spec.kind === 'lumped' || spec.kind === 'basins' ? spec.kind : 'gridded';

/**
 * What src-shared's schema cannot know, as a list of issues: the method is a registry key that
 * accepts the job's problem kind (gridded for twin and gridded jobs, gauges for gauge jobs), its
 * options match its strict schema (defaults filled), search bounds stay inside vic3l's valid ranges
 * and named periods fall inside the dataset's dates. Returns the spec with its options parsed (a
 * new object: the input is not mutated).
 */
export function specIssues(spec: JobSpec): { issues: Issue[]; spec: JobSpec } {
  const issues: Issue[] = [];
  const b = spec.kind === 'twin' ? spec.twin.bounds : spec.kind === 'gridded' ? spec.bounds : {};
  const at = spec.kind === 'twin' ? 'twin.bounds' : 'bounds';
  for (const [name, v] of Object.entries(b)) {
    const [lo, hi] = VIC3L.parameters.find((p) => p.name === name)!.bounds;
    if (v.lower < lo || v.upper > hi)
      issues.push({
        path: `${at}.${name}`,
        message: `bounds ${v.lower} .. ${v.upper} leave vic3l's valid range ${lo} .. ${hi}`,
      });
  }
  issues.push(...periodsAgainstData(spec));
  issues.push(...memoryIssues(spec));
  if (spec.kind === 'gauges' && !spec.periods) {
    const days = dailyDates(spec.dataset.start, spec.dataset.end).length;
    if (spec.warmup >= days)
      issues.push({
        path: 'warmup',
        message: `${spec.warmup} warm-up steps leave none of the ${days} days of ${spec.dataset.start} .. ${spec.dataset.end} to calibrate on`,
      });
  }
  // cn-lr (the Curve-Number model) is learned by inverse-mapping only; the other gauge methods learn GR4J's fields
  if (spec.kind === 'gauges' && (spec.structure === 'cn-lr') !== (spec.method === 'inverse-mapping'))
    issues.push({
      path: 'structure',
      message:
        spec.structure === 'cn-lr'
          ? `structure cn-lr is learned by inverse-mapping only (not ${spec.method})`
          : 'inverse-mapping learns the Curve-Number model: set structure to cn-lr',
    });
  let options = spec.options;
  const kind = problemKindOf(spec);
  const known = methodNames(kind);
  if (!known.includes(spec.method)) {
    const other = methodNames().includes(spec.method);
    issues.push({
      path: 'method',
      message: other
        ? `${spec.method} does not calibrate ${kind === 'gauges' ? 'gauge discharge' : kind === 'lumped' ? 'lumped basins (it has no lumped runner)' : kind === 'basins' ? 'multi-basin datasets (it has no basins runner)' : 'gridded fields'} (${kind} jobs take ${known.join(', ') || 'no method'})`
        : `Invalid option: expected one of ${known.map((m) => `"${m}"`).join('|')}`,
    });
  } else
    try {
      options = methodOptions(spec.method, kind, spec.options);
    } catch (e) {
      issues.push(fieldIssue(e, 'options'));
    }
  return { issues, spec: { ...spec, options } };
}

/**
 * {@link specIssues}, refusing the job with a VALIDATION error naming every field when any is
 * found; the result is what the job runs with and what the project stores.
 */
export function checkJobSpec(spec: JobSpec, source = 'job'): JobSpec {
  const r = specIssues(spec);
  if (r.issues.length) throw refuse(source, r.issues);
  return r.spec;
}

/**
 * Named periods against the days the job's data will have: a dataset's start .. end (a range
 * outside it, or holding no day, is refused with its entry's field, `periods.1.end`); a synthetic
 * twin's data span its periods (at most 100 years).
 */
function periodsAgainstData(spec: JobSpec): Issue[] {
  // a lumped job's period is checked against its CSV's dates in preflight (lumpedJob.ts), a basins job's in basinsJob.ts
  if (spec.kind === 'lumped' || spec.kind === 'basins' || !spec.periods) return [];
  if (!spec.dataset) {
    const { start, end } = periodsSpan(spec.periods);
    const days = (Date.parse(end) - Date.parse(start)) / 86_400_000 + 1;
    return days > 100 * 366
      ? [{ path: 'periods', message: `the periods span ${days} days, at most 100 years` }]
      : [];
  }
  try {
    stepPeriods(spec.periods, dailyDates(spec.dataset.start, spec.dataset.end));
    return [];
  } catch (e) {
    return [fieldIssue(e, 'periods')];
  }
}

/**
 * The issue of a typed error that names its field (`details.field`, else `fallback`): its message
 * is the reason alone (`details.reason`) where the error gives one, as the issue's path names the field.
 */
export function fieldIssue(e: unknown, fallback: string): Issue {
  const details = (e as FieldcalError).details;
  return {
    path: (details?.field as string | undefined) ?? fallback,
    message: (details?.reason as string | undefined) ?? (e as Error).message,
  };
}

/** The share of the machine's memory one job's arrays may take before it is refused at submit. */
export const JOB_MEMORY_FRACTION = 0.5;
/** Float64 arrays of cells × steps a synthetic twin holds at once: P, PET, T forcing, the true and noisy target and the simulated field (generate.ts). */
const TWIN_FIELD_ARRAYS = 6;
/** The most Float64 values one array holds: Node's largest buffer (`buffer.constants.MAX_LENGTH` bytes, 2^32 in Node 20) / 8; beyond it, `Invalid typed array length`. */
const MAX_ARRAY_ELEMENTS = Math.floor(bufferConstants.MAX_LENGTH / 8);

/**
 * A synthetic twin's memory need, estimated before it runs: `cells × steps` Float64 values per
 * field array (cells bounded by rows × cols; steps the 365-day years of `twin.years`, the span of
 * `periods`, or the paper's 2008 .. 2014). Refused beyond {@link JOB_MEMORY_FRACTION} of the
 * machine's memory, or when one array would pass V8's typed-array limit, with the estimate in the
 * message. Jobs on a dataset are sized by their data (jobs.check reads its grid).
 */
export function memoryIssues(spec: JobSpec, memBytes = totalmem()): Issue[] {
  if (spec.kind !== 'twin' || spec.dataset) return [];
  const t = spec.twin;
  const cells = t.rows * t.cols;
  let steps: number;
  if (spec.periods) {
    const { start, end } = periodsSpan(spec.periods);
    steps = Math.max(1, (Date.parse(end) - Date.parse(start)) / 86_400_000 + 1);
  } else if (t.layout === 'paper')
    steps = (Date.parse('2014-12-31') - Date.parse('2008-01-01')) / 86_400_000 + 1;
  else steps = 365 * (t.years.warmup + t.years.train + t.years.valid + t.years.test);
  const values = cells * steps;
  const bytes = TWIN_FIELD_ARRAYS * 8 * values;
  const limit = JOB_MEMORY_FRACTION * memBytes;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GiB`;
  const what = `${t.rows} × ${t.cols} cells × ${steps} days`;
  if (values > MAX_ARRAY_ELEMENTS)
    return [
      {
        path: 'twin',
        message: `${what} is ${values.toExponential(2)} values per field, beyond the ${MAX_ARRAY_ELEMENTS.toExponential(2)} one array can hold (about ${gib(bytes)} in all); use fewer cells or years`,
      },
    ];
  if (bytes > limit)
    return [
      {
        path: 'twin',
        message: `${what} needs about ${gib(bytes)} for its ${TWIN_FIELD_ARRAYS} forcing and target fields, more than ${Math.round(JOB_MEMORY_FRACTION * 100)} % of this machine's ${gib(memBytes)}; use fewer cells or years`,
      },
    ];
  return [];
}

/** Validates a job spec from outside (a file, a test) before anything starts: typed errors name every offending field. */
export function parseJobSpec(input: unknown, source = 'job'): JobSpec {
  // zod drops `__proto__` from records silently: refuse prototype keys first, by their path
  const proto = prototypeKeyIssues(input);
  if (proto.length)
    throw refuse(
      source,
      proto.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  const r = jobSpecSchema.safeParse(input);
  if (!r.success)
    throw refuse(
      source,
      r.error.issues.map((i) => ({ path: issuePath(i), message: i.message })),
    );
  return checkJobSpec(r.data, source);
}
