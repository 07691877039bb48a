import { z } from 'zod';

/** Every error code a service may answer with. Stable: the renderer and CLI switch on these. */
export const ERROR_CODES = [
  'VALIDATION',
  'UNKNOWN_METHOD',
  'UNAUTHORIZED',
  'NO_PROJECT',
  'NOT_FOUND',
  'CONFLICT',
  'PROJECT_NOT_SQLITE',
  'PROJECT_NOT_FIELDCAL',
  'PROJECT_CORRUPT',
  'PROJECT_NEWER_SCHEMA',
  'INVALID_FILE',
  'UNSUPPORTED_FORMAT',
  'INCONSISTENT_DATA',
  'IO',
  /** What this shell cannot do (a native file dialog in the browser bridge, a window that is gone). */
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The serialisable error every IPC and WebSocket call answers with when it fails. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown> | undefined;
}

export const serializedErrorSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Error thrown by services. It carries a code and structured details (file, field, reason) and
 * crosses process and socket boundaries as a plain {@link SerializedError}.
 */
export class FieldcalError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'FieldcalError';
    this.code = code;
    this.details = details;
  }

  toJSON(): SerializedError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error received over IPC or the socket. */
  static fromSerialized(e: SerializedError): FieldcalError {
    return new FieldcalError(e.code, e.message, e.details);
  }
}

/** True when a value has the shape of a {@link SerializedError}. */
export function isSerializedError(value: unknown): value is SerializedError {
  return serializedErrorSchema.safeParse(value).success;
}

/** Maps any thrown value to a serialisable error without leaking stack traces to the renderer. */
export function toSerializedError(err: unknown): SerializedError {
  if (err instanceof FieldcalError) return err.toJSON();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}
