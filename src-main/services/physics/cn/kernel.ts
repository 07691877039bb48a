import { FieldcalError } from '../../../../src-shared/ipc';

/** Parameters of one CN cell (the structure table's units). */
export interface CnParams {
  /** Curve number for average antecedent moisture (AMC II), 0 < CN <= 100. */
  CN: number;
  /** Saturated hydraulic conductivity, mm/h. */
  Ks: number;
  /** Soil store capacity, mm. */
  Smax: number;
  /** Groundwater time constant, days. */
  kg: number;
}

/** Initial abstraction ratio Ia = λ S (NRCS 2004, NEH-630 ch. 10, eq. 10-8: λ = 0.2). */
export const IA_RATIO = 0.2;

/**
 * Exponent of the relative hydraulic conductivity K(θ) = Ks θ^(3 + 2/λ) (Brooks & Corey 1964,
 * Hydrology Paper 3; pore-size index λ = 0.5, within Rawls et al. 1982's 0.13-0.69 range).
 */
export const PERC_EXPONENT = 3 + 2 / 0.5;

/** Initial soil store as a fraction of Smax (half full: the model spins up from there). */
export const W0_FRACTION = 0.5;

/** Curve number for dry antecedent moisture (AMC I): 4.2 CN / (10 - 0.058 CN) (Chow, Maidment & Mays 1988, eq. 5.5.4; NEH-630 ch. 10 table 10-1). */
export const cnDry = (cn: number) => (4.2 * cn) / (10 - 0.058 * cn);
/** Curve number for wet antecedent moisture (AMC III): 23 CN / (10 + 0.13 CN) (Chow, Maidment & Mays 1988, eq. 5.5.5; NEH-630 ch. 10 table 10-1). */
export const cnWet = (cn: number) => (23 * cn) / (10 + 0.13 * cn);

/** Potential maximum retention S = 25400 / CN - 254, mm (NEH-630 ch. 10, eq. 10-12 in SI units). */
export const retention = (cn: number) => 25400 / cn - 254;

/**
 * SCS-CN direct runoff of a storm depth P (mm): Q = (P - Ia)² / (P - Ia + S) for P > Ia, else 0,
 * Ia = 0.2 S (NRCS 2004, NEH-630 ch. 10, eq. 10-11).
 */
export function scsRunoff(p: number, cn: number): number {
  const s = retention(cn);
  const ia = IA_RATIO * s;
  return p > ia ? ((p - ia) * (p - ia)) / (p - ia + s) : 0;
}

/**
 * The curve number at a relative soil wetness θ = W / Smax: AMC I at θ = 0, AMC II at θ = 0.5,
 * AMC III at θ = 1, linear between (a continuous antecedent-moisture condition in place of the
 * 5-day rainfall classes of NEH-630 ch. 10; soil-moisture-dependent CN as in SWAT, Neitsch et al.
 * 2011, Theoretical documentation 2:1.1).
 */
export function cnAt(cn: number, theta: number): number {
  const t = Math.min(1, Math.max(0, theta));
  return t <= 0.5 ? cnDry(cn) + (cn - cnDry(cn)) * 2 * t : cn + (cnWet(cn) - cn) * (2 * t - 1);
}

/** Fluxes and end states of one cell over its series (mm per step, cumulative mm). */
export interface CnCellRun {
  /** Cell runoff per step (direct + overflow + baseflow), mm. */
  Q: Float64Array;
  /** Totals over the series, mm. */
  totals: { P: number; AE: number; Q: number; direct: number; overflow: number; perc: number; base: number };
  W0: number;
  G0: number;
  W: number;
  G: number;
}

/** Refuses a cell's parameters outside the model's domain (field `params`). */
export function checkCnParams(p: CnParams, cell = 0): void {
  const bad = (k: string, v: number, why: string) => {
    throw new FieldcalError('VALIDATION', `cell ${cell}: ${k} = ${v} ${why}`, {
      field: 'params',
      cell,
      parameter: k,
    });
  };
  if (!(p.CN > 0 && p.CN <= 100)) bad('CN', p.CN, 'must lie in (0, 100]');
  if (!(p.Ks >= 0 && Number.isFinite(p.Ks))) bad('Ks', p.Ks, 'must be a finite value >= 0');
  if (!(p.Smax > 0 && Number.isFinite(p.Smax))) bad('Smax', p.Smax, 'must be a finite positive value');
  if (!(p.kg > 0 && Number.isFinite(p.kg))) bad('kg', p.kg, 'must be a finite positive value');
}

/**
 * One CN cell over `steps` steps of `dt` seconds (P, E in mm per step; NaN or negative forcing
 * counts as 0). Each step, in order (every flux limited by the water present, so the balance
 * P = AE + Q + ΔW + ΔG closes to rounding):
 * 1. direct runoff: SCS-CN on P with the curve number at the soil's wetness (cnAt, scsRunoff);
 * 2. infiltration P - direct fills the soil store; what exceeds Smax overflows to runoff;
 * 3. evapotranspiration AE = min(W, E · W / Smax) (linear soil-moisture stress, Thornthwaite &
 *    Mather 1955);
 * 4. percolation = min(W, Ks · dt · θ^(3 + 2/λ)) (unit-gradient drainage at Brooks & Corey's
 *    relative conductivity) to the groundwater store;
 * 5. baseflow = G (1 - exp(-dt / kg)) (linear reservoir, exact over the step).
 */
export function runCnCell(
  p: CnParams,
  P: ArrayLike<number>,
  E: ArrayLike<number>,
  steps: number,
  dt: number,
  out?: Float64Array,
): CnCellRun {
  const Q = out ?? new Float64Array(steps);
  const percMax = p.Ks * (dt / 3600);
  const bf = 1 - Math.exp(-dt / (p.kg * 86400));
  let W = W0_FRACTION * p.Smax;
  let G = 0;
  const W0 = W;
  const tot = { P: 0, AE: 0, Q: 0, direct: 0, overflow: 0, perc: 0, base: 0 };
  for (let t = 0; t < steps; t++) {
    const pt = P[t]!;
    const et = E[t]!;
    const pr = pt > 0 ? pt : 0;
    const pe = et > 0 ? et : 0;
    const direct = pr > 0 ? scsRunoff(pr, cnAt(p.CN, W / p.Smax)) : 0;
    W += pr - direct;
    let overflow = 0;
    if (W > p.Smax) {
      overflow = W - p.Smax;
      W = p.Smax;
    }
    const ae = Math.min(W, (pe * W) / p.Smax);
    W -= ae;
    const theta = W / p.Smax;
    const perc = Math.min(W, percMax * theta ** PERC_EXPONENT);
    W -= perc;
    G += perc;
    const base = G * bf;
    G -= base;
    const q = direct + overflow + base;
    Q[t] = q;
    tot.P += pr;
    tot.AE += ae;
    tot.Q += q;
    tot.direct += direct;
    tot.overflow += overflow;
    tot.perc += perc;
    tot.base += base;
  }
  return { Q, totals: tot, W0, G0: 0, W, G };
}
