import { dirname, isAbsolute, resolve } from 'node:path';

/**
 * Relative paths in a config file given with `--config` are taken from that file's folder, as
 * `fieldcal sweep --config` and `fieldcal assemble --config` take them: the same config then names
 * the same files from any working folder, and the spec recorded with the run holds absolute paths.
 * `fields` are the dotted places of path strings (`dataset.path`, `hypsometry.path`); anything else
 * (a missing field, a value that is not a string, a config that is not an object) is left as it is
 * for the schema to judge. Returns a copy; `raw` is not changed.
 */
export function resolveConfigPaths<T>(raw: T, file: string, fields: readonly string[]): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const base = dirname(resolve(file));
  const at = (obj: Record<string, unknown>, keys: string[]): Record<string, unknown> => {
    const [k, ...rest] = keys as [string, ...string[]];
    if (!Object.hasOwn(obj, k)) return obj;
    const v = obj[k];
    if (rest.length === 0)
      return typeof v === 'string' && v !== '' && !isAbsolute(v) ? { ...obj, [k]: resolve(base, v) } : obj;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? { ...obj, [k]: at(v as Record<string, unknown>, rest) }
      : obj;
  };
  return fields.reduce((o, f) => at(o, f.split('.')), raw as Record<string, unknown>) as T;
}
