import { z } from 'zod';
import { FieldcalError } from '../../../../src-shared/ipc';
import { cc } from '../../metrics/series';

/**
 * The physical filters of simulation-based inverse mapping (Choi, Lee & Kim, EGU 2026): a
 * candidate parameter set survives when its long-term water balance lies near the Budyko curve
 * and its Curve-Number field falls where vegetation rises.
 */

/** Options of the filters, every default with its source. */
export const filterOptionsSchema = z.strictObject({
  budyko: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Apply the Budyko check'),
      // Fu's ω = 2.6 reproduces Budyko's curve (Zhang et al. 2004, WRR 40 W02502); the band [1.5, 4] is a
      // choice around it (Zhang et al.'s fitted ω of catchments fall mostly in it), widened by `tolerance`
      omegaMin: z
        .number()
        .min(1.01)
        .max(20)
        .default(1.5)
        .describe("Lower Fu ω of the band (ω = 2.6 reproduces Budyko's curve; Zhang et al. 2004)"),
      omegaMax: z.number().min(1.01).max(50).default(4).describe('Upper Fu ω of the band'),
      /** Slack on ET/P outside the band (a short record's storage change is not zero). */
      tolerance: z
        .number()
        .min(0)
        .max(1)
        .default(0.05)
        .describe("Slack on ET/P outside the band (a short record's storage change is not zero)"),
    })
    .refine((b) => b.omegaMax > b.omegaMin, { message: 'omegaMax must exceed omegaMin', path: ['omegaMax'] })
    .default({ enabled: true, omegaMin: 1.5, omegaMax: 4, tolerance: 0.05 })
    .describe(
      "Budyko check: simulated long-term ET/P within Fu's band [omegaMin, omegaMax] at the basin's aridity",
    ),
  vegetation: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Apply the vegetation-CN check'),
      /**
       * The vegetation descriptor: 'auto' takes one named like NDVI; otherwise a descriptor name
       * (such as the Lez's 'woodland').
       */
      descriptor: z
        .string()
        .min(1)
        .max(200)
        .default('auto')
        .describe('The vegetation descriptor: auto takes one named like NDVI; otherwise a descriptor name'),
      // the NDVI-CN relation is negative (Choi, Lee & Kim 2026: denser vegetation, lower CN; NEH-630 ch. 9
      // tables give lower CN to better cover): Spearman's ρ must lie below this
      maxCorrelation: z
        .number()
        .min(-1)
        .max(1)
        .default(0)
        .describe("Spearman's ρ of vegetation and CN must lie below this (denser vegetation, lower CN)"),
    })
    .default({ enabled: true, descriptor: 'auto', maxCorrelation: 0 })
    .describe('Vegetation check: the CN field must fall where vegetation rises'),
});
export type FilterOptions = z.output<typeof filterOptionsSchema>;

/**
 * Fu's equation (Fu 1981; Zhang et al. 2004, eq. 8): ET/P = 1 + φ - (1 + φ^ω)^(1/ω), φ = PET/P
 * the aridity index, ω > 1.
 */
export function fuEvaporativeIndex(aridity: number, omega: number): number {
  return 1 + aridity - (1 + aridity ** omega) ** (1 / omega);
}

/** The Budyko check of one candidate: simulated long-term ET/P within Fu's band of ω at the basin's aridity. */
export function budykoCheck(
  sim: { P: number; ET: number; PET: number },
  o: FilterOptions['budyko'],
): { pass: boolean; etOverP: number; aridity: number; band: [number, number] } {
  if (!(sim.P > 0))
    throw new FieldcalError('VALIDATION', `the Budyko check needs rain over the period (P = ${sim.P})`, {
      field: 'P',
    });
  const aridity = sim.PET / sim.P;
  const etOverP = sim.ET / sim.P;
  // Fu's ET/P rises with ω: the band is [Fu(ωmin), Fu(ωmax)]
  const band: [number, number] = [
    fuEvaporativeIndex(aridity, o.omegaMin),
    fuEvaporativeIndex(aridity, o.omegaMax),
  ];
  const pass = !o.enabled || (etOverP >= band[0] - o.tolerance && etOverP <= band[1] + o.tolerance);
  return { pass, etOverP, aridity, band };
}

/** Ranks from 1 with ties given their average rank (as scipy.stats.rankdata's 'average'). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]!] === x[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation (Spearman 1904): Pearson's correlation (metrics cc) of the average ranks; NaN for a constant field. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return cc(averageRanks(a), averageRanks(b)).value;
}

/** The vegetation-CN check of one candidate: ρ(vegetation, CN) across cells below `maxCorrelation`. */
export function vegetationCheck(
  vegetation: ArrayLike<number>,
  cn: ArrayLike<number>,
  o: FilterOptions['vegetation'],
): { pass: boolean; rho: number } {
  const rho = spearman(vegetation, cn);
  // a constant CN field has no correlation to show: refused (NaN fails the comparison)
  return { pass: !o.enabled || rho < o.maxCorrelation, rho };
}

/** The index of the vegetation descriptor among the dataset's: 'auto' finds NDVI; a name is looked up. */
export function vegetationIndex(names: readonly string[], descriptor: string): number {
  const lower = names.map((n) => n.toLowerCase());
  const k =
    descriptor === 'auto'
      ? lower.findIndex((n) => n.includes('ndvi'))
      : lower.indexOf(descriptor.toLowerCase());
  if (k < 0)
    throw new FieldcalError(
      'VALIDATION',
      descriptor === 'auto'
        ? `options.filters.vegetation.descriptor: the dataset has no NDVI descriptor (${names.join(', ')}); name the vegetation descriptor to use`
        : `options.filters.vegetation.descriptor: no descriptor ${descriptor} in the dataset (${names.join(', ')})`,
      { field: 'options.filters.vegetation.descriptor' },
    );
  return k;
}
