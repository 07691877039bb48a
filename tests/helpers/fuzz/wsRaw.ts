import { connect as netConnect, type Socket } from 'node:net';

/**
 * Hand-made WebSocket frames and raw upgrade requests (RFC 6455), for sending what no well-behaved
 * client would: any opcode, RSV bits, missing masks, lengths that lie. No src-main import.
 */
export interface RawFrame {
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number (RFC 6455 §5.2: must be 0 without an extension). */
  rsv?: number;
  opcode: number;
  /** Client frames must be masked (§5.3); false sends an unmasked one. */
  masked?: boolean;
  payload: Buffer;
  /** Declared payload length when it should lie (larger than the bytes that follow). */
  declaredLength?: bigint;
  /** Force the 16- or 64-bit length form even for short payloads. */
  lengthForm?: 7 | 16 | 64;
  maskKey?: Buffer;
}

export function encodeFrame(f: RawFrame): Buffer {
  const len = f.declaredLength ?? BigInt(f.payload.length);
  const masked = f.masked ?? true;
  const form = f.lengthForm ?? (len < 126n ? 7 : len < 65536n ? 16 : 64);
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0x0f)];
  let ext = Buffer.alloc(0);
  if (form === 7) head.push((masked ? 0x80 : 0) | Number(len & 0x7fn));
  else if (form === 16) {
    head.push((masked ? 0x80 : 0) | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len & 0xffffn));
  } else {
    head.push((masked ? 0x80 : 0) | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len & 0xffffffffffffffffn);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, f.payload]);
  const key = f.maskKey ?? Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.from(f.payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/** A masked text frame holding `text`. */
export const textFrame = (text: string): Buffer => encodeFrame({ opcode: 1, payload: Buffer.from(text) });

/** One frame sent by the server (unmasked), as parsed from the byte stream. */
export interface ServerFrame {
  opcode: number;
  payload: Buffer;
  /** Close code of a close frame (opcode 8), when it carries one. */
  closeCode?: number;
}

/** Parses complete server frames off the front of `buf`; returns them and the unparsed rest. */
export function parseServerFrames(buf: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const b1 = buf[at + 1]!;
    let len = b1 & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (buf.length < off + 2) break;
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (buf.length < off + 8) break;
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (buf.length < off + len) break;
    const opcode = buf[at]! & 0x0f;
    const payload = buf.subarray(off, off + len);
    frames.push({
      opcode,
      payload,
      ...(opcode === 8 && len >= 2 ? { closeCode: payload.readUInt16BE(0) } : {}),
    });
    at = off + len;
  }
  return { frames, rest: buf.subarray(at) };
}

/** An opened raw connection: the HTTP status of the upgrade answer and the socket past it. */
export interface RawUpgrade {
  status: number;
  socket: Socket;
  /** Bytes after the answer's headers (early server frames). */
  rest: Buffer;
}

/**
 * Sends an upgrade request with exactly the given headers (nothing added but Connection/Upgrade/Key/
 * Version unless overridden) and resolves with the answer's status, or 0 when the server closed
 * without one.
 */
export function rawUpgrade(
  port: number,
  headers: Record<string, string>,
  path = '/api',
  timeoutMs = 5000,
): Promise<RawUpgrade> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('upgrade answer timed out'));
    }, timeoutMs);
    const done = (r: RawUpgrade) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(r);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      done({ status, socket, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', () => done({ status: 0, socket, rest: Buffer.alloc(0) }));
    socket.once('connect', () => {
      const all: Record<string, string> = {
        Host: `127.0.0.1:${port}`,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      };
      const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    });
  });
}

/** A raw GET (plain HTTP) with exactly the given target and headers; resolves with the status. */
export function rawGet(port: number, target: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1] ?? 0)));
    const lines = Object.entries({ Host: `127.0.0.1:${port}`, Connection: 'close', ...headers }).map(
      ([k, v]) => `${k}: ${v}`,
    );
    socket.write(`GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  });
}
