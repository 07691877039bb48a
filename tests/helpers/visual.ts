import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

/** Where the committed baselines live. */
export const BASELINES = 'tests/e2e/baselines';

export interface VisualResult {
  /** Pixels that differ beyond pixelmatch's colour threshold. */
  diffPixels: number;
  /** Their share of the image. */
  diffRatio: number;
  /** True when there was no baseline and one was written (FIELDCAL_UPDATE_BASELINES=1 only). */
  created: boolean;
  /** The diff image written next to the screenshot when they differ. */
  diffPath: string | null;
}

/**
 * Compares a PNG screenshot with its committed baseline (pixelmatch: YIQ colour distance with
 * anti-aliasing detection). A missing baseline is an error unless FIELDCAL_UPDATE_BASELINES=1, which
 * (re)writes it. Sizes must match: a layout change is a real change.
 */
export function compareWithBaseline(
  name: string,
  png: Buffer,
  opts: { threshold?: number; outDir?: string; baselines?: string } = {},
): VisualResult {
  const base = join(opts.baselines ?? BASELINES, `${name}.png`);
  const update = process.env.FIELDCAL_UPDATE_BASELINES === '1';
  if (update || !existsSync(base)) {
    if (!update) throw new Error(`no baseline ${base}; run with FIELDCAL_UPDATE_BASELINES=1 to create it`);
    mkdirSync(dirname(base), { recursive: true });
    writeFileSync(base, png);
    return { diffPixels: 0, diffRatio: 0, created: true, diffPath: null };
  }
  return diffImages(PNG.sync.read(readFileSync(base)), PNG.sync.read(png), {
    threshold: opts.threshold ?? 0.1,
    diffPath: opts.outDir ? join(opts.outDir, `${name}.diff.png`) : null,
  });
}

/** Pixel difference of two decoded PNGs of the same size. */
export function diffImages(
  a: PNG,
  b: PNG,
  opts: { threshold?: number; diffPath?: string | null } = {},
): VisualResult {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`image size changed: baseline ${a.width}x${a.height}, now ${b.width}x${b.height}`);
  }
  const diff = new PNG({ width: a.width, height: a.height });
  const n = pixelmatch(a.data, b.data, diff.data, a.width, a.height, { threshold: opts.threshold ?? 0.1 });
  let diffPath: string | null = null;
  if (n > 0 && opts.diffPath) {
    mkdirSync(dirname(opts.diffPath), { recursive: true });
    writeFileSync(opts.diffPath, PNG.sync.write(diff));
    diffPath = opts.diffPath;
  }
  return { diffPixels: n, diffRatio: n / (a.width * a.height), created: false, diffPath };
}
