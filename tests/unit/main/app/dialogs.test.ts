// Issue 14: native file dialogs. The Electron handler (src-main/app/dialogs.ts) with `electron` mocked
// (the binary is absent here), and the bridge's answer (src-main/services/app-info/dialogs.ts) through dispatch.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const electron = vi.hoisted(() => ({
  showOpenDialog: vi.fn(),
  getFocusedWindow: vi.fn(),
}));
vi.mock('electron', () => ({
  dialog: { showOpenDialog: electron.showOpenDialog },
  BrowserWindow: { getFocusedWindow: electron.getFocusedWindow },
}));

import { createElectronDialogs, openDialogOptions } from '../../../../src-main/app/dialogs';
import { createUnavailableDialogs } from '../../../../src-main/services/app-info/dialogs';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import type { ServiceImpls } from '../../../../src-shared/ipc';

const win = { isDestroyed: () => false, id: 7 };

/** The rejection of a promise (or a thrown value) as a plain object. */
async function failure(p: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await p();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected a failure');
}

beforeEach(() => {
  electron.showOpenDialog.mockReset();
  electron.getFocusedWindow.mockReset();
  electron.getFocusedWindow.mockReturnValue(win);
});

describe('dialogs.open in Electron', () => {
  it('opens a file dialog on the focused window with the filters and answers the chosen paths', async () => {
    electron.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: ['/data/lez/slope.tif'] });
    const d = createElectronDialogs();
    expect(await d.capabilities({})).toEqual({ open: true, reason: null });
    const r = await d.open({
      title: 'Import a raster',
      kind: 'file',
      filters: [{ name: 'Rasters', extensions: ['tif', 'tiff', 'nc'] }],
    });
    expect(r).toEqual({ canceled: false, paths: ['/data/lez/slope.tif'] });
    expect(electron.showOpenDialog).toHaveBeenCalledTimes(1);
    const [onWindow, options] = electron.showOpenDialog.mock.calls[0]!;
    expect(onWindow).toBe(win);
    expect(options).toEqual({
      title: 'Import a raster',
      properties: ['openFile', 'dontAddToRecent'],
      filters: [{ name: 'Rasters', extensions: ['tif', 'tiff', 'nc'] }],
    });
  });

  it('asks for folders (several when multi) and leaves file filters out', () => {
    expect(
      openDialogOptions({
        title: 'Dataset folder',
        kind: 'folder',
        multi: true,
        filters: [{ name: 'All', extensions: ['*'] }],
      }),
    ).toEqual({
      title: 'Dataset folder',
      properties: ['openDirectory', 'dontAddToRecent', 'multiSelections'],
    });
  });

  it('answers canceled with no paths when the user cancels', async () => {
    electron.showOpenDialog.mockResolvedValue({ canceled: true, filePaths: [] });
    expect(await createElectronDialogs().open({ title: 'x', kind: 'file' })).toEqual({
      canceled: true,
      paths: [],
    });
  });

  it.each([
    [{ title: 'x', kind: 'drive' }, 'kind'],
    [{ title: '', kind: 'file' }, 'title'],
    [{ title: 'x', kind: 'file', defaultPath: '/etc' }, 'defaultPath'],
    [{ title: 'x', kind: 'file', filters: [{ name: 'T', extensions: ['.tif'] }] }, 'filters.0.extensions.0'],
    [
      { title: 'x', kind: 'file', filters: [{ name: 'T', extensions: ['../../*'] }] },
      'filters.0.extensions.0',
    ],
    [{ title: 'x', kind: 'file', multi: 'yes' }, 'multi'],
    [null, '(argument)'],
  ])('refuses %j with a VALIDATION error naming %s, before any dialog', async (arg, field) => {
    const e = await failure(() => createElectronDialogs().open(arg as never));
    expect(e.code).toBe('VALIDATION');
    expect(e.message).toContain(field);
    expect(electron.showOpenDialog).not.toHaveBeenCalled();
  });

  it('refuses without a focused window (UNAVAILABLE) and a second dialog while one is open (CONFLICT)', async () => {
    electron.getFocusedWindow.mockReturnValue(null);
    const d = createElectronDialogs();
    expect((await failure(() => d.open({ title: 'x', kind: 'file' }))).code).toBe('UNAVAILABLE');

    electron.getFocusedWindow.mockReturnValue(win);
    let answer: (v: unknown) => void = () => {};
    electron.showOpenDialog.mockReturnValue(new Promise((res) => (answer = res)));
    const first = d.open({ title: 'x', kind: 'file' });
    await Promise.resolve();
    expect((await failure(() => d.open({ title: 'y', kind: 'folder' }))).code).toBe('CONFLICT');
    answer({ canceled: false, filePaths: ['C:\\data\\a.tif'] });
    expect(await first).toEqual({ canceled: false, paths: ['C:\\data\\a.tif'] });
    // the first one closed: the next opens
    electron.showOpenDialog.mockResolvedValue({ canceled: true, filePaths: [] });
    expect((await d.open({ title: 'z', kind: 'file' })).canceled).toBe(true);
  });

  it('turns a failing dialog or an unusable answer into IO errors, and opens again afterwards', async () => {
    const d = createElectronDialogs();
    electron.showOpenDialog.mockRejectedValueOnce(new Error('portal gone'));
    const e = await failure(() => d.open({ title: 'x', kind: 'file' }));
    expect(e).toMatchObject({ code: 'IO' });
    expect(e.message).toContain('portal gone');
    electron.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['relative/a.tif'] });
    expect((await failure(() => d.open({ title: 'x', kind: 'file' }))).code).toBe('IO');
    electron.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/a\u0000b.tif'] });
    expect((await failure(() => d.open({ title: 'x', kind: 'file' }))).code).toBe('IO');
    electron.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/a.tif', '/b.tif'] });
    expect(await d.open({ title: 'x', kind: 'file', multi: true })).toEqual({
      canceled: false,
      paths: ['/a.tif', '/b.tif'],
    });
  });

  it('goes through dispatch: strict input, typed errors on the wire', async () => {
    electron.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: ['/data/prcp'] });
    const impls = { dialogs: createElectronDialogs() } as unknown as ServiceImpls;
    expect(await dispatch(impls, 'dialogs', 'open', { title: 'Stack', kind: 'folder' })).toEqual({
      ok: true,
      value: { canceled: false, paths: ['/data/prcp'] },
    });
    const bad = await dispatch(impls, 'dialogs', 'open', { title: 'Stack', kind: 'folder', extra: 1 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(electron.showOpenDialog).toHaveBeenCalledTimes(1);
  });
});

describe('dialogs in the browser bridge', () => {
  it('says it has none and answers open with a typed UNAVAILABLE error', async () => {
    const impls = { dialogs: createUnavailableDialogs('server') } as unknown as ServiceImpls;
    const caps = await dispatch(impls, 'dialogs', 'capabilities', {});
    expect(caps).toMatchObject({ ok: true, value: { open: false } });
    const r = await dispatch(impls, 'dialogs', 'open', { title: 'x', kind: 'file' });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', details: { mode: 'server' } } });
    expect(r.ok === false && r.error.message).toMatch(/type the path/i);
    // input is still validated first
    const bad = await dispatch(impls, 'dialogs', 'open', { title: 'x', kind: 'nope' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });
});
