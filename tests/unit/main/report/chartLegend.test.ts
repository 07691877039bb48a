import { describe, expect, it } from 'vitest';
import { chartSvg } from '../../../../src-main/services/report/svg';

describe('chart legend', () => {
  it('names every series, in rows that fit the width, the plot below the last row', () => {
    const names = [
      'default',
      'gan-po',
      'dpl',
      'gan-po-lstm',
      'gan-po-arnet',
      'dpl-lstm',
      'a much longer series name',
    ];
    const svg = chartSvg({
      title: 't',
      x: [0, 1, 2],
      series: names.map((name, i) => ({ name, values: [i, i + 1, i], colour: '#333' })),
      xLabel: 'x',
      yLabel: 'y',
    });
    const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="11">([^<]+)<\/text>/g)]
      .map((m) => ({ x: Number(m[1]), y: Number(m[2]), name: m[3]! }))
      .filter((t) => names.includes(t.name));
    expect(texts.map((t) => t.name)).toEqual(names);
    // 6.5 px a character at 11 px: every name ends inside the 760 px chart
    for (const t of texts) expect(t.x + t.name.length * 6.5).toBeLessThanOrEqual(760);
    const rows = [...new Set(texts.map((t) => t.y))];
    expect(rows.length).toBeGreaterThan(1);
    // the plot frame starts below the last legend row
    const frameY = Number(svg.match(/<rect x="[\d.]+" y="([\d.]+)"/)![1]);
    expect(frameY).toBeGreaterThan(Math.max(...rows) + 4);
  });
});
