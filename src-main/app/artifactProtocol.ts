import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ServiceContainer } from '../services';
import { ARTIFACT_SCHEME, artifactCsp, parseArtifactUrl } from './security';

export { ARTIFACT_SCHEME };
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.tif': 'image/tiff',
};

/**
 * Serves `fieldcal-artifact://run/<runId>/<name>`: a file recorded as an artifact of that run in
 * the open project, nothing else, as a static page without scripts, framed only by `appOrigin`.
 * The scheme itself is registered by `registerSchemes` (appProtocol.ts).
 */
export function handleArtifactProtocol(
  artifactFile: ServiceContainer['artifactFile'],
  appOrigin: string,
): void {
  const csp = artifactCsp(appOrigin);
  protocol.handle(ARTIFACT_SCHEME, async (req) => {
    const ref = req.method === 'GET' || req.method === 'HEAD' ? parseArtifactUrl(req.url) : null;
    let file: string | null = null;
    try {
      file = ref ? artifactFile(ref.runId, ref.name) : null;
    } catch {
      file = null;
    }
    const data = file ? await readFile(file).catch(() => null) : null;
    if (!file || !data) return new Response('not found', { status: 404 });
    return new Response(data, {
      headers: {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
      },
    });
  });
}
