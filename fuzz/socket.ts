import { startBridgeProcess } from '../tests/helpers/bridgeProcess';
import { runSocketFuzz } from '../tests/helpers/fuzz/socketFuzz';
import { tempDir } from '../tests/helpers/tmp';
import type { FuzzReport } from './registry';

/** Hostile frames and JSON payloads against `fieldcal serve`'s bridge, run in its own process. */
export async function socketFuzz(count: number, seed: number): Promise<FuzzReport> {
  const tmp = tempDir('fieldcal-fuzz-socket-');
  const bridge = await startBridgeProcess(tmp.dir);
  try {
    return { ...(await runSocketFuzz(bridge, count, seed)) };
  } finally {
    await bridge.stop();
    tmp.cleanup();
  }
}
