// Gauge-folder fuzzer: smash layouts (gauge_attributes.csv and qobs/<code>.csv) with mutated text,
// missing, duplicated or renamed files, a folder, a named pipe (FIFO) or a dangling link in place of
// a file; each read by Fieldcal's gauge loader: a typed error naming the file, never a crash or a hang.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSmashGauges } from '../src-main/services/grid/gauges';
import { rng, Tally, tools, withScratch } from './fileHarness';
import { mutateCsv } from './textMutate';
import type { FuzzReport } from './registry';

const LEZ = 'resources/sample-data/lez';
/** A few hundred days per series keep each input small. */
const head = (file: string, n: number) => readFileSync(file, 'utf8').split('\n').slice(0, n).join('\n');

export async function gaugesFuzz(count: number, seed: number): Promise<FuzzReport> {
  return withScratch('fieldcal-fuzz-gauges-', async (dir) => {
    const t = tools(rng(seed));
    const attrs = readFileSync(join(LEZ, 'gauge_attributes.csv'), 'utf8');
    const series = Object.fromEntries(
      readdirSync(join(LEZ, 'qobs')).map((f) => [f, head(join(LEZ, 'qobs', f), 400)]),
    );
    const tally = new Tally();
    const mutations: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const g = join(dir, `g${i}`);
      mkdirSync(join(g, 'qobs'), { recursive: true });
      const what: string[] = [];
      // the attribute table, mutated half the time
      const a = t.r() < 0.5 ? mutateCsv(attrs, t) : { text: attrs, what: [] };
      what.push(...a.what.map((w) => `attrs:${w}`));
      writeFileSync(join(g, 'gauge_attributes.csv'), a.text);
      for (const [name, text] of Object.entries(series)) {
        const q = t.r() < 0.3 ? mutateCsv(text, t) : { text, what: [] };
        what.push(...q.what.map((w) => `qobs:${w}`));
        writeFileSync(join(g, 'qobs', name), q.text);
      }
      // the file system itself: a FIFO, a folder, a dangling link or nothing where a file is expected
      if (t.r() < 0.3) {
        const victim =
          t.r() < 0.4 ? join(g, 'gauge_attributes.csv') : join(g, 'qobs', t.pick(Object.keys(series)));
        rmSync(victim, { force: true });
        const kind = t.pick(['fifo', 'folder', 'dangling-link', 'missing'] as const);
        what.push(`fs:${kind}`);
        if (kind === 'fifo') execFileSync('mkfifo', [victim]);
        else if (kind === 'folder') mkdirSync(victim);
        else if (kind === 'dangling-link') symlinkSync(join(g, 'nowhere'), victim);
      }
      for (const w of what) mutations[w.split(':')[1]!] = (mutations[w.split(':')[1]!] ?? 0) + 1;
      await tally.run(`#${i} ${what.join('+')}`, g, 10_000, () => readSmashGauges(g));
      rmSync(g, { recursive: true, force: true });
    }
    return { ...tally.report(count), mutations };
  });
}
