import { z } from 'zod';

/**
 * Keys refused anywhere in a payload: assigning them rebuilds an object's prototype (`__proto__`)
 * or shadows what code expects of every object (`constructor`, `prototype`). zod 4 drops `__proto__`
 * from records and loose objects silently (before any refinement sees it), so payloads are scanned
 * before they are parsed: main's dispatch (every IPC call) and job specs read from files.
 */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** How deep {@link prototypeKeyIssues} looks (deeper payloads are refused by their schemas anyway). */
const MAX_DEPTH = 64;

/**
 * Every own prototype key in a value (objects and arrays, depth-first, at most `limit` found), as
 * `{path, message}` with the path as a list of keys from the value's root.
 */
export function prototypeKeyIssues(
  value: unknown,
  limit = 20,
): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: Array<string | number>, depth: number) => {
    if (out.length >= limit || v === null || typeof v !== 'object' || depth > MAX_DEPTH) return;
    if (seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i], depth + 1));
      return;
    }
    // typed arrays and other binary payloads carry no keys worth looking at
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
    for (const k of Object.keys(v)) {
      if (PROTOTYPE_KEYS.has(k)) {
        out.push({ path: [...path, k], message: `the key "${k}" is refused (prototype key)` });
        if (out.length >= limit) return;
        continue;
      }
      walk((v as Record<string, unknown>)[k], [...path, k], depth + 1);
    }
  };
  walk(value, [], 0);
  return out;
}

/** An arbitrary JSON value holding no prototype key at any depth (each one refused at its path). */
export const safeUnknown = z.unknown().superRefine((v, ctx) => {
  for (const i of prototypeKeyIssues(v)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
});
