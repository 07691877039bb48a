// Child of the surrogate-training SIGKILL test (surrogateKill.test.ts): trains (or resumes) an LSTM
// or ARnet surrogate with per-epoch checkpoints in the folder given, printing `epoch E` after each
// checkpointed epoch and, at the end, one `result {json}` line: the epoch it resumed from, every
// epoch's losses and tensor count, and the SHA-256 of the final weights' bytes. With a third argument
// `E,B` it prints `paused` before batch B of epoch E and blocks there, for the parent to SIGKILL it
// mid-epoch at a point that does not depend on timing.
import { createHash } from 'node:crypto';
import { trainArnet } from '../../src-main/services/surrogate/arnet';
import { trainLstm } from '../../src-main/services/surrogate/lstm';
import { readWeights } from '../../src-main/services/surrogate/train';
import { smallCase } from '../unit/main/surrogate/memEnsemble';
import { KILL_CASE, KILL_CONFIG, KILL_SETTINGS } from './surrogateKillSpec';

const [kind, dir, pause] = process.argv.slice(2) as ['lstm' | 'arnet', string, string | undefined];
const [pauseEpoch, pauseBatch] = (pause ?? '-1,-1').split(',').map(Number) as [number, number];
const c = smallCase(KILL_CASE);
const opts = {
  settings: KILL_SETTINGS[kind],
  checkpointDir: dir,
  onProgress: (p: { epoch: number }) => process.stdout.write(`epoch ${p.epoch}\n`),
  beforeBatch: (epoch: number, batch: number) => {
    if (epoch !== pauseEpoch || batch !== pauseBatch) return;
    // stdout to a pipe is written synchronously on Linux: the parent has the cue before the block
    process.stdout.write('paused\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
};
process.stdout.write('started\n');
const { surrogate, result } =
  kind === 'lstm'
    ? await trainLstm(c.problem, c.ensemble, { ...opts, config: KILL_CONFIG.lstm })
    : await trainArnet(c.problem, c.ensemble, { ...opts, config: KILL_CONFIG.arnet });
const h = createHash('sha256');
for (const w of readWeights(surrogate.model)) h.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
process.stdout.write(
  `result ${JSON.stringify({
    resumedFrom: result.resumedFrom,
    bestEpoch: result.bestEpoch,
    history: result.history,
    weights: h.digest('hex'),
  })}\n`,
);
surrogate.dispose();
