/**
 * The desktop app's inference API for line controllers: the same `/v1` API as `bgad serve
 * --api` (v1-api.ts: the data folder's key, limits, errors), on its own HTTP server on
 * 127.0.0.1 only, started and stopped by the `apiEnabled` / `apiPort` settings
 * (services/app.ts calls `apply` when they change; app/main.ts at start and at quit). The
 * desktop app has no other HTTP server: its window talks over IPC.
 *
 * This server answers /v1 only (404 for anything else), checks the Host header (no DNS
 * rebinding) and refuses requests a web page sent (Origin, Sec-Fetch-Site) as http-server.ts
 * does for /v1. A port that cannot be used (taken, not allowed) is no exception: the status
 * says `failed` with the reason and what to do, and the app goes on without the API.
 * Plain Node (no Electron), so it is tested on its own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiHandlers, ApiListenerStatus } from '../common/api';
import { AppError, isAppError } from '../common/errors';
import { ensureApiKey } from '../db/api-key';
import type { Logger } from './dispatch';
import { lingerOnClose } from './request-body';
import { createV1Api, V1_PREFIX, type V1Api, type V1ApiOptions } from './v1-api';

export const API_LISTENER_HOST = '127.0.0.1';

export interface ApiListenerOptions {
  /** The data folder: its `api-key` (made when the API is first switched on) and models. */
  dataDir: string;
  /** The app's version (health). */
  version: string;
  /** The services' handlers, asked when the server first starts (the services may be made after this). */
  handlers(): ApiHandlers;
  log?: Logger;
  /** Limits of /v1 (v1-api.ts defaults). */
  limits?: Pick<V1ApiOptions, 'maxBodyBytes' | 'concurrency' | 'queue'>;
}

export interface ApiListener {
  /** Starts, moves or stops the server to match the settings; resolves with the status (never rejects for a port problem). */
  apply(settings: { enabled: boolean; port: number }): Promise<ApiListenerStatus>;
  status(): ApiListenerStatus;
  /** Stops the server (quit). */
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** An answer before the body was read: the rest of it is drained, then the connection closes. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: { code: string; message: string; hint?: string }): void {
  req.resume();
  res.setHeader('Connection', 'close');
  lingerOnClose(req.socket);
  sendJson(res, status, { error });
}

/** Why a request was sent by a web page (Origin of another site, Sec-Fetch-Site), or null. */
function fromWebPage(req: IncomingMessage, port: number): string | null {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${API_LISTENER_HOST}:${port}` && origin !== `http://localhost:${port}`) return `Origin ${origin}`;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${String(site)}`;
  return null;
}

function handleRequest(v1: V1Api, port: number, log: Logger, req: IncomingMessage, res: ServerResponse): void {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${API_LISTENER_HOST}:${port}`);
  } catch {
    return refuse(req, res, 400, { code: 'BAD_ARGUMENT', message: 'Malformed request address.' });
  }
  if (![`${API_LISTENER_HOST}:${port}`, `localhost:${port}`].includes(req.headers.host ?? '')) {
    return refuse(req, res, 421, { code: 'FORBIDDEN', message: `Unexpected Host header; use http://${API_LISTENER_HOST}:${port}/v1/.` });
  }
  const page = fromWebPage(req, port);
  if (page) return refuse(req, res, 403, { code: 'FORBIDDEN', message: `Refused a request sent by a web page (${page}): the /v1 API is for programs on the line, not for browsers.` });
  if (url.pathname !== '/v1' && !url.pathname.startsWith(V1_PREFIX)) {
    return refuse(req, res, 404, { code: 'NOT_FOUND', message: 'This port answers only the inference API: POST /v1/inspect, GET /v1/health.' });
  }
  v1.handle(req, res, url).catch((e: unknown) => {
    log(`bgad: ${req.method} ${url.pathname} failed: ${(e as Error)?.stack ?? String(e)}`);
    if (!res.headersSent) refuse(req, res, 500, { code: 'ENGINE_FAILED', message: 'The request failed.' });
    else res.destroy();
  });
}

/** A port that cannot be used, in words with what to do in Settings; other errors as they are. */
export function portError(e: unknown, port: number): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') {
    return new AppError('CONFLICT', `Port ${port} on ${API_LISTENER_HOST} is already in use, so the inference API is not running`, {
      subject: 'apiPort',
      hint: 'Choose another port for the inference API in Settings (1024 to 65535), or stop the program that uses this one.',
      cause: e,
    });
  }
  if (code === 'EACCES') {
    return new AppError('FORBIDDEN', `Port ${port} on ${API_LISTENER_HOST} may not be used by this user, so the inference API is not running`, {
      subject: 'apiPort',
      hint: 'Choose a port from 1024 to 65535 in Settings.',
      cause: e,
    });
  }
  return e;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, API_LISTENER_HOST, () => {
      server.off('error', fail);
      ok((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((ok) => {
    server.close(() => ok());
    server.closeAllConnections();
  });
}

export function createApiListener(opts: ApiListenerOptions): ApiListener {
  const log = opts.log ?? ((m: string) => console.error(m));
  let v1: V1Api | null = null;
  let running: { server: Server; port: number } | null = null;
  let current: ApiListenerStatus = { state: 'off', port: 0 };
  // one change at a time, in the order asked
  let chain: Promise<unknown> = Promise.resolve();

  const stop = async () => {
    const r = running;
    running = null;
    if (r) await closeServer(r.server);
  };

  const start = async (port: number): Promise<ApiListenerStatus> => {
    v1 ??= createV1Api({ handlers: opts.handlers(), dataDir: opts.dataDir, version: opts.version, enabled: () => true, ...opts.limits, log });
    // the key exists before the first request (made once, kept across restarts)
    ensureApiKey(opts.dataDir);
    const api = v1;
    let bound = port;
    const server = createServer((req, res) => handleRequest(api, bound, log, req, res));
    try {
      bound = await listen(server, port);
    } catch (e) {
      const err = portError(e, port);
      log(`bgad: the inference API did not start: ${isAppError(err) ? err.describe() : (err as Error).message}`);
      return { state: 'failed', port, error: (err as Error).message, ...(isAppError(err) && err.hint ? { hint: err.hint } : {}) };
    }
    running = { server, port: bound };
    return { state: 'on', port: bound, url: `http://${API_LISTENER_HOST}:${bound}/v1/` };
  };

  const apply = async ({ enabled, port }: { enabled: boolean; port: number }): Promise<ApiListenerStatus> => {
    if (!enabled) {
      await stop();
      current = { state: 'off', port };
    } else if (!running || running.port !== port || port === 0) {
      await stop();
      current = await start(port);
    }
    return current;
  };

  return {
    apply(settings) {
      const next = chain.then(() => apply(settings));
      chain = next.catch(() => undefined);
      return next;
    },
    status: () => ({ ...current }),
    async close() {
      const next = chain.then(stop);
      chain = next.catch(() => undefined);
      await next;
      current = { state: 'off', port: current.port };
    },
  };
}
