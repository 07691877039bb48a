import { encodeFrame, textFrame, type RawFrame } from './wsRaw';

/** mulberry32: a small seeded PRNG (Tommy Ettinger, public domain), so one seed gives one input list. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One hostile input for an authenticated socket: the bytes to send after the upgrade. */
export interface SocketInput {
  /** `frame`: frame-level mutation; `json`: a well-framed text message with a hostile payload. */
  level: 'frame' | 'json';
  label: string;
  bytes: Buffer;
  /** False when the bytes leave a frame or message unfinished (the server may rightly wait). */
  complete: boolean;
}

const SERVICES = ['appInfo', 'project', 'datasets', 'jobs', 'export', 'gauges', 'studyAreas', 'rasters'];
// Methods that only read, or fail without an open project: the fuzz never creates projects or starts jobs.
const METHODS: Record<string, string[]> = {
  appInfo: ['get'],
  project: ['current', 'getView', 'setView', 'close', 'setCrs'],
  datasets: ['list', 'get', 'verify', 'layers', 'setLayer', 'import', 'importFolder', 'reorderLayers'],
  jobs: ['list', 'get', 'methods', 'check', 'history', 'cancel', 'resume', 'submit'],
  export: ['artifacts', 'fields', 'copyArtifact'],
  gauges: ['list', 'hydrograph'],
  studyAreas: ['list', 'remove', 'catchment'],
  rasters: ['crs', 'read', 'identify', 'series'],
};
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** Generates hostile socket inputs from a seed (frame-level and JSON-level, about half each). */
export function socketInputs(seed: number): (i: number) => SocketInput {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

  const hostileValue = (depth: number): unknown => {
    switch (int(depth > 3 ? 8 : 12)) {
      case 0:
        return pick([1e308, -1e308, 2 ** 53 + 1, -0, 1e-324, 0.5, -1, 4294967296]);
      case 1:
        return pick(['', 'x'.repeat(int(5000)), '\u0000', '/etc/passwd', '../../x', 'C:\\x', '\ud800']);
      case 2:
        return pick([null, true, false]);
      case 3:
        return int(100000);
      case 4:
        return 'EPSG:' + pick(['2154', '4326', '0', '-1', '99999999', 'abc']);
      case 5:
        return [];
      case 6:
        return {};
      case 7:
        return 'a'.repeat(int(50));
      case 8:
        return Array.from({ length: int(5) }, () => hostileValue(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let k = int(5); k > 0; k--)
          o[
            r() < 0.3 ? pick(PROTO_KEYS) : pick(['id', 'path', 'spec', 'crs', 'runId', 'source', 'x', 'kind'])
          ] = hostileValue(depth + 1);
        return o;
      }
    }
  };
  /** A JSON text built by hand, so `__proto__` stays an own key and nesting can exceed any recursion limit. */
  const jsonText = (id: number): { text: string; label: string } => {
    const service = r() < 0.85 ? pick(SERVICES) : pick([...PROTO_KEYS, 'x'.repeat(65), '', 'APPINFO']);
    const methods = METHODS[service] ?? ['get'];
    const method = r() < 0.85 ? pick(methods) : pick([...PROTO_KEYS, 'x'.repeat(65), '']);
    const kind = int(10);
    if (kind === 0) {
      const d = 1 + int(200_000);
      return {
        text: `{"id":${id},"service":"${service}","method":"${method}","payload":${'['.repeat(d)}${']'.repeat(d)}}`,
        label: `deep array ${d}`,
      };
    }
    if (kind === 1) {
      const d = 1 + int(50_000);
      return {
        text: `{"id":${id},"service":"${service}","method":"${method}","payload":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`,
        label: `deep object ${d}`,
      };
    }
    if (kind === 2) {
      const k = pick(PROTO_KEYS);
      return {
        text: `{"id":${id},"service":"${service}","method":"${method}","payload":{"${k}":{"polluted":true},"spec":{"${k}":{"isAdmin":1}}}}`,
        label: `prototype key ${k}`,
      };
    }
    if (kind === 3) {
      const idv = pick(['-1', '1e308', '1.5', '"1"', 'null', '9007199254740993', '[]']);
      return {
        text: `{"id":${idv},"service":"${service}","method":"${method}","payload":{}}`,
        label: `bad id ${idv}`,
      };
    }
    if (kind === 4) {
      const t = pick([
        '',
        'null',
        '[]',
        '"x"',
        '{',
        '{"id":1',
        '{"id":1,"service":"appInfo","method":"get","payload":{},"extra":1}',
        '\u0000',
        'NaN',
        '{"id":1,"id":2}',
      ]);
      return { text: t, label: `not a frame ${JSON.stringify(t).slice(0, 40)}` };
    }
    if (kind === 5) {
      const n = pick(['1e308', '-1e308', '1e999', '-0', '123456789012345678901234567890', '0.1e-400']);
      return {
        text: `{"id":${id},"service":"${service}","method":"${method}","payload":{"id":${n},"runId":${n},"maxSize":${n}}}`,
        label: `huge number ${n}`,
      };
    }
    const payload = hostileValue(0);
    return {
      text: JSON.stringify({ id, service, method, payload }),
      label: `${service}.${method} ${kind === 6 ? 'wrong types' : 'random'}`,
    };
  };

  return (i: number): SocketInput => {
    if (r() < 0.5) {
      const j = jsonText(i + 1);
      // JSON-level: well framed, sometimes split into fragments (continuation frames)
      if (r() < 0.2) {
        const b = Buffer.from(j.text);
        const cut = int(b.length + 1);
        return {
          level: 'json',
          label: `${j.label} (2 fragments)`,
          bytes: Buffer.concat([
            encodeFrame({ opcode: 1, fin: false, payload: b.subarray(0, cut) }),
            encodeFrame({ opcode: 0, payload: b.subarray(cut) }),
          ]),
          complete: true,
        };
      }
      return { level: 'json', label: j.label, bytes: textFrame(j.text), complete: true };
    }
    // frame-level mutations of a valid request frame
    const payload = Buffer.from(
      JSON.stringify({ id: i + 1, service: 'appInfo', method: 'get', payload: {} }),
    );
    const base: RawFrame = { opcode: 1, payload };
    const m = int(12);
    const one = (
      f: Partial<RawFrame>,
      label: string,
      complete = true,
      extra = Buffer.alloc(0),
    ): SocketInput => ({
      level: 'frame',
      label,
      bytes: Buffer.concat([encodeFrame({ ...base, ...f }), extra]),
      complete,
    });
    switch (m) {
      case 0: {
        const op = int(16);
        return one({ opcode: op }, `opcode ${op}`, op !== 0 && op !== 1 && op !== 2 ? true : op !== 0);
      }
      case 1: {
        const rsv = 1 + int(7);
        return one({ rsv }, `rsv ${rsv}`);
      }
      case 2:
        return one({ masked: false }, 'unmasked');
      case 3: {
        const len = pick([
          16n * 1024n * 1024n + 1n,
          50n << 20n,
          (1n << 53n) + 1n,
          1n << 63n,
          (1n << 64n) - 1n,
        ]);
        return one(
          { declaredLength: len, payload: Buffer.alloc(0) },
          `declared length ${len}`,
          false,
          bytes(int(4096)),
        );
      }
      case 4: {
        const form = pick([16, 64] as const);
        return one({ lengthForm: form }, `non-minimal ${form}-bit length`);
      }
      case 5:
        return one({ payload: bytes(1 + int(2000)) }, 'random bytes as text (invalid UTF-8)');
      case 6:
        return one({ opcode: 2, payload: bytes(int(2000)) }, 'random binary message');
      case 7: {
        const op = pick([8, 9, 10]);
        return one(
          { opcode: op, payload: bytes(pick([0, 1, 2, 125, 126, 200])) },
          `control ${op} with odd payload`,
        );
      }
      case 8:
        return one({ fin: false }, 'first fragment only', false);
      case 9: {
        const n = 2 + int(300);
        const parts = Array.from({ length: n }, (_, k) =>
          encodeFrame({
            opcode: k === 0 ? 1 : 0,
            fin: k === n - 1,
            payload: payload.subarray(
              Math.floor((k * payload.length) / n),
              Math.floor(((k + 1) * payload.length) / n),
            ),
          }),
        );
        if (r() < 0.5)
          parts.splice(
            1 + int(n - 1),
            0,
            encodeFrame({ opcode: pick([1, 2, 9, 3]), payload: Buffer.from('x') }),
          );
        return {
          level: 'frame',
          label: `${n} fragments (maybe interleaved)`,
          bytes: Buffer.concat(parts),
          complete: true,
        };
      }
      case 10: {
        const b = encodeFrame(base);
        return {
          level: 'frame',
          label: 'truncated frame',
          bytes: b.subarray(0, int(b.length)),
          complete: false,
        };
      }
      default: {
        const b = encodeFrame(base);
        for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] = int(256);
        return { level: 'frame', label: 'bit flips', bytes: b, complete: false };
      }
    }
  };
}
