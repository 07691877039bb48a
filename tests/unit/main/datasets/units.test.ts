// Issue 15, Build 1: units converted to the model's (declared or from metadata: 0.1 mm, m³/s <-> mm,
// K <-> °C). Each factor below is worked out by hand from the unit's definition.
import { describe, expect, it } from 'vitest';
import { FieldcalError } from '../../../../src-shared/ipc';
import { applyConversion, canonicalUnit, conversionTo } from '../../../../src-main/services/datasets/units';

const daily = { stepSeconds: 86400, field: 'forcing[0].units' };
const hourly = { stepSeconds: 3600, field: 'forcing[0].units' };

describe('conversions to the model units', () => {
  it('fluxes become mm per step: 0.1 mm, m, mm/h, mm/day and kg m-2 s-1 (= mm/s)', () => {
    expect(conversionTo('flux', '0.1 mm', daily)).toMatchObject({ scale: 0.1, offset: 0, to: 'mm' });
    expect(conversionTo('flux', 'm', daily).scale).toBe(1000);
    // a rate is integrated over the source step: 24 h at 1 mm/h, 1/24 day at 1 mm/day
    expect(conversionTo('flux', 'mm/h', daily).scale).toBe(24);
    expect(conversionTo('flux', 'mm/h', hourly).scale).toBe(1);
    expect(conversionTo('flux', 'mm/day', hourly).scale).toBeCloseTo(1 / 24, 15);
    expect(conversionTo('flux', 'kg m-2 s-1', daily).scale).toBe(86400);
    expect(conversionTo('flux', 'kg m-2 s-1', hourly).scale).toBe(3600);
    // no units: already the model unit
    expect(conversionTo('flux', null, daily)).toEqual({ scale: 1, offset: 0, from: 'mm', to: 'mm' });
  });

  it('K becomes °C (T - 273.15), % becomes m³/m³', () => {
    const k = conversionTo('temperature', 'K', daily);
    expect(Array.from(applyConversion(Float64Array.from([273.15, 300, Number.NaN]), k))).toEqual([
      0,
      300 - 273.15,
      Number.NaN,
    ]);
    expect(conversionTo('moisture', '%', daily).scale).toBe(0.01);
  });

  it('discharge in m³/s or l/s becomes mm per step over the basin: 1 m³/s for a day over 86.4 km² is 1 mm', () => {
    // 1 m³/s · 86 400 s = 86 400 m³; over 86.4 km² = 86.4e6 m²: 1e-3 m = 1 mm
    expect(conversionTo('discharge', 'm3/s', { ...daily, areaKm2: 86.4 }).scale).toBeCloseTo(1, 15);
    expect(conversionTo('discharge', 'l/s', { ...daily, areaKm2: 86.4 }).scale).toBeCloseTo(1e-3, 15);
    // an hour: 3 600 m³ over 3.6 km² is 1 mm
    expect(conversionTo('discharge', 'm3/s', { ...hourly, areaKm2: 3.6 }).scale).toBeCloseTo(1, 15);
  });

  it('spellings from files map to one unit (CF, UDUNITS, headers)', () => {
    expect(canonicalUnit('kg m-2 s-1')).toBe('kg m-2 s-1');
    expect(canonicalUnit('mm d-1')).toBe('mm/day');
    expect(canonicalUnit('degC')).toBe('°C');
    expect(canonicalUnit('kelvin')).toBe('K');
    expect(canonicalUnit('m3 s-1')).toBe('m3/s');
    expect(canonicalUnit('1/10 mm')).toBe('0.1 mm');
    expect(canonicalUnit('furlongs')).toBeNull();
  });

  it('refusals name the input: units of another quantity, unknown units, m³/s without an area', () => {
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(FieldcalError);
        return e as FieldcalError;
      }
      throw new Error('expected a refusal');
    };
    const a = refused(() => conversionTo('flux', 'K', daily));
    expect(a.message).toMatch(/forcing\[0\]\.units: units "K" are not flux units/);
    expect(a.details).toMatchObject({ field: 'forcing[0].units', units: 'K' });
    expect(refused(() => conversionTo('temperature', 'furlongs', daily)).message).toMatch(
      /are not known for temperature/,
    );
    expect(refused(() => conversionTo('discharge', 'm3/s', daily)).message).toMatch(/need the basin area/);
  });
});
