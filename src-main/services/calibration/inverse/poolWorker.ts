import { parentPort } from 'node:worker_threads';
import { toSerializedError } from '../../../../src-shared/ipc';
import {
  candidateSetup,
  evaluateBlock,
  type CandidateReply,
  type CandidateRequest,
  type CandidateWorkerData,
} from './pool';

/** A candidate worker (inverse/pool.ts): builds the problem once, then judges each block it is sent, in order. */
export function candidateWorkerLoop(d: CandidateWorkerData): void {
  const port = parentPort;
  if (!port) return;
  let setup;
  try {
    setup = candidateSetup(d);
  } catch (err) {
    port.postMessage({ bootError: toSerializedError(err) } satisfies CandidateReply);
    return;
  }
  const s = setup;
  port.on('message', (req: CandidateRequest) => {
    const reply = evaluateBlock(s, req);
    // the flows travel without a copy
    const transfer = 'results' in reply ? reply.results.map((r) => r.flows.buffer as ArrayBuffer) : [];
    port.postMessage(reply, transfer);
  });
  port.postMessage({ ready: true } satisfies CandidateReply);
}
