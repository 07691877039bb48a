// Issue 14: what the Electron preload exposes (src-preload/index.ts), with `electron` mocked: `api` (the
// contract's client) and `fieldcalFiles` with one function, the real path of a dropped File.
import { describe, expect, it, vi } from 'vitest';
import { contract, events } from '../../../src-shared/ipc';

const electron = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invoke: vi.fn(),
  getPathForFile: vi.fn(),
}));
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => electron.exposed.set(key, value) },
  ipcRenderer: { invoke: electron.invoke, on: vi.fn(), removeListener: vi.fn() },
  webUtils: { getPathForFile: electron.getPathForFile },
}));

await import('../../../src-preload/index');

describe('preload', () => {
  it('exposes exactly api and fieldcalFiles', () => {
    expect([...electron.exposed.keys()].sort()).toEqual(['api', 'fieldcalFiles']);
  });

  it('api holds every contract service and method, dialogs included, and nothing else', async () => {
    const api = electron.exposed.get('api') as Record<string, Record<string, unknown>>;
    expect(Object.keys(api).sort()).toEqual(Object.keys(contract).sort());
    for (const [s, methods] of Object.entries(contract)) {
      const evs = Object.keys((events as Record<string, object>)[s] ?? {});
      expect(Object.keys(api[s]!).sort()).toEqual([...Object.keys(methods), ...evs].sort());
    }
    electron.invoke.mockResolvedValue({ ok: true, value: { canceled: true, paths: [] } });
    const dialogs = api.dialogs as { open: (a: unknown) => Promise<unknown> };
    expect(await dialogs.open({ title: 'x', kind: 'file' })).toEqual({ canceled: true, paths: [] });
    expect(electron.invoke).toHaveBeenCalledWith('fieldcal:dialogs.open', { title: 'x', kind: 'file' });
  });

  it('fieldcalFiles has one function, the path of a dropped file or null', () => {
    const files = electron.exposed.get('fieldcalFiles') as Record<string, (f: unknown) => unknown>;
    expect(Object.keys(files)).toEqual(['pathForFile']);
    expect(typeof files.pathForFile).toBe('function');
    const file = new File(['x'], 'slope.tif');
    electron.getPathForFile.mockReturnValueOnce('/data/lez/descriptor/slope.tif');
    expect(files.pathForFile!(file)).toBe('/data/lez/descriptor/slope.tif');
    expect(electron.getPathForFile).toHaveBeenLastCalledWith(file);
    // a File made in the page (not on disk) has no path
    electron.getPathForFile.mockReturnValueOnce('');
    expect(files.pathForFile!(file)).toBeNull();
    // anything else: Electron throws, the renderer gets null
    electron.getPathForFile.mockImplementationOnce(() => {
      throw new TypeError('not a File');
    });
    expect(files.pathForFile!({ name: 'fake' })).toBeNull();
  });
});
