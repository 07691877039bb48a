import { FieldcalError, jobSpecSchema, type JobSpec, type TwinJobSpec } from '../../../src-shared/ipc';
import { issuePath } from '../calibration/gridded/options';
import { dailyDates, periodsSpan, stepPeriods } from '../calibration/gridded/periods';
import { methodNames, methodOptions } from '../calibration/registry';
import { VIC3L } from '../physics/vic3l';

export type { JobSpec, TwinJobSpec };

type Issue = { path: string; message: string };

const refuse = (source: string, issues: Issue[]) =>
  new FieldcalError('VALIDATION', `${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    issues,
    field: issues[0]!.path,
  });

/**
 * What src-shared's schema cannot know, checked in main: the method is a registry key that accepts
 * gridded problems, its options match its strict schema (defaults filled), and search bounds stay
 * inside vic3l's valid ranges. Returns the spec with its options parsed (a new object: the input
 * is not mutated); the result is what the job runs with and what the project stores.
 */
export function checkJobSpec(spec: JobSpec, source = 'job'): JobSpec {
  const issues: Issue[] = [];
  const b = spec.kind === 'twin' ? spec.twin.bounds : spec.bounds;
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
  let options = spec.options;
  if (!methodNames('gridded').includes(spec.method))
    issues.push({
      path: 'method',
      message: `Invalid option: expected one of ${methodNames('gridded')
        .map((m) => `"${m}"`)
        .join('|')}`,
    });
  else
    try {
      options = methodOptions(spec.method, 'gridded', spec.options);
    } catch (e) {
      const field = ((e as FieldcalError).details?.field as string | undefined) ?? 'options';
      issues.push({ path: field, message: (e as Error).message });
    }
  if (issues.length) throw refuse(source, issues);
  return { ...spec, options };
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
