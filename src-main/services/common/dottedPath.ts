/** Values at dotted paths of plain objects (`options.surrogate.epochs`): a sweep's grid keys, option rules' names. */

/** Sets `value` at a dotted path of `obj` (objects created where missing); an issue when a step is no object. */
export function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): string | null {
  const keys = dotted.split('.');
  let cur: Record<string, unknown> = obj;
  for (const [i, k] of keys.slice(0, -1).entries()) {
    const next = Object.hasOwn(cur, k) ? cur[k] : undefined;
    if (next === undefined) cur[k] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next))
      return `${keys.slice(0, i + 1).join('.')} is not an object in base`;
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1)!] = value;
  return null;
}

/** The value at a dotted path, or undefined. */
export function getPath(obj: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = obj;
  for (const k of dotted.split('.'))
    v = v && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** Removes the value at a dotted path, and the objects it leaves empty. */
export function deletePath(obj: Record<string, unknown>, dotted: string): void {
  const [head, ...rest] = dotted.split('.');
  const next = obj[head!];
  if (!rest.length) delete obj[head!];
  else if (next && typeof next === 'object' && !Array.isArray(next)) {
    deletePath(next as Record<string, unknown>, rest.join('.'));
    if (!Object.keys(next).length) delete obj[head!];
  }
}
