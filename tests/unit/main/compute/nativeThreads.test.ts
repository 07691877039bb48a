import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { loadAddon } from '../../../../src-main/services/compute/cpuNative';

/**
 * The addon's oneDNN primitives are cached process-wide and the job workers are threads of one
 * process: a primitive is built by one thread and executed by others, also at the same time (a
 * local sweep runs 2 children at once). With oneDNN's default library-managed scratchpad this read
 * another thread's (or a freed) scratchpad: a filter gradient off by a relative 13 and hangs, and
 * a segmentation fault in local sweeps. Run in a child process, so a crash fails this test only.
 */
const native = loadAddon();
const required = !!process.env.CI || !!process.env.FIELDCAL_REQUIRE_NATIVE;

describe.skipIf(!native.addon && !required)('native primitives across threads', () => {
  it('give the double-precision reference when built in one thread and run in others, also concurrently', () => {
    expect(native.addon, native.reason ?? '').not.toBeNull();
    const r = spawnSync(process.execPath, ['tests/helpers/nativeThreads.mjs', native.path!, '300'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, `signal ${r.signal}; ${r.stderr}`).toBe(0);
    const e = JSON.parse(r.stdout.trim()) as { built: number; main: number; concurrent: number };
    // float32 sums of up to 1,152 products of values in [-1, 1): a relative error of about 1e-5
    expect(e.built).toBeLessThan(1e-4);
    expect(e.main).toBeLessThan(1e-4);
    expect(e.concurrent).toBeLessThan(1e-4);
  });
});
