/**
 * Browser mode: the contract over HTTP + WebSocket on 127.0.0.1 only.
 *   POST /api/<group>.<name>   JSON body -> ApiResponse JSON (Uint8Array as {"$bytes": base64})
 *   GET  /api/events?token=     WebSocket of ApiEvents
 *   GET  /files?path=&token=    an image or heat map, through the path guard (&thumb=N: a JPEG preview)
 *   GET  /...                   the built renderer (dist/renderer), or a page saying to build it
 * Every /api and /files request needs the per-start token (header `Authorization: Bearer`,
 * `X-BGAD-Token`, or `?token=` where a browser cannot set headers). The Host header must
 * name this server (no DNS rebinding), and WebSocket Origins must be this server's.
 * The event loop only routes: handlers are async and heavy work lives in the engine host.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENTS_PATH, FILES_PATH, type ApiEvent, type ApiHandlers } from '../common/api';
import { serializeError, type SerializedError } from '../common/errors';
import { decodeWire, encodeWire } from '../common/wire';
import { dispatch, type Logger } from './api-handlers';
import { guardFilePath } from './path-guard';
import { parseThumbSize, thumbnail } from './thumbnails';
import { contentTypeFor, STATIC_TYPES } from './static-types';
import { cspString } from '../common/csp';

export const LOOPBACK_HOST = '127.0.0.1';
const MAX_BODY_BYTES = 400 * 1024 * 1024;

export interface ApiServerOptions {
  handlers: ApiHandlers;
  /** Source of ApiEvents (the job hub). */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  /** Folders /files may serve from (data folder + imported roots), asked per request. */
  fileRoots(): Promise<string[]> | string[];
  /** Built renderer folder (dist/renderer). */
  rendererDir: string;
  /** Where image previews (`&thumb=N`) are cached. */
  thumbCacheDir: string;
  /** 0 = any free port. */
  port?: number;
  /** Fixed token (tests); default 32 random bytes per start. */
  token?: string;
  log?: Logger;
}

export interface RunningServer {
  server: Server;
  port: number;
  token: string;
  /** The address to open, token included. */
  url: string;
  close(): Promise<void>;
}

/** Browser mode also serves `.mjs`, `.woff` and source maps with their types. */
const SERVER_TYPES: Readonly<Record<string, string>> = {
  ...STATIC_TYPES,
  '.mjs': 'text/javascript; charset=utf-8',
  '.woff': 'font/woff',
  '.map': 'application/json',
};

export function statusFor(error: SerializedError): number {
  switch (error.code) {
    case 'BAD_ARGUMENT':
    case 'BAD_IMAGE':
    case 'BAD_DATASET':
    case 'BAD_MODEL':
    case 'BAD_BACKBONE':
    case 'MISSING_MASK':
      return 400;
    case 'UNAUTHORIZED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
    case 'CANCELLED':
      return 409;
    case 'IMAGE_TOO_LARGE':
      return 413;
    case 'DB_TOO_NEW':
    case 'DISK_FULL':
    case 'ENGINE_FAILED':
      return 500;
    case 'UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

function tokenMatches(given: string | undefined | null, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function requestToken(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-bgad-token'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('token') ?? undefined;
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = encodeWire(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: SerializedError): void {
  sendJson(res, statusFor(error), { ok: false, error });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        fail(Object.assign(new Error('too large'), { tooLarge: true }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>BGAD Inspector</title></head>
<body><h1>BGAD Inspector: the user interface is not built</h1>
<p>The server is running and its API answers, but <code>dist/renderer</code> is missing.</p>
<p>Build it with <code>npm run build</code> in the project folder, then reload this page.</p></body></html>`;

export async function startApiServer(opts: ApiServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const log = opts.log ?? ((m: string) => console.error(m));
  const rendererDir = resolve(opts.rendererDir);
  let port = 0;
  const allowedHosts = () => new Set([`${LOOPBACK_HOST}:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://${LOOPBACK_HOST}:${port}`, `http://localhost:${port}`]);

  async function serveApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendJson(res, 405, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'API methods are called with POST.' } });
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      return sendJson(res, 415, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'API requests must be sent as application/json.' } });
    }
    let args: unknown;
    try {
      const body = await readBody(req);
      args = body.length === 0 ? undefined : decodeWire(body.toString('utf8'));
    } catch (e) {
      if ((e as { tooLarge?: boolean }).tooLarge) return sendJson(res, 413, { ok: false, error: { code: 'IMAGE_TOO_LARGE', message: 'The request is too large.' } });
      return sendError(res, { code: 'BAD_ARGUMENT', message: `The request body is not valid JSON: ${(e as Error).message}` });
    }
    const answer = await dispatch(opts.handlers, method, args, log);
    if (!answer.ok) return sendError(res, answer.error);
    sendJson(res, 200, answer);
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Files are read with GET.' } });
    try {
      const roots = await opts.fileRoots();
      const file = await guardFilePath(url.searchParams.get('path') ?? '', roots);
      const thumb = parseThumbSize(url.searchParams.get('thumb'));
      if (thumb !== undefined) {
        const bytes = await thumbnail(file, thumb, opts.thumbCacheDir);
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': bytes.byteLength, 'Cache-Control': 'private, max-age=300' });
        return void res.end(req.method === 'HEAD' ? undefined : bytes);
      }
      res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': file.sizeBytes, 'Cache-Control': 'private, no-cache' });
      if (req.method === 'HEAD') return void res.end();
      const stream = createReadStream(file.path);
      stream.on('error', (e) => {
        log(`bgad: reading ${file.path} failed: ${e.message}`);
        res.destroy();
      });
      stream.pipe(res);
    } catch (e) {
      sendError(res, serializeError(e));
    }
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Only GET is allowed here.' } });
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return sendJson(res, 400, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Malformed path.' } });
    }
    if (rel.includes('\u0000') || rel.split(/[\\/]+/).includes('..')) return sendJson(res, 403, { ok: false, error: { code: 'FORBIDDEN', message: 'Refused path.' } });
    if (rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(rendererDir, rel));
    if (!file.startsWith(rendererDir + sep)) return sendJson(res, 403, { ok: false, error: { code: 'FORBIDDEN', message: 'Refused path.' } });
    const st = await stat(file).catch(() => undefined);
    res.setHeader('Content-Security-Policy', cspString({ 'frame-ancestors': "'none'" }));
    if (!st?.isFile()) {
      if (rel === '/index.html' && !existsSync(join(rendererDir, 'index.html'))) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        return void res.end(NOT_BUILT_PAGE);
      }
      return sendJson(res, 404, { ok: false, error: { code: 'NOT_FOUND', message: `No such page: ${rel}` } });
    }
    res.writeHead(200, {
      'Content-Type': contentTypeFor(file, SERVER_TYPES),
      'Content-Length': st.size,
      'Cache-Control': rel === '/index.html' ? 'no-store' : 'private, max-age=3600',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  }

  const server = createServer((req, res) => {
    securityHeaders(res);
    if (!allowedHosts().has(req.headers.host ?? '')) {
      return sendJson(res, 421, { ok: false, error: { code: 'FORBIDDEN', message: 'Unexpected Host header; use the address the server printed.' } });
    }
    const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${port}`);
    const isApi = url.pathname.startsWith('/api/');
    const isFiles = url.pathname === FILES_PATH;
    if ((isApi || isFiles) && !tokenMatches(requestToken(req, url), token)) {
      return sendError(res, { code: 'UNAUTHORIZED', message: 'Missing or wrong access token.', hint: 'Open the address that "bgad serve" printed, including ?token=...' });
    }
    const work = isApi ? serveApi(req, res, url) : isFiles ? serveFile(req, res, url) : serveStatic(req, res, url);
    work.catch((e: unknown) => {
      log(`bgad: ${req.method} ${url.pathname} failed: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) sendError(res, serializeError(e));
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${port}`);
    const origin = req.headers.origin;
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!allowedHosts().has(req.headers.host ?? '')) return refuse(421, 'Misdirected Request');
    if (url.pathname !== EVENTS_PATH) return refuse(404, 'Not Found');
    if (origin !== undefined && !allowedOrigins().has(origin)) return refuse(403, 'Forbidden');
    if (!tokenMatches(url.searchParams.get('token') ?? requestToken(req, url), token)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const clients = new Set<WebSocket>();
  wss.on('connection', (ws: WebSocket) => {
    clients.add(ws);
    (ws as WebSocket & { isAlive?: boolean }).isAlive = true;
    ws.on('pong', () => ((ws as WebSocket & { isAlive?: boolean }).isAlive = true));
    ws.on('close', () => clients.delete(ws));
    ws.on('error', (e) => log(`bgad: event socket error: ${e.message}`));
    ws.on('message', () => {
      // the event socket is one-way; messages from the page are ignored
    });
  });
  const unsubscribe = opts.subscribe((event) => {
    const text = encodeWire(event);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
  });
  const heartbeat = setInterval(() => {
    for (const ws of clients) {
      const w = ws as WebSocket & { isAlive?: boolean };
      if (!w.isAlive) {
        ws.terminate();
        continue;
      }
      w.isAlive = false;
      ws.ping();
    }
  }, 30_000);
  heartbeat.unref();

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, LOOPBACK_HOST, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    server,
    port,
    token,
    url: `http://${LOOPBACK_HOST}:${port}/?token=${encodeURIComponent(token)}`,
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      for (const ws of clients) ws.terminate();
      wss.close();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
    },
  };
}
