import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FieldcalError } from '../../../../src-shared/ipc';
import { GeoTiffRaster } from '../../../../src-main/services/rasters/geotiff';
import { openNetcdfStack } from '../../../../src-main/services/rasters/netcdf';
import { tempDir } from '../../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('fieldcal-bad-')));
afterAll(() => tmp.cleanup());

/** Opens and reads every band; resolves to the error code, or 'ok'. Fails on anything untyped. */
async function readAll(path: string): Promise<string> {
  try {
    const r = await GeoTiffRaster.open(path);
    try {
      for (let b = 0; b < r.info.bands; b++) await r.readBand(b);
    } finally {
      await r.close();
    }
    return 'ok';
  } catch (err) {
    if (!(err instanceof FieldcalError)) throw new Error(`untyped error for ${path}: ${String(err)}`);
    expect(err.message).toContain(path);
    return err.code;
  }
}

/** Patches a SHORT tag value in the first IFD of a little-endian classic TIFF. */
function patchTag(buf: Buffer, tag: number, value: number): Buffer {
  const out = Buffer.from(buf);
  const ifd = out.readUInt32LE(4);
  const n = out.readUInt16LE(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    if (out.readUInt16LE(e) === tag) {
      out.writeUInt16LE(value, e + 8);
      return out;
    }
  }
  throw new Error(`tag ${tag} not found`);
}

const DEFLATED = 'tests/fixtures/rasters/float32_m34e38.tif';

describe('bad raster input gives typed errors naming the file', () => {
  it('non-TIFF, empty, truncated and corrupt files', async () => {
    const cases: Array<[string, Buffer, string[]]> = [
      ['text.tif', Buffer.from('this is not a tiff\n'.repeat(20)), ['INVALID_FILE']],
      ['empty.tif', Buffer.alloc(0), ['INVALID_FILE']],
      ['truncated.tif', readFileSync(DEFLATED).subarray(0, 300), ['INVALID_FILE']],
      ['header-only.tif', readFileSync(DEFLATED).subarray(0, 8), ['INVALID_FILE']],
    ];
    const corrupt = Buffer.from(readFileSync(DEFLATED));
    for (let i = corrupt.length - 600; i < corrupt.length - 100; i++) corrupt[i] = 0xa5;
    cases.push(['corrupt-strip.tif', corrupt, ['INVALID_FILE']]);
    for (const [name, bytes, codes] of cases) {
      const p = join(tmp.dir, name);
      writeFileSync(p, bytes);
      expect(codes).toContain(await readAll(p));
    }
    expect(await readAll(join(tmp.dir, 'missing.tif'))).toBe('NOT_FOUND');
  });

  it('an unsupported compression is UNSUPPORTED_FORMAT', async () => {
    const p = join(tmp.dir, 'jpeg2000.tif');
    writeFileSync(p, patchTag(readFileSync(DEFLATED), 259, 34712));
    expect(await readAll(p)).toBe('UNSUPPORTED_FORMAT');
  });

  it('a header claiming more pixels than the file holds is refused before allocation', async () => {
    const buf = Buffer.from(readFileSync('tests/fixtures/rasters/uint32.tif'));
    const p = join(tmp.dir, 'huge.tif');
    writeFileSync(p, patchTag(buf, 256, 65000));
    expect(await readAll(p)).toBe('INVALID_FILE');
  });

  it('a NetCDF that is neither netCDF-3 nor HDF5 is INVALID_FILE', async () => {
    const p = join(tmp.dir, 'fake.nc');
    writeFileSync(p, 'CDF\u0001garbage');
    await expect(openNetcdfStack(p)).rejects.toMatchObject({ code: 'INVALID_FILE', details: { file: p } });
  });

  it('fuzz: 300 mutated copies of the fixtures never crash or hang', async () => {
    const sources = [
      'float32_m34e38.tif',
      'int16_m99_tiled.tif',
      'byte_lzw.tif',
      'float32_cog.tif',
      'multiband_scaled.tif',
      'uint16_65535_packbits.tif',
    ].map((f) => readFileSync(join('tests/fixtures/rasters', f)));
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const outcomes = new Map<string, number>();
    for (let k = 0; k < 300; k++) {
      const src = sources[k % sources.length]!;
      let buf: Buffer;
      const kind = k % 3;
      if (kind === 0) buf = src.subarray(0, Math.floor(rand() * src.length));
      else {
        buf = Buffer.from(src);
        const flips = 1 + Math.floor(rand() * 8);
        // kind 1: anywhere; kind 2: inside the header and IFD, where sizes and offsets live
        for (let i = 0; i < flips; i++)
          buf[Math.floor(rand() * (kind === 1 ? buf.length : Math.min(buf.length, 400)))] = Math.floor(
            rand() * 256,
          );
      }
      const p = join(tmp.dir, `fuzz-${k}.tif`);
      writeFileSync(p, buf);
      const outcome = await Promise.race([
        readAll(p),
        new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 5000)),
      ]);
      expect(outcome, `fuzz-${k}.tif`).not.toBe('timeout');
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // mutated files mostly fail, with typed errors; some mutations are harmless
    expect(outcomes.get('INVALID_FILE') ?? 0).toBeGreaterThan(100);
  }, 120_000);
});
