import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** Runs the `fieldcal` CLI from source in a child process (no build needed). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'src-main/cli/index.ts', ...args],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 },
  );
}
