/** YYYY-MM-DD plus n days (UTC calendar days). */
export function addDays(iso: string, n: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * Named periods of a split-sample run (Klemeš 1986, "Operational testing of hydrological simulation
 * models"): an optional warm-up of `warmup` days from `start`, calibration (train) up to the day
 * before `validFrom`, validation (test) from `validFrom` to `end`.
 */
export function splitSamplePeriods(start: string, end: string, validFrom: string, warmup: number) {
  const w = Math.max(0, Math.floor(warmup || 0));
  return [
    ...(w > 0 ? [{ name: 'warmup' as const, start, end: addDays(start, w - 1) }] : []),
    { name: 'train' as const, start: addDays(start, w), end: addDays(validFrom, -1) },
    { name: 'test' as const, start: validFrom, end },
  ];
}
