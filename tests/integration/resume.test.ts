import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectStore } from '../../src-main/services/project/store';
import { tifSums } from '../helpers/project';

const dir = mkdtempSync(join(tmpdir(), 'fieldcal-resume-'));
const CLI = ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'src-main/cli/index.ts'];
// a 30-iteration ANN on a twin: checkpoints after every iteration, two model threads in both runs
const config = join(dir, 'job.json');
writeFileSync(
  config,
  JSON.stringify({
    seed: 11,
    threads: 2,
    twin: { rows: 12, cols: 16, seed: 5 },
    options: { iterations: 30, validEvery: 5 },
  }),
);
const args = (out: string) => [...CLI, 'twin', '--method', 'ann', '--config', config, '--out', out, '--json'];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliResult {
  run: { id: number; status: string };
  evaluation: {
    periods: Record<string, Record<string, number>>;
    parameterCorrelation: Record<string, number>;
  };
  info: { iterations: number; bestIteration: number };
  artifacts: Array<{ kind: string; path: string }>;
}

describe('a run killed with SIGKILL mid-training', () => {
  it('resumes from its checkpoint to the same result as an uninterrupted run with the same seed', async () => {
    // the reference: uninterrupted
    const ref = spawnSync(process.execPath, args(join(dir, 'ref')), { encoding: 'utf8', timeout: 300_000 });
    expect(ref.status, ref.stderr).toBe(0);
    const refOut = JSON.parse(ref.stdout) as CliResult;
    expect(refOut.run.status).toBe('succeeded');

    // the same run, killed once it has passed iteration 12
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, args(out), { env: { ...process.env, FIELDCAL_LOG_PROGRESS: '1' } });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stderr.on('data', (d: Buffer) => {
        buf += d.toString();
        for (const m of buf.matchAll(/iteration=(\d+)/g)) seen = Math.max(seen, Number(m[1]));
        if (seen >= 12 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`exited without kill (seen ${seen})`)),
      );
    });
    expect(seen).toBeGreaterThanOrEqual(12);

    // the project survived: the run row is there, marked interrupted on open, with a checkpoint
    const project = join(out, 'runs.fieldcal');
    const s = ProjectStore.open({ path: project });
    const run = s.runs.get(1);
    expect(run.status).toBe('interrupted');
    const cp = s.runs.checkpoint(1)!;
    expect(cp.iteration).toBeGreaterThanOrEqual(10);
    expect(cp.iteration).toBeLessThan(30);
    s.close();

    // resume: continues from the checkpoint (first progress after it), ends identical to the reference
    const res = spawnSync(
      process.execPath,
      [...CLI, 'resume', '--project', project, '--run', '1', '--json'],
      {
        encoding: 'utf8',
        timeout: 300_000,
        env: { ...process.env, FIELDCAL_LOG_PROGRESS: '1' },
      },
    );
    expect(res.status, res.stderr).toBe(0);
    const first = Number(/iteration=(\d+)/.exec(res.stderr)![1]);
    expect(first).toBeGreaterThan(cp.iteration);
    const resumed = JSON.parse(res.stdout) as CliResult;
    expect(resumed.run.status).toBe('succeeded');
    expect(resumed.info).toEqual(refOut.info);
    expect(resumed.evaluation).toEqual(refOut.evaluation);
    expect(tifSums(project, 1)).toEqual(tifSums(join(dir, 'ref', 'runs.fieldcal'), 1));

    // every run row is in the project afterwards
    const after = ProjectStore.open({ path: project });
    expect(after.runs.list().map((r) => [r.id, r.status])).toEqual([[1, 'succeeded']]);
    after.close();
  });
});
