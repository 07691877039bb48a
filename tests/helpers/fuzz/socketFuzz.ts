import WebSocket from 'ws';
import { ERROR_CODES, TOKEN_PROTOCOL_PREFIX, WS_PATH } from '../../../src-shared/ipc';
import { socketInputs, type SocketInput } from './socketInputs';
import { parseServerFrames, rawUpgrade } from './wsRaw';

/** The bridge under fuzz, in another process: its port and token, and how to see it ended. */
export interface FuzzTarget {
  port: number;
  token: string;
  exit(): string | null;
  peakRssMB(): number;
}

export type SocketOutcome = 'ok' | 'typedError' | 'untypedError' | 'closed' | 'leftOpen';

export interface SocketFuzzReport {
  inputs: number;
  ok: number;
  typedError: number;
  untypedError: number;
  closed: number;
  /** Unfinished frames or replies-free messages (pong, partial fragment): closed by the fuzzer. */
  leftOpen: number;
  crashes: number;
  hangs: number;
  closeCodes: Record<string, number>;
  peakRssMB: number;
  /** A normal call (appInfo.get) on a fresh socket after the last input answered ok. */
  normalCallAfter: boolean;
  firstProblems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** appInfo.get on a fresh socket; true if answered ok within `timeoutMs`. */
export function normalCall(port: number, token: string, timeoutMs = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, [`${TOKEN_PROTOCOL_PREFIX}${token}`]);
    const done = (v: boolean) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    ws.on('error', () => done(false));
    ws.on('open', () => ws.send(JSON.stringify({ id: 1, service: 'appInfo', method: 'get', payload: {} })));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { id?: number; ok?: boolean };
      if (m.id === 1) done(m.ok === true);
    });
  });
}

/** Sends one input on a fresh authenticated raw socket and classifies what the server did. */
async function runOne(
  t: FuzzTarget,
  input: SocketInput,
): Promise<{ outcome: SocketOutcome; code?: number; note?: string }> {
  const up = await rawUpgrade(t.port, { 'Sec-WebSocket-Protocol': `${TOKEN_PROTOCOL_PREFIX}${t.token}` });
  if (up.status !== 101) return { outcome: 'closed', note: `upgrade answered ${up.status}` };
  const s = up.socket;
  return new Promise((resolve) => {
    let buf: Buffer = up.rest;
    let settled = false;
    const finish = (r: { outcome: SocketOutcome; code?: number; note?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ outcome: 'leftOpen' }), input.complete ? 3000 : 300);
    const onFrames = () => {
      const { frames, rest } = parseServerFrames(buf);
      buf = rest;
      for (const f of frames) {
        if (f.opcode === 8) return finish({ outcome: 'closed', code: f.closeCode ?? 1005 });
        if (f.opcode === 2) return finish({ outcome: 'ok' });
        if (f.opcode !== 1) continue;
        let m: { ok?: unknown; error?: { code?: unknown }; event?: unknown };
        try {
          m = JSON.parse(f.payload.toString()) as typeof m;
        } catch {
          return finish({
            outcome: 'untypedError',
            note: `reply is not JSON: ${f.payload.toString().slice(0, 80)}`,
          });
        }
        if (m.event !== undefined) continue;
        if (m.ok === true) return finish({ outcome: 'ok' });
        const code = m.error?.code;
        if (
          typeof code === 'string' &&
          (ERROR_CODES as readonly string[]).includes(code) &&
          code !== 'INTERNAL'
        )
          return finish({ outcome: 'typedError' });
        return finish({
          outcome: 'untypedError',
          note: `${input.label}: ${f.payload.toString().slice(0, 200)}`,
        });
      }
    };
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      onFrames();
    });
    s.once('close', () => finish({ outcome: 'closed', code: 1006 }));
    onFrames();
    s.write(input.bytes, () => undefined);
  });
}

/**
 * Runs `count` seeded hostile inputs against a bridge process, `concurrency` sockets at a time.
 * A crash is the process ending; a hang is a normal call on a fresh socket unanswered for 10 s
 * (checked every 50 inputs and at the end).
 */
export async function runSocketFuzz(
  t: FuzzTarget,
  count: number,
  seed: number,
  concurrency = 8,
): Promise<SocketFuzzReport> {
  const next = socketInputs(seed);
  const inputs = Array.from({ length: count }, (_, i) => next(i));
  const rep: SocketFuzzReport = {
    inputs: 0,
    ok: 0,
    typedError: 0,
    untypedError: 0,
    closed: 0,
    leftOpen: 0,
    crashes: 0,
    hangs: 0,
    closeCodes: {},
    peakRssMB: 0,
    normalCallAfter: false,
    firstProblems: [],
  };
  const problem = (p: string) => rep.firstProblems.length < 10 && rep.firstProblems.push(p);
  for (let at = 0; at < inputs.length; at += concurrency) {
    const batch = inputs.slice(at, at + concurrency);
    const results = await Promise.all(
      batch.map((input) =>
        runOne(t, input).catch((e: Error) => ({ outcome: 'closed' as const, note: e.message })),
      ),
    );
    for (const [k, r] of results.entries()) {
      rep.inputs++;
      rep[r.outcome]++;
      if ('code' in r && r.code !== undefined) rep.closeCodes[r.code] = (rep.closeCodes[r.code] ?? 0) + 1;
      if (r.outcome === 'untypedError')
        problem(`input ${at + k} (${batch[k]!.label}): ${'note' in r ? r.note : ''}`);
    }
    await sleep(0);
    if (t.exit() !== null) {
      rep.crashes++;
      problem(
        `bridge ended after inputs ${at}..${at + batch.length - 1} (${batch.map((b) => b.label).join(' | ')}): ${t.exit()}`,
      );
      break;
    }
    if ((at + batch.length) % 48 < concurrency && !(await normalCall(t.port, t.token))) {
      rep.hangs++;
      problem(`no answer to a normal call after input ${at + batch.length - 1}`);
    }
    rep.peakRssMB = Math.max(rep.peakRssMB, t.peakRssMB());
  }
  if (t.exit() === null) rep.normalCallAfter = await normalCall(t.port, t.token);
  if (t.exit() !== null && rep.crashes === 0) rep.crashes++;
  rep.peakRssMB = Math.max(rep.peakRssMB, t.peakRssMB());
  return rep;
}
