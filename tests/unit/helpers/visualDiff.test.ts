import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { diffImages } from '../../helpers/visual';

/** A legend-like test image: a horizontal ramp with a dark tick row. */
function ramp(width: number, height: number, shift = 0): PNG {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const v = Math.round(((x + shift) / width) * 255) & 255;
      p.data[i] = y === 5 ? 20 : v;
      p.data[i + 1] = y === 5 ? 20 : 255 - v;
      p.data[i + 2] = 120;
      p.data[i + 3] = 255;
    }
  return p;
}

describe('the visual-regression comparator the e2e baselines use', () => {
  it('passes an identical image and one with sub-threshold noise', () => {
    const a = ramp(200, 40);
    expect(diffImages(a, ramp(200, 40)).diffPixels).toBe(0);
    const noisy = ramp(200, 40);
    for (let i = 0; i < noisy.data.length; i += 4) noisy.data[i] = Math.min(255, noisy.data[i]! + 1);
    expect(diffImages(a, noisy).diffRatio).toBe(0);
  });

  it('fails on a real change: a colour map shifted by 20 % or a recoloured block', () => {
    const a = ramp(200, 40);
    expect(diffImages(a, ramp(200, 40, 40)).diffRatio).toBeGreaterThan(0.5);
    const b = ramp(200, 40);
    for (let y = 10; y < 30; y++)
      for (let x = 50; x < 90; x++) b.data.set([255, 0, 0, 255], (y * 200 + x) * 4);
    const r = diffImages(a, b);
    expect(r.diffPixels).toBe(20 * 40);
  });

  it('refuses a size change', () => {
    expect(() => diffImages(ramp(200, 40), ramp(201, 40))).toThrow(/size changed/);
  });
});
