// Issue 16 (left item): in a packaged app the report font must be read from `app.asar.unpacked`,
// since resvg reads fonts with its own file I/O and cannot see inside the asar archive.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { appRoot, reportFontPath, unpackedPath } from '../../../src-main/services/paths';
import { FONT } from '../../../src-main/services/report/svgText';
import { tempDir } from '../../helpers/tmp';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** Dark pixels of a line of text rendered with only the given font file (0 when resvg could not read it). */
function inkWith(fontFile: string): number {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="5" y="30" font-size="24" font-family="${FONT}">Fieldcal</text></svg>`;
  const r = new Resvg(svg, {
    font: { fontFiles: [fontFile], loadSystemFonts: false, defaultFontFamily: FONT },
    background: 'white',
  });
  const px = r.render().pixels;
  let dark = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i]! < 128) dark++;
  return dark;
}

describe('bundled files read by native code', () => {
  it('maps a path inside app.asar to app.asar.unpacked, on POSIX and Windows paths', () => {
    expect(unpackedPath('/opt/Fieldcal/resources/app.asar/resources/fonts/DejaVuSans.ttf')).toBe(
      '/opt/Fieldcal/resources/app.asar.unpacked/resources/fonts/DejaVuSans.ttf',
    );
    expect(unpackedPath('C:\\Fieldcal\\resources\\app.asar\\resources\\fonts\\DejaVuSans.ttf')).toBe(
      'C:\\Fieldcal\\resources\\app.asar.unpacked\\resources\\fonts\\DejaVuSans.ttf',
    );
  });

  it('leaves paths outside an archive, already unpacked paths and lookalike names alone', () => {
    for (const p of [
      '/work/fieldcal/resources/fonts/DejaVuSans.ttf',
      '/opt/Fieldcal/resources/app.asar.unpacked/resources/fonts/DejaVuSans.ttf',
      '/home/u/myapp.asar/fonts/x.ttf',
      '/home/u/app.asarx/fonts/x.ttf',
    ])
      expect(unpackedPath(p)).toBe(p);
  });

  it('finds the real font when run from source', () => {
    const p = reportFontPath();
    expect(p).toBe(join(appRoot(), 'resources', 'fonts', 'DejaVuSans.ttf'));
    // a TrueType file starts with the sfnt version 0x00010000 (OpenType spec, "Organization of an OpenType Font")
    expect(readFileSync(p).readUInt32BE(0)).toBe(0x00010000);
    expect(inkWith(p)).toBeGreaterThan(100);
  });

  it('renders report text in a packaged layout, where the path inside the archive draws nothing', () => {
    // electron-builder's layout: resources/app.asar (one archive file) and app.asar.unpacked beside it
    const root = join(tmp.dir, 'resources', 'app.asar');
    const unpacked = join(tmp.dir, 'resources', 'app.asar.unpacked', 'resources', 'fonts');
    mkdirSync(unpacked, { recursive: true });
    writeFileSync(root, 'an asar archive');
    copyFileSync(reportFontPath(), join(unpacked, 'DejaVuSans.ttf'));
    expect(reportFontPath(root)).toBe(join(unpacked, 'DejaVuSans.ttf'));
    expect(inkWith(join(root, 'resources', 'fonts', 'DejaVuSans.ttf'))).toBe(0);
    expect(inkWith(reportFontPath(root))).toBeGreaterThan(100);
  });

  it('electron-builder packs the fonts and unpacks them from the archive', () => {
    const cfg = JSON.parse(readFileSync(join(appRoot(), 'electron-builder.json'), 'utf8')) as {
      files: string[];
      asar: boolean;
      asarUnpack: string[];
    };
    expect(cfg.asar).toBe(true);
    expect(cfg.files).toContain('resources/fonts/**');
    expect(cfg.asarUnpack).toContain('resources/fonts/**');
  });
});
