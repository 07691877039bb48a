import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { z } from 'zod';
import {
  buildClient,
  contract,
  contractEvents,
  contractMethods,
  type CallResult,
  type Contract,
  type FieldcalApi,
  type MethodName,
  type ServiceName,
} from '../../../src-shared/ipc';

/** Every `service.member` name a client exposes. */
function members(api: unknown): string[] {
  const out: string[] = [];
  for (const [service, svc] of Object.entries(api as Record<string, Record<string, unknown>>)) {
    for (const [name, fn] of Object.entries(svc)) {
      expect(typeof fn).toBe('function');
      out.push(`${service}.${name}`);
    }
  }
  return out.sort();
}
const expected = [...contractMethods().map((m) => `${m.service}.${m.method}`), ...contractEvents()].sort();

// Type level: every contract method appears on the client with the schema's input and output types.
type ClientMatchesContract = {
  [S in ServiceName]: {
    [M in MethodName<S>]: FieldcalApi[S][M] extends (
      arg: z.input<Contract[S][M] extends { input: infer I extends z.ZodType } ? I : never>,
    ) => Promise<z.output<Contract[S][M] extends { output: infer O extends z.ZodType } ? O : never>>
      ? true
      : false;
  };
};
type AllTrue<T> = { [K in keyof T]: T[K] extends Record<string, true> ? true : false }[keyof T];

describe('client API derived from the contract', () => {
  afterEach(() => {
    vi.resetModules();
    vi.unstubAllGlobals();
    vi.doUnmock('electron');
  });

  it('matches the contract at the type level', () => {
    expectTypeOf<AllTrue<ClientMatchesContract>>().toEqualTypeOf<true>();
    expectTypeOf<Parameters<FieldcalApi['project']['open']>[0]>().toEqualTypeOf<{ path: string }>();
    expectTypeOf<FieldcalApi['project']['onChanged']>().toBeFunction();
  });

  it('the preload exposes exactly the contract as window.api', async () => {
    const exposed: Record<string, unknown> = {};
    const invoke = vi.fn(async (): Promise<CallResult> => ({
      ok: false,
      error: { code: 'NO_PROJECT', message: 'x' },
    }));
    vi.doMock('electron', () => ({
      contextBridge: { exposeInMainWorld: (k: string, v: unknown) => (exposed[k] = v) },
      ipcRenderer: { invoke, on: vi.fn(), removeListener: vi.fn() },
      webUtils: { getPathForFile: vi.fn() },
    }));
    await import('../../../src-preload/index');
    // beside the contract, only the dropped-file path reader (issue 14; tests/unit/preload)
    expect(Object.keys(exposed)).toEqual(['api', 'fieldcalFiles']);
    expect(members(exposed.api)).toEqual(expected);
    const api = exposed.api as FieldcalApi;
    await expect(api.datasets.list({})).rejects.toEqual({ code: 'NO_PROJECT', message: 'x' });
    expect(invoke).toHaveBeenCalledWith('fieldcal:datasets.list', {});
  });

  it('the WebSocket client exposes exactly the contract', async () => {
    class FakeSocket {
      static last: FakeSocket;
      sent: string[] = [];
      listeners = new Map<string, Array<(e: unknown) => void>>();
      constructor(
        public url: string,
        public protocols: string[],
      ) {
        FakeSocket.last = this;
      }
      addEventListener(type: string, fn: (e: unknown) => void) {
        this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
      }
      send(data: string) {
        this.sent.push(data);
        const { id } = JSON.parse(data) as { id: number };
        queueMicrotask(() => this.fire('message', { data: JSON.stringify({ id, ok: true, value: null }) }));
      }
      fire(type: string, e: unknown) {
        for (const fn of this.listeners.get(type) ?? []) fn(e);
      }
    }
    vi.stubGlobal('window', {});
    vi.stubGlobal('location', { protocol: 'http:', host: '127.0.0.1:5757' });
    vi.stubGlobal('document', { querySelector: () => ({ content: 'TOKEN' }) });
    vi.stubGlobal('WebSocket', FakeSocket);
    const mod = await import('../../../src-renderer/src/lib/api');
    expect(mod.transport).toBe('websocket');
    expect(members(mod.api)).toEqual(expected);
    expect(FakeSocket.last.url).toBe('ws://127.0.0.1:5757/api');
    expect(FakeSocket.last.protocols).toEqual(['fieldcal-token.TOKEN']);
    FakeSocket.last.fire('open', {});
    await expect(mod.api.project.current({})).resolves.toBeNull();
    expect(JSON.parse(FakeSocket.last.sent[0]!)).toEqual({
      id: 1,
      service: 'project',
      method: 'current',
      payload: {},
    });
  });

  it('buildClient routes events and unsubscribes', () => {
    const subs: Array<(p: unknown) => void> = [];
    const api = buildClient({
      call: async () => ({ ok: true, value: 1 }),
      subscribe: (_key, l) => {
        subs.push(l);
        return () => subs.splice(subs.indexOf(l), 1);
      },
    });
    const got: unknown[] = [];
    const off = api.jobs.onProgress((p) => got.push(p));
    subs[0]!({ runId: 1 });
    off();
    expect(got).toEqual([{ runId: 1 }]);
    expect(subs).toHaveLength(0);
    expect(Object.keys(contract).sort()).toEqual([
      'appInfo',
      'datasets',
      'dialogs',
      'export',
      'gauges',
      'jobs',
      'project',
      'rasters',
      'studyAreas',
    ]);
  });
});
