import { FieldcalError } from './errors';

/**
 * Binary frames for replies that carry typed arrays (raster views, series, hydrographs), so big
 * arrays cross the WebSocket as bytes instead of JSON number lists.
 *
 * Layout (all little-endian):
 *   [0, 4)            header length H in bytes (uint32)
 *   [4, 4 + H)        UTF-8 JSON header `{"value": V, "arrays": [{"o": offset, "n": byteLength}, ...]}`,
 *                     where every typed array in V is `{"$typed": "<Ctor>", "i": k}` (k indexes `arrays`)
 *   zero padding to a multiple of 8
 *   the arrays' bytes, each starting at its offset `o` (from the frame start, a multiple of 8)
 *
 * Plain objects that have a `$typed` key of their own are escaped as `{"$typed": "$object", "v": {...}}`.
 * Non-finite numbers outside typed arrays become null, as in the JSON text frames.
 */

const CTORS = {
  Float32Array,
  Float64Array,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type CtorName = keyof typeof CTORS;
type AnyTyped = InstanceType<(typeof CTORS)[CtorName]>;

/** The constructor name a typed array travels under (Node's Buffer travels as Uint8Array). */
function ctorNameOf(v: ArrayBufferView): CtorName | null {
  for (const name of Object.keys(CTORS) as CtorName[]) {
    if (v instanceof CTORS[name]) return name;
  }
  return null;
}

const MAGIC_OBJECT = '$object';
const align8 = (n: number) => (n + 7) & ~7;

function malformed(problem: string): FieldcalError {
  return new FieldcalError('VALIDATION', `Malformed binary frame: ${problem}`, { problem });
}

/** True when a value holds a typed array anywhere (objects and arrays, depth-limited). */
export function containsTypedArray(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.some((v) => containsTypedArray(v, depth + 1));
  for (const v of Object.values(value as Record<string, unknown>)) {
    if (containsTypedArray(v, depth + 1)) return true;
  }
  return false;
}

/** Encodes a value whose typed arrays travel as raw bytes. */
export function encodeFrame(value: unknown): Uint8Array {
  const arrays: AnyTyped[] = [];
  const escaped = new WeakSet<object>();
  const json = JSON.stringify(
    { value: value === undefined ? null : value },
    function (this: unknown, _key: string, v: unknown) {
      if (v === null || typeof v !== 'object') return v;
      if (ArrayBuffer.isView(v)) {
        const ctor = ctorNameOf(v);
        if (!ctor) {
          throw new FieldcalError('VALIDATION', `Cannot encode a ${v.constructor.name} in a binary frame`, {
            type: v.constructor.name,
          });
        }
        arrays.push(v as AnyTyped);
        return { $typed: ctor, i: arrays.length - 1 };
      }
      if (!Array.isArray(v) && Object.hasOwn(v, '$typed') && !escaped.has(v)) {
        const copy = { ...(v as Record<string, unknown>) };
        escaped.add(copy);
        return { $typed: MAGIC_OBJECT, v: copy };
      }
      return v;
    },
  );
  // Offsets depend on the header length, which depends on the offsets' digits: iterate until stable.
  let layout: Array<{ o: number; n: number }> = arrays.map(() => ({ o: 0, n: 0 }));
  let header = new Uint8Array(0);
  const enc = new TextEncoder();
  for (let pass = 0; pass < 8; pass++) {
    header = enc.encode(`${json.slice(0, -1)},"arrays":${JSON.stringify(layout)}}`);
    let at = align8(4 + header.length);
    const next = arrays.map((a) => {
      const o = at;
      at = align8(at + a.byteLength);
      return { o, n: a.byteLength };
    });
    if (next.every((e, i) => e.o === layout[i]!.o && e.n === layout[i]!.n)) break;
    layout = next;
  }
  const total = arrays.length ? align8(layout.at(-1)!.o + layout.at(-1)!.n) : align8(4 + header.length);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  arrays.forEach((a, i) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), layout[i]!.o));
  return out;
}

/** Decodes a frame made by {@link encodeFrame}; anything else throws a VALIDATION error, never crashes. */
export function decodeFrame(buf: ArrayBuffer | ArrayBufferView): unknown {
  const bytes =
    buf instanceof ArrayBuffer
      ? new Uint8Array(buf)
      : ArrayBuffer.isView(buf)
        ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
        : null;
  if (!bytes) throw malformed('not binary data');
  if (bytes.length < 4) throw malformed(`${bytes.length} bytes, shorter than the 4-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (4 + headerLength > bytes.length) {
    throw malformed(`header length ${headerLength} exceeds the frame (${bytes.length} bytes)`);
  }
  let header: { value?: unknown; arrays?: unknown };
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(4, 4 + headerLength)),
    );
  } catch (err) {
    throw malformed(`header is not UTF-8 JSON (${(err as Error).message})`);
  }
  if (
    header === null ||
    typeof header !== 'object' ||
    !('value' in header) ||
    !Array.isArray(header.arrays)
  ) {
    throw malformed('header lacks "value" or "arrays"');
  }
  const layout = header.arrays as unknown[];
  const dataStart = align8(4 + headerLength);
  const used = new Set<number>();
  const typed = (name: unknown, index: unknown): AnyTyped => {
    if (typeof name !== 'string' || !Object.hasOwn(CTORS, name))
      throw malformed(`unknown array type ${String(name)}`);
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= layout.length) {
      throw malformed(`array index ${String(index)} out of range (${layout.length} arrays)`);
    }
    const entry = layout[index] as { o?: unknown; n?: unknown } | null;
    const o = entry?.o;
    const n = entry?.n;
    if (typeof o !== 'number' || typeof n !== 'number' || !Number.isInteger(o) || !Number.isInteger(n)) {
      throw malformed(`array ${index} has no integer offset and length`);
    }
    const Ctor = CTORS[name as CtorName];
    if (o < dataStart || n < 0 || o + n > bytes.length || n % Ctor.BYTES_PER_ELEMENT !== 0) {
      throw malformed(
        `array ${index} (${name}, ${n} bytes at ${o}) lies outside the ${bytes.length}-byte frame`,
      );
    }
    if (used.has(index)) throw malformed(`array ${index} is referenced twice`);
    used.add(index);
    const at = bytes.byteOffset + o;
    // A view when aligned (an ArrayBuffer from the browser's WebSocket always is), else a copy.
    if (at % Ctor.BYTES_PER_ELEMENT === 0)
      return new Ctor(bytes.buffer as ArrayBuffer, at, n / Ctor.BYTES_PER_ELEMENT) as AnyTyped;
    return new Ctor(bytes.slice(o, o + n).buffer) as AnyTyped;
  };
  const revive = (v: unknown, depth: number): unknown => {
    if (depth > 256) throw malformed('nesting deeper than 256');
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => revive(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (Object.hasOwn(o, '$typed')) {
      if (o.$typed === MAGIC_OBJECT) {
        if (o.v === null || typeof o.v !== 'object' || Array.isArray(o.v))
          throw malformed('escaped object without "v"');
        return reviveEntries(o.v as Record<string, unknown>, depth);
      }
      return typed(o.$typed, o.i);
    }
    return reviveEntries(o, depth);
  };
  const reviveEntries = (o: Record<string, unknown>, depth: number) => {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      // JSON.parse can produce an own "__proto__" key; define it as data, never as the prototype.
      Object.defineProperty(out, k, {
        value: revive(x, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return revive(header.value, 0);
}
