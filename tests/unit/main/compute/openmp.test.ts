import { describe, expect, it } from 'vitest';
import { preferPassiveOpenMp } from '../../../../src-main/services/compute/native/openmp';

describe('the OpenMP wait policy of the native addon', () => {
  it('is passive unless the user chose a policy or a spin count', () => {
    const unset: NodeJS.ProcessEnv = {};
    preferPassiveOpenMp(unset);
    expect(unset.OMP_WAIT_POLICY).toBe('passive');
    const chosen: NodeJS.ProcessEnv = { OMP_WAIT_POLICY: 'active' };
    preferPassiveOpenMp(chosen);
    expect(chosen.OMP_WAIT_POLICY).toBe('active');
    const spin: NodeJS.ProcessEnv = { GOMP_SPINCOUNT: '10000' };
    preferPassiveOpenMp(spin);
    expect(spin.OMP_WAIT_POLICY).toBeUndefined();
  });
});
