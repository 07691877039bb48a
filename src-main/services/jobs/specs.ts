import { FieldcalError, jobSpecSchema, type JobSpec, type TwinJobSpec } from '../../../src-shared/ipc';
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

/** The registry's problem kind a job calibrates: gauge discharge, or a gridded field (twins too). */
export const problemKindOf = (spec: JobSpec): 'gauges' | 'gridded' =>
  spec.kind === 'gauges' ? 'gauges' : 'gridded';

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
  if (spec.kind === 'gauges' && !spec.periods) {
    const days = dailyDates(spec.dataset.start, spec.dataset.end).length;
    if (spec.warmup >= days)
      issues.push({
        path: 'warmup',
        message: `${spec.warmup} warm-up steps leave none of the ${days} days of ${spec.dataset.start} .. ${spec.dataset.end} to calibrate on`,
      });
  }
  let options = spec.options;
  const kind = problemKindOf(spec);
  const known = methodNames(kind);
  if (!known.includes(spec.method)) {
    const other = methodNames().includes(spec.method);
    issues.push({
      path: 'method',
      message: other
        ? `${spec.method} does not calibrate ${kind === 'gauges' ? 'gauge discharge' : 'gridded fields'} (${kind} jobs take ${known.join(', ') || 'no method'})`
        : `Invalid option: expected one of ${known.map((m) => `"${m}"`).join('|')}`,
    });
  } else
    try {
      options = methodOptions(spec.method, kind, spec.options);
    } catch (e) {
      const field = ((e as FieldcalError).details?.field as string | undefined) ?? 'options';
      issues.push({ path: field, message: (e as Error).message });
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
  if (!spec.periods) return [];
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
    const field = ((e as FieldcalError).details?.field as string | undefined) ?? 'periods';
    return [{ path: field, message: (e as Error).message.replace(/^periods: /, '') }];
  }
}

/** Validates a job spec from outside (a file, a test) before anything starts: typed errors name every offending field. */
export function parseJobSpec(input: unknown, source = 'job'): JobSpec {
  const r = jobSpecSchema.safeParse(input);
  if (!r.success)
    throw refuse(
      source,
      r.error.issues.map((i) => ({ path: issuePath(i), message: i.message })),
    );
  return checkJobSpec(r.data, source);
}
