import { LATEST_SCHEMA_VERSION } from '../../../../src-main/services/project/migrations';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { contractMethods, type CallResult } from '../../../../src-shared/ipc';
import { dispatch } from '../../../../src-main/ipc/dispatch';
import { registerIpcHandlers } from '../../../../src-main/ipc/register';
import type { ServiceContainer } from '../../../../src-main/services';
import { testServices } from '../../../helpers/services';
import { allInvalidCalls, validArgs } from '../../../helpers/samples';

let world: ReturnType<typeof testServices>;
let services: ServiceContainer;
const tmp = {
  get dir() {
    return world.dir;
  },
};
beforeEach(() => {
  world = testServices('electron');
  services = world.services;
});
afterEach(() => world.cleanup());

/** A stand-in for ipcMain that records handlers, so the real registration code is exercised. */
function fakeIpcMain() {
  const handlers = new Map<
    string,
    (e: IpcMainInvokeEvent, payload: unknown) => Promise<CallResult> | CallResult
  >();
  const ipcMain = {
    handle: (channel: string, fn: (e: IpcMainInvokeEvent, payload: unknown) => Promise<CallResult>) =>
      handlers.set(channel, fn),
  } as unknown as IpcMain;
  return { ipcMain, handlers };
}
const eventFrom = (url: string) => ({ senderFrame: { url } }) as unknown as IpcMainInvokeEvent;

describe('contract validation through the Electron handler layer', () => {
  const calls = allInvalidCalls();

  it('covers every contract method with invalid payloads', () => {
    const covered = new Set(calls.map((c) => `${c.service}.${c.method}`));
    expect([...covered].sort()).toEqual(
      contractMethods()
        .map((m) => `${m.service}.${m.method}`)
        .sort(),
    );
    // wrong type, missing field (where any is required) and extra field, for each method
    expect(calls.filter((c) => c.label === 'extra field')).toHaveLength(contractMethods().length);
    expect(calls.some((c) => c.label.startsWith('missing field'))).toBe(true);
  });

  it.each(calls)('$service.$method refuses $label with VALIDATION', async ({ service, method, payload }) => {
    const { ipcMain, handlers } = fakeIpcMain();
    registerIpcHandlers({ ipcMain, impls: services.impls, isTrustedSender: () => true });
    const handler = handlers.get(`fieldcal:${service}.${method}`);
    expect(handler).toBeDefined();
    const r = await handler!(eventFrom('file:///app/index.html'), payload);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('VALIDATION');
      expect(r.error.message).toContain(`${service}.${method}`);
      expect(Array.isArray(r.error.details?.issues)).toBe(true);
      // serialisable: survives structured cloning / JSON unchanged
      expect(JSON.parse(JSON.stringify(r.error))).toEqual(r.error);
    }
  });

  it('names the offending field in the error', async () => {
    const r = await dispatch(services.impls, 'project', 'open', { path: 7 });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', details: { issues: [{ path: 'path' }] } },
    });
    // a relative path would be resolved against main's working folder: refused, naming the field
    for (const path of ['lez.fieldcal', './lez.fieldcal', '../x/lez.fieldcal', '~/lez.fieldcal']) {
      const rel = await dispatch(services.impls, 'project', 'open', { path });
      expect(rel).toMatchObject({
        ok: false,
        error: {
          code: 'VALIDATION',
          details: { issues: [{ path: 'path', message: 'expected an absolute path' }] },
        },
      });
    }
    const extra = await dispatch(services.impls, 'project', 'open', { path: '/a', evil: true });
    expect(extra.ok).toBe(false);
    if (!extra.ok) expect(JSON.stringify(extra.error.details)).toContain('evil');
  });

  it('refuses unknown methods, prototype keys and untrusted frames', async () => {
    for (const [s, m] of [
      ['project', 'nope'],
      ['nope', 'get'],
      ['project', '__proto__'],
      ['__proto__', 'toString'],
      ['project', 'constructor'],
    ] as const) {
      const r = await dispatch(services.impls, s, m, {});
      expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    }
    const { ipcMain, handlers } = fakeIpcMain();
    registerIpcHandlers({
      ipcMain,
      impls: services.impls,
      isTrustedSender: (e) => e.senderFrame?.url === 'file:///app',
    });
    const r = await handlers.get('fieldcal:appInfo.get')!(eventFrom('https://evil.example'), {});
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
  });

  it('answers valid calls, and NO_PROJECT when a project is needed', async () => {
    const r = await dispatch(services.impls, 'datasets', 'list', validArgs.datasets.list);
    expect(r).toMatchObject({ ok: false, error: { code: 'NO_PROJECT' } });
    const path = join(tmp.dir, 'p.fieldcal');
    const created = await dispatch(services.impls, 'project', 'create', { path });
    expect(created).toMatchObject({
      ok: true,
      value: { path, schemaVersion: LATEST_SCHEMA_VERSION, counts: { runs: 0 } },
    });
    expect(await dispatch(services.impls, 'datasets', 'list', {})).toEqual({ ok: true, value: [] });
    expect(await dispatch(services.impls, 'jobs', 'get', { id: 99 })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', details: { what: 'run', id: 99 } },
    });
  });

  it('lists the calibration methods a job may name, with their option defaults', async () => {
    const r = (await dispatch(services.impls, 'jobs', 'methods', {})) as {
      ok: true;
      value: Array<{ name: string; resumable: boolean; defaults: Record<string, unknown> }>;
    };
    expect(r.ok).toBe(true);
    // every method of the registry, gauge-only HDA-PR too, with the problem kinds each accepts
    expect(r.value.map((m) => m.name)).toEqual([
      'sce-ua',
      'gradient',
      'ann',
      'dpl',
      'hda-pr',
      'gan-po',
      'kgssl',
      'bucket-nexus',
      'inverse-mapping',
    ]);
    const ann = r.value.find((m) => m.name === 'ann')!;
    expect(ann).toMatchObject({ resumable: true, defaults: { iterations: 150, hidden: [16, 16] } });
    expect(r.value.find((m) => m.name === 'sce-ua')!.resumable).toBe(false);
    const methods = r.value as unknown as Array<{
      name: string;
      problems: string[];
      defaults: Record<string, unknown>;
      options: Record<string, { defaults: Record<string, unknown>; schema: Record<string, unknown> }>;
    }>;
    const hda = methods.find((m) => m.name === 'hda-pr')!;
    expect(hda.problems).toEqual(['gauges']);
    // no gridded runner: the defaults are its first kind's
    expect(hda.defaults).toEqual({ hidden: [16, 16], iterations: 200, learningRate: 0.003 });
    expect(Object.keys(hda.options)).toEqual(['gauges']);
    // the multi-basin kind (issue 20) and the lumped nexus (issue 21)
    expect(methods.find((m) => m.name === 'kgssl')!.problems).toEqual(['basins']);
    expect(methods.find((m) => m.name === 'bucket-nexus')!.problems).toEqual(['lumped']);
    expect(methods.find((m) => m.name === 'inverse-mapping')!.problems).toEqual(['gauges']);
    // the JSON Schema of what a caller may write: every field optional (defaulted), unknown keys refused
    const schema = hda.options.gauges!.schema as {
      type: string;
      properties: Record<string, { type?: string; default?: unknown; maximum?: number }>;
      required?: string[];
      additionalProperties: boolean;
    };
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required ?? []).toEqual([]);
    expect(schema.properties.iterations).toMatchObject({ type: 'integer', default: 200, maximum: 100_000 });
    expect(schema.properties.hidden).toMatchObject({ type: 'array', default: [16, 16] });
    // a method with two kinds lists both, each with its own defaults
    const sce = methods.find((m) => m.name === 'sce-ua')!;
    expect(Object.keys(sce.options)).toEqual(['lumped', 'gridded']);
    expect(sce.options.gridded!.defaults).toEqual(sce.defaults);
    // every option the form shows has a one-line description (zod's .describe(), the form's help)
    const undescribed = methods.flatMap((m) =>
      Object.entries(m.options).flatMap(([kind, o]) =>
        Object.entries((o.schema.properties ?? {}) as Record<string, { description?: unknown }>)
          .filter(
            ([, p]) => typeof p.description !== 'string' || !p.description || p.description.length > 140,
          )
          .map(([k]) => `${m.name}/${kind}: ${k}`),
      ),
    );
    expect(undescribed).toEqual([]);
    const ganPo = methods.find((m) => m.name === 'gan-po')!.options.gridded!.schema as {
      properties: Record<string, { description?: string }>;
    };
    expect(ganPo.properties.batchDays!.description).toBe('Days per batch (Sun et al. 2024: 32)');
  });
});
