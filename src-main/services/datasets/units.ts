import { FieldcalError } from '../../../src-shared/ipc';
import { canonicalUnit } from '../../../src-shared/types/units';

/** The quantities the assembler and the lumped reader convert, and the model unit each is brought to. */
export type Quantity = 'flux' | 'temperature' | 'discharge' | 'moisture';
export const MODEL_UNIT: Record<Quantity, string> = {
  flux: 'mm', // per model step
  temperature: '°C',
  discharge: 'mm', // per model step, over the basin area
  moisture: 'm3/m3',
};

/** A linear conversion to the model unit: model = value * scale + offset. */
export interface Conversion {
  scale: number;
  offset: number;
  from: string;
  to: string;
}

export { canonicalUnit };

/**
 * The conversion of a quantity from `from` (canonical or an alias; null = already the model unit) to
 * the model unit, for a source whose step lasts `stepSeconds` (fluxes given as rates are integrated
 * over the step; discharge in m³/s or l/s becomes mm over `areaKm2`: mm = Q · Δt / (A · 10³)).
 * `field` names the input in errors.
 */
export function conversionTo(
  quantity: Quantity,
  from: string | null | undefined,
  opts: { stepSeconds: number; areaKm2?: number | null | undefined; field: string },
): Conversion {
  const to = MODEL_UNIT[quantity];
  if (from === null || from === undefined || from.trim() === '') return { scale: 1, offset: 0, from: to, to };
  const u = canonicalUnit(from);
  const fail = (why: string): never => {
    throw new FieldcalError('VALIDATION', `${opts.field}: units "${from}" ${why}`, {
      field: opts.field,
      units: from,
    });
  };
  if (!u) return fail(`are not known for ${quantity} (${known(quantity).join(', ')})`);
  if (!known(quantity).includes(u)) return fail(`are not ${quantity} units (${known(quantity).join(', ')})`);
  const dt = opts.stepSeconds;
  const lin = (scale: number, offset = 0): Conversion => ({ scale, offset, from: u, to });
  switch (u) {
    case 'mm':
      return lin(1);
    case '0.1 mm':
      return lin(0.1);
    case 'm':
      return lin(1000);
    case 'mm/h':
      return lin(dt / 3600);
    case 'mm/day':
      return lin(dt / 86400);
    case 'kg m-2 s-1':
      return lin(dt);
    case '°C':
      return lin(1);
    case 'K':
      return lin(1, -273.15);
    case 'm3/m3':
      return lin(1);
    case '%':
      return lin(0.01);
    case 'm3/s':
    case 'l/s': {
      const a = opts.areaKm2;
      if (!(typeof a === 'number' && a > 0))
        return fail('need the basin area in km² to become mm (none given)');
      // mm over the basin in one step: Q [m³/s] · Δt [s] / (A [km²] · 10⁶ m²/km²) · 10³ mm/m
      return lin(((u === 'l/s' ? 1e-3 : 1) * dt) / (a * 1e3));
    }
    default:
      return fail('cannot be converted');
  }
}

/** Canonical units accepted for a quantity (discharge also as a depth in mm per step). */
export function known(quantity: Quantity): string[] {
  switch (quantity) {
    case 'flux':
      return ['mm', '0.1 mm', 'm', 'mm/h', 'mm/day', 'kg m-2 s-1'];
    case 'temperature':
      return ['°C', 'K'];
    case 'discharge':
      return ['m3/s', 'l/s', 'mm'];
    case 'moisture':
      return ['m3/m3', '%'];
  }
}

/** Applies a conversion in place (NaN stays NaN). */
export function applyConversion(values: Float64Array, c: Conversion): Float64Array {
  if (c.scale === 1 && c.offset === 0) return values;
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * c.scale + c.offset;
  return values;
}
