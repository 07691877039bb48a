import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp';
import { KILL_EPOCHS } from './surrogateKillSpec';

const CHILD = ['--import', 'tsx', 'tests/integration/surrogateKillChild.ts'];
const tmp = tempDir('fieldcal-surrogate-kill-');
afterAll(tmp.cleanup);

interface ChildResult {
  resumedFrom: number;
  bestEpoch: number;
  history: Array<{ epoch: number; trainLoss: number; validLoss: number; numTensors: number }>;
  weights: string;
}

/** The epoch of the checkpoint on disk (0: none yet). */
function checkpointEpoch(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { epoch: number }).epoch;
  } catch {
    return 0;
  }
}

/**
 * Runs the child training `kind` with checkpoints in `dir`. With `killAfter`, watches the checkpoint
 * file on disk and sends SIGKILL as soon as it names epoch `killAfter` or later (so the kill lands in
 * the next epoch's batches, or in its checkpoint write). Resolves with the epochs the child reported
 * checkpointed, its result line (when it finished), the checkpoint epoch seen at the kill, and how
 * it ended.
 */
function child(kind: 'lstm' | 'arnet', dir: string, killAfter?: number) {
  const c = spawn(process.execPath, [...CHILD, kind, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let seenAtKill = 0;
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  c.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const watch =
    killAfter === undefined
      ? null
      : setInterval(() => {
          const e = checkpointEpoch(dir);
          if (e >= killAfter && !c.killed) {
            c.kill('SIGKILL');
            seenAtKill = e;
          }
        }, 2);
  return new Promise<{
    epochs: number[];
    result: ChildResult | null;
    seenAtKill: number;
    signal: NodeJS.Signals | null;
    err: string;
  }>((resolve) =>
    c.on('exit', (_code, signal) => {
      if (watch) clearInterval(watch);
      const epochs = [...out.matchAll(/^epoch (\d+)$/gm)].map((m) => Number(m[1]));
      const r = /^result (.*)$/m.exec(out);
      resolve({ epochs, result: r ? (JSON.parse(r[1]!) as ChildResult) : null, seenAtKill, signal, err });
    }),
  );
}

describe.each(['lstm', 'arnet'] as const)('%s surrogate training killed with SIGKILL', (kind) => {
  it('loses at most the epoch in flight and resumes to the weights of an uninterrupted training', async () => {
    // the uninterrupted reference: same seed, its own checkpoint folder
    const ref = await child(kind, join(tmp.dir, `${kind}-ref`));
    expect(ref.signal, ref.err).toBeNull();
    expect(ref.result!.history.map((h) => h.epoch)).toEqual(
      Array.from({ length: KILL_EPOCHS }, (_, i) => i + 1),
    );
    // no tensor leak over the whole training
    expect(new Set(ref.result!.history.map((h) => h.numTensors)).size).toBe(1);

    const dir = join(tmp.dir, `${kind}-killed`);
    const k = 2;
    const killed = await child(kind, dir, k);
    expect(killed.signal, `killed after epoch ${k}: ${killed.err}`).toBe('SIGKILL');
    expect(killed.result).toBeNull();
    expect(killed.seenAtKill).toBeGreaterThanOrEqual(k);
    // what is on disk: the checkpoint seen at the kill, or the one of the epoch that ended before the
    // signal landed; every epoch the child reported is in it
    const onDisk = checkpointEpoch(dir);
    expect(onDisk).toBeGreaterThanOrEqual(killed.seenAtKill);
    expect(onDisk).toBeLessThanOrEqual(killed.seenAtKill + 1);
    expect(onDisk).toBeGreaterThanOrEqual(Math.max(0, ...killed.epochs));
    expect(onDisk).toBeLessThan(KILL_EPOCHS);

    const resumed = await child(kind, dir);
    expect(resumed.signal, resumed.err).toBeNull();
    const r = resumed.result!;
    // it starts from the checkpoint: epoch k (or k + 1) done, only the rest trained
    expect(r.resumedFrom).toBe(onDisk);
    expect([k, k + 1]).toContain(r.resumedFrom);
    expect(resumed.epochs).toEqual(Array.from({ length: KILL_EPOCHS - onDisk }, (_, i) => onDisk + 1 + i));
    // and ends where the uninterrupted training ends, bit for bit: every epoch's losses, the best
    // epoch, the final weights
    const losses = (x: ChildResult) => x.history.map((h) => [h.epoch, h.trainLoss, h.validLoss]);
    expect(losses(r)).toEqual(losses(ref.result!));
    expect(r.bestEpoch).toBe(ref.result!.bestEpoch);
    expect(r.weights).toBe(ref.result!.weights);
    // the resumed run's own epochs hold a constant tensor count too
    expect(new Set(r.history.slice(onDisk).map((h) => h.numTensors)).size).toBe(1);
    // the folder holds the last checkpoint alone: no older epoch, no temporary a kill left
    expect(readdirSync(dir).sort()).toEqual([
      'checkpoint.json',
      `epoch-${String(KILL_EPOCHS).padStart(5, '0')}.bin`,
    ]);
  });
});
