import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProjectStore } from '../../src-main/services/project/store';
import { tifSums } from '../helpers/project';
import { ganWidth, jobsOnJsKernels } from '../helpers/kernels';

const dir = mkdtempSync(join(tmpdir(), 'fieldcal-ganpo-resume-'));
const CLI = ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'src-main/cli/index.ts'];
// GAN-PO for 6 epochs on a small twin (2 of pre-training, then with the discriminator): a checkpoint
// (JSON in the project, weights and Adam moments in a binary blob next to it) at the end of every epoch
const config = join(dir, 'job.json');
writeFileSync(
  config,
  JSON.stringify({
    seed: 13,
    threads: 1,
    twin: { rows: 10, cols: 12, seed: 5, years: { warmup: 1, train: 1, valid: 1, test: 1 } },
    // the CLI runs pick the backend this process picks
    options: {
      ...ganWidth(await jobsOnJsKernels()),
      epochs: 6,
      batchDays: 32,
      warmupWindow: 20,
      pretrainEpochs: 2,
    },
  }),
);
const args = (out: string) => [
  ...CLI,
  'twin',
  '--method',
  'gan-po',
  '--config',
  config,
  '--out',
  out,
  '--json',
];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CliResult {
  run: { id: number; status: string };
  evaluation: unknown;
  info: { epochs: number; bestEpoch: number; history: Array<Record<string, number>> };
}

/** The history without wall times. */
const losses = (h: CliResult['info']['history']) => h.map(({ seconds: _s, ...rest }) => rest);

describe('GAN-PO killed with SIGKILL mid-epoch', () => {
  it('resumes from its last epoch checkpoint to the parameter GeoTIFFs of an uninterrupted run', async () => {
    const ref = spawnSync(process.execPath, args(join(dir, 'ref')), { encoding: 'utf8', timeout: 600_000 });
    expect(ref.status, ref.stderr).toBe(0);
    const refOut = JSON.parse(ref.stdout) as CliResult;
    expect(refOut.run.status).toBe('succeeded');
    expect(refOut.info.epochs).toBe(6);
    // a finished run leaves no checkpoint blobs behind
    expect(existsSync(join(dir, 'ref', 'run-1', 'checkpoints'))).toBe(false);

    // the same run, killed during the epoch after epoch 3 ended (epoch 2's checkpoint is stored by
    // then: the progress line of an epoch comes before its checkpoint reaches the project, which
    // under load can take longer than the 300 ms below)
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, args(out), { env: { ...process.env, FIELDCAL_LOG_PROGRESS: '1' } });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stderr.on('data', (d: Buffer) => {
        buf += d.toString();
        for (const m of buf.matchAll(/iteration=(\d+)/g)) seen = Math.max(seen, Number(m[1]));
        if (seen >= 3 && !child.killed) setTimeout(() => child.kill('SIGKILL'), 300);
      });
      child.on('exit', (_code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`exited without kill (seen ${seen})`)),
      );
    });
    const project = join(out, 'runs.fieldcal');
    const s = ProjectStore.open({ path: project });
    expect(s.runs.get(1).status).toBe('interrupted');
    const cp = s.runs.checkpoint(1)!;
    expect(cp.iteration).toBeGreaterThanOrEqual(2);
    expect(cp.iteration).toBeLessThan(6);
    s.close();
    // the blob the checkpoint names is there (and at most one older one)
    const blobs = readdirSync(join(out, 'run-1', 'checkpoints')).filter((f) => f.endsWith('.bin'));
    expect(blobs.length).toBeGreaterThanOrEqual(1);
    expect(blobs.length).toBeLessThanOrEqual(2);

    const res = spawnSync(
      process.execPath,
      [...CLI, 'resume', '--project', project, '--run', '1', '--json'],
      {
        encoding: 'utf8',
        timeout: 600_000,
        env: { ...process.env, FIELDCAL_LOG_PROGRESS: '1' },
      },
    );
    expect(res.status, res.stderr).toBe(0);
    const first = Number(/iteration=(\d+)/.exec(res.stderr)![1]);
    expect(first).toBe(cp.iteration + 1);
    const resumed = JSON.parse(res.stdout) as CliResult;
    expect(resumed.run.status).toBe('succeeded');
    expect(resumed.info.bestEpoch).toBe(refOut.info.bestEpoch);
    expect(losses(resumed.info.history)).toEqual(losses(refOut.info.history));
    expect(resumed.evaluation).toEqual(refOut.evaluation);
    expect(tifSums(project, 1)).toEqual(tifSums(join(dir, 'ref', 'runs.fieldcal'), 1));
  });
});
