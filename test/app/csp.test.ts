/**
 * The Content-Security-Policy allows no inline styles: no 'unsafe-inline' in style-src, for the
 * desktop app (session header and bgad://), browser mode (response header) and the meta tag of
 * the built page. That works because the renderer sets styles only through the DOM
 * (element.style, which the policy does not govern) and ships its CSS as files: the freshly
 * built renderer has no <style> elements and no style="..." attributes in its HTML templates.
 * Chromium itself checks the running app in the e2e suite (CSP violations are console errors).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cspString, CSP_DIRECTIVES, DESKTOP_CSP_OVERRIDES } from '../../src-main/common/csp';
import { createProtocolHandler } from '../../src-main/app/protocol';
import { startApiServer } from '../../src-main/api-host/http-server';

const root = join(import.meta.dirname, '..', '..');
let out: string;
let html: string;
let scripts: string;
let css: string;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'bgad-csp-'));
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
  html = readFileSync(join(out, 'index.html'), 'utf8');
  const assets = readdirSync(join(out, 'assets'));
  scripts = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(out, 'assets', f), 'utf8')).join('\n');
  css = assets.filter((f) => f.endsWith('.css')).map((f) => readFileSync(join(out, 'assets', f), 'utf8')).join('\n');
}, 180_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

const styleSrc = (policy: string) => policy.split(';').map((d) => d.trim()).filter((d) => /^style-src/.test(d));

describe('Content-Security-Policy', () => {
  it('allows styles from the app only, no inline styles, in every place the policy is sent', async () => {
    expect(CSP_DIRECTIVES['style-src']).toBe("'self'");
    const desktop = cspString(DESKTOP_CSP_OVERRIDES);
    const browser = cspString({ 'frame-ancestors': "'none'" });
    for (const policy of [cspString(), desktop, browser]) {
      expect(policy).not.toContain('unsafe-inline');
      expect(policy).not.toContain('unsafe-eval');
      expect(styleSrc(policy)).toEqual(["style-src 'self'"]);
    }
    // as served: bgad:// (desktop) and browser mode
    const proto = createProtocolHandler({ rendererDir: out, thumbCacheDir: join(out, 'thumbs'), fileRoots: () => [] });
    expect((await proto(new Request('bgad://app/index.html'))).headers.get('content-security-policy')).toBe(desktop);
    const server = await startApiServer({ handlers: {} as never, subscribe: () => () => undefined, fileRoots: () => [], rendererDir: out, thumbCacheDir: join(out, 'thumbs') });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(browser);
    } finally {
      await server.close();
    }
  });

  it('is in the built page as a meta tag, and the page has no inline styles', () => {
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1];
    expect(meta?.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&')).toBe(cspString());
    expect(html).not.toMatch(/<style[\s>]/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).toMatch(/<link rel="stylesheet"[^>]+href="\.\/assets\/[^"]+\.css"/);
    expect(css.length).toBeGreaterThan(1000); // the components' CSS is in the file
  });

  it('the built renderer adds no <style> elements and no style attributes through markup', () => {
    // Svelte turns static markup into HTML templates; a style="..." there is an inline style the policy blocks
    const inMarkup = [...scripts.matchAll(/<[a-z][a-z0-9-]*\s[^<>]*?\bstyle=\\?["'][^"'\\]*/gi)].map((m) => m[0].slice(0, 120));
    expect(inMarkup).toEqual([]);
    expect(scripts).not.toMatch(/createElement\(\s*["']style["']\s*\)/);
    expect(scripts).not.toMatch(/setAttribute\(\s*["']style["']/);
    expect(scripts).not.toMatch(/<style[\s>]/i);
  });
});
