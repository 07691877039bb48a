import { protocol } from 'electron';
import { APP_SCHEME, ARTIFACT_SCHEME, loadRendererFile } from './security';

/**
 * Registers the app's two schemes; must run once, before the app is ready (Electron allows one call).
 * `app://` serves the renderer like https would (standard: origin and relative URLs; secure; fetch
 * and CORS for ES module scripts and workers; V8 code cache). Neither bypasses CSP.
 */
export function registerSchemes(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true },
    },
    { scheme: ARTIFACT_SCHEME, privileges: { standard: true, secure: true } },
  ]);
}

/**
 * Serves `app://fieldcal/<path>` from `root` (out/renderer) with the CSP as a response header; a path
 * that resolves outside `root`, a symlink or anything but a regular file is a 404 (`loadRendererFile`).
 */
export function handleAppProtocol(root: string): void {
  protocol.handle(APP_SCHEME, async (req) => {
    const r = await loadRendererFile(root, req.method, req.url);
    return new Response(
      r.body ?? (r.status === 200 ? null : r.status === 405 ? 'method not allowed' : 'not found'),
      {
        status: r.status,
        headers: r.headers,
      },
    );
  });
}
