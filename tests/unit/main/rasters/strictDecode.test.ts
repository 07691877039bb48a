import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import { inspectGeoTiff } from '../../../../src-main/services/rasters/inspect';
import { hasGdal } from '../../../helpers/gdal';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('fieldcal-strict-')));
afterAll(() => tmp.cleanup());

// byte_lzw.tif: 23 x 17 Byte, LZW, one strip of 17 rows (391 bytes decoded), Predictor 1.
const LZW = 'tests/fixtures/rasters/byte_lzw.tif';

/** The first IFD entry of a tag in a little-endian classic TIFF: where its value field is. */
function entryValueAt(buf: Buffer, tag: number): number {
  const ifd = buf.readUInt32LE(4);
  const n = buf.readUInt16LE(ifd);
  for (let i = 0; i < n; i++) if (buf.readUInt16LE(ifd + 2 + 12 * i) === tag) return ifd + 2 + 12 * i + 8;
  throw new Error(`tag ${tag} not found`);
}

/** GDAL's verdict: the first ERROR line of `gdalinfo -stats` (which decodes every block), or null. */
function gdalError(path: string): string | null {
  const r = spawnSync('gdalinfo', ['-stats', path], {
    encoding: 'utf8',
    env: { ...process.env, GDAL_PAM_ENABLED: 'NO' },
  });
  return r.status !== 0 ? r.stderr || 'exit status' : (/ERROR \d+:.*/.exec(r.stderr)?.[0] ?? null);
}

async function refusal(path: string): Promise<FieldcalError> {
  try {
    await inspectGeoTiff(path);
  } catch (err) {
    if (err instanceof FieldcalError) return err;
    throw err;
  }
  throw new Error(`${path} was accepted`);
}

/** MSB-first LZW codes of the given widths (TIFF 6.0, section 13). */
function packCodes(codes: Array<[number, number]>): Buffer {
  let bits = '';
  for (const [code, width] of codes) bits += code.toString(2).padStart(width, '0');
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  return Buffer.from(
    Array.from({ length: bits.length / 8 }, (_, i) => parseInt(bits.slice(8 * i, 8 * i + 8), 2)),
  );
}

/** byte_lzw.tif with its one strip replaced by `strip`, appended at the end of the file. */
function withStrip(strip: Buffer, name: string): string {
  const b = Buffer.from(readFileSync(LZW));
  b.writeUInt32LE(b.length, entryValueAt(b, 273));
  b.writeUInt32LE(strip.length, entryValueAt(b, 279));
  const out = join(tmp.dir, name);
  writeFileSync(out, Buffer.concat([b, strip]));
  return out;
}

describe('a raster is accepted only if its tags are valid and every strip decodes', () => {
  it('the intact LZW fixture is accepted', async () => {
    const s = await inspectGeoTiff(LZW);
    expect(s.compression).toBe('LZW');
    expect(s.bands[0]!.validCount).toBeGreaterThan(0);
  });

  for (const predictor of [0, 4, 65535]) {
    it(`Predictor ${predictor} is refused (GDAL refuses it too)`, async () => {
      const b = Buffer.from(readFileSync(LZW));
      b.writeUInt16LE(predictor, entryValueAt(b, 317));
      const f = join(tmp.dir, `pred${predictor}.tif`);
      writeFileSync(f, b);
      const e = await refusal(f);
      expect(e.code).toBe('INVALID_FILE');
      expect(e.message).toContain(f);
      expect(e.message).toContain(`Predictor ${predictor}`);
      if (hasGdal) expect(gdalError(f)).not.toBeNull();
    });
  }

  it('LZW with a code not yet in the table is refused (GDAL: "code not yet in table")', async () => {
    // Clear, 'A', then code 300 while the next free entry is 258: no encoder can have written it
    const f = withStrip(
      packCodes([
        [256, 9],
        [65, 9],
        [300, 9],
        [257, 9],
      ]),
      'lzw-notintable.tif',
    );
    const e = await refusal(f);
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toMatch(/strip 0 cannot be decoded: LZW code 300 not yet in table/);
    if (hasGdal) expect(gdalError(f)).toMatch(/not yet in table|Corrupted LZW|Wrong length/i);
  });

  it('LZW data that ends before the strip is full is refused (GDAL: "Not enough data")', async () => {
    // Clear, 'A', 'B', EOI: 2 bytes where the strip needs 391
    const f = withStrip(
      packCodes([
        [256, 9],
        [65, 9],
        [66, 9],
        [257, 9],
      ]),
      'lzw-short.tif',
    );
    const e = await refusal(f);
    expect(e.code).toBe('INVALID_FILE');
    expect(e.message).toMatch(/gives 2 bytes, 391 needed/);
    if (hasGdal) expect(gdalError(f)).toMatch(/Not enough data/i);
  });

  it('a run-length LZW strip that fills the image is accepted and reads as GDAL reads it', async () => {
    // Clear, then 'A' and the growing strings AA, AAA, ... (KwKwK codes 258, 259, ...): 391 bytes of 65
    const codes: Array<[number, number]> = [
      [256, 9],
      [65, 9],
    ];
    let n = 1;
    let code = 258;
    for (; n + (code - 256) <= 391; code++) {
      codes.push([code, 9]);
      n += code - 256;
    }
    // the rest with an earlier run (code c holds c - 256 bytes): exactly 391, as writers end a strip
    if (391 - n >= 2) codes.push([256 + (391 - n), 9]);
    else if (391 - n === 1) codes.push([65, 9]);
    codes.push([257, 9]);
    const f = withStrip(packCodes(codes), 'lzw-runs.tif');
    const s = await inspectGeoTiff(f);
    expect(s.bands[0]!.minimum).toBe(65);
    expect(s.bands[0]!.maximum).toBe(65);
    if (hasGdal) expect(gdalError(f)).toBeNull();
  });
});
