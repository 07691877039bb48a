import { RDBU, VIRIDIS } from '../../report/colormap';
import { writeReport } from '../../report/report';
import type { ChartSpec, MapSpec } from '../../report/svg';
import type { Twin } from '../twin/generate';
import type { PaperRun } from './ganPoPaper';

const COLOURS: Record<string, string> = {
  default: '#7f7f7f',
  'sce-ua': '#d95f02',
  dpl: '#1b9e77',
  'gan-po': '#7570b3',
  'gan-po-l1': '#e7298a',
  'gan-po-lstm': '#a6761d',
  'gan-po-arnet': '#66a61e',
  'dpl-lstm': '#1f78b4',
  'gan-po-l1-lstm': '#e6ab02',
};

/** What a run's surrogate was and cost (info.surrogate of gan-po and dpl), or null for the exact h(). */
export function surrogateOf(r: PaperRun) {
  const s = r.info.surrogate as
    | {
        kind: string;
        reusedFrom: string | null;
        trainedEpochs: number;
        updates: number;
        updateSeconds: number;
        madeSeconds: { ensemble: number | null; training: number | null };
        accuracyTest: {
          members: number;
          nseMedian: number;
          nseWorstDecile: number;
          rmseOverall: number;
        } | null;
      }
    | undefined;
  if (!s) return null;
  const { ensemble, training } = s.madeSeconds;
  return {
    kind: s.kind,
    reusedFrom: s.reusedFrom,
    epochs: s.trainedEpochs,
    updates: s.updates,
    updateSeconds: s.updateSeconds,
    ensemble,
    training,
    made: (ensemble ?? 0) + (training ?? 0),
    accuracy: s.accuracyTest,
  };
}

const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : Number.NaN);

/** One row per run name: the mean over its seeds of what `pick` reads (and the range when seeds differ). */
function perMethod(
  runs: PaperRun[],
  pick: (r: PaperRun) => number,
): Map<string, { mean: number; min: number; max: number; n: number }> {
  const out = new Map<string, { mean: number; min: number; max: number; n: number }>();
  for (const name of [...new Set(runs.map((r) => r.name))]) {
    const v = runs.filter((r) => r.name === name).map(pick);
    out.set(name, { mean: mean(v), min: Math.min(...v), max: Math.max(...v), n: v.length });
  }
  return out;
}

/** The paper's summary of one period for every method, as numbers (mean over seeds). */
export function summaryRows(runs: PaperRun[], period: 'train' | 'test') {
  const names = [...new Set(runs.map((r) => r.name))];
  const at = (name: string, f: (r: PaperRun) => number) => perMethod(runs, f).get(name)!;
  return names.map((name) => {
    const s = (f: (r: PaperRun) => number) => at(name, f);
    return {
      method: name,
      seeds: runs.filter((r) => r.name === name).map((r) => r.seed),
      pctRmseReduced: s((r) => r[period].summary.pctRmseReduced),
      pctCcAbove075: s((r) => r[period].summary.pctCcAbove075),
      pctKgeAbove06: s((r) => r[period].summary.pctKgeAbove06),
      meanEof: s((r) => r[period].summary.meanEof),
      meanSsim: s((r) => r[period].summary.meanSsim),
    };
  });
}

const cell = (v: { mean: number; min: number; max: number; n: number }, digits = 1) =>
  v.n > 1 && v.max > v.min
    ? `${v.mean.toFixed(digits)} (${v.min.toFixed(digits)}–${v.max.toFixed(digits)})`
    : v.mean.toFixed(digits);

/**
 * Writes the comparison report: the paper's table for train and test, mean joint-EOF and SSIM, FSS
 * of the test-period mean field, parameter recovery, times; maps of RMSE, CC and KGE per method,
 * distributions of the relative RMSE change, EOF and SSIM over the test days, and GAN-PO's loss
 * curves (G's three terms and D).
 */
export async function writePaperReport(
  dir: string,
  twin: Twin,
  runs: PaperRun[],
  extra: Record<string, unknown>,
) {
  const pr = twin.problem;
  const names = [...new Set(runs.map((r) => r.name))];
  const first = (name: string) => runs.find((r) => r.name === name)!;
  const tables = (['train', 'test'] as const).map((period) => ({
    title: `${period === 'train' ? 'Training' : 'Test'} period (Sun et al. 2024, Fig. 5 and Table 1); mean over seeds (range)`,
    columns: [
      'method',
      'seeds',
      'cells with RMSE reduced %',
      'CC > 0.75 %',
      'KGE > 0.6 %',
      'mean EOF score',
      'mean SSIM',
    ],
    rows: summaryRows(runs, period).map((r) => [
      r.method,
      r.seeds.join(' '),
      cell(r.pctRmseReduced),
      cell(r.pctCcAbove075),
      cell(r.pctKgeAbove06),
      cell(r.meanEof, 4),
      cell(r.meanSsim, 3),
    ]),
  }));
  tables.push({
    title: 'FSS of the test-period mean ET field, window 3 cells (percentile thresholds 50, 75, 90, 95)',
    columns: ['method', 'p50', 'p75', 'p90', 'p95'],
    rows: names.map((name) => [
      name,
      ...['50', '75', '90', '95'].map((p) =>
        cell(
          perMethod(
            runs.filter((r) => r.name === name),
            (r) => r.test.fssMean[p]!.find((x) => x.scale === 3)!.fss,
          ).get(name)!,
          3,
        ),
      ),
    ]),
  });
  tables.push({
    title:
      'Parameter recovery against the hidden truth: correlation / RMSE over the true range (mean over seeds)',
    columns: ['method', ...pr.calibrated],
    rows: names.map((name) => [
      name,
      ...pr.calibrated.map((p) => {
        const c = perMethod(
          runs.filter((r) => r.name === name),
          (r) => r.recovery[p]!.cc,
        ).get(name)!;
        const e = perMethod(
          runs.filter((r) => r.name === name),
          (r) => r.recovery[p]!.nrmse,
        ).get(name)!;
        return `${c.mean.toFixed(2)} / ${e.mean.toFixed(2)}`;
      }),
    ]),
  });
  tables.push({
    title: 'Time (this machine); a surrogate method counts its ensemble and its training in full',
    columns: ['method', 'seconds per epoch', 'surrogate seconds', 'total seconds'],
    rows: names.map((name) => {
      const rs = runs.filter((r) => r.name === name);
      const spe = rs.map((r) => r.secondsPerEpoch).filter((v): v is number => v !== null);
      const sur = rs.map(surrogateOf).filter((v) => v !== null);
      return [
        name,
        spe.length ? mean(spe).toFixed(2) : '–',
        sur.length ? mean(sur.map((v) => v.made)).toFixed(1) : '–',
        mean(rs.map((r) => r.totalSeconds)).toFixed(1),
      ];
    }),
  });
  const withSurrogate = runs.filter((r) => surrogateOf(r) !== null);
  if (withSurrogate.length) {
    tables.push({
      title:
        "h(): the exact model or a surrogate. Test period, the calibrated fields scored on vic3l (the truth's model) and on the surrogate's own simulation (as the paper's Figs. 4-10; its Fig. S4 on VIC: RMSE reduced in 75 / 71 / 65 % of cells for GAN-PO / dPL / SCE-UA); recovery: mean correlation with the true fields over the seven parameters",
      columns: [
        'method',
        'h()',
        'seeds',
        'RMSE reduced % (vic3l)',
        'mean EOF (vic3l)',
        'mean SSIM (vic3l)',
        'RMSE reduced % (surrogate)',
        'mean EOF (surrogate)',
        'mean SSIM (surrogate)',
        'recovery CC',
        'total seconds',
      ],
      rows: names
        .filter((n) => n !== 'default' && n !== 'sce-ua')
        .map((name) => {
          const rs = runs.filter((r) => r.name === name);
          const on = rs.filter((r) => r.onSurrogate);
          const m = (f: (r: PaperRun) => number, from = rs) => (from.length ? mean(from.map(f)) : Number.NaN);
          const fix = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '–');
          return [
            name,
            String(rs[0]!.info.physics ?? 'exact'),
            rs.map((r) => r.seed).join(' '),
            fix(
              m((r) => r.test.summary.pctRmseReduced),
              1,
            ),
            fix(
              m((r) => r.test.summary.meanEof),
              4,
            ),
            fix(
              m((r) => r.test.summary.meanSsim),
              3,
            ),
            fix(
              m((r) => r.onSurrogate!.test.summary.pctRmseReduced, on),
              1,
            ),
            fix(
              m((r) => r.onSurrogate!.test.summary.meanEof, on),
              4,
            ),
            fix(
              m((r) => r.onSurrogate!.test.summary.meanSsim, on),
              3,
            ),
            fix(
              m((r) => mean(pr.calibrated.map((p) => r.recovery[p]!.cc))),
              2,
            ),
            fix(
              m((r) => r.totalSeconds),
              0,
            ),
          ];
        }),
    });
    tables.push({
      title:
        'Surrogate accuracy on held-out ensemble members (NSE per cell against vic3l; Sun et al. 2024, Fig. S2) and what the surrogate cost',
      columns: [
        'method',
        'surrogate',
        'held-out members',
        'NSE median over cells',
        'NSE worst decile',
        'RMSE mm/d',
        'training epochs',
        'ensemble seconds',
        'training seconds',
        'updates (seconds)',
      ],
      rows: withSurrogate.map((r) => {
        const v = surrogateOf(r)!;
        const a = v.accuracy;
        return [
          `${r.name} (seed ${r.seed})`,
          v.kind,
          a ? String(a.members) : '–',
          a ? a.nseMedian.toFixed(3) : '–',
          a ? a.nseWorstDecile.toFixed(3) : '–',
          a ? a.rmseOverall.toFixed(3) : '–',
          v.epochs ? String(v.epochs) : v.reusedFrom ? 'reused' : '–',
          v.ensemble === null ? '–' : v.ensemble.toFixed(1),
          v.training === null ? '–' : v.training.toFixed(1),
          `${v.updates} (${v.updateSeconds.toFixed(1)})`,
        ];
      }),
    });
  }
  const grid = { rows: pr.rows, cols: pr.cols, mask: pr.mask };
  const maps: MapSpec[] = [];
  for (const [key, label, cm, range] of [
    ['rmse', 'RMSE', VIRIDIS, undefined],
    ['cc', 'CC', VIRIDIS, [0, 1]],
    ['kge', 'KGE', VIRIDIS, [-0.5, 1]],
  ] as const)
    for (const name of names)
      maps.push({
        title: `${label} ${name} (test)`,
        values: first(name).maps[key],
        ...grid,
        colormap: cm,
        ...(range ? { range: [...range] as [number, number] } : {}),
        units: key === 'rmse' ? 'mm/d' : '',
      });
  for (const name of names.filter((n) => n !== 'default'))
    maps.push({
      title: `Relative RMSE change ${name} (test)`,
      values: first(name).maps.delta,
      ...grid,
      colormap: RDBU,
      symmetric: true,
    });
  const test = pr.periods.test;
  const days = twin.dates.slice(test[0], test[1]);
  // distribution of the relative RMSE change Δ (Sun et al. 2024, eq. 5): cell counts per 0.05 bin
  const bins = Array.from({ length: 41 }, (_, i) => -1 + i * 0.05);
  const counts = (d: Float64Array) => {
    const c = new Float64Array(bins.length);
    for (const v of d)
      if (Number.isFinite(v)) c[Math.min(bins.length - 1, Math.max(0, Math.round((v + 1) / 0.05)))]! += 1;
    return c;
  };
  const charts: ChartSpec[] = [
    {
      title: 'Distribution of the relative RMSE change vs default (test; > 0 = reduced)',
      x: bins,
      series: names
        .filter((n) => n !== 'default')
        .map((n) => ({ name: n, values: counts(first(n).maps.delta), colour: COLOURS[n] ?? '#333' })),
      xLabel: 'relative RMSE change',
      yLabel: 'cells',
    },
    {
      title: 'Joint-EOF score over the test days (0 = same pattern)',
      x: days,
      series: names.map((n) => ({ name: n, values: first(n).test.eof, colour: COLOURS[n] ?? '#333' })),
      xLabel: 'date',
      yLabel: 'EOF score',
    },
    {
      title: 'SSIM over the test days',
      x: days,
      series: names.map((n) => ({ name: n, values: first(n).test.ssim, colour: COLOURS[n] ?? '#333' })),
      xLabel: 'date',
      yLabel: 'SSIM',
    },
  ];
  // every GAN-PO run's (first seed), those through a surrogate with its RMSE against vic3l at the fields
  for (const name of names.filter((n) => first(n).method === 'gan-po')) {
    const h = first(name).history as Array<Record<string, number>> | undefined;
    if (!h?.length) continue;
    const hRmse = h.some((r) => r.hRmse !== undefined)
      ? [
          {
            name: "surrogate's RMSE vs vic3l (mm/d)",
            values: h.map((r) => r.hRmse ?? NaN),
            colour: '#1f78b4',
          },
        ]
      : [];
    charts.push({
      title: `${name} training: G's adversarial, L1 and L_R terms and D's loss per epoch`,
      x: h.map((r) => r.epoch!),
      series: [
        { name: 'G adversarial', values: h.map((r) => r.gAdv!), colour: '#7570b3' },
        { name: 'G L1 (mm/d)', values: h.map((r) => r.gL1!), colour: '#1b9e77' },
        { name: 'G L_R', values: h.map((r) => r.gRange!), colour: '#d95f02' },
        { name: 'D', values: h.map((r) => r.d!), colour: '#333333', dashed: true },
        { name: 'valid MSE', values: h.map((r) => r.validMse!), colour: '#e7298a', dashed: true },
        ...hRmse,
      ],
      xLabel: 'epoch',
      yLabel: 'loss',
    });
  }
  return writeReport(dir, {
    title: 'GAN-PO paper comparison on its twin (24 x 17 cells, vic3l, ET)',
    description:
      "Sun, Pan & Duan (2024) reproduced on an identical twin at the paper's size: six soil descriptors, seven vic3l parameters with a hidden truth, ET with 5 % noise; train 2009-2010, test 2011, validation 2013-2014. Every method runs through the same exact vic3l, except those named -lstm and -arnet, whose h() is that surrogate of vic3l (trained on a 400-member perturbed-parameter ensemble, updated during calibration); all are scored on vic3l, and those also on their surrogate. Maps are of the first seed.",
    metrics: {
      ...extra,
      runs: runs.map(({ maps: _m, history: _h, train, test, ...r }) => ({
        ...r,
        train: { summary: train.summary, fssMean: train.fssMean },
        test: { summary: test.summary, fssMean: test.fssMean },
      })),
    },
    tables,
    maps,
    charts,
  });
}
