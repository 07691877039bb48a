import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** A fresh random token for one launch of the bridge (256 bits, URL-safe). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time token comparison. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** A host and port as a browser names them: hostname lower-cased, IPv6 without brackets. */
export interface HostPort {
  hostname: string;
  port: number;
}

// RFC 3986 §3.2.2 host (reg-name or IPv4, or an IPv6 literal in brackets) and §3.2.3 port, nothing else.
const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/;

/**
 * Parses `host[:port]` strictly (a Host header or the authority of an Origin); null for anything
 * else: spaces, userinfo, paths, unclosed brackets, ports out of range. Never throws.
 */
export function parseHostPort(value: string | undefined, defaultPort: number): HostPort | null {
  if (typeof value !== 'string' || value.length > 300) return null;
  const m = HOST_PORT.exec(value);
  if (!m) return null;
  const v6 = m[1];
  if (v6 !== undefined && isIP(v6) !== 6) return null;
  const hostname = (v6 ?? m[2]!).toLowerCase();
  if (hostname === '' || hostname.startsWith('.') || hostname.includes('..')) return null;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { hostname, port };
}

/** Hostname of a Host header (without port), lower-cased; null when the header is not a valid host. */
export function hostnameOf(hostHeader: string | undefined): string | null {
  return parseHostPort(hostHeader, 80)?.hostname ?? null;
}

/**
 * Parses an Origin header (RFC 6454 §7: `scheme "://" host [ ":" port ]`, or `null`) strictly; null for
 * `null`, anything with a path, userinfo or spaces, and any scheme other than http/https. Never throws.
 */
export function parseOrigin(origin: string): (HostPort & { scheme: 'http' | 'https' }) | null {
  const m = /^(https?):\/\/([^/?#@\s]+)$/i.exec(origin);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase() as 'http' | 'https';
  const hp = parseHostPort(m[2], scheme === 'http' ? 80 : 443);
  return hp ? { scheme, ...hp } : null;
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

/** A request target split and decoded: the path (percent-decoded) and the query parameters. */
export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

/**
 * Parses an origin-form request target (RFC 9112 §3.2.1: `/path[?query]`); null for any other form
 * (absolute URLs, `*`, `//host/...`), bad percent-encoding, or a NUL or backslash in the decoded path.
 */
export function parseTarget(raw: string | undefined): RequestTarget | null {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('#'))
    return null;
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (/[\0\\]/.test(path)) return null;
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  } catch {
    return null;
  }
  return { path, query };
}

/** What one request carries, as the bridge checks it. */
export interface Admission {
  /** Host header: must name this server (DNS-rebinding guard). */
  host: string | undefined;
  /** Origin header: when present, must be exactly this server (scheme, host and port). */
  origin: string | undefined;
  /** Raw request target. */
  url: string | undefined;
}

export type AdmitResult =
  | { ok: true; target: RequestTarget; host: HostPort }
  | { ok: false; status: 400 | 403 | 421; reason: string };

/**
 * The one check every HTTP request and WebSocket upgrade passes before anything else reads its
 * headers or path: Host names this server (a loopback name when bound to loopback) on its port, an
 * Origin if sent is `http://<that host>:<that port>`, and the target is a well-formed path. The
 * token is checked by the caller on the parsed target (query or cookie) or the sub-protocol.
 */
export function admit(
  req: Admission,
  server: { boundHost: string; port: number; allowedHosts: ReadonlySet<string> },
): AdmitResult {
  const host = parseHostPort(req.host, 80);
  const hostOk =
    host !== null &&
    host.port === server.port &&
    (server.allowedHosts.has(host.hostname) || (isLoopback(server.boundHost) && isLoopback(host.hostname)));
  if (!hostOk) return { ok: false, status: 421, reason: 'unexpected Host header' };
  if (req.origin !== undefined) {
    const o = parseOrigin(req.origin);
    // Cross-site request guard: a browser page of any other origin (including sandboxed `null`) is refused.
    if (!o || o.scheme !== 'http' || o.hostname !== host.hostname || o.port !== server.port)
      return { ok: false, status: 403, reason: 'cross-origin request refused' };
  }
  const target = parseTarget(req.url);
  if (!target) return { ok: false, status: 400, reason: 'malformed request path' };
  return { ok: true, target, host };
}
