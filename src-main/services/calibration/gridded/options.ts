import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';

/** The objective of a gridded run (see objectives.ts). */
export const objectiveSchema = z.enum(['spatial-rmse', 'cell-mse']).default('spatial-rmse');

/** Validates a method's options against its schema, answering a typed error naming the offending field. */
export function parseOptions<S extends z.ZodType>(method: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const field = i.path.map(String).join('.') || '(root)';
  throw new FieldcalError('VALIDATION', `${method} options: ${field}: ${i.message}`, {
    field: `options.${field}`,
  });
}
