import { spawn, type ChildProcess } from 'node:child_process';

/** Starts the README's server command (the built `fieldcal serve`) and reads the URL it prints. */
export function startServe(userData: string): Promise<{ url: string; server: ChildProcess }> {
  const server = spawn(process.execPath, ['bin/fieldcal.mjs', 'serve', '--port', '0', '--json'], {
    env: { ...process.env, FIELDCAL_USER_DATA: userData },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ url: (JSON.parse(line) as { url: string }).url, server });
    });
    server.once('exit', (code) => reject(new Error(`fieldcal serve exited with ${code}: ${out}`)));
  });
}
