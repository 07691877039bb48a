// Line- and field-level mutations of delimited text (CSV), shared by the gauge and CSV fuzzers.
import type { tools } from './fileHarness';

const ODD_VALUES = [
  '',
  'NA',
  'nan',
  '-',
  '-99',
  '-9999',
  '1e309',
  '-1e309',
  'Infinity',
  '0x10',
  '1,5',
  ' 3 ',
  '"',
  '""',
  '\0',
  '\u00e9',
  '\ufeff',
  '9'.repeat(400),
  '-0',
  '1e-320',
  '2012-02-30',
  '99999999',
  '20120101',
  '01/13/2012',
];

/** One to three mutations of a CSV text: lines dropped, duplicated, swapped, cut; fields replaced; separators, line ends, BOM, NUL and random bytes. */
export function mutateCsv(text: string, t: ReturnType<typeof tools>): { text: string; what: string[] } {
  let lines = text.split('\n');
  const what: string[] = [];
  const rounds = t.int(1, 3);
  for (let k = 0; k < rounds; k++) {
    const kind = t.pick([
      'drop-line',
      'dup-line',
      'swap-lines',
      'field',
      'field',
      'field',
      'header',
      'separator',
      'crlf',
      'bom',
      'cut',
      'bytes',
      'long-line',
      'empty',
    ] as const);
    what.push(kind);
    const li = t.int(0, Math.max(0, lines.length - 1));
    switch (kind) {
      case 'drop-line':
        lines.splice(li, 1);
        break;
      case 'dup-line':
        lines.splice(li, 0, lines[li] ?? '');
        break;
      case 'swap-lines': {
        const lj = t.int(0, Math.max(0, lines.length - 1));
        [lines[li], lines[lj]] = [lines[lj] ?? '', lines[li] ?? ''];
        break;
      }
      case 'field':
      case 'header': {
        const at = kind === 'header' ? 0 : li;
        const sep = [',', ';', '\t'].find((s) => (lines[at] ?? '').includes(s)) ?? ',';
        const f = (lines[at] ?? '').split(sep);
        const fi = t.int(0, Math.max(0, f.length));
        f[fi] =
          kind === 'header'
            ? t.pick(['code', 'x', 'y', 'area', 'date', 'P', 'E', 'Qmm', 'q', 'CODE', '', 'x '])
            : t.pick(ODD_VALUES);
        if (t.r() < 0.2) f.splice(t.int(0, f.length), 1);
        lines[at] = f.join(sep);
        break;
      }
      case 'separator':
        lines = lines.map((l) => l.replaceAll(',', t.pick([';', '\t', ' ', ',,'])));
        break;
      case 'crlf':
        lines = lines.map((l) => `${l}\r`);
        break;
      case 'bom':
        lines[0] = `\ufeff${lines[0] ?? ''}`;
        break;
      case 'cut': {
        const s = lines.join('\n');
        lines = s.slice(0, t.int(0, s.length)).split('\n');
        break;
      }
      case 'bytes': {
        const chars = [...lines.join('\n')];
        for (let i = 0, n = t.int(1, 8); i < n && chars.length; i++)
          chars[t.int(0, chars.length - 1)] = String.fromCharCode(t.int(0, 255));
        lines = chars.join('').split('\n');
        break;
      }
      case 'long-line':
        lines.splice(li, 0, 'x'.repeat(t.int(1, 200_000)));
        break;
      case 'empty':
        lines = t.r() < 0.5 ? [] : [''];
        break;
    }
  }
  return { text: lines.join('\n'), what };
}
