import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ServiceContainer } from '../services';

export const ARTIFACT_SCHEME = 'fieldcal-artifact';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.json': 'application/json',
  '.tif': 'image/tiff',
};

/** Must run before the app is ready: the scheme behaves like https (origin, relative URLs). */
export function registerArtifactScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: ARTIFACT_SCHEME, privileges: { standard: true, secure: true } },
  ]);
}

/**
 * Serves `fieldcal-artifact://run/<runId>/<name>`: a file recorded as an artifact of that run in
 * the open project, nothing else, as a static page without scripts.
 */
export function handleArtifactProtocol(artifactFile: ServiceContainer['artifactFile']): void {
  protocol.handle(ARTIFACT_SCHEME, async (req) => {
    const u = new URL(req.url);
    const m = /^\/(\d+)\/([^/\\]+)$/.exec(decodeURIComponent(u.pathname));
    const file = u.hostname === 'run' && m ? artifactFile(Number(m[1]), m[2]!) : null;
    const data = file ? await readFile(file).catch(() => null) : null;
    if (!file || !data) return new Response('not found', { status: 404 });
    return new Response(data, {
      headers: {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-security-policy':
          "default-src 'none'; img-src fieldcal-artifact: data:; style-src 'unsafe-inline'",
      },
    });
  });
}
