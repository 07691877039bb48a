import type Database from 'better-sqlite3';
import { FieldcalError } from '../../../../src-shared/ipc';

/** Runs a function inside the project's write transaction. */
export type Tx = <T>(fn: () => T) => T;

/** Base of every repository: the connection and the transaction runner of its project. */
export abstract class Repo {
  constructor(
    protected readonly db: Database.Database,
    protected readonly tx: Tx,
  ) {}
}

export const nowIso = (): string => new Date().toISOString();

/** Parses a JSON column written by this code; a damaged value is a typed error, not a crash. */
export function parseJsonObject(text: string | null, where: string): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the typed error
  }
  throw new FieldcalError('PROJECT_CORRUPT', `Stored JSON in ${where} is not an object`, { where });
}

export function notFound(what: string, id: number): FieldcalError {
  return new FieldcalError('NOT_FOUND', `No ${what} with id ${id} in this project`, { what, id });
}
