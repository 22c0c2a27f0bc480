/**
 * Content types of the built renderer's files, shared by the browser-mode server
 * (http-server.ts) and the desktop app's bgad:// protocol (src-main/app/protocol.ts).
 */
import { extname } from 'node:path';

export const STATIC_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** The Content-Type for a file by its extension; unknown extensions are served as bytes. */
export function contentTypeFor(file: string, types: Readonly<Record<string, string>> = STATIC_TYPES): string {
  return types[extname(file).toLowerCase()] ?? 'application/octet-stream';
}
