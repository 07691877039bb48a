// Lumped-CSV fuzzer: airGR BasinObs-like tables (date, P, T, E, Qls, Qmm) with mutated lines, fields,
// headers, separators and bytes, and a named pipe (FIFO) or a folder in place of the file; each read by
// the lumped loader and the generic gauge-CSV loader: a typed error naming the file, never a crash or a hang.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLumpedCsv } from '../src-main/services/datasets/lumpedCsv';
import { readGaugeCsv } from '../src-main/services/grid/gauges';
import { rng, Tally, tools, withScratch } from './fileHarness';
import { mutateCsv } from './textMutate';
import type { FuzzReport } from './registry';

const SEED = 'tests/fixtures/airgr-L0123001/L0123001_BasinObs.csv';

export async function csvFuzz(count: number, seed: number): Promise<FuzzReport> {
  return withScratch('fieldcal-fuzz-csv-', async (dir) => {
    const t = tools(rng(seed));
    const text = readFileSync(SEED, 'utf8').split('\n').slice(0, 400).join('\n');
    const lumped = new Tally();
    const gauge = new Tally();
    const mutations: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const file = join(dir, `c${i}.csv`);
      const m = mutateCsv(text, t);
      const what = [...m.what];
      if (t.r() < 0.05) {
        const kind = t.pick(['fifo', 'folder'] as const);
        what.push(kind);
        if (kind === 'fifo') execFileSync('mkfifo', [file]);
        else mkdirSync(file);
      } else writeFileSync(file, m.text);
      for (const w of what) mutations[w] = (mutations[w] ?? 0) + 1;
      await lumped.run(`#${i} lumped ${what.join('+')}`, file, 10_000, () => readLumpedCsv(file));
      await gauge.run(`#${i} gauge ${what.join('+')}`, file, 10_000, () =>
        readGaugeCsv(file, { valueColumn: 'Qmm' }),
      );
      rmSync(file, { recursive: true, force: true });
    }
    const l = lumped.report(count);
    const g = gauge.report(count);
    return {
      inputs: count,
      crashes: l.crashes + g.crashes,
      hangs: l.hangs + g.hangs,
      peakRssMB: Math.max(l.peakRssMB, g.peakRssMB),
      lumped: l,
      gaugeCsv: g,
      mutations,
    };
  });
}
