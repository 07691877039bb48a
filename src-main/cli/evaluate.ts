import type { Command } from 'commander';
import { resolve } from 'node:path';
import { FieldcalError, type Grid, type RunMetric } from '../../src-shared/ipc';
import type { SummaryTable } from '../services/metrics/summary';
import { openStack } from '../services/rasters/open';
import type { Stack } from '../services/rasters/stack';
import { writeGriddedReport } from '../services/report/gridReport';
import { progressBar } from './progress';
import { recordedRun } from './record';

const sameGrid = (a: Grid, b: Grid) =>
  a.rows === b.rows && a.cols === b.cols && a.x0 === b.x0 && a.y0 === b.y0 && a.dx === b.dx && a.dy === b.dy;

/** Reads the steps of a stack at the given times, step-major, reporting progress. */
async function readAt(s: Stack, times: number[], tick: () => void): Promise<Float64Array> {
  const cells = s.grid.rows * s.grid.cols;
  const index = new Map(s.steps.map((st, i) => [st.time.getTime(), i]));
  const out = new Float64Array(times.length * cells);
  for (let t = 0; t < times.length; t++) {
    out.set(await s.read(index.get(times[t]!)!), t * cells);
    tick();
  }
  return out;
}

/** The summary metrics of an evaluation, recorded with its run. */
function evaluationMetrics(summary: SummaryTable): RunMetric[] {
  return [
    ['cells', summary.cells],
    ['pct_cc_above_0.75', summary.pctCcAbove075],
    ['pct_kge_above_0.6', summary.pctKgeAbove06],
    ['pct_rmse_reduced', summary.pctRmseReduced],
    ['mean_eof', summary.meanEof],
    ['mean_ssim', summary.meanSsim],
  ].map(([metric, value]) => ({
    period: 'all',
    target: 'grid',
    metric: String(metric),
    value: Number(value),
  }));
}

interface EvaluateOptions {
  obs: string;
  sim: string;
  default?: string;
  out: string;
  units: string;
  project?: string;
  json?: boolean;
}

/** Reads the stacks on their common dates and writes the gridded report. */
async function evaluate(o: EvaluateOptions) {
  const obs = await openStack(o.obs);
  const sim = await openStack(o.sim);
  const def = o.default ? await openStack(o.default) : null;
  for (const [name, s] of [
    ['--sim', sim],
    ['--default', def],
  ] as const) {
    if (s && !sameGrid(obs.grid, s.grid)) {
      throw new FieldcalError(
        'INCONSISTENT_DATA',
        `${name} ${s.source} is not on the grid of --obs ${obs.source}`,
        {
          field: name,
          file: s.source,
        },
      );
    }
  }
  const inAll = (t: number) => [sim, def].every((s) => !s || s.steps.some((x) => x.time.getTime() === t));
  const times = obs.steps.map((s) => s.time.getTime()).filter(inAll);
  if (times.length < 2) {
    throw new FieldcalError('INCONSISTENT_DATA', 'The stacks share fewer than two dates', { field: '--sim' });
  }
  const cells = obs.grid.rows * obs.grid.cols;
  const bar = progressBar('reading', times.length * (def ? 3 : 2), { json: o.json });
  const obsV = await readAt(obs, times, bar.tick);
  const simV = await readAt(sim, times, bar.tick);
  let defV: Float64Array;
  if (def) defV = await readAt(def, times, bar.tick);
  else {
    // without a default simulation, each cell's observed mean (climatology) is the reference
    const mean = new Float64Array(cells);
    const n = new Float64Array(cells);
    obsV.forEach((v, i) => {
      if (Number.isFinite(v)) {
        mean[i % cells]! += v;
        n[i % cells]!++;
      }
    });
    for (let c = 0; c < cells; c++) mean[c] = n[c] ? mean[c]! / n[c]! : Number.NaN;
    defV = new Float64Array(times.length * cells);
    for (let t = 0; t < times.length; t++) defV.set(mean, t * cells);
  }
  bar.stop();
  return writeGriddedReport({
    dir: resolve(o.out),
    title: `Evaluation of ${sim.source}`,
    description: `Simulated ${sim.source} against observed ${obs.source}, ${times.length} common steps; reference: ${def ? def.source : "each cell's observed mean (no default simulation given)"}.`,
    obs: obsV,
    sim: simV,
    simDefault: defV,
    dates: times.map((t) => new Date(t)),
    grid: { rows: obs.grid.rows, cols: obs.grid.cols, mask: null },
    units: o.units || obs.units || '',
    mapSteps: [Math.floor(times.length / 2)],
  });
}

/** `fieldcal evaluate`: compares a simulated stack with an observed one and writes the run report. */
export function addEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'compare a simulated stack with observations (and a default-parameter simulation) and write the evaluation report',
    )
    .requiredOption('--obs <path>', 'observed stack: folder of dated GeoTIFFs or NetCDF')
    .requiredOption('--sim <path>', 'simulated stack on the same grid')
    .option(
      '--default <path>',
      "default-parameter simulation; without it each cell's observed mean is the reference",
    )
    .requiredOption('--out <dir>', 'folder for index.html, metrics.json and the PNGs')
    .option('--units <units>', 'units of the values, for the legends', '')
    .option('--project <file>', 'record the evaluation as a run in this project (metrics and report)')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (o: EvaluateOptions) => {
      const { result: r, runId } = await recordedRun(
        o.project ? { path: o.project, create: false } : undefined,
        {
          name: `evaluate ${o.sim}`,
          method: 'evaluate',
          options: { obs: o.obs, sim: o.sim, default: o.default ?? null, units: o.units },
          seed: 0,
        },
        () => evaluate(o),
        (r) => ({
          metrics: evaluationMetrics(r.summary),
          files: r.files.map((path) => ({
            kind: path.endsWith('index.html') ? 'report' : 'report-file',
            path,
          })),
        }),
      );
      process.stdout.write(
        o.json
          ? `${JSON.stringify({ report: r.html, summary: r.summary, runId })}\n`
          : `Report written to ${r.html}\n`,
      );
    });
}
