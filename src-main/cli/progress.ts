import { SingleBar, Presets } from 'cli-progress';

/**
 * A progress bar on stderr for long CLI work; silent when stderr is not a terminal or when the
 * command prints JSON, so `--json` output stays clean and logs stay readable.
 */
export function progressBar(label: string, total: number, opts: { json?: boolean | undefined } = {}) {
  if (opts.json || !process.stderr.isTTY)
    return { tick: () => undefined, update: (_n: number) => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), update: (n: number) => bar.update(n), stop: () => bar.stop() };
}
