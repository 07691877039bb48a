import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../../../src-main/services/compute/cpuNative';

/**
 * A signal handled on a thread while a native kernel runs must not change what the kernel computes.
 * Before the kernels held signals (native/src/common.h SignalsHeld), the LSTM backward at batch 400
 * under `node --cpu-prof` (a SIGPROF about every millisecond) corrupted the heap on its first call
 * (glibc: "corrupted size vs. prev_size", exit 134) or gave NaN, on session 9's Intel Xeon; a
 * SIGWINCH flood with a handler did the same. The child runs the kernels under the profiler and
 * without it: both must exit 0 with finite outputs and the same checksum (same kernels, one thread,
 * deterministic). In a child process, so a crash fails this test only.
 */
const native = loadAddon();
const required = !!process.env.CI || !!process.env.FIELDCAL_REQUIRE_NATIVE;

describe.skipIf(!native.addon && !required)('native kernels and signals', () => {
  it('the LSTM forward and backward give the same outputs with SIGPROF arriving (node --cpu-prof) as without', () => {
    expect(native.addon, native.reason ?? '').not.toBeNull();
    const prof = mkdtempSync(join(tmpdir(), 'fieldcal-prof-'));
    try {
      const run = (args: string[]) => {
        const r = spawnSync(
          process.execPath,
          [...args, 'tests/helpers/nativeSignals.mjs', native.path!, '12'],
          {
            encoding: 'utf8',
            timeout: 120_000,
            env: { ...process.env, OMP_NUM_THREADS: '1' },
          },
        );
        expect(r.status, `signal ${r.signal}; ${r.stderr}`).toBe(0);
        return JSON.parse(r.stdout.trim()) as { sum: number; finite: boolean };
      };
      const quiet = run([]);
      const profiled = run(['--cpu-prof', `--cpu-prof-dir=${prof}`, '--cpu-prof-interval=200']);
      expect(quiet.finite).toBe(true);
      expect(profiled.finite).toBe(true);
      expect(profiled.sum).toBe(quiet.sum);
    } finally {
      rmSync(prof, { recursive: true, force: true });
    }
  }, 240_000);
});
