/**
 * The Electron security decisions as pure functions (no `electron` import), so they are unit-tested in
 * plain Node: which URL is the app's own, where a frame may navigate, which external link may open,
 * which permission a page gets, which file a request for the renderer reads, and the CSP it gets.
 * The Electron wiring that applies them lives in `guards.ts` and `appProtocol.ts`.
 * Source for each rule: the Electron security checklist (electronjs.org/docs/latest/tutorial/security).
 */
import { lstat, readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

/** The privileged scheme the built renderer is served from (checklist 18: no `file://`). */
export const APP_SCHEME = 'app';
/** The one host of {@link APP_SCHEME}: the renderer's origin is `app://fieldcal`. */
export const APP_HOST = 'fieldcal';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the main window loads in a built app. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;
/** The scheme serving run artifacts (report pages and their images) to the report frame. */
export const ARTIFACT_SCHEME = 'fieldcal-artifact';

/**
 * The renderer's policy, directive by directive: the same as the meta tag of
 * `src-renderer/index.html` (a test keeps them equal), plus what only a header can carry
 * (`frame-ancestors`, checklist 7: CSP as a response header).
 */
export const RENDERER_CSP_DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['frame-src', `'self' ${ARTIFACT_SCHEME}:`],
  ['connect-src', "'self'"],
  ['worker-src', "'self' blob:"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

/** Joins directives into one header value. */
export function buildCsp(directives: ReadonlyArray<readonly [string, string]>): string {
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}

/** `Content-Security-Policy` header value for every response of the `app://` protocol. */
export const RENDERER_CSP = buildCsp(RENDERER_CSP_DIRECTIVES);

/**
 * Policy for a run artifact: a static report page, no script, images from the artifact scheme, and
 * framed only by the app's page (`appOrigin`: `app://fieldcal`, or the dev server's origin).
 */
export function artifactCsp(appOrigin: string): string {
  return buildCsp([
    ['default-src', "'none'"],
    ['img-src', `${ARTIFACT_SCHEME}: data:`],
    ['style-src', "'unsafe-inline'"],
    ['frame-ancestors', appOrigin],
  ]);
}

function parse(url: string): URL | null {
  if (typeof url !== 'string' || url.length > 8192) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * Scheme, host and port of a URL as one string. Node's URL gives `origin === 'null'` for schemes it
 * does not know (`app:`), so the triple is compared instead of `URL.origin`.
 */
function originKey(u: URL): string {
  return `${u.protocol}//${u.hostname.toLowerCase()}:${u.port}`;
}

/** True when `url` has the same scheme, host and port as `appOrigin` (and carries no credentials). */
export function isSameOrigin(url: string, appOrigin: string): boolean {
  const u = parse(url);
  const a = parse(appOrigin);
  if (!u || !a || u.username !== '' || u.password !== '') return false;
  return originKey(u) === originKey(a);
}

/** True for `fieldcal-artifact://run/<id>/<name>` URLs: the only thing the report frame shows. */
export function isArtifactUrl(url: string): boolean {
  const u = parse(url);
  return u !== null && u.protocol === `${ARTIFACT_SCHEME}:` && u.hostname === 'run' && u.port === '';
}

/**
 * May a frame go to `url`? The main frame: only the app's own origin. A subframe (the run report):
 * the app's origin, a run artifact (links between a report's files), or a blank document.
 */
export function navigationAllowed(url: string, appOrigin: string, isMainFrame: boolean): boolean {
  if (isSameOrigin(url, appOrigin)) return true;
  if (isMainFrame) return false;
  return isArtifactUrl(url) || url === 'about:blank' || url === 'about:srcdoc';
}

/**
 * Documentation sites the app may open in the system browser without asking: GDAL's raster format
 * pages and the smash documentation (the sample data's model; its address as the hydro-smash package
 * on PyPI and the DassHydro/smash README give it). Any other https URL is shown to the user first.
 */
export const EXTERNAL_ALLOWLIST: ReadonlySet<string> = new Set([
  'https://gdal.org',
  'https://smash.recover.inrae.fr',
]);

export type ExternalDecision = 'open' | 'confirm' | 'deny';

/**
 * What `shell.openExternal` may do with `url` (checklist 15): an https URL on an allowlisted origin
 * opens; another https URL needs the user's confirmation; anything else (http, file:, smb:,
 * javascript:, custom schemes, credentials in the URL, non-default ports) is refused.
 */
export function externalDecision(
  url: string,
  allowlist: ReadonlySet<string> = EXTERNAL_ALLOWLIST,
): ExternalDecision {
  const u = parse(url);
  if (!u || u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.port !== '') return 'deny';
  if (!u.hostname || [...url].some((c) => c <= ' ' || c === '\u007f')) return 'deny';
  return allowlist.has(u.origin) ? 'open' : 'confirm';
}

/**
 * Permissions a page of the app needs: none (no camera, microphone, geolocation, notifications,
 * clipboard reads, MIDI, HID/USB/serial, fullscreen from the page ...). Checklist 5.
 */
export const NEEDED_PERMISSIONS: ReadonlySet<string> = new Set();

/**
 * Is `permission` granted to a page at `requestingUrl` (an origin or a full URL)? Only a permission
 * in `needed` and only for the app's own origin; everything else, from anywhere, is denied.
 */
export function permissionAllowed(
  permission: string,
  requestingUrl: string,
  appOrigin: string,
  needed: ReadonlySet<string> = NEEDED_PERMISSIONS,
): boolean {
  return needed.has(permission) && isSameOrigin(requestingUrl, appOrigin);
}

/**
 * The file under `root` (the built renderer, out/renderer) that `requestUrl` names, or null: wrong
 * scheme or host, a path that does not decode, holds NUL, a backslash or a drive letter, or that
 * resolves outside `root` after decoding (`..`, `%2e%2e`, `%2f`-smuggled separators, absolute paths).
 * `/` is `index.html`. Lexical only; the caller also requires a regular file (no symlink).
 */
export function resolveRendererPath(root: string, requestUrl: string): string | null {
  const u = parse(requestUrl);
  if (!u || u.protocol !== `${APP_SCHEME}:` || u.hostname !== APP_HOST || u.port !== '') return null;
  if (u.username !== '' || u.password !== '') return null;
  let path: string;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\') || /^\/*[a-zA-Z]:/.test(path)) return null;
  if (path.split('/').some((seg) => seg === '..')) return null;
  const rel = path.replace(/^\/+/, '') || 'index.html';
  if (isAbsolute(rel)) return null;
  const base = resolve(root);
  const file = resolve(base, rel);
  const inside = relative(base, file);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return null;
  if (inside.split(sep).includes('..')) return null;
  return file;
}

const RENDERER_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Response headers for a renderer file: its type, the CSP and no MIME sniffing. */
export function rendererHeaders(file: string): Record<string, string> {
  return {
    'content-type': RENDERER_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-security-policy': RENDERER_CSP,
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-cache',
  };
}

/** What the `app://` protocol answers: a status, headers and the body (null for HEAD or an error). */
export interface RendererResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer<ArrayBuffer> | null;
}

/**
 * The `app://` protocol's answer to `method url`: a regular file inside `root` (no symlink, no
 * folder) with {@link rendererHeaders}, or 404; 405 for anything but GET and HEAD.
 */
export async function loadRendererFile(root: string, method: string, url: string): Promise<RendererResponse> {
  const text = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: text, body: null };
  const file = resolveRendererPath(root, url);
  const st = file ? await lstat(file).catch(() => null) : null;
  const data = file && st?.isFile() ? await readFile(file).catch(() => null) : null;
  if (!file || !data) return { status: 404, headers: text, body: null };
  return { status: 200, headers: rendererHeaders(file), body: method === 'HEAD' ? null : data };
}

/**
 * `fieldcal-artifact://run/<runId>/<name>` → the run and the file name, or null: another host, a
 * port or credentials, an id that is not a positive integer, a name that does not decode, is empty,
 * `.`/`..`, or holds a slash, backslash or NUL.
 */
export function parseArtifactUrl(url: string): { runId: number; name: string } | null {
  const u = parse(url);
  if (!u || !isArtifactUrl(url) || u.username !== '' || u.password !== '') return null;
  const m = /^\/([1-9]\d{0,14})\/([^/]+)$/.exec(u.pathname);
  if (!m) return null;
  let name: string;
  try {
    name = decodeURIComponent(m[2]!);
  } catch {
    return null;
  }
  if (name === '.' || name === '..' || /[/\\\0]/.test(name)) return null;
  return { runId: Number(m[1]), name };
}
