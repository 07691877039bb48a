/**
 * Form hints an option schema carries to the renderer through its JSON Schema (zod's `.meta()`
 * writes them beside `description`): `shownWhen` names other options of the form (top-level
 * names, or `group.key` for a settings object's key) and the values under which the option
 * matters, e.g. `{ physics: ['lstm', 'arnet'] }` for a surrogate's settings. The options form
 * shows the option only then, and leaves it out of the options otherwise (main fills its default);
 * on a settings object it holds for each of its keys, with a key's own rule on top. Values are
 * compared as the inputs hold them: an enum's choice, 'true' / 'false' for a checkbox.
 * methodForms.test.ts checks that every rule names an option and values it can take.
 */
export type ShownWhen = Readonly<Record<string, readonly string[]>>;

/** The JSON Schema keyword of {@link ShownWhen}. */
export const SHOWN_WHEN = 'shownWhen';

/** The `.meta()` of an option that matters only under `when`. */
export const shownWhen = (when: ShownWhen): { [SHOWN_WHEN]: ShownWhen } => ({ [SHOWN_WHEN]: when });

/** Both rules at once: for an option both name, the values both allow. */
function bothWhen(a: ShownWhen, b: ShownWhen | undefined): ShownWhen {
  const out: Record<string, readonly string[]> = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) out[k] = k in a ? a[k]!.filter((x) => v.includes(x)) : v;
  return out;
}

/** A JSON Schema's `shownWhen` when well formed: option names to lists of values. */
function whenOf(s: Readonly<Record<string, unknown>>): ShownWhen | undefined {
  const w = s[SHOWN_WHEN];
  if (!w || typeof w !== 'object' || Array.isArray(w)) return undefined;
  const entries = Object.entries(w as Record<string, unknown>).filter(
    (e): e is [string, string[]] => Array.isArray(e[1]) && e[1].every((v) => typeof v === 'string'),
  );
  return entries.length ? Object.fromEntries(entries) : undefined;
}

/**
 * Whether a rule holds: each option it names has one of the listed values, compared as text
 * (`valueOf` gives an option's value as an input holds it; undefined for an option there is none
 * of, which does not hide).
 */
export function whenHolds(when: ShownWhen, valueOf: (name: string) => string | undefined): boolean {
  return Object.entries(when).every(([name, allowed]) => {
    const v = valueOf(name);
    return v === undefined || allowed.includes(v);
  });
}

/** A rule in words: `physics lstm or arnet`, its options joined by `and`. */
export const whenText = (when: ShownWhen): string =>
  Object.entries(when)
    .map(([k, v]) => `${k} ${v.join(' or ')}`)
    .join(' and ');

/**
 * Every rule of an options schema (zod's JSON Schema) by option path: a top-level name, or
 * `group.key` for a key of a settings object, whose own rule holds on top of the object's.
 */
export function optionRules(schema: Readonly<Record<string, unknown>>): Map<string, ShownWhen> {
  const out = new Map<string, ShownWhen>();
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, s] of Object.entries(props)) {
    const outer = whenOf(s);
    if (outer) out.set(name, outer);
    const keys =
      s.type === 'object' ? (s.properties as Record<string, Record<string, unknown>> | undefined) : undefined;
    for (const [key, sub] of Object.entries(keys ?? {})) {
      const own = whenOf(sub);
      const rule = outer ? bothWhen(outer, own) : own;
      if (rule) out.set(`${name}.${key}`, rule);
    }
  }
  return out;
}
