/**
 * A method's options form from its JSON Schema (zod's `toJSONSchema`, draft 2020-12, as
 * `jobs.methods` lists it per problem kind): one field per property, inline validation, and the
 * options object the job spec carries. Job-check issue paths are mapped back to form fields.
 */

import { optionRules, whenHolds, type ShownWhen } from '../../../../src-shared/types/formMeta';

export type FieldKind = 'number' | 'integer' | 'boolean' | 'enum' | 'string' | 'json';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive bounds (`exclusiveMinimum` / `exclusiveMaximum`). */
  exclusiveMin?: number;
  exclusiveMax?: number;
  /** The choices of an enum. */
  choices?: string[];
  default: unknown;
  hasDefault: boolean;
  description?: string;
  /** The JSON Schema of a json field (arrays and objects), for checking what is typed. */
  schema: JsonSchema;
  /**
   * A setting of a settings object (a property of object type whose keys all have defaults or may
   * be left out, e.g. `surrogate`): the object's name and description. The field's name is then
   * `group.key`, and `optionsFrom` gathers the group's filled fields into one object.
   */
  group?: { name: string; description?: string };
  /**
   * The other options' values under which this one matters (its schema's `shownWhen`, and its
   * settings object's): hidden and left out of the options otherwise.
   */
  shownWhen?: ShownWhen;
}

export type JsonSchema = Record<string, unknown>;
/** What a form input holds: text for inputs and JSON areas, a boolean for checkboxes. */
export type RawValue = string | boolean;

/** zod writes JavaScript's safe-integer limits for unbounded integers: not worth showing. */
const SAFE = Number.MAX_SAFE_INTEGER;

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < SAFE ? v : undefined;

/** The kind of input a property gets. */
function kindOf(s: JsonSchema): FieldKind {
  if (Array.isArray(s.enum) && s.enum.every((e) => typeof e === 'string')) return 'enum';
  const t = s.type;
  if (t === 'integer') return 'integer';
  if (t === 'number') return 'number';
  if (t === 'boolean') return 'boolean';
  if (t === 'string') return 'string';
  return 'json';
}

/**
 * Whether a property is a settings object shown as one field per key: an object with described
 * keys, none of them required (each has a default or may be left out), and a default ({}).
 */
function isSettings(s: JsonSchema): boolean {
  const props = s.properties as Record<string, JsonSchema> | undefined;
  return (
    s.type === 'object' &&
    !!props &&
    Object.keys(props).length > 0 &&
    !(Array.isArray(s.required) && s.required.length) &&
    typeof s.default === 'object' &&
    s.default !== null &&
    !Array.isArray(s.default)
  );
}

/** The form's fields, in the schema's property order; a settings object's keys in its place. */
export function fieldsOf(schema: JsonSchema | undefined): FieldSpec[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  // each field's shownWhen, a settings object's key's with the object's on top (formMeta.ts)
  const rules = optionRules(schema ?? {});
  const ruled = (f: FieldSpec): FieldSpec => {
    const when = rules.get(f.name);
    if (when) f.shownWhen = when;
    return f;
  };
  return Object.entries(props).flatMap(([name, s]) => {
    if (!isSettings(s)) return [ruled(fieldOf(name, s))];
    const group = {
      name,
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
    };
    const own = s.default as Record<string, unknown>;
    return Object.entries(s.properties as Record<string, JsonSchema>).map(([key, sub]) => {
      const f = fieldOf(
        `${name}.${key}`,
        key in own && !('default' in sub) ? { ...sub, default: own[key] } : sub,
      );
      f.group = group;
      return ruled(f);
    });
  });
}

/** One input's spec from its property schema. */
function fieldOf(name: string, s: JsonSchema): FieldSpec {
  const kind = kindOf(s);
  const f: FieldSpec = { name, kind, default: s.default, hasDefault: 'default' in s, schema: s };
  const min = num(s.minimum);
  const max = num(s.maximum);
  const xmin = num(s.exclusiveMinimum);
  const xmax = num(s.exclusiveMaximum);
  if (min !== undefined) f.min = min;
  if (max !== undefined) f.max = max;
  if (xmin !== undefined) f.exclusiveMin = xmin;
  if (xmax !== undefined) f.exclusiveMax = xmax;
  if (kind === 'enum') f.choices = s.enum as string[];
  if (typeof s.description === 'string') f.description = s.description;
  return f;
}

/**
 * Whether a field matters with the form's current values: each option its `shownWhen` names has
 * one of the listed values (an option the form lacks does not hide it).
 */
export function isShown(
  f: FieldSpec,
  values: Readonly<Record<string, RawValue>>,
  fields: readonly FieldSpec[],
): boolean {
  if (!f.shownWhen) return true;
  return whenHolds(f.shownWhen, (name) => {
    const other = fields.find((o) => o.name === name);
    return other ? String(values[name] ?? rawOf(other, other.default)) : undefined;
  });
}

/** The key of a field within its settings object (`surrogate.epochs` → `epochs`), else its name. */
export const keyOf = (f: FieldSpec): string => (f.group ? f.name.slice(f.group.name.length + 1) : f.name);

/** A field's value in an options object (a grouped one inside its settings object). */
function valueIn(options: Record<string, unknown>, f: FieldSpec): unknown {
  if (!f.group) return options[f.name];
  const g = options[f.group.name];
  return g && typeof g === 'object' ? (g as Record<string, unknown>)[keyOf(f)] : undefined;
}

/** The input's text (or checkbox state) for a value. */
export function rawOf(f: FieldSpec, v: unknown): RawValue {
  if (f.kind === 'boolean') return v === true;
  if (v === undefined || v === null) return '';
  if (f.kind === 'json') return JSON.stringify(v);
  return String(v);
}

/** The inputs filled with the method's defaults (`defaults` from jobs.methods, else the schema's). */
export function initialValues(
  fields: FieldSpec[],
  defaults: Record<string, unknown> = {},
): Record<string, RawValue> {
  return Object.fromEntries(
    fields.map((f) => {
      const d = valueIn(defaults, f);
      return [f.name, rawOf(f, d !== undefined ? d : f.default)];
    }),
  );
}

/**
 * An option's name cut at its camelCase humps (`pretrainEpochs` → `pretrain`, `Epochs`; `lambdaL1` →
 * `lambda`, `L1`), so the form can let a long name wrap there instead of cutting it.
 */
export function nameParts(name: string): string[] {
  return name.split(/(?<=[a-z0-9])(?=[A-Z])/);
}

/**
 * A field's tooltip: its description, then for an object (JSON input) one `key: description` line
 * per described key, so the keys one may write are told too.
 */
export function helpText(f: FieldSpec): string {
  const props = (f.schema.properties ?? {}) as Record<string, JsonSchema>;
  const keys = Object.entries(props)
    .filter(([, s]) => typeof s.description === 'string')
    .map(([k, s]) => `${k}: ${s.description as string}`);
  return [f.description ?? '', ...keys].filter(Boolean).join('\n');
}

/** A short text of a field's bounds, e.g. `1 … 10000` or `> 0, ≤ 1`. */
export function boundsText(f: FieldSpec): string {
  const lo = f.exclusiveMin !== undefined ? `> ${f.exclusiveMin}` : f.min !== undefined ? `≥ ${f.min}` : null;
  const hi = f.exclusiveMax !== undefined ? `< ${f.exclusiveMax}` : f.max !== undefined ? `≤ ${f.max}` : null;
  if (f.min !== undefined && f.max !== undefined && lo?.startsWith('≥') && hi?.startsWith('≤'))
    return `${f.min} … ${f.max}`;
  return [lo, hi].filter(Boolean).join(', ');
}

/** Checks a number against a schema's bounds; the message or null. */
function boundsIssue(v: number, s: JsonSchema, integer: boolean): string | null {
  if (integer && !Number.isInteger(v)) return 'must be a whole number';
  const min = num(s.minimum);
  const max = num(s.maximum);
  const xmin = num(s.exclusiveMinimum);
  const xmax = num(s.exclusiveMaximum);
  if (min !== undefined && v < min) return `must be at least ${min}`;
  if (max !== undefined && v > max) return `must be at most ${max}`;
  if (xmin !== undefined && v <= xmin) return `must be greater than ${xmin}`;
  if (xmax !== undefined && v >= xmax) return `must be less than ${xmax}`;
  return null;
}

/**
 * What a JSON value lacks against a (small) JSON Schema: type, enum, numeric bounds, array lengths
 * and items, object properties. Enough for the arrays and objects method options use; main checks
 * the options in full with the method's zod schema.
 */
export function schemaIssue(v: unknown, s: JsonSchema, at = ''): string | null {
  const where = at ? `${at}: ` : '';
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === v))
    return `${where}expected one of ${s.enum.join(', ')}`;
  switch (s.type) {
    case 'integer':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${where}expected a number`;
      const b = boundsIssue(v, s, s.type === 'integer');
      return b ? `${where}${b}` : null;
    }
    case 'boolean':
      return typeof v === 'boolean' ? null : `${where}expected true or false`;
    case 'string':
      return typeof v === 'string' ? null : `${where}expected a string`;
    case 'array': {
      if (!Array.isArray(v)) return `${where}expected a list such as [16, 16]`;
      const minItems = num(s.minItems);
      const maxItems = num(s.maxItems);
      if (minItems !== undefined && v.length < minItems) return `${where}at least ${minItems} items`;
      if (maxItems !== undefined && v.length > maxItems) return `${where}at most ${maxItems} items`;
      if (s.items && typeof s.items === 'object')
        for (let i = 0; i < v.length; i++) {
          const e = schemaIssue(v[i], s.items as JsonSchema, `item ${i + 1}`);
          if (e) return `${where}${e}`;
        }
      return null;
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${where}expected an object {…}`;
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      for (const [k, sub] of Object.entries(props))
        if (k in v) {
          const e = schemaIssue((v as Record<string, unknown>)[k], sub, at ? `${at}.${k}` : k);
          if (e) return e;
        }
      if (s.additionalProperties === false)
        for (const k of Object.keys(v)) if (!(k in props)) return `${where}unknown key ${k}`;
      return null;
    }
    default:
      return null;
  }
}

/** One input's value for the options object, or the message shown next to it. `undefined`: left out. */
export function parseField(f: FieldSpec, raw: RawValue): { value?: unknown; error?: string } {
  if (f.kind === 'boolean') return { value: raw === true };
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '') return f.hasDefault ? { value: undefined } : {};
  switch (f.kind) {
    case 'number':
    case 'integer': {
      const v = Number(text);
      if (!Number.isFinite(v)) return { error: 'expected a number' };
      const e = boundsIssue(v, f.schema, f.kind === 'integer');
      return e ? { error: e } : { value: v };
    }
    case 'enum':
      return f.choices?.includes(text)
        ? { value: text }
        : { error: `expected one of ${f.choices?.join(', ')}` };
    case 'string':
      return { value: text };
    case 'json': {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (err) {
        return { error: `not valid JSON (${(err as Error).message})` };
      }
      const e = schemaIssue(v, f.schema);
      return e ? { error: e } : { value: v };
    }
  }
}

/** The fields that matter with the form's current values (`isShown`), in order. */
export function shownOf(
  fields: readonly FieldSpec[],
  values: Readonly<Record<string, RawValue>>,
): FieldSpec[] {
  return fields.filter((f) => isShown(f, values, fields));
}

/**
 * The options object of the form and the inline errors by field name. Empty inputs are left out
 * (main fills defaults), and so are hidden ones (`isShown`): an option that does not matter is
 * neither sent nor checked.
 */
export function optionsFrom(
  fields: FieldSpec[],
  values: Record<string, RawValue>,
): { options: Record<string, unknown>; errors: Record<string, string> } {
  const options: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (!isShown(f, values, fields)) continue;
    const r = parseField(f, values[f.name] ?? rawOf(f, f.default));
    if (r.error) errors[f.name] = r.error;
    else if (r.value === undefined) continue;
    else if (f.group) ((options[f.group.name] ??= {}) as Record<string, unknown>)[keyOf(f)] = r.value;
    else options[f.name] = r.value;
  }
  return { options, errors };
}

/**
 * The form field an issue belongs to: the longest field key that is the issue's path or a dotted
 * prefix of it (`options.hidden.1` → `options.hidden`, `gauges.2` → `gauges`, `studyArea.geometry`
 * → `studyArea`); null when none is (the issue is shown with the form's general issues).
 */
export function fieldForIssue(path: string, keys: readonly string[]): string | null {
  let best: string | null = null;
  for (const k of keys)
    if ((path === k || path.startsWith(`${k}.`)) && (best === null || k.length > best.length)) best = k;
  return best;
}

/** Issues grouped by the field they belong to (`''` for those of no field). */
export function issuesByField(
  issues: ReadonlyArray<{ path: string; message: string }>,
  keys: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of issues) {
    const k = aliases[i.path] ?? fieldForIssue(i.path, keys) ?? '';
    (out[k] ??= []).push(i.message);
  }
  return out;
}
