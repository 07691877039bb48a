import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceContainer } from '../../../../src-main/services';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import { testServices } from '../../../helpers/services';
import { FieldcalError } from '../../../../src-shared/ipc';

const LEZ = 'resources/sample-data/lez';
let world: ReturnType<typeof testServices>;
let services: ServiceContainer;
beforeEach(() => {
  world = testServices('cli');
  services = world.services;
});
afterEach(() => world.cleanup());

/** The error a call throws or rejects with, or null. */
const errorOf = async (call: () => unknown) =>
  Promise.resolve()
    .then(call)
    .then(
      () => null,
      (e: unknown) => e as FieldcalError,
    );

describe('map view', () => {
  it('saves the view in the project, null before, null when the stored value is damaged', async () => {
    const path = join(world.dir, 'v.fieldcal');
    await services.impls.project.create({ path, crs: 'EPSG:2154' });
    expect(await services.impls.project.getView({})).toBeNull();
    const view = { projection: 'project' as const, center: [3.85, 43.65] as [number, number], zoom: 9.5 };
    expect(await services.impls.project.setView({ view })).toEqual(view);
    services.session.close();
    await services.impls.project.open({ path });
    expect(await services.impls.project.getView({})).toEqual(view);
    // a damaged value (not JSON, or not a view) reads as none, never a crash
    const store = services.session.require('t');
    store.setMeta('map_view', '{"projection": "EPSG:3857", "center": [1]');
    expect(await services.impls.project.getView({})).toBeNull();
    store.setMeta('map_view', '{"projection": "mercator", "center": [0, 0], "zoom": 3}');
    expect(await services.impls.project.getView({})).toBeNull();
    // through dispatch, a bad view is refused before it is stored
    const r = await dispatch(services.impls, 'project', 'setView', {
      view: { projection: 'EPSG:3857', center: [0, Number.NaN], zoom: 2 },
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });
});

describe('layers', () => {
  it('imports descriptor/ as 6 layers; name, style, order and removal persist after reopening', async () => {
    const path = join(world.dir, 'l.fieldcal');
    await services.impls.project.create({ path, crs: 'EPSG:2154' });
    const ds = await services.impls.datasets.importFolder({ path: join(LEZ, 'descriptor') });
    expect(ds.map((d) => d.name)).toEqual([
      'drainage_density',
      'karst',
      'slope',
      'soil_water_storage',
      'urban',
      'woodland',
    ]);
    for (const d of ds)
      expect(d).toMatchObject({
        kind: 'raster',
        crs: 'EPSG:2154',
        status: 'ok',
        grid: { rows: 27, cols: 14 },
      });
    let layers = await services.impls.datasets.layers({});
    expect(layers).toHaveLength(6);
    expect(services.session.require('t').info().counts).toMatchObject({ datasets: 6, layers: 6 });

    const slope = layers.find((l) => l.name === 'slope')!;
    const style = { colormap: 'magma' as const, range: 'manual' as const, min: 0, max: 12.5, log: false };
    const s = await services.impls.datasets.setLayer({
      id: slope.id,
      name: 'Slope (°)',
      style,
      opacity: 0.4,
    });
    expect(s).toMatchObject({ name: 'Slope (°)', style, opacity: 0.4, visible: true });
    const order = [...layers].reverse().map((l) => l.id);
    const reordered = await services.impls.datasets.reorderLayers({ ids: order });
    expect(reordered.map((l) => l.id)).toEqual(order);
    const urban = layers.find((l) => l.name === 'urban')!;
    expect(await services.impls.datasets.removeLayer({ id: urban.id })).toEqual({ removed: true });
    expect(await services.impls.datasets.removeLayer({ id: urban.id })).toEqual({ removed: false });

    services.session.close();
    await services.impls.project.open({ path });
    layers = await services.impls.datasets.layers({});
    expect(layers.map((l) => l.id)).toEqual(order.filter((id) => id !== urban.id));
    expect(layers.find((l) => l.id === slope.id)).toMatchObject({ name: 'Slope (°)', style, opacity: 0.4 });
    // the dataset of the removed layer stays
    expect((await services.impls.datasets.list({})).map((d) => d.name)).toContain('urban');
    expect(services.session.require('t').info().counts).toMatchObject({ datasets: 6, layers: 5 });

    // an order that is not every layer once is refused, naming ids, and nothing changes
    const ids = layers.map((l) => l.id);
    for (const bad of [ids.slice(1), [...ids, ids[0]!], [...ids.slice(1), 999]]) {
      const e = await errorOf(() => services.impls.datasets.reorderLayers({ ids: bad }));
      expect(e).toBeInstanceOf(FieldcalError);
      expect(e).toMatchObject({ code: 'VALIDATION', details: { field: 'ids' } });
    }
    expect((await services.impls.datasets.layers({})).map((l) => l.id)).toEqual(ids);
    // a manual range needs min < max; an unknown layer is NOT_FOUND; a bad style is refused by the contract
    expect(
      await errorOf(() =>
        services.impls.datasets.setLayer({ id: slope.id, style: { range: 'manual', min: 5, max: 1 } }),
      ),
    ).toMatchObject({ code: 'VALIDATION', details: { field: 'style.max' } });
    expect(await errorOf(() => services.impls.datasets.setLayer({ id: 999, name: 'x' }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    const r = await dispatch(services.impls, 'datasets', 'setLayer', {
      id: slope.id,
      style: { colormap: 'rainbow' },
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });

  it('imports a folder all or nothing and refuses a folder of dated rasters', async () => {
    await services.impls.project.create({ path: join(world.dir, 'f.fieldcal'), crs: 'EPSG:2154' });
    const folder = join(world.dir, 'desc');
    cpSync(join(LEZ, 'descriptor'), folder, { recursive: true });
    writeFileSync(join(folder, 'zz_broken.tif'), 'II*\u0000 not really a GeoTIFF');
    const e = await errorOf(() => services.impls.datasets.importFolder({ path: folder }));
    expect(e).toBeInstanceOf(FieldcalError);
    expect(e).toMatchObject({ code: 'INVALID_FILE', details: { file: join(folder, 'zz_broken.tif') } });
    expect(e!.message).toContain('zz_broken.tif');
    expect(await services.impls.datasets.list({})).toEqual([]);
    expect(await services.impls.datasets.layers({})).toEqual([]);

    const prcp = await errorOf(() => services.impls.datasets.importFolder({ path: join(LEZ, 'prcp') }));
    expect(prcp).toMatchObject({ code: 'VALIDATION', details: { field: 'path' } });
    expect(prcp!.message).toMatch(/stack/);
    const month = await errorOf(() =>
      services.impls.datasets.importFolder({ path: join(LEZ, 'prcp/2012/11') }),
    );
    expect(month).toMatchObject({ code: 'VALIDATION' });
    expect(month!.message).toMatch(/import it as a stack/);
    expect(
      await errorOf(() => services.impls.datasets.importFolder({ path: join(world.dir, 'nope') })),
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(
      await errorOf(() => services.impls.datasets.importFolder({ path: join(LEZ, 'qobs') })),
    ).toMatchObject({
      code: 'VALIDATION',
    });
    expect(await services.impls.datasets.list({})).toEqual([]);
  });
});

describe('drawn study areas', () => {
  const square = {
    type: 'Polygon' as const,
    coordinates: [
      [
        [765000, 6280000],
        [770000, 6280000],
        [770000, 6285000],
        [765000, 6285000],
        [765000, 6280000],
      ],
    ],
  };

  it('saves, replaces, lists and removes a drawn polygon, with its area', async () => {
    const path = join(world.dir, 's.fieldcal');
    await services.impls.project.create({ path, crs: 'EPSG:2154' });
    const a = await services.impls.studyAreas.save({ name: 'square', geometry: square, crs: 'EPSG:2154' });
    expect(a).toMatchObject({
      name: 'square',
      crs: 'EPSG:2154',
      origin: 'drawn',
      gaugeCode: null,
      cells: null,
    });
    // 5 km x 5 km in Lambert-93: 25 km² times the square of the scale factor (about 0.9990 near 43.6 N)
    expect(a.areaKm2!).toBeGreaterThan(24.9);
    expect(a.areaKm2!).toBeLessThan(25.1);
    expect(a.geometry).toEqual(square);
    const lonlat = {
      type: 'MultiPolygon' as const,
      coordinates: [
        [
          [
            [3.8, 43.6],
            [3.9, 43.6],
            [3.9, 43.7],
            [3.8, 43.7],
            [3.8, 43.6],
          ],
          [
            [3.84, 43.64],
            [3.84, 43.66],
            [3.86, 43.66],
            [3.86, 43.64],
            [3.84, 43.64],
          ],
        ],
      ],
    };
    const b = await services.impls.studyAreas.save({
      id: a.id,
      name: 'lon/lat',
      geometry: lonlat,
      crs: 'EPSG:4326',
    });
    expect(b.id).toBe(a.id);
    // 0.1° x 0.1° at 43.65 N minus a 0.02° hole: (1 - 0.04) x 111.32 x 111.2 x cos(43.65°) km² ≈ 86
    expect(b.areaKm2!).toBeGreaterThan(85);
    expect(b.areaKm2!).toBeLessThan(87.5);
    services.session.close();
    await services.impls.project.open({ path });
    expect(await services.impls.studyAreas.list({})).toEqual([b]);
    expect(services.session.require('t').info().counts.studyAreas).toBe(1);
    expect(await services.impls.studyAreas.remove({ id: b.id })).toEqual({ removed: true });
    expect(await services.impls.studyAreas.remove({ id: b.id })).toEqual({ removed: false });
    expect(services.session.require('t').info().counts.studyAreas).toBe(0);
  });

  it('refuses invalid geometries naming the coordinates, and unknown ids', async () => {
    await services.impls.project.create({ path: join(world.dir, 'b.fieldcal'), crs: 'EPSG:2154' });
    const ring = square.coordinates[0]!;
    const cases: Array<{
      geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown[] };
      field: string;
    }> = [
      { geometry: { type: 'Polygon', coordinates: [ring.slice(0, 4)] }, field: 'geometry.coordinates.0' },
      {
        geometry: { type: 'Polygon', coordinates: [[...ring.slice(0, 4), [765000, 6280001]]] },
        field: 'geometry.coordinates.0',
      },
      {
        geometry: { type: 'Polygon', coordinates: [[ring[0], ring[1], [770000, null], ring[3], ring[4]]] },
        field: 'geometry.coordinates.0.2.1',
      },
      {
        geometry: { type: 'Polygon', coordinates: [[ring[0], [1], ring[2], ring[3], ring[4]]] },
        field: 'geometry.coordinates.0.1',
      },
      { geometry: { type: 'Polygon', coordinates: ['not a ring'] }, field: 'geometry.coordinates.0' },
      {
        geometry: {
          type: 'MultiPolygon',
          coordinates: [[ring], [[ring[0], ring[1], ring[2], [Number.POSITIVE_INFINITY, 0], ring[4]]]],
        },
        field: 'geometry.coordinates.1.0.3.0',
      },
    ];
    for (const c of cases) {
      const e = await errorOf(() =>
        services.impls.studyAreas.save({ name: 'bad', geometry: c.geometry, crs: 'EPSG:2154' }),
      );
      expect(e, c.field).toBeInstanceOf(FieldcalError);
      expect(e, c.field).toMatchObject({ code: 'VALIDATION', details: { field: c.field } });
    }
    expect(
      await errorOf(() =>
        services.impls.studyAreas.save({ name: 'lonlat', geometry: square, crs: 'EPSG:4326' }),
      ),
    ).toMatchObject({ code: 'VALIDATION', details: { field: 'geometry.coordinates.0.0' } });
    expect(
      await errorOf(() =>
        services.impls.studyAreas.save({ name: 'crs', geometry: square, crs: 'EPSG:999999' }),
      ),
    ).toMatchObject({ code: 'VALIDATION', details: { field: 'crs' } });
    expect(
      await errorOf(() =>
        services.impls.studyAreas.save({ id: 77, name: 'x', geometry: square, crs: 'EPSG:2154' }),
      ),
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(await services.impls.studyAreas.list({})).toEqual([]);
    // through the contract a Point is refused before the service
    const r = await dispatch(services.impls, 'studyAreas', 'save', {
      name: 'p',
      geometry: { type: 'Point', coordinates: [1, 2] },
      crs: 'EPSG:4326',
    });
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });
});
