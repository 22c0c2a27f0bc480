import { mkdtempSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProtocolHandler } from '../../src-main/app/protocol';

let dir: string;
let handle: (r: Request) => Promise<Response>;

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'bgad-proto-')));
  mkdirSync(join(dir, 'renderer', 'assets'), { recursive: true });
  mkdirSync(join(dir, 'data', 'heatmaps'), { recursive: true });
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'renderer', 'assets', 'a.js'), 'export {}');
  writeFileSync(join(dir, 'data', 'heatmaps', 'h.png'), 'png');
  writeFileSync(join(dir, 'secret.png'), 'secret');
  symlinkSync(join(dir, 'secret.png'), join(dir, 'data', 'heatmaps', 'link.png'));
  handle = createProtocolHandler({ rendererDir: join(dir, 'renderer'), thumbCacheDir: join(dir, 'data', 'thumbnails'), fileRoots: () => [join(dir, 'data')] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (p: string) => handle(new Request(`bgad://app/files?path=${encodeURIComponent(p)}`));

describe('bgad:// protocol', () => {
  it('serves the renderer with the CSP header', async () => {
    const res = await handle(new Request('bgad://app/'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self';");
    expect((await handle(new Request('bgad://app/assets/a.js'))).headers.get('content-type')).toContain('javascript');
  });

  it('serves heat maps from the data folder through the path guard', async () => {
    const res = await file(join(dir, 'data', 'heatmaps', 'h.png'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('png');
  });

  it('refuses "..", paths outside the roots and symlink escapes', async () => {
    expect((await file(`${dir}/data/../secret.png`)).status).toBe(403);
    expect((await file(join(dir, 'secret.png'))).status).toBe(403);
    expect((await file(join(dir, 'data', 'heatmaps', 'link.png'))).status).toBe(403);
    expect((await handle(new Request('bgad://app/..%2f..%2fsecret.png'))).status).toBe(403);
  });

  it('serves an image the importer recorded even where it links outside the folders, as browser mode does', async () => {
    const link = join(dir, 'data', 'heatmaps', 'link.png');
    const desktop = createProtocolHandler({
      rendererDir: join(dir, 'renderer'),
      thumbCacheDir: join(dir, 'data', 'thumbnails'),
      fileRoots: () => [join(dir, 'data')],
      isImportedImage: (p) => p === link,
    });
    const res = await desktop(new Request(`bgad://app/files?path=${encodeURIComponent(link)}`));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('secret');
    expect((await desktop(new Request(`bgad://app/files?path=${encodeURIComponent(join(dir, 'secret.png'))}`))).status).toBe(403);
  });

  it('answers only for the app host', async () => {
    expect((await handle(new Request('bgad://other/index.html'))).status).toBe(404);
  });
});
