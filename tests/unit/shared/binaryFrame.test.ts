import { describe, expect, it } from 'vitest';
import { containsTypedArray, decodeFrame, encodeFrame } from '../../../src-shared/ipc/binary';
import { FieldcalError } from '../../../src-shared/ipc';

const headerOf = (frame: Uint8Array) => {
  const n = new DataView(frame.buffer, frame.byteOffset).getUint32(0, true);
  return JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + n))) as {
    value: unknown;
    arrays: Array<{ o: number; n: number }>;
  };
};

describe('binary frames', () => {
  it('round-trips nested values with several typed arrays, NaN and ±Infinity kept', () => {
    const f32 = Float32Array.from([1.5, Number.NaN, -2.25, Number.POSITIVE_INFINITY, 3]);
    const f64 = Float64Array.from([Math.PI, Number.NaN, -1e300, Number.NEGATIVE_INFINITY]);
    const u8 = Uint8Array.from([0, 1, 255]); // 3 bytes: the next array must be re-aligned
    const i32 = Int32Array.from([-2147483648, 0, 2147483647]);
    const u16 = Uint16Array.from([65535, 7]);
    const value = {
      id: 7,
      ok: true,
      value: {
        name: 'slope ü€',
        data: f32,
        nested: [{ a: f64, b: [u8, i32] }, null, 'x'],
        deep: { deeper: { u16 } },
        empty: new Float32Array(0),
        stats: { count: 3, min: null },
      },
    };
    const frame = encodeFrame(value);
    const back = decodeFrame(frame) as typeof value;
    expect(back.id).toBe(7);
    expect(back.value.name).toBe('slope ü€');
    expect(back.value.stats).toEqual({ count: 3, min: null });
    expect(back.value.data).toBeInstanceOf(Float32Array);
    expect(Array.from(back.value.data)).toEqual([1.5, Number.NaN, -2.25, Number.POSITIVE_INFINITY, 3]);
    expect(Object.is(back.value.data[1], Number.NaN)).toBe(true);
    const n0 = back.value.nested[0] as { a: Float64Array; b: [Uint8Array, Int32Array] };
    expect(n0.a).toBeInstanceOf(Float64Array);
    expect(Array.from(n0.a)).toEqual([Math.PI, Number.NaN, -1e300, Number.NEGATIVE_INFINITY]);
    expect(n0.b[0]).toBeInstanceOf(Uint8Array);
    expect(Array.from(n0.b[0])).toEqual([0, 1, 255]);
    expect(n0.b[1]).toBeInstanceOf(Int32Array);
    expect(Array.from(n0.b[1])).toEqual([-2147483648, 0, 2147483647]);
    expect(back.value.nested.slice(1)).toEqual([null, 'x']);
    expect(Array.from(back.value.deep.deeper.u16)).toEqual([65535, 7]);
    expect(back.value.empty).toBeInstanceOf(Float32Array);
    expect(back.value.empty.length).toBe(0);
  });

  it('puts every array at an 8-aligned offset after a padded header and sends no number lists in JSON', () => {
    const frame = encodeFrame({
      a: Uint8Array.from([1, 2, 3]),
      b: Float64Array.from([1, 2]),
      c: Float32Array.from([5]),
    });
    const h = headerOf(frame);
    const headerLength = new DataView(frame.buffer).getUint32(0, true);
    expect(h.arrays).toHaveLength(3);
    expect(h.arrays[0]!.o).toBe(Math.ceil((4 + headerLength) / 8) * 8);
    for (const a of h.arrays) expect(a.o % 8).toBe(0);
    expect(h.arrays.map((a) => a.n)).toEqual([3, 16, 4]);
    expect(h.arrays[1]!.o).toBe(h.arrays[0]!.o + 8);
    expect(h.value).toEqual({
      a: { $typed: 'Uint8Array', i: 0 },
      b: { $typed: 'Float64Array', i: 1 },
      c: { $typed: 'Float32Array', i: 2 },
    });
    expect(frame.length % 8).toBe(0);
    // the bytes are the arrays' own little-endian bytes
    expect(new DataView(frame.buffer).getFloat64(h.arrays[1]!.o + 8, true)).toBe(2);
    expect(new DataView(frame.buffer).getFloat32(h.arrays[2]!.o, true)).toBe(5);
  });

  it('encodes a subarray view by its own bytes, and decodes from an unaligned Buffer by copying', () => {
    const base = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const frame = encodeFrame({ v: base.subarray(2, 5) });
    // the frame placed at an odd offset inside a bigger buffer
    const shifted = new Uint8Array(frame.length + 3);
    shifted.set(frame, 3);
    const back = decodeFrame(shifted.subarray(3)) as { v: Float32Array };
    expect(Array.from(back.v)).toEqual([2, 3, 4]);
    expect(Array.from((decodeFrame(frame.buffer as ArrayBuffer) as { v: Float32Array }).v)).toEqual([
      2, 3, 4,
    ]);
  });

  it('keeps objects that have a "$typed" key of their own, and values without arrays', () => {
    const tricky = { $typed: 'Float32Array', i: 0, inner: { $typed: 'x' }, arr: Int8Array.from([-1]) };
    const back = decodeFrame(encodeFrame(tricky)) as typeof tricky;
    expect(back.$typed).toBe('Float32Array');
    expect(back.i).toBe(0);
    expect(back.inner).toEqual({ $typed: 'x' });
    expect(Array.from(back.arr)).toEqual([-1]);
    expect(decodeFrame(encodeFrame([1, 'two', { three: 3 }]))).toEqual([1, 'two', { three: 3 }]);
    expect(decodeFrame(encodeFrame(undefined))).toBeNull();
  });

  it('tells which values hold typed arrays', () => {
    expect(containsTypedArray({ a: [{ b: new Float32Array(1) }] })).toBe(true);
    expect(containsTypedArray({ a: [1, 2], b: 'x', c: null })).toBe(false);
    expect(containsTypedArray(Buffer.from('x'))).toBe(true);
  });

  it('answers garbage with a typed VALIDATION error, never a crash', () => {
    const good = encodeFrame({ v: Float64Array.from([1, 2, 3]) });
    const lie = (patch: (h: ReturnType<typeof headerOf>) => unknown) => {
      const h = headerOf(good);
      const text = new TextEncoder().encode(JSON.stringify(patch(h)));
      const out = new Uint8Array(good.length + text.length + 16);
      new DataView(out.buffer).setUint32(0, text.length, true);
      out.set(text, 4);
      return out;
    };
    const cases: Array<[string, Uint8Array | ArrayBuffer]> = [
      ['empty', new Uint8Array(0)],
      ['3 bytes', Uint8Array.from([1, 2, 3])],
      ['header longer than frame', Uint8Array.from([255, 255, 255, 127, 0, 0, 0, 0])],
      ['not JSON', Uint8Array.from([3, 0, 0, 0, 0x7b, 0x7b, 0x7b])],
      ['invalid UTF-8', Uint8Array.from([2, 0, 0, 0, 0xff, 0xfe])],
      ['JSON without arrays', lie((h) => ({ value: h.value }))],
      ['unknown ctor', lie((h) => ({ ...h, value: { v: { $typed: 'Function', i: 0 } } }))],
      ['index out of range', lie((h) => ({ ...h, value: { v: { $typed: 'Float64Array', i: 5 } } }))],
      ['offset past the end', lie((h) => ({ ...h, arrays: [{ o: 1 << 30, n: 24 }] }))],
      ['offset inside the header', lie((h) => ({ ...h, arrays: [{ o: 0, n: 8 }] }))],
      [
        'length not a multiple of the element size',
        lie((h) => ({ ...h, arrays: [{ o: h.arrays[0]!.o, n: 12 }] })),
      ],
      ['negative length', lie((h) => ({ ...h, arrays: [{ o: h.arrays[0]!.o, n: -8 }] }))],
      ['string offset', lie((h) => ({ ...h, arrays: [{ o: '8', n: 8 }] }))],
    ];
    for (const [label, buf] of cases) {
      let err: unknown = null;
      try {
        decodeFrame(buf);
      } catch (e) {
        err = e;
      }
      expect(err, label).toBeInstanceOf(FieldcalError);
      expect((err as FieldcalError).code, label).toBe('VALIDATION');
      expect((err as FieldcalError).message, label).toMatch(/^Malformed binary frame: /);
    }
    // random bytes: always a typed error or a value, never anything else thrown
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 256;
    for (let k = 0; k < 200; k++) {
      const junk = Uint8Array.from({ length: 1 + (k % 64) }, () => Math.floor(rnd()));
      try {
        decodeFrame(junk);
      } catch (e) {
        expect(e).toBeInstanceOf(FieldcalError);
      }
    }
    // "__proto__" in a header is data, never the prototype
    const proto = lie(() => ({ value: JSON.parse('{"__proto__": {"polluted": 1}}'), arrays: [] }));
    const obj = decodeFrame(proto) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
  });
});
