/**
 * The bgad:// protocol: `bgad://app/...` serves the built renderer, and
 * `bgad://app/files?path=...` serves images and heat maps through the same path guard as
 * browser mode. The handler is a plain (Request) => Response function, so it is tested in Node.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, resolve, sep } from 'node:path';
import type { Protocol } from 'electron';
import { APP_PROTOCOL, FILES_PATH } from '../common/api';
import { cspString, DESKTOP_CSP_OVERRIDES } from '../common/csp';
import { serializeError } from '../common/errors';
import { guardFileWithRoots } from '../api-host/path-guard';
import { parseThumbSize, thumbnail } from '../api-host/thumbnails';
import { contentTypeFor } from '../api-host/static-types';

/** Must run before the app is ready. */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_PROTOCOL, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

export interface ProtocolOptions {
  rendererDir: string;
  /** Where image previews (`&thumb=N`) are cached. */
  thumbCacheDir: string;
  fileRoots(fresh?: boolean): Promise<string[]> | string[];
  /** Images the importer recorded are shown wherever they lie (see path-guard.ts). */
  isImportedImage?(path: string): Promise<boolean> | boolean;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' } });
}

export function createProtocolHandler(opts: ProtocolOptions): (request: Request) => Promise<Response> {
  const rendererDir = resolve(opts.rendererDir);
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return text(400, 'Bad URL');
    }
    if (url.protocol !== `${APP_PROTOCOL}:` || url.host !== 'app') return text(404, 'Not found');
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Only GET');
    if (url.pathname === FILES_PATH) {
      try {
        const file = await guardFileWithRoots(url.searchParams.get('path') ?? '', (fresh) => opts.fileRoots(fresh), process.platform, { isImportedImage: opts.isImportedImage });
        const thumb = parseThumbSize(url.searchParams.get('thumb'));
        if (thumb !== undefined) {
          return new Response(Buffer.from(await thumbnail(file, thumb, opts.thumbCacheDir)) as unknown as BodyInit, { headers: { 'Content-Type': 'image/jpeg', 'X-Content-Type-Options': 'nosniff' } });
        }
        return new Response((await readFile(file.path)) as unknown as BodyInit, { headers: { 'Content-Type': file.contentType, 'X-Content-Type-Options': 'nosniff' } });
      } catch (e) {
        const err = serializeError(e);
        return text(err.code === 'NOT_FOUND' ? 404 : err.code === 'FORBIDDEN' ? 403 : err.code === 'BAD_ARGUMENT' || err.code === 'BAD_IMAGE' ? 400 : 500, err.message);
      }
    }
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return text(400, 'Bad path');
    }
    if (rel.includes('\u0000') || rel.split(/[\\/]+/).includes('..')) return text(403, 'Refused path');
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(rendererDir, rel));
    if (!file.startsWith(rendererDir + sep)) return text(403, 'Refused path');
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return text(404, `Not found: ${rel}`);
    return new Response(await readFile(file), {
      headers: {
        'Content-Type': contentTypeFor(file),
        'Content-Security-Policy': cspString(DESKTOP_CSP_OVERRIDES),
        'X-Content-Type-Options': 'nosniff',
      },
    });
  };
}

export function setupProtocol(protocol: Pick<Protocol, 'handle'>, opts: ProtocolOptions): void {
  protocol.handle(APP_PROTOCOL, createProtocolHandler(opts));
}
