/** Exact decimal expansion of a finite double: digits and the position of the decimal point. */
function exactDigits(v: number): { digits: string; pointPos: number } {
  // v = m * 2^e exactly, with m an integer below 2^53.
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(v));
  const bits = buf.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = expBits === 0 ? frac : frac | (1n << 52n);
  const e = (expBits === 0 ? 1 : expBits) - 1075;
  if (e >= 0) {
    const s = (m << BigInt(e)).toString();
    return { digits: s, pointPos: s.length };
  }
  // m / 2^k = m * 5^k / 10^k
  const k = -e;
  const s = (m * 5n ** BigInt(k)).toString();
  return { digits: s, pointPos: s.length - k };
}

/**
 * C's `%.Ng` (glibc): N significant digits of the exact binary value, rounded half to even,
 * trailing zeros removed, exponent form when the exponent is below -4 or at least N. GDAL's XYZ
 * driver prints floating-point values and coordinates with `%.18g`.
 */
export function formatG(v: number, digits = 18): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const { digits: raw, pointPos } = exactDigits(v);
  const lead = raw.search(/[1-9]/);
  const sig = raw.slice(lead);
  let exp10 = pointPos - lead - 1; // exponent of the first significant digit
  let kept = sig.slice(0, digits).padEnd(digits, '0');
  const rest = sig.slice(digits);
  const roundUp =
    rest.length > 0 &&
    (rest[0]! > '5' ||
      (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(kept[kept.length - 1]) % 2 === 1)));
  if (roundUp) {
    const n = (BigInt(kept) + 1n).toString();
    if (n.length > digits) {
      kept = n.slice(0, digits);
      exp10 += 1;
    } else kept = n;
  }
  let out: string;
  if (exp10 < -4 || exp10 >= digits) {
    const mant = `${kept[0]}.${kept.slice(1)}`.replace(/0+$/, '').replace(/\.$/, '');
    out = `${mant}e${exp10 < 0 ? '-' : '+'}${String(Math.abs(exp10)).padStart(2, '0')}`;
  } else if (exp10 >= 0) {
    const int = kept.slice(0, exp10 + 1);
    const frac = kept.slice(exp10 + 1).replace(/0+$/, '');
    out = frac ? `${int}.${frac}` : int;
  } else {
    out = `0.${'0'.repeat(-exp10 - 1)}${kept}`.replace(/0+$/, '').replace(/\.$/, '');
  }
  return sign + out;
}
