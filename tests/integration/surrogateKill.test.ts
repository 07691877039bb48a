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
 * Runs the child training `kind` with checkpoints in `dir`. With `killAt` (epoch, batch), the child
 * blocks before that batch and says so; it is then sent SIGKILL, mid-epoch, with the previous
 * epoch's checkpoint on disk. Resolves with the epochs the child reported checkpointed, its result
 * line (when it finished), the checkpoint epoch seen at the kill, and how it ended.
 */
function child(kind: 'lstm' | 'arnet', dir: string, killAt?: [number, number]) {
  const c = spawn(process.execPath, [...CHILD, kind, dir, ...(killAt ? [killAt.join(',')] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let seenAtKill = 0;
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (killAt && !c.killed && /^paused$/m.test(out)) {
      seenAtKill = checkpointEpoch(dir);
      c.kill('SIGKILL');
    }
  });
  return new Promise<{
    epochs: number[];
    result: ChildResult | null;
    seenAtKill: number;
    signal: NodeJS.Signals | null;
    err: string;
  }>((resolve) =>
    c.on('exit', (_code, signal) => {
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
    // killed in epoch k + 1, after its first batch: epoch k is the checkpoint on disk
    const k = 2;
    const killed = await child(kind, dir, [k + 1, 1]);
    expect(killed.signal, `killed in epoch ${k + 1}: ${killed.err}`).toBe('SIGKILL');
    expect(killed.result).toBeNull();
    expect(killed.seenAtKill).toBe(k);
    expect(killed.epochs).toEqual(Array.from({ length: k }, (_, i) => i + 1));
    const onDisk = checkpointEpoch(dir);
    expect(onDisk).toBe(k);

    const resumed = await child(kind, dir);
    expect(resumed.signal, resumed.err).toBeNull();
    const r = resumed.result!;
    // it starts from the checkpoint: epoch k done, the epoch in flight and the rest trained
    expect(r.resumedFrom).toBe(k);
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
