import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';

/** The objective of a gridded run (see objectives.ts). */
export const objectiveSchema = z
  .enum(['spatial-rmse', 'cell-mse'])
  .default('spatial-rmse')
  .describe(
    'Loss on the target: spatial-rmse (RMSE across cells at each step, averaged; Dembélé et al. 2020) or cell-mse (over all cells and steps)',
  );

/**
 * Validates a method's options against its schema, answering a typed error naming the method and
 * the offending field (`details.field`), with the bare reason in `details.reason`.
 */
export function parseOptions<S extends z.ZodType>(method: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const field = issuePath(i);
  // `reason` is the message without the names, for where the field is shown beside it (a job's issues)
  throw new FieldcalError('VALIDATION', `${method} options: ${field}: ${i.message}`, {
    field: `options.${field}`,
    reason: i.message,
  });
}

/** The dotted path of a zod issue; an unknown key is named itself (not its parent). */
export function issuePath(i: z.core.$ZodIssue): string {
  const path = i.path.map(String);
  if (i.code === 'unrecognized_keys' && i.keys.length) path.push(i.keys[0]!);
  return path.join('.') || '(root)';
}
