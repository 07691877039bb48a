import { describe, expect, it } from 'vitest';
import { assembleSpecSchema, type SourceProbe } from '../../../src-shared/types/assemble';
import {
  buildSpec,
  commonPeriod,
  defaultDims,
  DIMS_CHECK,
  descriptorName,
  emptyForm,
  guessRole,
  issuesFromError,
  locate,
  mergeIssues,
  needsCrs,
  needsDims,
  needsTime,
  newRow,
  probeSummary,
  probeWarnings,
  rowsWithoutCrs,
  shortTime,
  splitPaths,
  unitFromMetadata,
  withProbe,
  withRole,
  withVariable,
  type AssembleForm,
  type InputRow,
} from '../../../src-renderer/src/components/datasets/assembleForm';

const LEZ = '/data/lez';

function probe(p: Partial<SourceProbe> & Pick<SourceProbe, 'path' | 'format'>): SourceProbe {
  return {
    variables: [],
    crs: 'EPSG:2154',
    grid: null,
    steps: null,
    step: null,
    first: null,
    last: null,
    layout: null,
    columns: [],
    issues: [],
    ...p,
  };
}

const probes: Record<string, SourceProbe> = {
  prcp: probe({
    path: `${LEZ}/prcp`,
    format: 'folder',
    steps: 365,
    step: 'daily',
    first: '2012-08-01',
    last: '2013-07-31',
    layout: 'dated',
  }),
  pet: probe({
    path: `${LEZ}/pet`,
    format: 'folder',
    steps: 366,
    step: 'daily',
    first: '2012-07-31',
    last: '2013-08-01',
    layout: 'dated',
  }),
  flwdir: probe({ path: `${LEZ}/France_flwdir.tif`, format: 'geotiff', grid: { cols: 1165, rows: 1103 } }),
  slope: probe({ path: `${LEZ}/descriptor/slope.tif`, format: 'geotiff' }),
  // the probe reads the header of gauge_attributes.csv; the rasters below it are not a stack
  lez: probe({
    path: LEZ,
    format: 'folder',
    crs: null,
    columns: ['code', 'x', 'y', 'area'],
    issues: ['the file names (France_flwdir.tif, ...) carry no date, day-of-year or month'],
  }),
};

/** A row as the form holds it after its probe answered. */
function probed(key: number, p: SourceProbe): InputRow {
  return withProbe(newRow(key, p.path), p);
}

function lezForm(): AssembleForm {
  return {
    ...emptyForm(),
    name: 'Lez assembled',
    start: '2012-08-01',
    end: '2013-07-31',
    inputs: [
      probed(1, probes.slope!),
      probed(2, probes.prcp!),
      probed(3, probes.pet!),
      probed(4, probes.flwdir!),
      probed(5, probes.lez!),
    ],
  };
}

describe('what a probed source is guessed to be', () => {
  it('reads the roles of the Lez parts from their format and names', () => {
    const f = lezForm();
    expect(f.inputs.map((r) => r.role)).toEqual(['descriptor', 'prcp', 'pet', 'flowdir', 'gauges-smash']);
    expect(f.inputs[0]!.name).toBe('slope');
    // discharge defaults to m3/s, as smash's qobs files are
    expect(f.inputs[4]!.units).toBe('m3/s');
    expect(f.inputs[1]!.layout).toBe('dated');
  });

  it('guesses NetCDF variables, day-of-year folders and CSV stations', () => {
    const nc = probe({
      path: '/d/era5.nc',
      format: 'netcdf',
      variables: [
        { name: 'lat', dims: ['lat'], shape: [10], units: 'degrees_north', roles: ['y'] },
        {
          name: 't2m',
          dims: ['time', 'lat', 'lon'],
          shape: [24, 10, 12],
          units: 'K',
          roles: ['time', 'y', 'x'],
        },
      ],
    });
    const row = probed(1, nc);
    expect(row.role).toBe('temp');
    expect(row.variable).toBe('t2m');
    // K from the variable's units attribute
    expect(row.units).toBe('K');
    expect(guessRole('/d/stations.csv', probe({ path: '/d/stations.csv', format: 'csv' }))).toBe(
      'gauges-csv',
    );
    expect(
      guessRole(
        '/d/ETP_interannual',
        probe({ path: '/d/x', format: 'folder', layout: 'day-of-year', steps: 366 }),
      ),
    ).toBe('pet');
    // a dated folder with an unknown name: the user says
    expect(
      guessRole('/d/stack', probe({ path: '/d/stack', format: 'folder', layout: 'dated', steps: 10 })),
    ).toBe('');
    expect(guessRole('/d/fdir.asc', probe({ path: '/d/fdir.asc', format: 'ascii-grid' }))).toBe('flowdir');
  });

  it('maps metadata units onto the offered ones and refuses those of another quantity', () => {
    expect(unitFromMetadata('kg m-2 s-1', ['mm', 'kg m-2 s-1'])).toBe('kg m-2 s-1');
    expect(unitFromMetadata('mm/day', ['mm', 'mm/day'])).toBe('mm/day');
    expect(unitFromMetadata('degC', ['°C', 'K'])).toBe('°C');
    expect(unitFromMetadata('K', ['mm', 'mm/day'])).toBeNull();
    expect(unitFromMetadata('furlongs', ['°C', 'K'])).toBeNull();
    expect(unitFromMetadata(null, ['°C'])).toBeNull();
  });

  it('names descriptors in the spec alphabet and splits pasted path lists', () => {
    expect(descriptorName('/a/b/soil water (v2).tif')).toBe('soil_water_v2_');
    expect(splitPaths(' /a/x.tif \n\n"/b/y z.tif"\r\n')).toEqual(['/a/x.tif', '/b/y z.tif']);
  });
});

describe('NetCDF dimensions, dates and CRS the file does not give', () => {
  const unnamed = probe({
    path: '/d/unnamed.nc',
    format: 'netcdf',
    crs: null,
    variables: [
      {
        name: 'prcp',
        dims: ['dim0', 'dim1', 'dim2'],
        shape: [5, 4, 3],
        units: null,
        roles: ['unknown', 'unknown', 'unknown'],
      },
    ],
  });

  it('offers the unidentified dimensions in (time, y, x) order and asks for dates and a CRS', () => {
    const row = probed(7, unnamed);
    expect(row.role).toBe('prcp');
    expect(needsDims(row)).toBe(true);
    expect(row.dims).toEqual({ time: 0, y: 1, x: 2 });
    expect(needsTime(row)).toBe(true);
    expect(needsCrs(row)).toBe(true);
    expect(defaultDims(['y', 'unknown', 'x'])).toEqual({ time: 1, y: 0, x: 2 });
  });

  it('sends the dimensions by name, the explicit time and the CRS once given', () => {
    const f = lezForm();
    // the NetCDF replaces the prcp folder
    const row = { ...probed(7, unnamed), dims: { time: 2, y: 1, x: 0 } };
    f.inputs[1] = row;
    let r = buildSpec(f);
    expect(r.spec).toBeNull();
    expect(r.issues.rows[7]).toEqual(['the file has no dates: give the first date and the step']);
    f.inputs[1] = { ...row, timeStart: '2012-08-01', timeStep: 'daily', crs: 'EPSG:2154' };
    r = buildSpec(f);
    expect(r.issues).toEqual({ rows: {}, fields: {}, general: [] });
    expect(r.spec!.forcing[0]).toEqual({
      variable: 'prcp',
      source: {
        format: 'netcdf',
        path: '/d/unnamed.nc',
        variable: 'prcp',
        time: { start: '2012-08-01', step: 'daily' },
        dims: { time: 'dim2', y: 'dim1', x: 'dim0' },
        crs: 'EPSG:2154',
      },
    });
  });

  it("stops repeating the probe's remarks once the user has answered them", () => {
    const p = {
      ...unnamed,
      issues: [
        '/d/unnamed.nc: cannot tell the y and x dimensions of prcp; name them with dims: { time, y, x }',
        '/d/unnamed.nc: time units "day" are not "<unit> since <date>"; give the first step\'s time and the step',
        'no CRS in the file: give one',
      ],
    };
    const row = probed(7, p);
    // the dimensions are pre-filled in (time, y, x) order: the remark becomes a request to check them
    expect(probeWarnings(row)).toEqual([DIMS_CHECK, p.issues[1], p.issues[2]]);
    const answered = {
      ...row,
      dims: { time: 2, y: 1, x: 0 },
      timeStart: '2020-01-01',
      timeStep: 'daily' as const,
    };
    expect(probeWarnings(answered)).toEqual([DIMS_CHECK, 'no CRS in the file: give one']);
    expect(probeWarnings({ ...answered, crs: 'EPSG:2154' })).toEqual([DIMS_CHECK]);
    // the same dimension twice is not an answer: the probe's own words stay
    expect(probeWarnings({ ...answered, dims: { time: 0, y: 0, x: 2 }, crs: 'EPSG:2154' })).toEqual([
      p.issues[0],
    ]);
  });

  it('refuses the same dimension twice', () => {
    const f = lezForm();
    f.inputs[1] = {
      ...probed(7, unnamed),
      dims: { time: 0, y: 0, x: 2 },
      timeStart: '2012-08-01',
      timeStep: 'daily',
    };
    expect(buildSpec(f).issues.rows[7]).toContain('time, y and x must be three different dimensions');
  });

  it('a new variable brings its own dimensions and units', () => {
    const two = probe({
      path: '/d/two.nc',
      format: 'netcdf',
      variables: [
        { name: 'tp', dims: ['time', 'y', 'x'], shape: [3, 2, 2], units: 'm', roles: ['time', 'y', 'x'] },
        { name: 'e', dims: ['d0', 'd1', 'd2'], shape: [3, 2, 2], units: 'mm', roles: ['unknown', 'y', 'x'] },
      ],
    });
    const row = probed(1, two);
    expect([row.role, row.variable, row.units, needsDims(row)]).toEqual(['prcp', 'tp', 'm', false]);
    const e = withVariable(row, 'e');
    expect([e.units, needsDims(e), e.dims]).toEqual(['mm', true, { time: 0, y: 1, x: 2 }]);
  });
});

describe('the spec the form sends', () => {
  it('builds the Lez from its parts, valid for assembleSpecSchema', () => {
    const { spec, issues, index } = buildSpec(lezForm());
    expect(issues).toEqual({ rows: {}, fields: {}, general: [] });
    expect(spec).not.toBeNull();
    expect(assembleSpecSchema.parse(spec)).toEqual(spec);
    expect(spec).toMatchObject({
      name: 'Lez assembled',
      step: 'daily',
      start: '2012-08-01',
      end: '2013-07-31',
      grid: { from: 'catchment' },
      align: 'auto',
      forcing: [
        { variable: 'prcp', source: { format: 'folder', path: `${LEZ}/prcp`, layout: 'dated' } },
        { variable: 'pet', source: { format: 'folder', path: `${LEZ}/pet`, layout: 'dated' } },
      ],
      descriptors: [{ name: 'slope', path: `${LEZ}/descriptor/slope.tif`, band: 1 }],
      flowdir: { path: `${LEZ}/France_flwdir.tif`, convention: 'auto' },
      gauges: { format: 'smash', path: LEZ, units: 'm3/s' },
      targets: [],
      overwrite: false,
    });
    expect(spec!.out).toBeUndefined();
    expect(index).toEqual({ 'descriptors.0': 1, 'forcing.0': 2, 'forcing.1': 3, flowdir: 4, gauges: 5 });
  });

  it("sends a smash gauges folder's qobs step when one is chosen, none by default", () => {
    const f = lezForm();
    const g = f.inputs.find((r) => r.role === 'gauges-smash')!;
    expect(buildSpec(f).spec!.gauges).not.toHaveProperty('step');
    g.timeStep = 'daily';
    f.step = 'hourly';
    const { spec } = buildSpec(f);
    expect(spec!.gauges).toEqual({ format: 'smash', path: LEZ, units: 'm3/s', step: 'daily' });
    expect(assembleSpecSchema.parse(spec)).toEqual(spec);
  });

  it('says what is missing in words: flow directions, pet, a role, an absolute path', () => {
    const f = lezForm();
    f.inputs = f.inputs.filter((r) => r.role !== 'flowdir' && r.role !== 'pet');
    f.inputs.push({ ...newRow(9, 'relative/dir') });
    f.name = ' ';
    f.end = '';
    const { spec, issues } = buildSpec(f);
    expect(issues.fields).toEqual({
      name: ['give the dataset a name'],
      end: ['give the last day of the period'],
    });
    expect(spec).toBeNull();
    expect(issues.general).toEqual([
      'add the flow directions (a D8 raster) and mark it "Flow directions"',
      'add a PET input (pet)',
    ]);
    expect(issues.rows[9]).toEqual([
      'expected an absolute path (e.g. /data/prcp or C:\\data\\prcp)',
      'say what this input is',
    ]);
  });

  it('places schema issues on their field or row: period, name, duplicates, catchment without gauges', () => {
    const f = lezForm();
    f.name = '-bad';
    f.start = '2013-01-01';
    f.end = '2012-01-01';
    f.inputs.push(withRole(probed(6, probes.pet!), 'prcp'));
    f.inputs = f.inputs.filter((r) => r.role !== 'gauges-smash');
    const { spec, issues } = buildSpec(f);
    expect(spec).toBeNull();
    expect(issues.fields.name).toEqual(['letters, digits, space, _ . - only']);
    expect(issues.fields.end).toEqual(['end is before start']);
    expect(issues.fields.grid).toEqual(['a catchment grid needs gauges']);
    expect(issues.rows[6]).toEqual(['variable: prcp given twice']);
  });

  it('builds a study-area grid and a gauges CSV with its columns', () => {
    const f = lezForm();
    f.grid = { from: 'study-area', path: '', studyAreaId: 3, crs: 'EPSG:2154', cellSize: 1000 };
    const st = probe({ path: '/d/stations.csv', format: 'csv', columns: ['ID', 'X_L93', 'Y_L93', 'S_km2'] });
    f.inputs[4] = { ...probed(5, st), series: '/d/q', crs: 'EPSG:2154' };
    const { spec, issues } = buildSpec(f);
    expect(issues.general).toEqual([]);
    expect(spec!.grid).toEqual({ from: 'study-area', studyAreaId: 3, crs: 'EPSG:2154', cellSize: 1000 });
    expect(spec!.gauges).toEqual({
      format: 'csv',
      stations: '/d/stations.csv',
      series: '/d/q',
      columns: { code: 'ID', x: 'X_L93', y: 'Y_L93', area: 'S_km2' },
      crs: 'EPSG:2154',
      units: 'm3/s',
    });
    f.grid = { from: 'study-area', path: '', studyAreaId: null, crs: 'EPSG:2154', cellSize: null };
    expect(buildSpec(f).issues.fields.grid).toEqual(['choose a study area', 'give a cell size']);
  });

  it('proposes the period every dated forcing covers', () => {
    expect(commonPeriod(lezForm().inputs)).toEqual({ start: '2012-08-01', end: '2013-07-31' });
    const f = lezForm();
    f.inputs[2] = { ...f.inputs[2]!, layout: 'day-of-year' };
    expect(commonPeriod(f.inputs)).toEqual({ start: '2012-08-01', end: '2013-07-31' });
    expect(commonPeriod([])).toBeNull();
  });

  it('shows only the probe remarks that concern the chosen role', () => {
    const [, prcp, , , lez] = lezForm().inputs;
    expect(probeWarnings(lez!)).toEqual([]);
    expect(probeWarnings({ ...lez!, probe: { ...lez!.probe!, columns: [] } })).toEqual([
      'no gauge_attributes.csv in this folder (a smash gauges folder has one)',
    ]);
    const gappy = withProbe(newRow(1, `${LEZ}/prcp`), {
      ...probes.prcp!,
      issues: ['3 steps missing in 1 gaps'],
    });
    expect(probeWarnings(gappy)).toEqual(['3 steps missing in 1 gaps']);
    expect(probeWarnings(prcp!)).toEqual([]);
  });

  it("sends the dataset's CRS for inputs that carry none, and stops warning once it is given", () => {
    const f = lezForm();
    const noCrs = { ...probes.slope!, crs: null, issues: ['no CRS in the file: give one'] };
    f.inputs[0] = probed(1, noCrs);
    expect(rowsWithoutCrs(f.inputs).map((r) => r.key)).toEqual([1]);
    expect(probeWarnings(f.inputs[0]!)).toEqual([
      'no CRS in the file: give the CRS of inputs without one (dataset settings)',
    ]);
    expect(probeWarnings(f.inputs[0]!, 'EPSG:2154')).toEqual([]);
    expect(buildSpec(f).spec!.crs).toBeUndefined();
    f.crs = ' EPSG:2154 ';
    expect(buildSpec(f).spec!.crs).toBe('EPSG:2154');
    // flow directions have a CRS field of their own
    const fd = withProbe(newRow(4, probes.flwdir!.path), {
      ...probes.flwdir!,
      crs: null,
      issues: ['no CRS in the file: give one'],
    });
    expect([needsCrs(fd), rowsWithoutCrs([fd])]).toEqual([true, []]);
    expect(probeWarnings(fd, 'EPSG:2154')).toEqual(['no CRS in the file: give one']);
    expect(probeWarnings({ ...fd, crs: 'EPSG:2154' })).toEqual([]);
  });

  it('summarises a probe in one line', () => {
    expect(shortTime('2012-08-01T00:00:00.000Z')).toBe('2012-08-01');
    expect(shortTime('2012-08-01T06:00:00.000Z')).toBe('2012-08-01 06:00');
    expect(
      probeSummary({ ...probes.prcp!, first: '2012-08-01T00:00:00.000Z', last: '2013-07-31T00:00:00.000Z' }),
    ).toBe('folder · EPSG:2154 · 365 daily steps 2012-08-01 → 2013-07-31');
    expect(probeSummary(probes.prcp!)).toBe('folder · EPSG:2154 · 365 daily steps 2012-08-01 → 2013-07-31');
    expect(probeSummary(probes.flwdir!)).toBe('GeoTIFF · EPSG:2154 · 1165 x 1103 cells');
    expect(probeSummary(probes.lez!)).toBe('folder · columns code, x, y, area');
    const lcc =
      '+proj=lcc +lat_1=49 +lat_2=44 +lat_0=46.5 +lon_0=3 +x_0=700000 +y_0=6600000 +units=m +no_defs';
    expect(probeSummary({ ...probes.slope!, crs: lcc })).toBe('GeoTIFF · +proj=lcc …');
    expect(probeSummary({ ...probes.slope!, crs: null })).toBe('GeoTIFF · no CRS');
    expect(probeSummary(probe({ path: '/s.csv', format: 'csv', columns: ['code', 'x'] }))).toBe(
      'CSV · columns code, x',
    );
  });
});

describe("main's refusals next to the input they concern", () => {
  const { index } = buildSpec(lezForm());
  const rows = lezForm().inputs;

  it('locates spec paths, with or without the argument name and brackets', () => {
    expect(locate('forcing.1.source.path', index)).toEqual({ row: 3 });
    expect(locate('spec.forcing[0].units', index)).toEqual({ row: 2 });
    expect(locate('descriptors.0', index)).toEqual({ row: 1 });
    expect(locate('flowdir.path', index)).toEqual({ row: 4 });
    expect(locate('start', index)).toEqual({ field: 'start' });
    expect(locate('spec.grid.path', index)).toEqual({ field: 'grid' });
    expect(locate('forcing', index)).toBeNull();
    expect(locate('targets.0', index)).toBeNull();
  });

  it("places dispatch's VALIDATION issues by path", () => {
    const err = {
      code: 'VALIDATION',
      message: 'Invalid argument for datasets.assemble: ...',
      details: {
        service: 'datasets',
        method: 'assemble',
        issues: [
          { path: 'spec.forcing.1.units', message: 'Invalid option', code: 'invalid_value' },
          { path: 'spec.end', message: 'expected YYYY-MM-DD', code: 'invalid_format' },
          { path: 'spec', message: 'a prcp input is required', code: 'custom' },
        ],
      },
    };
    expect(issuesFromError(err, index, rows)).toEqual({
      rows: { 3: ['units: Invalid option'] },
      fields: { end: ['expected YYYY-MM-DD'] },
      general: ['a prcp input is required'],
    });
  });

  it("places a service's refusal by details.field, then by the file it names", () => {
    const byField = {
      code: 'VALIDATION',
      message: 'temp: units "furlongs" are not known',
      details: { field: 'forcing.0' },
    };
    expect(issuesFromError(byField, index, rows).rows).toEqual({
      2: ['temp: units "furlongs" are not known'],
    });
    const byPath = {
      code: 'NOT_FOUND',
      message: 'No such file',
      details: { path: `${LEZ}/prcp/2012/08/prcp_20120801.tif` },
    };
    // the prcp folder holds the file (not the Lez folder above it)
    expect(issuesFromError(byPath, index, rows).rows).toEqual({ 2: ['No such file'] });
    const named = { code: 'INVALID_FILE', message: `${LEZ}/France_flwdir.tif: codes 3, 5 are not D8` };
    expect(issuesFromError(named, index, rows).rows).toEqual({ 4: [named.message] });
    expect(issuesFromError({ code: 'IO', message: 'disk full' }, index, rows).general).toEqual(['disk full']);
  });

  it('merges two sets without repeats', () => {
    const a = { rows: { 1: ['x'] }, fields: { name: ['n'] }, general: ['g'] };
    const b = { rows: { 1: ['x', 'y'], 2: ['z'] }, fields: {}, general: ['g', 'h'] };
    expect(mergeIssues(a, b)).toEqual({
      rows: { 1: ['x', 'y'], 2: ['z'] },
      fields: { name: ['n'] },
      general: ['g', 'h'],
    });
  });
});
