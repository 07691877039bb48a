import { describe, expect, it } from 'vitest';
import {
  buildLumpedAssembleSpec,
  emptyLumpedAssembleForm,
  lumpedIssuesFromError,
  newBasinRow,
  withHeader,
} from '../../../src-renderer/src/components/datasets/lumpedAssembleForm';

const HEADER = ['Date', 'Ptot', 'Temp', 'Evap', 'Qls', 'Qmmd'];

describe("the assembler's lumped basins form", () => {
  it('guesses CAMELS-FR columns, asks for the area of a flow, and builds the spec', () => {
    const f = emptyLumpedAssembleForm();
    f.name = 'alps';
    f.basins = [withHeader(newBasinRow(1, '/d/V123521001.csv'), HEADER)];
    expect(f.basins[0]!.columns).toEqual({ date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' });
    let b = buildLumpedAssembleSpec(f);
    expect(b.issues).toEqual({ rows: {}, fields: {}, general: [] });
    expect(b.spec).toMatchObject({
      kind: 'lumped',
      name: 'alps',
      basins: [{ path: '/d/V123521001.csv', dateFormat: 'auto', columns: { Q: 'Qmmd', units: { Q: 'mm' } } }],
    });
    f.basins[0]!.columns.Q = 'Qls';
    f.basins[0]!.units.Q = 'l/s';
    b = buildLumpedAssembleSpec(f);
    expect(b.spec).toBeNull();
    expect(b.issues.rows[1]).toEqual({ area: ['discharge in l/s needs the basin area (km²)'] });
    // a number input hands over a number
    (f.basins[0] as unknown as { area: number }).area = 25.38;
    b = buildLumpedAssembleSpec(f);
    expect(b.spec?.basins[0]!.columns.areaKm2).toBe(25.38);
  });

  it('refuses a column used twice and two basins with one code, at their place', () => {
    const f = emptyLumpedAssembleForm();
    f.name = 'x';
    f.basins = [
      withHeader(newBasinRow(1, '/a/B.csv'), HEADER),
      withHeader(newBasinRow(2, '/b/B.csv'), HEADER),
    ];
    f.basins[0]!.columns.PET = 'Ptot';
    const b = buildLumpedAssembleSpec(f);
    expect(b.issues.rows[1]).toEqual({ PET: ['Ptot is already the precipitation column'] });
    expect(b.issues.rows[2]).toEqual({ code: ['basin B given twice (basins[0])'] });
    // codes differing only in case would be one CSV on macOS and Windows
    f.basins[0]!.columns.PET = 'Evap';
    f.basins[1]!.code = 'b';
    expect(buildLumpedAssembleSpec(f).issues.rows[2]).toEqual({
      code: ["basin b is basins[0]'s B on a case-insensitive file system: give another code"],
    });
  });

  it("places main's refusal at the column it names", () => {
    const rows = [withHeader(newBasinRow(7, '/d/a.csv'), HEADER)];
    const at = lumpedIssuesFromError(
      {
        code: 'INVALID_FILE',
        message: '/d/a.csv, row 9, column Qmmd: discharge -1 is negative',
        details: { field: 'basins[0].path', file: '/d/a.csv', column: 'Qmmd', row: 9 },
      },
      rows,
    );
    expect(at.rows[7]).toEqual({ Q: ['/d/a.csv, row 9, column Qmmd: discharge -1 is negative'] });
    const out = lumpedIssuesFromError({ message: 'out: exists', details: { field: 'out' } }, rows);
    expect(out.fields).toEqual({ out: ['out: exists'] });
  });
});
