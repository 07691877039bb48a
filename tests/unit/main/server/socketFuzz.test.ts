// Issue 16: seeded hostile frames and JSON payloads against the bridge in its own process.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridgeProcess, type BridgeProcess } from '../../../helpers/bridgeProcess';
import { runSocketFuzz } from '../../../helpers/fuzz/socketFuzz';
import { socketInputs } from '../../../helpers/fuzz/socketInputs';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
let bridge: BridgeProcess;
beforeAll(async () => {
  tmp = tempDir();
  bridge = await startBridgeProcess(tmp.dir);
}, 60_000);
afterAll(async () => {
  await bridge.stop();
  tmp.cleanup();
});

it('the generator is seeded: the same seed gives the same inputs, another seed others', () => {
  const a = socketInputs(7);
  const b = socketInputs(7);
  const c = socketInputs(8);
  const xs = Array.from({ length: 50 }, (_, i) => a(i).bytes.toString('hex'));
  expect(Array.from({ length: 50 }, (_, i) => b(i).bytes.toString('hex'))).toEqual(xs);
  expect(Array.from({ length: 50 }, (_, i) => c(i).bytes.toString('hex'))).not.toEqual(xs);
});

it('300 hostile socket inputs: no crash, no hang, every reply typed, and a normal call answers after', async () => {
  const r = await runSocketFuzz(bridge, 300, 16);
  expect(r.firstProblems).toEqual([]);
  expect(r.crashes).toBe(0);
  expect(r.hangs).toBe(0);
  expect(r.untypedError).toBe(0);
  expect(r.inputs).toBe(300);
  expect(r.ok + r.typedError + r.closed + r.leftOpen).toBe(300);
  // both levels reached the server's checks: replies, typed refusals and protocol closes all occurred
  expect(r.ok).toBeGreaterThan(0);
  expect(r.typedError).toBeGreaterThan(50);
  expect(r.closeCodes['1002']).toBeGreaterThan(0);
  expect(r.closeCodes['1007']).toBeGreaterThan(0);
  expect(r.closeCodes['1009']).toBeGreaterThan(0);
  expect(r.normalCallAfter).toBe(true);
  expect(bridge.exit()).toBeNull();
}, 300_000);
