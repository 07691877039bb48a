// Issue 14: what a drop on the map becomes (src-renderer/src/lib/dropImport.ts), in the desktop app
// (paths known) and in the browser bridge (no paths).
import { describe, expect, it } from 'vitest';
import {
  joinPath,
  planDrop,
  studyAreaFromGeoJson,
  type DroppedItem,
} from '../../../src-renderer/src/lib/dropImport';

const file = (name: string, path: string | null, extra: Partial<DroppedItem> = {}): DroppedItem => ({
  name,
  isDirectory: false,
  children: null,
  path,
  file: new File(['{}'], name),
  ...extra,
});
const folder = (name: string, path: string | null, children: string[] | null): DroppedItem => ({
  name,
  isDirectory: true,
  children,
  path,
  file: null,
});

describe('planDrop', () => {
  it('imports rasters as layers, a dataset folder as its parts, other folders as folders (desktop)', () => {
    const plan = planDrop(
      [
        file('slope.tif', '/d/lez/descriptor/slope.tif'),
        file('prcp.nc', '/d/prcp.nc'),
        folder('lez', '/d/lez', [
          'descriptor',
          'prcp',
          'pet',
          'qobs',
          'gauge_attributes.csv',
          'France_flwdir.tif',
        ]),
        folder('prcp', '/d/lez/prcp', ['2012']),
        file('area.geojson', '/d/area.geojson'),
      ],
      { browser: false },
    );
    expect(plan.map((a) => a.kind)).toEqual(['raster', 'raster', 'dataset', 'folder', 'study-area']);
    expect(plan[2]).toEqual({
      kind: 'dataset',
      name: 'lez',
      path: '/d/lez',
      stacks: ['prcp', 'pet'],
      statics: ['descriptor'],
    });
  });

  it('refuses what cannot be imported with a typed error naming the file', () => {
    const plan = planDrop(
      [
        file('basin.shp', '/d/basin.shp'),
        file('X031.csv', '/d/X031.csv'),
        file('dem.asc', '/d/dem.asc'),
        file('notes.txt', '/d/notes.txt'),
        file('web.tif', null),
      ],
      { browser: false },
    );
    const codes = plan.map((a) => (a.kind === 'refused' ? a.error.code : a.kind));
    expect(codes).toEqual([
      'UNSUPPORTED_FORMAT',
      'UNSUPPORTED_FORMAT',
      'UNSUPPORTED_FORMAT',
      'UNSUPPORTED_FORMAT',
      'INVALID_FILE',
    ]);
    for (const a of plan) if (a.kind === 'refused') expect(a.error.message.startsWith(a.name)).toBe(true);
    expect(plan[0]!.kind === 'refused' && plan[0]!.error.message).toContain('ogr2ogr -f GeoJSON');
  });

  it('in the browser: what needs a path is UNAVAILABLE with what to do instead; GeoJSON still imports', () => {
    const plan = planDrop([file('slope.tif', null), folder('lez', null, null), file('area.json', null)], {
      browser: true,
    });
    expect(plan.map((a) => (a.kind === 'refused' ? a.error.code : a.kind))).toEqual([
      'UNAVAILABLE',
      'UNAVAILABLE',
      'study-area',
    ]);
    expect(plan[0]!.kind === 'refused' && plan[0]!.error.message).toMatch(/type its path/i);
  });

  it('joins paths with the folder own separator', () => {
    expect(joinPath('/d/lez/', 'prcp')).toBe('/d/lez/prcp');
    expect(joinPath('C:\\data\\lez', 'pet')).toBe('C:\\data\\lez\\pet');
  });
});

describe('studyAreaFromGeoJson', () => {
  const ring = [
    [3.7, 43.6],
    [3.9, 43.6],
    [3.9, 43.8],
    [3.7, 43.6],
  ];
  it('takes a Feature polygon in lon/lat, and several polygons as one MultiPolygon', () => {
    const one = studyAreaFromGeoJson(
      JSON.stringify({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] } }),
      'lez.geojson',
    );
    expect(one).toEqual({
      name: 'lez',
      geometry: { type: 'Polygon', coordinates: [ring] },
      crs: 'EPSG:4326',
    });
    const fc = {
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } },
      features: [
        { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] } },
        { type: 'Feature', geometry: { type: 'MultiPolygon', coordinates: [[ring], [ring]] } },
        { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] } },
      ],
    };
    const many = studyAreaFromGeoJson(JSON.stringify(fc), 'b.json');
    expect(many.crs).toBe('EPSG:2154');
    expect(many.geometry.type).toBe('MultiPolygon');
    expect(many.geometry.coordinates).toHaveLength(3);
  });

  it.each([
    ['not json', /not JSON/],
    [JSON.stringify({ type: 'Point', coordinates: [1, 2] }), /no Polygon/],
    [
      JSON.stringify({ type: 'Polygon', coordinates: [ring], crs: { properties: { name: 'LOCAL' } } }),
      /not an EPSG code/,
    ],
  ])('refuses %s with INVALID_FILE', (text, why) => {
    let e: { code?: string; message?: string } = {};
    try {
      studyAreaFromGeoJson(text, 'x.geojson');
    } catch (err) {
      e = err as typeof e;
    }
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toMatch(why);
    expect(e.message!.startsWith('x.geojson')).toBe(true);
  });
});
