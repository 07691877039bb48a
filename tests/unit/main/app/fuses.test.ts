// Issue 16, packaging: the afterPack hook (build/afterPack.cjs, named by electron-builder.json) flips
// the Electron fuses with @electron/fuses. Checked on a stand-in binary that carries a fuse wire laid
// out as Electron's: the sentinel, the wire version, its length, then one byte per fuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { FuseV1Options, FuseVersion, getCurrentFuseWire } from '@electron/fuses';
import { tempDir } from '../../../helpers/tmp';

interface PackContext {
  appOutDir: string;
  electronPlatformName: string;
  arch: number;
  packager: { appInfo: { productFilename: string }; executableName?: string };
}
interface AfterPackModule {
  (context: PackContext): Promise<void>;
  FUSE_SETTINGS: Record<string, boolean>;
  electronBinaryPath: (context: PackContext) => string;
}

const repo = resolve(__dirname, '../../../..');
const afterPack = createRequire(import.meta.url)(join(repo, 'build/afterPack.cjs')) as AfterPackModule;
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const ON = 0x31;
const OFF = 0x30;
// Electron's defaults for fuses 0..7, and a 9th fuse this @electron/fuses does not know
const DEFAULTS = [ON, OFF, ON, ON, OFF, OFF, OFF, ON, ON];

function fakeElectron(path: string): Buffer {
  const wire = Buffer.concat([
    Buffer.from('\x7fELF padding before the wire '.repeat(40)),
    Buffer.from(SENTINEL),
    Buffer.from([Number(FuseVersion.V1), DEFAULTS.length, ...DEFAULTS]),
    Buffer.from(' padding after the wire'.repeat(40)),
  ]);
  writeFileSync(path, wire);
  return wire;
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe('electron-builder config', () => {
  it('packs into an asar and runs the fuse hook after packing', () => {
    const config = JSON.parse(readFileSync(join(repo, 'electron-builder.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config.asar).toBe(true);
    expect(config.afterPack).toBe('./build/afterPack.cjs');
    expect(config.files).toContain('out/**');
  });
});

describe('afterPack fuses', () => {
  it('sets RunAsNode, NODE_OPTIONS and inspect off, ASAR integrity and asar-only loading on', async () => {
    const ctx: PackContext = {
      appOutDir: join(tmp.dir, 'linux-unpacked'),
      electronPlatformName: 'linux',
      arch: 1,
      packager: { appInfo: { productFilename: 'Fieldcal' }, executableName: 'fieldcal' },
    };
    mkdirSync(ctx.appOutDir, { recursive: true });
    const bin = afterPack.electronBinaryPath(ctx);
    expect(bin).toBe(join(ctx.appOutDir, 'fieldcal'));
    const before = fakeElectron(bin);
    await afterPack(ctx);
    const wire = await getCurrentFuseWire(bin);
    expect(wire[FuseV1Options.RunAsNode]).toBe(OFF);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(OFF);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(OFF);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(ON);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(ON);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(OFF);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(ON);
    // a fuse newer than this config keeps Electron's default
    expect((wire as unknown as Record<number, number>)[8]).toBe(ON);
    // only the wire's bytes changed
    const after = readFileSync(bin);
    expect(after.length).toBe(before.length);
    const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
    const wireStart = before.indexOf(SENTINEL) + SENTINEL.length + 2;
    expect(changed).toEqual([0, 1, 2, 3, 4, 5, 7].map((i) => wireStart + i));
  });

  it('names every fuse it sets after @electron/fuses, all eight of them', () => {
    expect(Object.keys(afterPack.FUSE_SETTINGS).sort()).toEqual(
      Object.keys(FuseV1Options)
        .filter((k) => Number.isNaN(Number(k)))
        .sort(),
    );
  });

  it('finds the binary on macOS and Windows', async () => {
    const mac: PackContext = {
      appOutDir: join(tmp.dir, 'mac'),
      electronPlatformName: 'darwin',
      arch: 1,
      packager: { appInfo: { productFilename: 'Fieldcal' } },
    };
    expect(afterPack.electronBinaryPath(mac)).toBe(join(mac.appOutDir, 'Fieldcal.app'));
    const framework = join(mac.appOutDir, 'Fieldcal.app/Contents/Frameworks/Electron Framework.framework');
    mkdirSync(framework, { recursive: true });
    fakeElectron(join(framework, 'Electron Framework'));
    await afterPack(mac);
    const wire = await getCurrentFuseWire(join(mac.appOutDir, 'Fieldcal.app'));
    expect([wire[FuseV1Options.RunAsNode], wire[FuseV1Options.OnlyLoadAppFromAsar]]).toEqual([OFF, ON]);
    const win = { ...mac, electronPlatformName: 'win32', appOutDir: join(tmp.dir, 'win') };
    expect(afterPack.electronBinaryPath(win)).toBe(join(win.appOutDir, 'Fieldcal.exe'));
  });

  it('fails the packaging when the binary has no fuse wire', async () => {
    const dir = join(tmp.dir, 'nowire');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'fieldcal'), 'not electron');
    const ctx: PackContext = {
      appOutDir: dir,
      electronPlatformName: 'linux',
      arch: 1,
      packager: { appInfo: { productFilename: 'Fieldcal' }, executableName: 'fieldcal' },
    };
    await expect(afterPack(ctx)).rejects.toThrow(/sentinel/);
  });
});
