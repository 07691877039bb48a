// Issue 16, Electron hardening: the pure decisions behind the app:// protocol, the navigation and
// window guards, openExternal and the permission handlers (src-main/app/security.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import {
  APP_ENTRY_URL,
  APP_ORIGIN,
  EXTERNAL_ALLOWLIST,
  RENDERER_CSP,
  artifactCsp,
  externalDecision,
  isSameOrigin,
  loadRendererFile,
  navigationAllowed,
  parseArtifactUrl,
  permissionAllowed,
  rendererHeaders,
  resolveRendererPath,
} from '../../../../src-main/app/security';
import { mulberry32 } from '../../../../src-main/services/calibration/random';
import { tempDir } from '../../../helpers/tmp';

/** `name value` pairs of a CSP string. */
function directives(csp: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of csp.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name, values.join(' '));
  }
  return out;
}

describe('CSP as a response header', () => {
  const html = readFileSync(resolve(__dirname, '../../../../src-renderer/index.html'), 'utf8');
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';

  it('repeats every directive of the renderer meta tag, value for value', () => {
    const fromMeta = directives(meta);
    const header = directives(RENDERER_CSP);
    expect(fromMeta.size).toBe(10);
    for (const [name, value] of fromMeta) expect([name, header.get(name)]).toEqual([name, value]);
  });

  it("adds frame-ancestors 'none' and nothing else, with no inline or eval script", () => {
    const header = directives(RENDERER_CSP);
    expect(header.get('frame-ancestors')).toBe("'none'");
    expect(header.size).toBe(directives(meta).size + 1);
    expect(header.get('script-src')).toBe("'self'");
    expect(RENDERER_CSP).not.toMatch(/unsafe-(inline|eval)|\*/);
  });

  it('is sent with every renderer file, with its type and nosniff', () => {
    const h = rendererHeaders('/x/assets/index-abc.js');
    expect(h['content-security-policy']).toBe(RENDERER_CSP);
    expect(h['content-type']).toBe('text/javascript; charset=utf-8');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(rendererHeaders('/x/index.html')['content-type']).toBe('text/html; charset=utf-8');
    expect(rendererHeaders('/x/blob.bin')['content-type']).toBe('application/octet-stream');
  });

  it('lets a run report be framed by the app only, with no script', () => {
    const a = directives(artifactCsp(APP_ORIGIN));
    expect(a.get('frame-ancestors')).toBe('app://fieldcal');
    expect(a.get('default-src')).toBe("'none'");
    expect(a.has('script-src')).toBe(false);
    expect(directives(artifactCsp('http://localhost:5173')).get('frame-ancestors')).toBe(
      'http://localhost:5173',
    );
  });
});

describe('origin of the app', () => {
  it('accepts the app scheme and host only', () => {
    expect(isSameOrigin(APP_ENTRY_URL, APP_ORIGIN)).toBe(true);
    expect(isSameOrigin('app://fieldcal/assets/index.js?x=1#y', APP_ORIGIN)).toBe(true);
    expect(isSameOrigin('app://FIELDCAL/index.html', APP_ORIGIN)).toBe(true);
    for (const url of [
      'app://fieldcal.evil.com/index.html',
      'app://evil/index.html',
      'app://fieldcal:8080/index.html',
      'app://user:pw@fieldcal/index.html',
      'https://fieldcal/index.html',
      'file:///opt/fieldcal/out/renderer/index.html',
      'fieldcal-artifact://run/1/index.html',
      'null',
      '',
      'app://fieldcal%00/',
    ]) {
      expect([url, isSameOrigin(url, APP_ORIGIN)]).toEqual([url, false]);
    }
  });

  it('compares scheme, host and port of a dev server', () => {
    const dev = 'http://localhost:5173';
    expect(isSameOrigin('http://localhost:5173/src/main.ts', dev)).toBe(true);
    expect(isSameOrigin('http://localhost:5174/', dev)).toBe(false);
    expect(isSameOrigin('https://localhost:5173/', dev)).toBe(false);
    expect(isSameOrigin('http://127.0.0.1:5173/', dev)).toBe(false);
  });
});

describe('navigation guard (will-navigate, will-frame-navigate, will-redirect)', () => {
  const hostile = [
    'https://example.com/',
    'http://127.0.0.1:8080/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'blob:app://fieldcal/1234',
    'chrome://gpu',
    'devtools://devtools/bundled/inspector.html',
    'smb://attacker/share',
    'app://evil/index.html',
    'not a url',
  ];

  it('keeps the main frame on the app', () => {
    expect(navigationAllowed('app://fieldcal/index.html', APP_ORIGIN, true)).toBe(true);
    for (const url of [...hostile, 'fieldcal-artifact://run/3/index.html', 'about:blank']) {
      expect([url, navigationAllowed(url, APP_ORIGIN, true)]).toEqual([url, false]);
    }
  });

  it('lets the report frame show run artifacts and nothing from outside', () => {
    expect(navigationAllowed('fieldcal-artifact://run/3/index.html', APP_ORIGIN, false)).toBe(true);
    expect(navigationAllowed('fieldcal-artifact://run/3/metrics.json', APP_ORIGIN, false)).toBe(true);
    expect(navigationAllowed('about:blank', APP_ORIGIN, false)).toBe(true);
    expect(navigationAllowed('fieldcal-artifact://other/3/x', APP_ORIGIN, false)).toBe(false);
    for (const url of hostile) expect([url, navigationAllowed(url, APP_ORIGIN, false)]).toEqual([url, false]);
  });
});

describe('shell.openExternal decision', () => {
  it('opens allowlisted https documentation directly', () => {
    expect(externalDecision('https://gdal.org/en/stable/drivers/raster/gtiff.html')).toBe('open');
    expect(externalDecision('https://smash.recover.inrae.fr/')).toBe('open');
    for (const origin of EXTERNAL_ALLOWLIST) expect(origin.startsWith('https://')).toBe(true);
  });

  it('asks before any other https URL, lookalikes included', () => {
    expect(externalDecision('https://gdal.org.evil.com/')).toBe('confirm');
    expect(externalDecision('https://evil.com/?u=https://gdal.org')).toBe('confirm');
    expect(externalDecision('https://sub.gdal.org/')).toBe('confirm');
  });

  it('refuses every other scheme, credentials, ports and control characters', () => {
    for (const url of [
      'http://gdal.org/',
      'file:///etc/passwd',
      'file://attacker/share/x.exe',
      'smb://attacker/share',
      'javascript:alert(1)',
      'ms-msdt:/id PCWDiagnostic',
      'vbscript:msgbox',
      'data:text/html,x',
      'app://fieldcal/index.html',
      'https://user@gdal.org/',
      'https://gdal.org:8443/',
      'https://gdal.org/\nx',
      'https://gdal.org/ x',
      'https://',
      'not a url',
      '',
    ]) {
      expect([url, externalDecision(url)]).toEqual([url, 'deny']);
    }
  });
});

describe('permission check and request handlers', () => {
  const all = [
    'clipboard-read',
    'clipboard-sanitized-write',
    'display-capture',
    'fullscreen',
    'geolocation',
    'hid',
    'idle-detection',
    'media',
    'mediaKeySystem',
    'midi',
    'midiSysex',
    'notifications',
    'openExternal',
    'pointerLock',
    'keyboardLock',
    'serial',
    'speaker-selection',
    'storage-access',
    'top-level-storage-access',
    'usb',
    'window-management',
    'fileSystem',
    'unknown',
  ];

  it('denies every permission, to the app itself and to anyone else', () => {
    for (const p of all) {
      for (const from of [
        APP_ORIGIN,
        'app://fieldcal/index.html',
        'https://evil.com',
        'fieldcal-artifact://run',
        '',
      ]) {
        expect([p, from, permissionAllowed(p, from, APP_ORIGIN)]).toEqual([p, from, false]);
      }
    }
  });

  it('would grant a needed permission to the app origin only', () => {
    const needed = new Set(['clipboard-sanitized-write']);
    expect(
      permissionAllowed('clipboard-sanitized-write', 'app://fieldcal/index.html', APP_ORIGIN, needed),
    ).toBe(true);
    expect(permissionAllowed('clipboard-sanitized-write', 'https://evil.com/', APP_ORIGIN, needed)).toBe(
      false,
    );
    expect(
      permissionAllowed('clipboard-sanitized-write', 'fieldcal-artifact://run/1/x', APP_ORIGIN, needed),
    ).toBe(false);
    expect(permissionAllowed('media', 'app://fieldcal/index.html', APP_ORIGIN, needed)).toBe(false);
  });
});

describe('app:// path resolution', () => {
  const root = resolve('/srv/fieldcal/out/renderer');
  const inRoot = (...p: string[]) => join(root, ...p);

  it('maps the app URL onto files of out/renderer', () => {
    expect(resolveRendererPath(root, 'app://fieldcal/')).toBe(inRoot('index.html'));
    expect(resolveRendererPath(root, 'app://fieldcal')).toBe(inRoot('index.html'));
    expect(resolveRendererPath(root, 'app://fieldcal/index.html')).toBe(inRoot('index.html'));
    expect(resolveRendererPath(root, 'app://fieldcal/assets/index-B8b3.js?v=1#x')).toBe(
      inRoot('assets', 'index-B8b3.js'),
    );
    expect(resolveRendererPath(root, 'app://fieldcal/assets/a%20b.css')).toBe(inRoot('assets', 'a b.css'));
  });

  it('keeps dot segments the URL parser removes inside the root', () => {
    // WHATWG URL parsing drops `..` and `%2e%2e` segments before the path is seen
    expect(resolveRendererPath(root, 'app://fieldcal/../../../etc/passwd')).toBe(inRoot('etc', 'passwd'));
    expect(resolveRendererPath(root, 'app://fieldcal/%2e%2e/%2e%2e/etc/passwd')).toBe(
      inRoot('etc', 'passwd'),
    );
    expect(resolveRendererPath(root, 'app://fieldcal/assets/%2E%2E/index.html')).toBe(inRoot('index.html'));
    expect(resolveRendererPath(root, 'app://fieldcal/%2e%2e')).toBe(inRoot('index.html'));
  });

  it('refuses encoded separators, absolute paths, backslashes, drive letters and NUL', () => {
    for (const url of [
      'app://fieldcal/..%2f..%2fetc%2fpasswd',
      'app://fieldcal/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      'app://fieldcal/assets/..%2F..%2F..%2Fetc%2Fpasswd',
      'app://fieldcal/%2e%2e%5c%2e%2e%5cwindows%5cwin.ini',
      'app://fieldcal/..%5c..%5cetc',
      'app://fieldcal/C:/Windows/win.ini',
      'app://fieldcal/c:%5cWindows%5cwin.ini',
      'app://fieldcal/index.html%00.png',
      'app://fieldcal/%00',
      'app://fieldcal/%E0%A4%A',
      'app://fieldcal/%',
      'app://evil/index.html',
      'app://fieldcal:8080/index.html',
      'app://u:p@fieldcal/index.html',
      'file:///etc/passwd',
      'fieldcal-artifact://run/1/index.html',
      '/etc/passwd',
      '',
    ]) {
      expect([url, resolveRendererPath(root, url)]).toEqual([url, null]);
    }
    // an absolute path smuggled as %2F stays under the root
    expect(resolveRendererPath(root, 'app://fieldcal/%2Fetc%2Fpasswd')).toBe(inRoot('etc', 'passwd'));
    expect(resolveRendererPath(root, 'app://fieldcal//etc/passwd')).toBe(inRoot('etc', 'passwd'));
  });

  it('never leaves the root for 5000 seeded hostile paths', () => {
    const rand = mulberry32(16);
    const parts = [
      '..',
      '%2e%2e',
      '%2E%2e',
      '.',
      '%2f',
      '%2F',
      '%5c',
      '/',
      '//',
      'etc',
      'passwd',
      '%00',
      '%',
      'a',
      '~',
      ':',
      'C:',
    ];
    let inside = 0;
    for (let i = 0; i < 5000; i++) {
      let path = '';
      const n = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < n; k++)
        path += parts[Math.floor(rand() * parts.length)]! + (rand() < 0.5 ? '/' : '');
      const got = resolveRendererPath(root, `app://fieldcal/${path}`);
      if (got !== null) {
        expect([path, got.startsWith(root + sep)]).toEqual([path, true]);
        inside++;
      }
    }
    expect(inside).toBeGreaterThan(100);
  });
});

describe('app:// file loading', () => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  beforeAll(() => {
    tmp = tempDir();
    root = join(tmp.dir, 'renderer');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Fieldcal</title>');
    writeFileSync(join(root, 'assets', 'main.js'), 'console.log(1)');
    writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');
    symlinkSync(join(tmp.dir, 'secret.txt'), join(root, 'assets', 'link.js'));
  });
  afterAll(() => tmp.cleanup());

  it('serves a file with the CSP header', async () => {
    const r = await loadRendererFile(root, 'GET', 'app://fieldcal/');
    expect(r.status).toBe(200);
    expect(r.body?.toString()).toBe('<!doctype html><title>Fieldcal</title>');
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const js = await loadRendererFile(root, 'GET', 'app://fieldcal/assets/main.js');
    expect([js.status, js.body?.toString(), js.headers['content-type']]).toEqual([
      200,
      'console.log(1)',
      'text/javascript; charset=utf-8',
    ]);
    const head = await loadRendererFile(root, 'HEAD', 'app://fieldcal/assets/main.js');
    expect([head.status, head.body]).toEqual([200, null]);
  });

  it('answers 404 for a symlink out, a folder, a missing file or a traversal, 405 for POST', async () => {
    for (const url of [
      'app://fieldcal/assets/link.js',
      'app://fieldcal/assets',
      'app://fieldcal/assets/',
      'app://fieldcal/nope.js',
      'app://fieldcal/..%2fsecret.txt',
      'app://fieldcal/%2e%2e%2fsecret.txt',
      'app://fieldcal/index.html%00',
    ]) {
      const r = await loadRendererFile(root, 'GET', url);
      expect([url, r.status, r.body]).toEqual([url, 404, null]);
    }
    expect((await loadRendererFile(root, 'POST', 'app://fieldcal/index.html')).status).toBe(405);
  });
});

describe('run artifact URLs', () => {
  it('reads the run and the file name', () => {
    expect(parseArtifactUrl('fieldcal-artifact://run/3/index.html')).toEqual({
      runId: 3,
      name: 'index.html',
    });
    expect(parseArtifactUrl('fieldcal-artifact://run/12/gauge%20A.png')).toEqual({
      runId: 12,
      name: 'gauge A.png',
    });
  });

  it('refuses traversal, NUL, bad ids, other hosts and malformed escapes', () => {
    for (const url of [
      'fieldcal-artifact://run/3/..',
      'fieldcal-artifact://run/3/%2e%2e',
      'fieldcal-artifact://run/3/..%2fsecret',
      'fieldcal-artifact://run/3/a%2fb',
      'fieldcal-artifact://run/3/a%5cb',
      'fieldcal-artifact://run/3/a%00.png',
      'fieldcal-artifact://run/3/%E0%A4%A',
      'fieldcal-artifact://run/0/index.html',
      'fieldcal-artifact://run/-1/index.html',
      'fieldcal-artifact://run/abc/index.html',
      'fieldcal-artifact://run/3/',
      'fieldcal-artifact://run/3/a/b',
      'fieldcal-artifact://other/3/index.html',
      'fieldcal-artifact://run:1/3/index.html',
      'app://fieldcal/3/index.html',
    ]) {
      expect([url, parseArtifactUrl(url)]).toEqual([url, null]);
    }
  });
});
