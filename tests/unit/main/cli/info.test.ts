import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { appInfoSchema } from '../../../../src-shared/ipc';
import { LATEST_SCHEMA_VERSION } from '../../../../src-main/services/project/migrations';
import { runCli } from '../../../helpers/cli';
import { tempDir } from '../../../helpers/tmp';

const require = createRequire(import.meta.url);

describe('fieldcal info', () => {
  it('--json prints exactly one JSON object with real versions, backend and paths', () => {
    const tmp = tempDir();
    const r = runCli(['info', '--json'], { FIELDCAL_USER_DATA: tmp.dir });
    tmp.cleanup();
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const info = appInfoSchema.parse(JSON.parse(lines[0]!));
    expect(info.versions.node).toBe(process.versions.node);
    expect(info.versions.tfjs).toBe(
      (require('@tensorflow/tfjs/package.json') as { version: string }).version,
    );
    expect(info.versions.electronPackage).toBe(
      (require('electron/package.json') as { version: string }).version,
    );
    expect(info.versions.sqlite).toMatch(/^3\.\d+\.\d+$/);
    expect(info.project.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    expect(info.paths.userData).toBe(tmp.dir);
    // the backend reported is the one that loaded; without tfjs-node on this machine that is `cpu`
    expect(info.compute.tried.at(-1)).toMatchObject({ backend: info.compute.backend, ok: true });
  });

  it('honours FIELDCAL_BACKEND and refuses an unknown one', () => {
    const ok = runCli(['info', '--json'], { FIELDCAL_BACKEND: 'cpu' });
    expect(JSON.parse(ok.stdout).compute).toMatchObject({
      backend: 'cpu',
      threads: 1,
      tried: [{ backend: 'cpu', ok: true }],
    });
    const bad = runCli(['info', '--json'], { FIELDCAL_BACKEND: 'quantum' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('FIELDCAL_BACKEND=quantum is not one of');
  });

  it('prints a readable table without --json', () => {
    const r = runCli(['info']);
    expect(r.status).toBe(0);
    for (const label of [
      'Node',
      'Electron (package)',
      'TensorFlow.js',
      'Compute backend',
      'SQLite',
      'Project schema',
      'User data',
    ]) {
      expect(r.stdout).toContain(label);
    }
  });

  it('refuses a bad port', () => {
    const r = runCli(['serve', '--port', '99999']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('a port is an integer 0..65535');
  });
});
