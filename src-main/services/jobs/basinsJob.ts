import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FieldcalError, type BasinsJobSpec, type RunMetric } from '../../../src-shared/ipc';
import type { BasinsResult, MethodContext } from '../calibration/method';
import { runMethod } from '../calibration/registry';
import { writeFileAtomic } from '../common/atomicFile';
import { artifactOf } from '../common/checksum';
import { readBasinFolder, type BasinSet } from '../datasets/basins';
import { heatmapPng } from '../report/heatmap';
import type { Issue } from './specs';

/** Reads a basins job's folder and attribute table; typed errors name the job's field. */
export async function loadBasins(spec: BasinsJobSpec): Promise<BasinSet> {
  try {
    return await readBasinFolder(spec.dataset.path, {
      ...(spec.dataset.columns ? { columns: spec.dataset.columns } : {}),
      ...(spec.dataset.attributes ? { attributes: spec.dataset.attributes } : {}),
      period: spec.train,
    });
  } catch (e) {
    const err = e instanceof FieldcalError ? e : new FieldcalError('IO', (e as Error).message);
    const f = err.details?.field as string | undefined;
    throw new FieldcalError(err.code, err.message, {
      ...err.details,
      field: f === 'train' || f === 'period' ? 'train' : f === 'test' ? 'test' : 'dataset.path',
    });
  }
}

/** What a basins job's data must hold, read before anything is recorded: the folder, its CSVs, both periods in every basin. */
export async function basinsDataIssues(spec: BasinsJobSpec): Promise<Issue[]> {
  if (!(await stat(spec.dataset.path).catch(() => null))?.isDirectory())
    return [{ path: 'dataset.path', message: `${spec.dataset.path} is not a folder of basin CSVs` }];
  if (spec.dataset.attributes && !(await stat(spec.dataset.attributes).catch(() => null))?.isFile())
    return [{ path: 'dataset.attributes', message: `${spec.dataset.attributes} does not exist` }];
  try {
    const set = await loadBasins(spec);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    for (const b of set.basins) {
      const first = day(b.series.dates[0]!);
      const last = day(b.series.dates.at(-1)!);
      if (spec.test.start < first || spec.test.end > last)
        return [
          {
            path: 'test',
            message: `${b.file}: test ${spec.test.start} .. ${spec.test.end} is outside ${first} .. ${last}`,
          },
        ];
    }
    return [];
  } catch (e) {
    return [
      {
        path: ((e as FieldcalError).details?.field as string) ?? 'dataset.path',
        message: (e as Error).message,
      },
    ];
  }
}

/** Embeddings as CSV: `basin,z1..zd`. */
export function embeddingsCsv(r: BasinsResult): string {
  const d = r.embeddings.z[0]?.length ?? 0;
  const head = ['basin', ...Array.from({ length: d }, (_, i) => `z${i + 1}`)].join(',');
  return `${[head, ...r.embeddings.codes.map((c, k) => [c, ...r.embeddings.z[k]!.map((v) => v.toPrecision(7))].join(','))].join('\n')}\n`;
}

/**
 * Runs a basins job: the method's `basins` runner on the folder, then writes `embeddings.csv`
 * (`embeddings-csv`), `distances.png` (the embedding and attribute distance matrices side by side),
 * `report.html` (the tables) and `result.json`; metrics: test NSE per basin (target = code), the
 * transfer medians (target = `transfer`), the imputation correlation per attribute (target = name).
 */
export async function runBasinsJob(
  spec: BasinsJobSpec,
  runId: number,
  outDir: string,
  ctx: MethodContext,
): Promise<{
  metrics: RunMetric[];
  artifacts: Array<{ kind: string; path: string; sizeBytes: number; checksum: string }>;
  info: Record<string, unknown>;
}> {
  const set = await loadBasins(spec);
  const r = await runMethod(
    'basins',
    spec.method,
    { set, train: spec.train, test: spec.test },
    spec.options,
    spec.seed,
    ctx,
  );
  return writeBasinsOutputs(r, set, outDir, { runId, spec });
}

/** Writes a basins result's artifacts (job and CLI alike) and returns its metrics. */
export async function writeBasinsOutputs(
  r: BasinsResult,
  set: BasinSet,
  outDir: string,
  meta: Record<string, unknown>,
): Promise<{
  metrics: RunMetric[];
  artifacts: Array<{ kind: string; path: string; sizeBytes: number; checksum: string }>;
  info: Record<string, unknown>;
}> {
  await mkdir(outDir, { recursive: true });
  const put = async (name: string, data: string | Buffer) => {
    const f = join(outDir, name);
    await writeFileAtomic(f, (tmp) => writeFile(tmp, data));
    return f;
  };
  const artifacts = [await artifactOf('embeddings-csv', await put('embeddings.csv', embeddingsCsv(r)))];
  const info = r.info as {
    reconstruction?: { nse: Record<string, number | null> };
    distances?: { embedding: number[][]; attributes: (number | null)[][]; correlation: number | null };
    imputation?: { correlation: Record<string, { r: number | null }> };
    transfer?: { median: Record<string, number | null>; rows: Array<Record<string, unknown>> };
    noisyAttributes?: {
      attributes: Array<{ sigma: number; medianNse: number | null }>;
      embeddings: { medianNse: number | null };
    };
  };
  if (info.distances) {
    const png = heatmapPng(
      [
        { title: 'embedding distance', matrix: info.distances.embedding },
        {
          title: 'attribute distance',
          matrix: info.distances.attributes.map((row) => row.map((v) => v ?? Number.NaN)),
        },
      ],
      r.embeddings.codes,
    );
    artifacts.push(await artifactOf('distances-png', await put('distances.png', png)));
  }
  const metrics: RunMetric[] = [];
  for (const [code, v] of Object.entries(info.reconstruction?.nse ?? {}))
    if (v !== null) metrics.push({ period: 'test', target: code, metric: 'nse', value: v });
  for (const [rule, v] of Object.entries(info.transfer?.median ?? {}))
    if (v !== null)
      metrics.push({ period: 'test', target: 'transfer', metric: `median-nse-${rule}`, value: v });
  for (const [name, v] of Object.entries(info.imputation?.correlation ?? {}))
    if (v.r !== null) metrics.push({ period: 'train', target: name, metric: 'imputation-r', value: v.r });
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const table = (head: string[], rows: unknown[][]) =>
    `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((row) => `<tr>${row.map((v) => `<td>${esc(String(v ?? '—'))}</td>`).join('')}</tr>`).join('')}</table>`;
  const html = [
    '<!doctype html><meta charset="utf-8"><title>KGSSL basin embeddings</title><style>td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>',
    `<h1>Basin embeddings: ${esc(set.dir)}</h1>`,
    '<h2>Test-period reconstruction NSE</h2>',
    table(['basin', 'NSE'], Object.entries(info.reconstruction?.nse ?? {})),
    '<h2>Attribute imputation (leave basins out): correlation</h2>',
    table(
      ['attribute', 'r'],
      Object.entries(info.imputation?.correlation ?? {}).map(([k, v]) => [k, v.r]),
    ),
    `<h2>Distances (correlation of the two matrices: ${info.distances?.correlation ?? '—'})</h2><img src="distances.png" alt="distance matrices">`,
    '<h2>Forward model with noisy attributes vs embeddings (median test NSE)</h2>',
    table(
      ['conditioning', 'median NSE'],
      [
        ...(info.noisyAttributes?.attributes ?? []).map((a) => [
          `attributes + N(0, ${a.sigma}²)`,
          a.medianNse,
        ]),
        ['embeddings', info.noisyAttributes?.embeddings.medianNse],
      ],
    ),
    '<h2>GR4J parameter transfer to left-out basins (test NSE)</h2>',
    table(
      ['basin', 'own', 'embedding', 'attributes', 'regional mean'],
      (info.transfer?.rows ?? []).map((row) => [
        row.basin,
        row.own,
        row.embedding,
        row.attributes,
        row.regionalMean,
      ]),
    ),
    `<p>Medians: ${esc(JSON.stringify(info.transfer?.median ?? {}))}</p>`,
  ].join('\n');
  artifacts.push(await artifactOf('report', await put('report.html', html)));
  artifacts.push(
    await artifactOf(
      'result',
      await put(
        'result.json',
        `${JSON.stringify({ ...meta, attributes: set.attributes, embeddings: r.embeddings, info: r.info }, null, 1)}\n`,
      ),
    ),
  );
  return { metrics, artifacts, info: { ...r.info, embeddings: r.embeddings } };
}
