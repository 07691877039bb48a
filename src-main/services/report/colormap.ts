/** A colormap: anchors at evenly spaced positions, linearly interpolated in RGB. */
export interface Colormap {
  name: string;
  anchors: ReadonlyArray<readonly [number, number, number]>;
}

/** matplotlib's viridis (van der Walt & Smith 2015), sampled at 9 evenly spaced points. */
export const VIRIDIS: Colormap = {
  name: 'viridis',
  anchors: [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
  ],
};

/** ColorBrewer RdBu (Brewer 2002), 9 classes, reversed so that blue is negative: for differences. */
export const RDBU: Colormap = {
  name: 'RdBu',
  anchors: [
    [33, 102, 172],
    [67, 147, 195],
    [146, 197, 222],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [244, 165, 130],
    [214, 96, 77],
    [178, 24, 43],
  ],
};

/** Colour of a value in [0, 1]. */
export function colourAt(cm: Colormap, t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (cm.anchors.length - 1);
  const i = Math.min(Math.floor(x), cm.anchors.length - 2);
  const f = x - i;
  const a = cm.anchors[i]!;
  const b = cm.anchors[i + 1]!;
  return [
    Math.round(a[0] + f * (b[0] - a[0])),
    Math.round(a[1] + f * (b[1] - a[1])),
    Math.round(a[2] + f * (b[2] - a[2])),
  ];
}
