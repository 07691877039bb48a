import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lumpedColumnsSchema } from '../../../src-shared/ipc';
import {
  basinOfPath,
  buildLumpedSpec,
  dischargeUnitOf,
  emptyLumpedForm,
  folderOf,
  formIssues,
  guessColumn,
  guessMapping,
  placeIssues,
  placeOf,
  temperatureUnitOf,
  type LumpedForm,
} from '../../../src-renderer/src/components/calibration/lumpedForm';

const CAMELS = 'tests/fixtures/camels-fr/X031001001.csv';
/** The fixture's header as datasets.probe returns it (quotes stripped). */
const camelsHeader = readFileSync(CAMELS, 'utf8')
  .split(/\r?\n/)[0]!
  .split(',')
  .map((c) => c.replace(/^"|"$/g, ''));
const common = { method: 'sce-ua', seed: 3, options: { maxRuns: 200 } };

function camelsForm(over: Partial<LumpedForm> = {}): LumpedForm {
  return {
    ...emptyLumpedForm(),
    path: `/data/${CAMELS}`,
    ...guessMapping(camelsHeader),
    structure: 'gr4-cemaneige',
    hypsometry: '/data/tests/fixtures/camels-fr/hypsometry.csv',
    basin: 'X031001001',
    warmupStart: '2000-01-01',
    start: '2001-01-01',
    end: '2009-12-31',
    ...over,
  };
}

describe('column guesses', () => {
  it("maps CAMELS-FR's header (Date, Ptot, Temp, Evap, Qls, Qmmd) and prefers Qmmd (mm) to Qls", () => {
    expect(camelsHeader).toEqual(['Date', 'Ptot', 'Temp', 'Evap', 'Qls', 'Qmmd']);
    const g = guessMapping(camelsHeader);
    expect(g.columns).toEqual({ date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: 'Temp' });
    expect(g.units).toEqual({ P: 'mm', PET: 'mm', Q: 'mm', T: '°C' });
  });

  it("takes airGR's and smash's names, and a flow column with its unit when no depth is there", () => {
    expect(guessMapping(['DatesR', 'P', 'E', 'Qmm', 'T']).columns).toEqual({
      date: '',
      P: 'P',
      PET: 'E',
      Q: 'Qmm',
      T: 'T',
    });
    expect(guessColumn('P', ['time', 'prcp', 'pet'])).toBe('prcp');
    expect(guessColumn('PET', ['time', 'prcp', 'pet'])).toBe('pet');
    const flow = guessMapping(['date', 'P', 'PET', 'Qls']);
    expect(flow.columns.Q).toBe('Qls');
    expect(flow.units.Q).toBe('l/s');
    expect(guessMapping(['date', 'P', 'PET', 'Q_m3s']).units.Q).toBe('m3/s');
    expect(guessColumn('T', ['date', 'P', 'PET', 'Q'])).toBe('');
  });

  it('reads units from names', () => {
    expect(dischargeUnitOf('Qls')).toBe('l/s');
    expect(dischargeUnitOf('Q (l/s)')).toBe('l/s');
    expect(dischargeUnitOf('Q_m3s')).toBe('m3/s');
    expect(dischargeUnitOf('flow_cms')).toBe('m3/s');
    expect(dischargeUnitOf('Qmmd')).toBe('mm');
    expect(temperatureUnitOf('tas_K')).toBe('K');
    expect(temperatureUnitOf('T(K)')).toBe('K');
    expect(temperatureUnitOf('Temp')).toBe('°C');
  });

  it('names the basin and folder of a path', () => {
    expect(basinOfPath('/d/camels-fr/X031001001.csv')).toBe('X031001001');
    expect(basinOfPath('C:\\d\\V123521001.csv')).toBe('V123521001');
    expect(folderOf('/d/camels-fr/X031001001.csv')).toBe('/d/camels-fr');
    expect(folderOf('basin.csv')).toBe('');
  });
});

describe('the lumped job spec', () => {
  it('parses through jobSpecSchema with the mapping, units, hypsometry and period', () => {
    const r = buildLumpedSpec(camelsForm(), camelsHeader, common);
    expect(r.issues).toEqual([]);
    expect(r.spec).toEqual({
      kind: 'lumped',
      method: 'sce-ua',
      seed: 3,
      threads: 0,
      options: { maxRuns: 200 },
      dataset: {
        path: `/data/${CAMELS}`,
        columns: {
          date: 'Date',
          P: 'Ptot',
          PET: 'Evap',
          Q: 'Qmmd',
          T: 'Temp',
          units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
        },
        hypsometry: { path: '/data/tests/fixtures/camels-fr/hypsometry.csv', basin: 'X031001001' },
      },
      structure: 'gr4-cemaneige',
      period: { warmupStart: '2000-01-01', start: '2001-01-01', end: '2009-12-31' },
    });
    // the mapping is one lumpedColumnsSchema accepts as is (the CLI's `columns`)
    expect(lumpedColumnsSchema.parse(r.spec!.kind === 'lumped' ? r.spec!.dataset.columns : null)).toEqual(
      r.spec!.kind === 'lumped' ? r.spec!.dataset.columns : null,
    );
  });

  it('GR4J alone leaves out the hypsometry and a missing T; a flow carries the area', () => {
    const f = camelsForm({
      structure: 'gr4',
      columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qls', T: '' },
      units: { P: 'mm', PET: 'mm', Q: 'l/s', T: '°C' },
      area: '1120.5',
      warmupStart: '',
    });
    const r = buildLumpedSpec(f, camelsHeader, common);
    expect(r.issues).toEqual([]);
    expect(r.spec?.kind).toBe('lumped');
    if (r.spec?.kind !== 'lumped') return;
    expect(r.spec.dataset.hypsometry).toBeUndefined();
    expect(r.spec.dataset.columns).toEqual({
      date: 'Date',
      P: 'Ptot',
      PET: 'Evap',
      Q: 'Qls',
      units: { P: 'mm', PET: 'mm', Q: 'l/s', T: '°C' },
      areaKm2: 1120.5,
    });
    expect(r.spec.period).toEqual({ start: '2001-01-01', end: '2009-12-31' });
    // back to mm: the area is not sent
    const mm = buildLumpedSpec(
      { ...f, columns: { ...f.columns, Q: 'Qmmd' }, units: { ...f.units, Q: 'mm' } },
      camelsHeader,
      common,
    );
    expect(mm.issues).toEqual([]);
    expect(mm.spec?.kind === 'lumped' && mm.spec.dataset.columns).toEqual({
      date: 'Date',
      P: 'Ptot',
      PET: 'Evap',
      Q: 'Qmmd',
      units: { P: 'mm', PET: 'mm', Q: 'mm', T: '°C' },
    });
  });

  it('says what is missing, each at its field, and builds no spec', () => {
    const empty = buildLumpedSpec(emptyLumpedForm(), [], common);
    expect(empty.spec).toBeNull();
    const at = placeIssues(empty.issues, []);
    expect(at.path).toEqual(['give the basin CSV']);
    expect(at.date).toEqual(['choose the date column']);
    expect(at.Q).toEqual(['choose the discharge column']);
    expect(at.T).toBeUndefined(); // GR4J alone needs no temperature
    expect(at.start).toEqual(['give the first day calibrated on']);
    expect(at.end).toEqual(['give the last day calibrated on']);

    const snow = formIssues(
      camelsForm({ columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qmmd', T: '' }, hypsometry: '' }),
      camelsHeader,
    );
    expect(snow).toEqual([
      { path: 'dataset.columns.T', message: 'CemaNeige needs a temperature column' },
      { path: 'dataset.hypsometry.path', message: 'CemaNeige needs the hypsometry file' },
    ]);
  });

  it('refuses a flow without a usable area, a column twice or not in the CSV, and reversed dates', () => {
    const flow = camelsForm({
      columns: { date: 'Date', P: 'Ptot', PET: 'Evap', Q: 'Qls', T: 'Temp' },
      units: { P: 'mm', PET: 'mm', Q: 'l/s', T: '°C' },
    });
    expect(formIssues(flow, camelsHeader)).toEqual([
      {
        path: 'dataset.columns.areaKm2',
        message: 'discharge in l/s needs the basin area (km²) to become mm',
      },
    ]);
    expect(formIssues({ ...flow, area: '-3' }, camelsHeader)).toEqual([
      { path: 'dataset.columns.areaKm2', message: 'area "-3" is not a positive number' },
    ]);
    const twice = formIssues(
      camelsForm({ columns: { date: 'Date', P: 'Ptot', PET: 'Ptot', Q: 'Qmmd', T: 'Tmax' } }),
      camelsHeader,
    );
    expect(twice).toEqual([
      { path: 'dataset.columns.T', message: 'the CSV has no column Tmax' },
      { path: 'dataset.columns.PET', message: 'Ptot is already the precipitation column' },
    ]);
    // the schema's checks come through too, on their paths
    const reversed = buildLumpedSpec(
      camelsForm({ start: '2009-01-01', end: '2001-12-31' }),
      camelsHeader,
      common,
    );
    expect(reversed.spec).toBeNull();
    expect(reversed.issues).toEqual([{ path: 'period.end', message: 'end is before start' }]);
    const late = buildLumpedSpec(camelsForm({ warmupStart: '2002-01-01' }), camelsHeader, common);
    expect(late.issues).toEqual([
      { path: 'period.warmupStart', message: 'warm-up must start before the period' },
    ]);
    const bad = buildLumpedSpec(camelsForm({ start: '2001-02-30' }), camelsHeader, common);
    expect(bad.issues).toEqual([{ path: 'period.start', message: 'not a calendar date' }]);
  });
});

describe('where issues show', () => {
  it("places the form's, the schema's and main's paths", () => {
    const opts = ['maxRuns', 'restarts'];
    expect(placeOf('dataset.path', opts)).toBe('path');
    expect(placeOf('dataset.columns.units.Q', opts)).toBe('Q');
    expect(placeOf('dataset.columns.T', opts)).toBe('T');
    expect(placeOf('Q', opts)).toBe('Q'); // main's lumped CSV reader names the role
    expect(placeOf('dataset.columns.areaKm2', opts)).toBe('area');
    expect(placeOf('dataset.hypsometry', opts)).toBe('hypsometry');
    expect(placeOf('dataset.hypsometry.basin', opts)).toBe('basin');
    expect(placeOf('period.warmupStart', opts)).toBe('warmupStart');
    expect(placeOf('period', opts)).toBe('start');
    expect(placeOf('period.end', opts)).toBe('end');
    expect(placeOf('options.maxRuns', opts)).toBe('options.maxRuns');
    expect(placeOf('options.polish.x', opts)).toBe('options');
    // a settings object's field (schemaForm: `group.key`), and a path inside an option
    expect(placeOf('options.cem.samples', [...opts, 'cem.samples'])).toBe('options.cem.samples');
    expect(placeOf('options.maxRuns.x', opts)).toBe('options.maxRuns');
    expect(placeOf('method', opts)).toBe('method');
    expect(placeOf('threads', opts)).toBe('');
  });
});
