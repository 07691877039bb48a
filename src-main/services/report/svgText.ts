/** Text helpers shared by the SVG figures. */

/** The bundled font every figure names (svgToPng loads it; browsers fall back to a sans-serif). */
export const FONT = 'DejaVu Sans';

/** Escapes text for SVG/HTML content and attribute values. */
export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Width of a line of text in DejaVu Sans, in px, from the font's advance widths averaged by
 * character class (digits 0.636 em, lower case ~0.6 em, capitals ~0.7 em, spaces/punctuation
 * ~0.32 em): an upper bound good to a few px, used to size margins so that nothing is clipped.
 */
export function textWidth(s: string, size: number): number {
  let em = 0;
  for (const ch of s) {
    if (/[0-9]/.test(ch)) em += 0.636;
    else if (/[A-Z]/.test(ch)) em += 0.72;
    else if (/[a-z]/.test(ch)) em += /[ijlft]/.test(ch) ? 0.36 : 0.62;
    else if (/[ .,:;'|!]/.test(ch)) em += 0.33;
    else em += 0.8;
  }
  return em * size;
}

/** A number with up to 4 significant digits, for labels that are not ticks. */
export function num4(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const s = Number(v.toPrecision(4));
  return Math.abs(s) >= 1e6 || (s !== 0 && Math.abs(s) < 1e-3) ? s.toExponential(2) : String(s);
}
