/**
 * Browser mode: the contract over HTTP + WebSocket on 127.0.0.1 only.
 *   POST /api/<group>.<name>   JSON body -> ApiResponse JSON (Uint8Array as {"$bytes": base64})
 *   GET  /api/events            WebSocket of ApiEvents
 *   GET  /files?path=           an image or heat map, through the path guard (&thumb=N: a JPEG preview)
 *   GET  /...                   the built renderer (dist/renderer), or a page saying to build it
 *   /v1/inspect, /v1/health     the inference API for line controllers (v1-api.ts), when started
 *                               with one (`bgad serve --api`); 404 otherwise
 * Who may call:
 *   - /api needs the per-start token in a header (`Authorization: Bearer` or `X-BGAD-Token`),
 *     never in the address.
 *   - The token in the address (`/?token=`) is accepted once per page load, by the page
 *     itself: it sets a session cookie (HttpOnly, SameSite=Strict, Path=/, another random
 *     value than the token) with which the browser loads images (/files) and opens the event
 *     socket, where it cannot set headers. /files and the socket also take the header.
 *   - Requests that say they come from another site are refused (403): an Origin that is not
 *     this server's, or Sec-Fetch-Site other than same-origin/none. Another port of this
 *     computer is another site.
 *   - The Host header must name this server (no DNS rebinding).
 *   - /v1 is for programs: its key (v1-api.ts) instead of the token or cookie, and the same
 *     other-site refusal (a web page cannot use a key it does not have, nor ride on cookies).
 *   - Loopback only. With `host` (`bgad serve --api --host ADDR`) the server also listens on
 *     that interface, where it answers /v1 only: the app's pages, /api, /files and the event
 *     socket stay reachable from this computer only.
 * Bodies above 400 MB are answered 413 as soon as that is known (Content-Length, or a chunked
 * body passing it); bodies are read without copies (request-body.ts).
 * The event loop only routes: handlers are async and heavy work lives in the engine host.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENTS_PATH, FILES_PATH, type ApiEvent, type ApiHandlers } from '../common/api';
import { AppError, serializeError, type SerializedError } from '../common/errors';
import { encodeWire } from '../common/wire';
import { dispatch, type Logger } from './dispatch';
import { guardFileWithRoots } from './path-guard';
import { parseThumbSize, thumbnail } from './thumbnails';
import { contentTypeFor, STATIC_TYPES } from './static-types';
import { cspString } from '../common/csp';
import { BodyTooLargeError, declaredLength, decodeWireBody, lingerOnClose, readBody } from './request-body';
import { V1_PREFIX, type V1Api } from './v1-api';

export const LOOPBACK_HOST = '127.0.0.1';
export const MAX_BODY_BYTES = 400 * 1024 * 1024;

export interface ApiServerOptions {
  handlers: ApiHandlers;
  /** Source of ApiEvents (the job hub). */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  /** Folders /files may serve from (data folder + imported roots), asked per request. */
  fileRoots(fresh?: boolean): Promise<string[]> | string[];
  /** Built renderer folder (dist/renderer). */
  rendererDir: string;
  /** Where image previews (`&thumb=N`) are cached. */
  thumbCacheDir: string;
  /**
   * Whether a path is an image the importer recorded: served even where it is a symbolic link
   * to a file outside the imported folder, as the importer accepted it.
   */
  isImportedImage?(path: string): Promise<boolean> | boolean;
  /** 0 = any free port. */
  port?: number;
  /** Fixed token (tests); default 32 random bytes per start. */
  token?: string;
  log?: Logger;
  /** The inference API for line controllers (`/v1`); without it /v1 answers 404. */
  v1?: V1Api;
  /**
   * An address of a network interface to listen on as well (`--host`), for /v1 only. A
   * loopback address changes nothing; a wildcard (0.0.0.0, ::) listens there alone (it covers
   * loopback too).
   */
  host?: string;
}

export interface RunningServer {
  server: Server;
  port: number;
  token: string;
  /** The address to open, token included (it starts the page's session). */
  url: string;
  /** Where /v1 is reachable from the network (`host`), e.g. http://192.168.1.20:8080; null on loopback only. */
  networkUrl: string | null;
  close(): Promise<void>;
}

/** Whether an address (of a socket, or given with --host) is this computer's loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  return a === 'localhost' || a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

/** Whether --host names every interface at once. */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}

/** An address as it goes into a URL (IPv6 in brackets). */
const urlHost = (address: string) => (isIP(address) === 6 ? `[${address}]` : address);

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
    case 'DB_TOO_OLD':
    case 'DISK_FULL':
    case 'READ_ONLY':
    case 'IO_ERROR':
    case 'ENGINE_FAILED':
      // a named condition of this PC, not a bug: the body carries the code, message and hint
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

/** The token from a header (`Authorization: Bearer` or `X-BGAD-Token`); the address never counts. */
function headerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-bgad-token'];
  return typeof header === 'string' ? header : undefined;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const mb = (bytes: number) => Math.ceil(bytes / (1024 * 1024));

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

/** 413 with words, then the connection closes (after the client had time to read it). */
function sendTooLarge(req: IncomingMessage, res: ServerResponse, limit: number, declared?: number): void {
  req.resume();
  lingerOnClose(req.socket);
  res.setHeader('Connection', 'close');
  const size = declared !== undefined && Number.isFinite(declared) ? ` (${mb(declared)} MB)` : '';
  sendJson(res, 413, {
    ok: false,
    error: {
      code: 'IMAGE_TOO_LARGE',
      message: `The request is too large${size}: the server accepts at most ${mb(limit)} MB per request.`,
      hint: 'Give the path of a large image instead of dropping it, or make it smaller.',
    },
  });
}

/** A port that cannot be used, in words (subject 'port'); other errors as they are. */
function listenError(e: unknown, port: number, host = LOOPBACK_HOST): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new AppError('BAD_ARGUMENT', `${host} is not an address of this computer`, {
      subject: 'port',
      hint: 'give --host the address of one of its network interfaces (ip addr / ipconfig lists them), or 0.0.0.0 for all',
      cause: e,
    });
  }
  if (code === 'EADDRINUSE') {
    return new AppError('CONFLICT', `Port ${port} on ${host} is already in use`, {
      subject: 'port',
      hint: 'stop the program that uses it, or choose another port with --port N (or leave --port out to take a free one)',
      cause: e,
    });
  }
  if (code === 'EACCES') {
    return new AppError('FORBIDDEN', `Port ${port} on ${host} may not be used by this user`, {
      subject: 'port',
      hint: 'choose a port above 1023 with --port N (or leave --port out to take a free one)',
      cause: e,
    });
  }
  return e;
}

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>BGAD Inspector</title></head>
<body><h1>BGAD Inspector: the user interface is not built</h1>
<p>The server is running and its API answers, but <code>dist/renderer</code> is missing.</p>
<p>Build it with <code>npm run build</code> in the project folder, then reload this page.</p></body></html>`;

/** Who may call: the token, the page's session and the addresses of this server (its port is known once it listens). */
interface Gate {
  token: string;
  /** The page's session (the cookie's value): random per start, not the token. */
  session: string;
  port(): number;
}

const allowedHosts = (gate: Gate) => new Set([`${LOOPBACK_HOST}:${gate.port()}`, `localhost:${gate.port()}`]);
const allowedOrigins = (gate: Gate) => new Set([`http://${LOOPBACK_HOST}:${gate.port()}`, `http://localhost:${gate.port()}`]);
/** Per port: cookies do not tell ports apart, and two servers may run at once. */
const sessionCookieName = (gate: Gate) => `bgad_session_${gate.port()}`;
const hasSession = (gate: Gate, req: IncomingMessage) => tokenMatches(cookieValue(req, sessionCookieName(gate)), gate.session);

/** Why a request comes from another site (Origin, Sec-Fetch-Site), or null when it does not. */
function foreignSite(gate: Gate, req: IncomingMessage): string | null {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins(gate).has(origin)) return `Origin ${origin}`;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${String(site)}`;
  return null;
}

/** POST /api/<method>: the body's arguments (large binary values decoded in place, into the body's own memory) through dispatch. */
async function serveApi(handlers: ApiHandlers, log: Logger, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = decodeURIComponent(url.pathname.slice('/api/'.length));
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return sendJson(res, 405, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'API methods are called with POST.' } });
  }
  const declared = declaredLength(req);
  if (declared !== undefined && declared > MAX_BODY_BYTES) return sendTooLarge(req, res, MAX_BODY_BYTES, declared);
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    return sendJson(res, 415, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'API requests must be sent as application/json.' } });
  }
  let args: unknown;
  try {
    args = decodeWireBody(await readBody(req, MAX_BODY_BYTES));
  } catch (e) {
    if (e instanceof BodyTooLargeError) return sendTooLarge(req, res, e.limitBytes, e.declaredBytes);
    return sendError(res, { code: 'BAD_ARGUMENT', message: `The request body is not valid JSON: ${(e as Error).message}` });
  }
  const answer = await dispatch(handlers, method, args, log);
  if (!answer.ok) return sendError(res, answer.error);
  sendJson(res, 200, answer);
}

/** GET /files?path=: an image or heat map through the path guard (&thumb=N: a JPEG preview). */
async function serveFile(opts: ApiServerOptions, log: Logger, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Files are read with GET.' } });
  try {
    const file = await guardFileWithRoots(url.searchParams.get('path') ?? '', (fresh) => opts.fileRoots(fresh), process.platform, { isImportedImage: opts.isImportedImage });
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

/** GET /...: the built renderer; the page load with the printed address (token in it) starts the session. */
async function serveStatic(gate: Gate, rendererDir: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
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
  if (tokenMatches(url.searchParams.get('token'), gate.token)) {
    // the page load with the printed address starts the session (the token stays out of cookies)
    res.setHeader('Set-Cookie', `${sessionCookieName(gate)}=${gate.session}; HttpOnly; SameSite=Strict; Path=/`);
    res.setHeader('Cache-Control', 'no-store');
  }
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
    'Cache-Control': rel === '/index.html' || res.hasHeader('Set-Cookie') ? 'no-store' : 'private, max-age=3600',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}

/** Every HTTP request: /v1 (its own checks, v1-api.ts) or, on loopback only, the Host check, then for /api and /files the site and token checks, then the route. */
function handleRequest(gate: Gate, opts: ApiServerOptions & { rendererDir: string; log: Logger }, req: IncomingMessage, res: ServerResponse): void {
  securityHeaders(res);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${gate.port()}`);
  } catch {
    return sendJson(res, 400, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'Malformed request address.' } });
  }
  const isV1 = url.pathname === '/v1' || url.pathname.startsWith(V1_PREFIX);
  // programs on the line network name this server as they like (--host); the key guards /v1 there
  const hostChecked = !(isV1 && opts.host && !isLoopbackAddress(opts.host));
  if (!isV1 && !isLoopbackAddress(req.socket.localAddress)) {
    return sendJson(res, 404, { ok: false, error: { code: 'NOT_FOUND', message: 'Only the inference API (/v1) is served on this address; the app itself answers on 127.0.0.1 only.' } });
  }
  if (hostChecked && !allowedHosts(gate).has(req.headers.host ?? '')) {
    return sendJson(res, 421, { ok: false, error: { code: 'FORBIDDEN', message: 'Unexpected Host header; use the address the server printed.' } });
  }
  if (isV1) {
    const foreign = foreignSite(gate, req);
    const answer = (status: number, error: { code: string; message: string; hint?: string }) => {
      req.resume();
      res.setHeader('Connection', 'close');
      lingerOnClose(req.socket);
      sendJson(res, status, { error });
    };
    if (foreign) {
      return answer(403, { code: 'FORBIDDEN', message: `Refused a request sent by a web page (${foreign}): the /v1 API is for programs on the line, not for browsers.` });
    }
    if (!opts.v1) return answer(404, { code: 'NOT_FOUND', message: 'The inference API (/v1) is off.', hint: 'Start the server with: bgad serve --api' });
    opts.v1.handle(req, res, url).catch((e: unknown) => {
      opts.log(`bgad: ${req.method} ${url.pathname} failed: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) answer(500, { code: 'ENGINE_FAILED', message: 'The request failed.' });
      else res.destroy();
    });
    return;
  }
  const isApi = url.pathname.startsWith('/api/');
  const isFiles = url.pathname === FILES_PATH;
  if (isApi || isFiles) {
    const foreign = foreignSite(gate, req);
    if (foreign) {
      return sendError(res, {
        code: 'FORBIDDEN',
        message: `Refused a request from another site (${foreign}): this server answers only the pages it serves itself.`,
        hint: 'Use BGAD Inspector in its own tab, opened from the address that "bgad serve" printed.',
      });
    }
    if (!(tokenMatches(headerToken(req), gate.token) || (isFiles && hasSession(gate, req)))) {
      return sendError(res, {
        code: 'UNAUTHORIZED',
        message: isApi ? 'Missing or wrong access token (API calls take it in the Authorization header).' : 'Missing or wrong access token.',
        hint: 'Open the address that "bgad serve" printed, including ?token=..., then reload the page.',
      });
    }
  }
  const { log } = opts;
  const work = isApi ? serveApi(opts.handlers, log, req, res, url) : isFiles ? serveFile(opts, log, req, res, url) : serveStatic(gate, opts.rendererDir, req, res, url);
  work.catch((e: unknown) => {
    log(`bgad: ${req.method} ${url.pathname} failed: ${(e as Error)?.stack ?? String(e)}`);
    if (!res.headersSent) sendError(res, serializeError(e));
    else res.destroy();
  });
}

/**
 * GET /api/events: a one-way WebSocket of the job hub's events, for the page's session (or
 * the token in a header), pinged every 30 s. Returns the function that closes it.
 */
function attachEventSocket(server: Server, gate: Gate, opts: ApiServerOptions, log: Logger): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${gate.port()}`);
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!allowedHosts(gate).has(req.headers.host ?? '')) return refuse(421, 'Misdirected Request');
    if (!isLoopbackAddress(req.socket.localAddress)) return refuse(404, 'Not Found');
    if (url.pathname !== EVENTS_PATH) return refuse(404, 'Not Found');
    if (foreignSite(gate, req)) return refuse(403, 'Forbidden');
    if (!(hasSession(gate, req) || tokenMatches(headerToken(req), gate.token))) return refuse(401, 'Unauthorized');
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
  return () => {
    clearInterval(heartbeat);
    unsubscribe();
    for (const ws of clients) ws.terminate();
    wss.close();
  };
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const log = opts.log ?? ((m: string) => console.error(m));
  let port = 0;
  const gate: Gate = { token, session: randomBytes(32).toString('base64url'), port: () => port };
  const routeOpts = { ...opts, rendererDir: resolve(opts.rendererDir), log };
  const handler = (req: IncomingMessage, res: ServerResponse) => handleRequest(gate, routeOpts, req, res);
  const server = createServer(handler);
  const closeEvents = attachEventSocket(server, gate, opts, log);
  const network = opts.host && !isLoopbackAddress(opts.host) ? opts.host.replace(/^\[(.*)\]$/, '$1') : null;
  const wildcard = network !== null && isWildcardAddress(network);
  const listen = (srv: Server, p: number, host: string) =>
    new Promise<void>((ok, fail) => {
      srv.once('error', fail);
      srv.listen(p, host, () => {
        srv.off('error', fail);
        ok();
      });
    });
  const closeServer = (srv: Server) =>
    new Promise<void>((ok) => {
      srv.close(() => ok());
      srv.closeAllConnections();
    });

  // a wildcard covers loopback too; a named interface gets a second listener on the same port
  const primaryHost = wildcard ? network! : LOOPBACK_HOST;
  try {
    await listen(server, opts.port ?? 0, primaryHost);
  } catch (e) {
    closeEvents();
    throw listenError(e, opts.port ?? 0, primaryHost);
  }
  port = (server.address() as AddressInfo).port;
  let second: Server | null = null;
  if (network !== null && !wildcard) {
    second = createServer(handler);
    try {
      await listen(second, port, network);
    } catch (e) {
      closeEvents();
      await closeServer(server);
      throw listenError(e, port, network);
    }
  }

  return {
    server,
    port,
    token,
    url: `http://${LOOPBACK_HOST}:${port}/?token=${encodeURIComponent(token)}`,
    networkUrl: network !== null ? `http://${urlHost(network)}:${port}` : null,
    async close() {
      closeEvents();
      await Promise.all([closeServer(server), ...(second ? [closeServer(second)] : [])]);
    },
  };
}
