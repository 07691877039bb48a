import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The bridge running in its own process (tests/helpers/bridgeMain.ts). */
export interface BridgeProcess {
  port: number;
  token: string;
  child: ChildProcess;
  /** True while the process runs. */
  alive(): boolean;
  /** Exit code or signal once it ended (null while alive). */
  exit(): string | null;
  /** Peak resident memory so far (Linux VmHWM), in MB; NaN where /proc is not available. */
  peakRssMB(): number;
  stop(): Promise<void>;
}

/** Starts the bridge in a child process on `userData` and resolves once it printed its port. */
export function startBridgeProcess(userData: string): Promise<BridgeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './scripts/raw-loader.mjs', 'tests/helpers/bridgeMain.ts'],
    { env: { ...process.env, FIELDCAL_USER_DATA: userData }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let exit: string | null = null;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.once('exit', (code, signal) => (exit = `exit ${code ?? signal} ${stderr.trim().slice(-600)}`));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('\n')) return;
      const { port, token } = JSON.parse(out.split('\n')[0]!) as { port: number; token: string };
      resolve({
        port,
        token,
        child,
        alive: () => exit === null,
        exit: () => exit,
        peakRssMB: () => {
          try {
            const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
            return kb ? Math.round(Number(kb) / 102.4) / 10 : NaN;
          } catch {
            return NaN;
          }
        },
        stop: () =>
          new Promise<void>((done) => {
            if (exit !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', () => reject(new Error(`bridge process ended before listening: ${exit}`)));
  });
}
