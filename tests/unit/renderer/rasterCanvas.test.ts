import { buildExpression, newEvaluationContext } from 'ol/expr/cpu.js';
import { ColorType, newParsingContext } from 'ol/expr/expression.js';
import { describe, expect, it } from 'vitest';
import {
  COLORMAP_NAMES,
  colorExpression,
  colourize,
  sampleColormap,
} from '../../../src-renderer/src/lib/map/colormaps';
import { displayRange } from '../../../src-renderer/src/lib/map/rasterData';
import { isSoftwareRenderer } from '../../../src-renderer/src/lib/map/rasterCanvas';

/** The WebGL path's colour for `value`: OpenLayers' own CPU evaluation of the layer's style expression (sRGB `interpolate`, "equivalent to GLSL mix()" in ol/expr/cpu.js). */
function webglColour(name: string, value: number, min: number, max: number): number[] {
  const ctx = newParsingContext();
  const evaluate = buildExpression(colorExpression(name, ['get', 'v']) as never, ColorType, ctx);
  const e = newEvaluationContext();
  e.properties = { v: value };
  e.variables = { min, max };
  const c = evaluate(e) as number[];
  return [Math.round(c[0]!), Math.round(c[1]!), Math.round(c[2]!), 255];
}

describe('colourize (the canvas path of rasters)', () => {
  it('gives the colours of the WebGL style expression, for every colour map, inside and outside the range', () => {
    const min = -3;
    const max = 17;
    const values = Float32Array.from({ length: 301 }, (_, i) => -6 + (i * 26) / 300);
    let inexact = 0;
    for (const name of COLORMAP_NAMES) {
      const rgba = colourize(values, { min, max, log: false }, name);
      values.forEach((v, i) => {
        const want = webglColour(name, v, min, max);
        const got = [...rgba.subarray(i * 4, i * 4 + 4)];
        // the same real colour rounded to 8 bits: at most 1 apart where float error straddles a .5
        got.forEach((c, k) =>
          expect(Math.abs(c - want[k]!), `${name} at ${v}: ${got} vs ${want}`).toBeLessThanOrEqual(1),
        );
        expect(got[3]).toBe(255);
        if (got.some((c, k) => c !== want[k])) inexact++;
      });
    }
    // ties are rare: nearly every colour is the same byte for byte
    expect(inexact).toBeLessThan(0.01 * values.length * COLORMAP_NAMES.length);
  });

  it('puts the first and last stops at min and max, and the published end colours there', () => {
    const rgba = colourize(Float32Array.from([2, 5, 8, 1, 9]), { min: 2, max: 8, log: false }, 'viridis');
    // viridis ends: matplotlib _cm_listed.py viridis[0] = #440154, viridis[255] = #fde725
    expect([...rgba.subarray(0, 4)]).toEqual([0x44, 0x01, 0x54, 255]);
    expect([...rgba.subarray(8, 12)]).toEqual([0xfd, 0xe7, 0x25, 255]);
    expect([...rgba.subarray(12, 16)]).toEqual([0x44, 0x01, 0x54, 255]); // below min: clamped
    expect([...rgba.subarray(16, 20)]).toEqual([0xfd, 0xe7, 0x25, 255]); // above max: clamped
    expect([...rgba.subarray(4, 8)]).toEqual([...sampleColormap('viridis', 0.5), 255]);
  });

  it('leaves nodata transparent, and under log the values that are not positive', () => {
    const data = Float32Array.from([NaN, 0, -2, 1, 10, 100]);
    const lin = colourize(data, { min: -2, max: 100, log: false }, 'cividis');
    expect(lin[3]).toBe(0);
    expect([lin[7], lin[11], lin[15]]).toEqual([255, 255, 255]);
    const range = displayRange(
      { data, stats: { min: -2, max: 100, p2: 1, p98: 100 } as never },
      {
        colormap: 'precip',
        log: true,
      },
    );
    expect(range).toEqual({ min: 0, max: 2, log: true });
    const log = colourize(data, range, 'precip');
    expect([log[3], log[7], log[11]]).toEqual([0, 0, 0]);
    // log10: 1 → 0 (first stop), 10 → 1 (middle), 100 → 2 (last stop)
    expect([...log.subarray(12, 16)]).toEqual([...sampleColormap('precip', 0), 255]);
    expect([...log.subarray(16, 20)]).toEqual([...sampleColormap('precip', 0.5), 255]);
    expect([...log.subarray(20, 24)]).toEqual([...sampleColormap('precip', 1), 255]);
  });

  it('centres the diverging map on zero like the WebGL path', () => {
    const data = Float32Array.from([-1, 0, 4]);
    const range = displayRange(
      { data, stats: { min: -1, max: 4, p2: -1, p98: 4 } as never },
      { colormap: 'rdbu' },
    );
    const rgba = colourize(data, range, 'rdbu');
    expect([...rgba.subarray(4, 8)]).toEqual(webglColour('rdbu', 0, range.min, range.max));
    expect([...rgba.subarray(4, 8)]).toEqual([...sampleColormap('rdbu', 0.5), 255]);
  });
});

describe('software WebGL detection', () => {
  it('names the software rasterisers and not the hardware ones', () => {
    expect(
      isSoftwareRenderer(
        'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
      ),
    ).toBe(true);
    expect(isSoftwareRenderer('llvmpipe (LLVM 15.0.7, 256 bits)')).toBe(true);
    expect(
      isSoftwareRenderer('ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)'),
    ).toBe(true);
    expect(
      isSoftwareRenderer('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)'),
    ).toBe(false);
    expect(isSoftwareRenderer('Apple M2')).toBe(false);
    expect(isSoftwareRenderer('Mesa Intel(R) UHD Graphics 620 (KBL GT2)')).toBe(false);
  });
});
