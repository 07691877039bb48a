// Issue 16: a page in any browser tab, or any protocol error on a socket, must not end `fieldcal serve`.
// The bridge runs in its own process, so a crash shows as that process exiting.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { TOKEN_PROTOCOL_PREFIX } from '../../../../src-shared/ipc';
import { startBridgeProcess, type BridgeProcess } from '../../../helpers/bridgeProcess';
import {
  encodeFrame,
  parseServerFrames,
  rawGet,
  rawUpgrade,
  textFrame,
  type RawFrame,
} from '../../../helpers/fuzz/wsRaw';
import { tempDir } from '../../../helpers/tmp';
import { call, connect } from '../../../helpers/wsClient';

let tmp: ReturnType<typeof tempDir>;
let bridge: BridgeProcess;

beforeAll(async () => {
  tmp = tempDir();
  bridge = await startBridgeProcess(tmp.dir);
}, 60_000);
// each reproduction starts from a running bridge, even after an earlier one ended it (on the old code)
beforeEach(async () => {
  if (!bridge.alive()) bridge = await startBridgeProcess(tmp.dir);
}, 60_000);
afterAll(async () => {
  await bridge.stop();
  tmp.cleanup();
});

/** The bridge is still running and a normal call on a new socket answers with the app's info. */
async function answersNormally(): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  expect(bridge.exit()).toBeNull();
  const ws = await connect(bridge.port, { token: bridge.token });
  const r = await call(ws, 'appInfo', 'get', {});
  ws.close();
  expect(r.ok).toBe(true);
  expect((r as { value: { mode: string } }).value.mode).toBe('server');
}

const auth = () => ({ 'Sec-WebSocket-Protocol': `${TOKEN_PROTOCOL_PREFIX}${bridge.token}` });

/** Opens an authenticated raw socket, sends `bytes`, and resolves with the close code the server sent. */
async function closeCodeAfter(bytes: Buffer): Promise<number | null> {
  const up = await rawUpgrade(bridge.port, auth());
  expect(up.status).toBe(101);
  return new Promise((resolve) => {
    let buf: Buffer = up.rest;
    let code: number | null = null;
    const s: Socket = up.socket;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const { frames, rest } = parseServerFrames(buf);
      buf = rest;
      for (const f of frames) if (f.opcode === 8) code = f.closeCode ?? 1005;
    });
    s.once('close', () => resolve(code));
    s.write(bytes, () => undefined);
  });
}

describe('hostile upgrade requests (issue 16, first finding)', () => {
  it.each(['null', 'http://[::1', 'http://exa mple.com', 'http://', '', 'javascript:alert(1)'])(
    'Origin %j with a valid token: 403, and the server keeps answering',
    async (origin) => {
      const up = await rawUpgrade(bridge.port, { ...auth(), Origin: origin });
      up.socket.destroy();
      expect(up.status).toBe(403);
      await answersNormally();
    },
  );

  it('Origin must match scheme, host and port: another port, https or another loopback name are refused', async () => {
    const p = bridge.port;
    for (const origin of [
      `http://127.0.0.1:${p + 1}`,
      `https://127.0.0.1:${p}`,
      `http://127.0.0.1`,
      `http://localhost:${p}`,
    ]) {
      const up = await rawUpgrade(p, { ...auth(), Origin: origin });
      up.socket.destroy();
      expect(up.status, origin).toBe(403);
    }
    const same = await rawUpgrade(p, { ...auth(), Origin: `http://127.0.0.1:${p}` });
    same.socket.destroy();
    expect(same.status).toBe(101);
    await answersNormally();
  });

  it('a malformed Host, path or request target is refused, never thrown', async () => {
    for (const host of ['exa mple.com', '[::1', '127.0.0.1:99999', '127.0.0.1:1/x', 'user@127.0.0.1']) {
      const up = await rawUpgrade(bridge.port, { ...auth(), Host: host });
      up.socket.destroy();
      expect(up.status, host).toBe(421);
    }
    for (const path of ['/%E0%A4%A', '/api%00', '//evil/api', '/%']) {
      const up = await rawUpgrade(bridge.port, auth(), path);
      up.socket.destroy();
      expect(up.status, path).toBe(400);
    }
    await answersNormally();
  });

  it('a peer that resets during the upgrade does not end the server', async () => {
    for (let i = 0; i < 20; i++) {
      const up = rawUpgrade(bridge.port, { Origin: 'null' });
      const r = await up;
      r.socket.resetAndDestroy();
    }
    await answersNormally();
  });
});

describe('HTTP paths (issue 16, smaller findings)', () => {
  it('a bad percent-encoding gives 400, not 500, before or after the token', async () => {
    expect(await rawGet(bridge.port, '/%E0%A4%A', {})).toBe(400);
    expect(await rawGet(bridge.port, `/%E0%A4%A?token=${bridge.token}`, {})).toBe(400);
    expect(await rawGet(bridge.port, `/artifacts/run/1/%E0%A4%A?token=${bridge.token}`, {})).toBe(400);
    expect(await rawGet(bridge.port, `/?token=${bridge.token}`, { Origin: 'null' })).toBe(403);
    expect(await rawGet(bridge.port, `/?token=${bridge.token}`, { Origin: 'http://[::1' })).toBe(403);
    expect(await rawGet(bridge.port, `/?token=${bridge.token}`, { Host: 'exa mple.com' })).toBe(421);
    expect(await rawGet(bridge.port, `/?token=${bridge.token}`, {})).toBe(200);
    await answersNormally();
  });
});

describe('WebSocket protocol errors from an authenticated client (issue 16, second finding)', () => {
  const c = (name: string, frame: RawFrame, code: number, extra = Buffer.alloc(0)) => ({
    name,
    bytes: Buffer.concat([encodeFrame(frame), extra]),
    code,
  });
  const cases = [
    c(
      'a 50 MB frame (over maxPayload)',
      { opcode: 2, payload: Buffer.alloc(0), declaredLength: 50n << 20n },
      1009,
      Buffer.alloc(1 << 20),
    ),
    c(
      'a frame claiming 2^63 bytes',
      { opcode: 1, payload: Buffer.alloc(0), declaredLength: 1n << 63n },
      1009,
    ),
    c('invalid UTF-8 in a text frame', { opcode: 1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0xff]) }, 1007),
    c('RSV1 set without an extension', { opcode: 1, rsv: 4, payload: Buffer.from('{}') }, 1002),
    c('RSV2 and RSV3 set', { opcode: 1, rsv: 3, payload: Buffer.from('{}') }, 1002),
    c('an unmasked frame', { opcode: 1, masked: false, payload: Buffer.from('{"id":1}') }, 1002),
    c('a reserved opcode', { opcode: 3, payload: Buffer.from('x') }, 1002),
    c('a fragmented ping', { opcode: 9, fin: false, payload: Buffer.from('x') }, 1002),
    c('a continuation frame with nothing to continue', { opcode: 0, payload: Buffer.from('x') }, 1002),
  ];
  it.each(cases)(
    '$name closes that socket only (code $code); the server keeps answering',
    async ({ bytes, code }) => {
      const bystander = await connect(bridge.port, { token: bridge.token });
      bystander.on('error', () => undefined);
      expect(await closeCodeAfter(bytes)).toBe(code);
      await new Promise((r) => setTimeout(r, 100));
      expect(bridge.exit()).toBeNull();
      expect((await call(bystander, 'appInfo', 'get', {})).ok).toBe(true);
      bystander.close();
      await answersNormally();
    },
  );

  it('a message just over 16 MB closes with 1009; one just under is answered as a typed error', async () => {
    const over = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
    expect(await closeCodeAfter(encodeFrame({ opcode: 1, payload: over }))).toBe(1009);
    const ws = await connect(bridge.port, { token: bridge.token });
    const reply = await new Promise<{ ok: boolean; error?: { code: string } }>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d)) as { ok: boolean; error?: { code: string } }));
      ws.send(`{"id":7,"service":"appInfo","method":"get","payload":{"x":"${'a'.repeat(1 << 20)}"}}`);
    });
    ws.close();
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toBe('VALIDATION');
    await answersNormally();
  });

  it('garbage text, deep nesting and prototype keys get typed errors on a live socket', async () => {
    const up = await rawUpgrade(bridge.port, auth());
    const replies: Array<{ id: number; ok: boolean; error?: { code: string } }> = [];
    let buf: Buffer = up.rest;
    up.socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const { frames, rest } = parseServerFrames(buf);
      buf = rest;
      for (const f of frames) if (f.opcode === 1) replies.push(JSON.parse(f.payload.toString()) as never);
    });
    const msgs = [
      'not json',
      '{"id":1,"service":"appInfo","method":"get","payload":' +
        '['.repeat(100_000) +
        ']'.repeat(100_000) +
        '}',
      '{"id":2,"service":"__proto__","method":"constructor","payload":{}}',
      '{"id":3,"service":"appInfo","method":"get","payload":{"__proto__":{"polluted":1}}}',
      '{"id":4,"service":"jobs","method":"get","payload":{"id":1e308}}',
      '{"id":5,"service":"appInfo","method":"get","payload":{}}',
    ];
    for (const m of msgs) up.socket.write(textFrame(m));
    const deadline = Date.now() + 10_000;
    while (replies.length < msgs.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    up.socket.destroy();
    expect(replies).toHaveLength(msgs.length);
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(5)?.ok).toBe(true);
    for (const id of [2, 3, 4]) expect(byId.get(id)?.ok, String(id)).toBe(false);
    expect(byId.get(2)?.error?.code).toBe('UNKNOWN_METHOD');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await answersNormally();
  });
});
