// Shared parts of the file fuzzers: a seeded generator, a per-input timeout, outcome counting
// (ok / typed error / crash / hang) and peak RSS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FieldcalError } from '../src-shared/ipc';

/** mulberry32: a small seeded 32-bit generator (Tommy Ettinger's public-domain design). */
export function rng(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Helpers over a generator: integers, picks, interesting boundary values. */
export function tools(r: () => number) {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const edge = (size: number) =>
    pick([
      0,
      1,
      2,
      7,
      8,
      255,
      256,
      0x7fff,
      0xffff,
      0x10000,
      0x7fffffff,
      0xffffffff,
      size - 1,
      size,
      size + 1,
    ]);
  return { int, pick, edge, r };
}

export type Outcome = 'ok' | 'typed' | 'crash' | 'hang';

/** Counts of outcomes, typed errors by code, a few crash samples, and peak RSS. */
export class Tally {
  ok = 0;
  typed = 0;
  crashes = 0;
  hangs = 0;
  codes: Record<string, number> = {};
  samples: string[] = [];
  private peak = process.memoryUsage().rss;

  /** The input after which RSS first reached its peak. */
  peakInput = '';

  sampleRss(label = ''): void {
    const rss = process.memoryUsage().rss;
    if (rss > this.peak + 8 * 2 ** 20) this.peakInput = label;
    this.peak = Math.max(this.peak, rss);
  }

  get peakRssMB(): number {
    return Math.round(this.peak / 2 ** 20);
  }

  /**
   * Runs one input under a timeout. Only a FieldcalError with a real code that names the input is a
   * typed error; anything else (an untyped library error, INTERNAL, a message without the file) is a
   * crash; a loader still pending after `timeoutMs` is a hang.
   */
  async run<T>(
    label: string,
    file: string,
    timeoutMs: number,
    fn: () => Promise<T>,
  ): Promise<{ outcome: Outcome; value?: T }> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((res) => (timer = setTimeout(() => res('hang'), timeoutMs)));
    try {
      const v = await Promise.race([fn().then((value) => ({ value })), hang]);
      if (v === 'hang') {
        this.hangs++;
        this.note(`${label}: no answer in ${timeoutMs} ms`);
        return { outcome: 'hang' };
      }
      this.ok++;
      return { outcome: 'ok', value: v.value };
    } catch (err) {
      if (err instanceof FieldcalError && err.code !== 'INTERNAL' && err.message.includes(file)) {
        this.typed++;
        this.codes[err.code] = (this.codes[err.code] ?? 0) + 1;
        return { outcome: 'typed' };
      }
      this.crashes++;
      this.note(
        `${label}: ${err instanceof FieldcalError ? err.code : 'untyped'}: ${String((err as Error)?.message ?? err).slice(0, 200)}`,
      );
      return { outcome: 'crash' };
    } finally {
      clearTimeout(timer);
      this.sampleRss(label);
    }
  }

  note(s: string): void {
    if (this.samples.length < 10) this.samples.push(s);
  }

  report(inputs: number): {
    inputs: number;
    ok: number;
    typedErrors: number;
    crashes: number;
    hangs: number;
    peakRssMB: number;
    peakRssAfter: string;
    errorCodes: Record<string, number>;
    samples: string[];
  } {
    return {
      inputs,
      ok: this.ok,
      typedErrors: this.typed,
      crashes: this.crashes,
      hangs: this.hangs,
      peakRssMB: this.peakRssMB,
      peakRssAfter: this.peakInput,
      errorCodes: this.codes,
      samples: this.samples,
    };
  }
}

/** A scratch folder removed when `fn` ends. */
export async function withScratch<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
