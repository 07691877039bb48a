import {
  lumpedAssembleSpecSchema,
  type LumpedAssembleSpec,
  type LumpedAssembleSpecInput,
  type LumpedDateFormat,
} from '../../../../src-shared/types/assemble';
import {
  areaOf,
  basinOfPath,
  guessMapping,
  needsArea,
  ROLE_LABELS,
  ROLES,
  type LumpedForm,
  type Role,
} from '../calibration/lumpedForm';

/**
 * The assembler's lumped basins (issue 15), as pure logic: one row per basin CSV with its columns
 * mapped (the lumped section's mapping, `ColumnMapping.svelte`), the `lumped` assemble spec parsed
 * through its schema, and where the form's and main's problems show (a row's path, code, a role's
 * column, the area, the hypsometry; or the dataset's name and folder).
 */

export interface LumpedBasinRow extends Pick<LumpedForm, 'columns' | 'units' | 'area'> {
  key: number;
  path: string;
  /** The basin's code ('' = the file name). */
  code: string;
  dateFormat: LumpedDateFormat;
  /** CemaNeige: the hypsometry table and the basin's column in it ('' = none). */
  hypsometry: string;
  basin: string;
  /** The CSV's header as datasets.probe read it. */
  header: string[];
  probing: boolean;
  probeError: string | null;
}

export interface LumpedAssembleForm {
  name: string;
  out: string;
  overwrite: boolean;
  basins: LumpedBasinRow[];
}

/** Problems per basin row (by place: path, code, date … T, area, hypsometry), per field, and the rest. */
export interface LumpedIssues {
  rows: Record<number, Record<string, string[]>>;
  fields: Record<string, string[]>;
  general: string[];
}

export const emptyLumpedAssembleForm = (): LumpedAssembleForm => ({
  name: '',
  out: '',
  overwrite: false,
  basins: [],
});

export const newBasinRow = (key: number, path: string): LumpedBasinRow => ({
  key,
  path,
  code: '',
  dateFormat: 'auto',
  columns: { date: '', P: '', PET: '', Q: '', T: '' },
  units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
  area: '',
  hypsometry: '',
  basin: '',
  header: [],
  probing: false,
  probeError: null,
});

/** A row with its probed header: the columns and units guessed from their names (the lumped section's guesses). */
export function withHeader(row: LumpedBasinRow, header: string[]): LumpedBasinRow {
  const g = guessMapping(header);
  return { ...row, header, columns: g.columns, units: g.units, probing: false, probeError: null };
}

const add = (to: Record<string, string[]>, at: string, m: string) => {
  const list = (to[at] ??= []);
  if (!list.includes(m)) list.push(m);
};

/** The spec as written (main fills the defaults). */
export function lumpedSpecInput(f: LumpedAssembleForm): LumpedAssembleSpecInput {
  return {
    kind: 'lumped',
    name: f.name.trim(),
    ...(f.out.trim() ? { out: f.out.trim() } : {}),
    overwrite: f.overwrite,
    basins: f.basins.map((b) => {
      const area = needsArea(b.units.Q) ? areaOf(b.area) : null;
      return {
        path: b.path.trim(),
        ...(b.code.trim() ? { code: b.code.trim() } : {}),
        dateFormat: b.dateFormat,
        columns: {
          date: b.columns.date,
          P: b.columns.P,
          PET: b.columns.PET,
          Q: b.columns.Q,
          ...(b.columns.T ? { T: b.columns.T } : {}),
          units: { ...b.units },
          ...(area !== null ? { areaKm2: area } : {}),
        },
        ...(b.hypsometry.trim()
          ? {
              hypsometry: {
                path: b.hypsometry.trim(),
                ...(b.basin.trim() ? { basin: b.basin.trim() } : {}),
              },
            }
          : {}),
      };
    }),
  };
}

/** Where a spec path (`basins.2.columns.units.Q`, `name`) shows on the form. */
function locate(
  path: string,
  rows: readonly LumpedBasinRow[],
): { row: number; at: string } | { field: string } | null {
  const p = path.replace(/^spec\.?/, '').replace(/\[(\d+)\]/g, '.$1');
  const m = /^basins\.(\d+)(?:\.(.*))?$/.exec(p);
  if (m) {
    const row = rows[Number(m[1])];
    if (!row) return null;
    const rest = m[2] ?? 'path';
    const role = /^columns\.(?:units\.)?(date|P|PET|Q|T)$/.exec(rest)?.[1];
    if (role) return { row: row.key, at: role };
    if (rest === 'columns.areaKm2') return { row: row.key, at: 'area' };
    if (rest.startsWith('hypsometry')) return { row: row.key, at: 'hypsometry' };
    if (rest === 'code') return { row: row.key, at: 'code' };
    return { row: row.key, at: 'path' };
  }
  const field = p.split('.')[0] ?? '';
  return ['name', 'out', 'overwrite'].includes(field) ? { field } : null;
}

function placeAt(out: LumpedIssues, where: ReturnType<typeof locate>, m: string): void {
  if (!where) {
    if (!out.general.includes(m)) out.general.push(m);
  } else if ('field' in where) add(out.fields, where.field, m);
  else add((out.rows[where.row] ??= {}), where.at, m);
}

/**
 * The spec parsed through `lumpedAssembleSpecSchema` (what datasets.assembleLumped accepts), or the
 * form's issues: what is missing first (say what to do), then the schema's.
 */
export function buildLumpedAssembleSpec(f: LumpedAssembleForm): {
  spec: LumpedAssembleSpec | null;
  input: LumpedAssembleSpecInput;
  issues: LumpedIssues;
} {
  const issues: LumpedIssues = { rows: {}, fields: {}, general: [] };
  const input = lumpedSpecInput(f);
  if (!f.name.trim()) add(issues.fields, 'name', 'give the dataset a name');
  if (!f.basins.length) issues.general.push('add at least one basin CSV');
  for (const b of f.basins) {
    const at = (issues.rows[b.key] ??= {});
    if (!b.path.trim()) add(at, 'path', 'give the basin CSV');
    for (const r of ROLES) {
      const c = b.columns[r];
      if (!c && r !== 'T')
        add(at, r, `choose the ${r === 'PET' ? 'PET' : ROLE_LABELS[r].toLowerCase()} column`);
      if (c && b.header.length && !b.header.includes(c)) add(at, r, `the CSV has no column ${c}`);
      const first = ROLES.find((o) => b.columns[o] === c);
      if (c && first !== r)
        add(
          at,
          r,
          `${c} is already the ${first === 'PET' ? 'PET' : ROLE_LABELS[first as Role].toLowerCase()} column`,
        );
    }
    if (needsArea(b.units.Q) && areaOf(b.area) === null)
      add(
        at,
        'area',
        String(b.area ?? '').trim()
          ? `area "${b.area}" is not a positive number`
          : `discharge in ${b.units.Q} needs the basin area (km²)`,
      );
    if (b.basin.trim() && !b.hypsometry.trim())
      add(at, 'hypsometry', 'give the hypsometry table the basin column is in');
    if (!Object.keys(at).length) delete issues.rows[b.key];
  }
  const parsed = lumpedAssembleSpecSchema.safeParse(input);
  if (!parsed.success)
    for (const i of parsed.error.issues) {
      const where = locate(i.path.map(String).join('.'), f.basins);
      // the form's own word at a place comes first; the schema's only where the form had none
      if (where && 'row' in where && issues.rows[where.row]?.[where.at]) continue;
      if (where && 'field' in where && issues.fields[where.field]) continue;
      placeAt(issues, where, i.message);
    }
  const clean =
    !issues.general.length && !Object.keys(issues.rows).length && !Object.keys(issues.fields).length;
  return { spec: clean && parsed.success ? parsed.data : null, input, issues };
}

/**
 * Main's refusal placed on the form: zod issues of the contract (`spec.basins.0.columns.Q`), or a
 * FieldcalError whose `field` names the place (`basins[0].columns.units.Q`, `out`); a refusal on a
 * basin's file that names a mapped column shows at that column.
 */
export function lumpedIssuesFromError(err: unknown, rows: readonly LumpedBasinRow[]): LumpedIssues {
  const out: LumpedIssues = { rows: {}, fields: {}, general: [] };
  const e = (err ?? {}) as { message?: unknown; details?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const details = (e.details && typeof e.details === 'object' ? e.details : {}) as Record<string, unknown>;
  if (Array.isArray(details.issues) && details.issues.length) {
    for (const i of details.issues as Array<{ path?: unknown; message?: unknown }>) {
      const p = typeof i?.path === 'string' ? i.path : Array.isArray(i?.path) ? i.path.join('.') : '';
      placeAt(out, locate(p, rows), typeof i?.message === 'string' ? i.message : message);
    }
    return out;
  }
  let where = typeof details.field === 'string' ? locate(details.field, rows) : null;
  if (where && 'row' in where && where.at === 'path' && typeof details.column === 'string') {
    const row = rows.find((r) => r.key === (where as { row: number }).row)!;
    const role = ROLES.find((r) => row.columns[r] === details.column);
    if (role) where = { row: row.key, at: role };
  }
  if (!where && typeof details.file === 'string') {
    const row = rows.find((r) => r.path.trim() === details.file);
    if (row) where = { row: row.key, at: 'path' };
  }
  placeAt(out, where, message);
  return out;
}

/** A basin row's code as the dataset will name it. */
export const codeOf = (b: LumpedBasinRow): string => b.code.trim() || basinOfPath(b.path);
