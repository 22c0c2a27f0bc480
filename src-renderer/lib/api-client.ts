/**
 * The renderer's API client, derived from the contract (src-main/common/api.ts): one async
 * function per method, `api.datasets.list()`, typed by the contract, throwing ApiError
 * ({ code, message, hint }) on failure. Two transports:
 *   - desktop app: the preload's `window.api` (IPC),
 *   - browser mode: fetch `POST /api/<method>` with the token from the page address in the
 *     Authorization header (kept in sessionStorage so a reload still works), and a WebSocket
 *     for events. Images and the WebSocket carry no token: the page load with the token set
 *     an HttpOnly session cookie, which the browser sends with them.
 * Views never talk to a transport directly.
 */
import {
  EVENTS_PATH,
  FILES_PATH,
  httpRoute,
  methods,
  type ApiEvent,
  type ApiResponse,
  type ApiShape,
  type MethodId,
  type PreloadApi,
  type ThumbSizePx,
} from '../../src-main/common/api';
import type { ErrorCode, SerializedError } from '../../src-main/common/errors';
import { decodeWire, encodeWire } from '../../src-main/common/wire';

/** A failed call, as the services described it. Show `message`, then `hint`. */
export class ApiError extends Error {
  readonly code: ErrorCode | 'INTERNAL';
  readonly hint?: string;
  readonly subject?: string;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = 'ApiError';
    this.code = e.code;
    this.hint = e.hint;
    this.subject = e.subject;
  }
}

export type EventListener = (event: ApiEvent) => void;

export interface Transport {
  readonly mode: 'electron' | 'browser';
  call(method: MethodId, args: unknown): Promise<ApiResponse<unknown>>;
  onEvent(listener: EventListener): () => void;
  /** URL that displays a local image or heat map (served through the path guard). */
  fileUrl(path: string): string;
}

export type ApiClient = ApiShape<'promise'> & {
  readonly mode: 'electron' | 'browser';
  onEvent(listener: EventListener): () => void;
  /** URL of a local image or heat map, for <img src>. */
  fileUrl(path: string): string;
  /** URL of a JPEG preview (longer side at most `sizePx`), cached by the server: for grids. */
  thumbUrl(path: string, sizePx: ThumbSizePx): string;
};

export function createApiClient(transport: Transport): ApiClient {
  const groups: Record<string, Record<string, (args?: unknown) => Promise<unknown>>> = {};
  for (const m of methods) {
    (groups[m.group] ??= {})[m.name] = async (args?: unknown) => {
      const r = await transport.call(m.id, args === undefined ? {} : args);
      if (!r.ok) throw new ApiError(r.error);
      return r.value;
    };
  }
  return Object.assign(groups, {
    mode: transport.mode,
    onEvent: (l: EventListener) => transport.onEvent(l),
    fileUrl: (p: string) => transport.fileUrl(p),
    thumbUrl: (p: string, sizePx: ThumbSizePx) => `${transport.fileUrl(p)}&thumb=${sizePx}`,
  }) as unknown as ApiClient;
}

/** Desktop app: everything goes through the preload bridge. */
export function ipcTransport(api: PreloadApi): Transport {
  const table = api as unknown as Record<string, Record<string, (a: unknown) => Promise<ApiResponse<unknown>>>>;
  return {
    mode: 'electron',
    call: (method, args) => {
      const [group, name] = method.split('.') as [string, string];
      return table[group]![name]!(args);
    },
    onEvent: (l) => api.onEvent(l),
    fileUrl: (p) => `${FILES_PATH}?path=${encodeURIComponent(p)}`,
  };
}

export interface HttpTransportOptions {
  token: string;
  /** http://127.0.0.1:PORT (default: the page's origin). */
  baseUrl: string;
  fetch?: typeof fetch;
  WebSocket?: new (url: string) => WebSocketLike;
  /** Reconnect delays for the event socket (ms). */
  reconnectDelaysMs?: readonly number[];
}

export interface WebSocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

/** Browser mode: fetch for calls, one shared WebSocket for events (reconnects while needed). */
export function httpTransport(opts: HttpTransportOptions): Transport {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const WS = opts.WebSocket ?? (globalThis.WebSocket as unknown as new (url: string) => WebSocketLike);
  const delays = opts.reconnectDelaysMs ?? [500, 1000, 2000, 5000, 10000];
  const base = opts.baseUrl.replace(/\/$/, '');
  const listeners = new Set<EventListener>();
  let socket: WebSocketLike | null = null;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const unreachable = (why: string): ApiResponse<never> => ({
    ok: false,
    error: { code: 'UNAVAILABLE', message: `The BGAD Inspector server did not answer (${why}).`, hint: 'Check that "bgad serve" is still running, then reload the page.' },
  });

  function connect(): void {
    if (socket || listeners.size === 0) return;
    // authenticated by the session cookie (a browser cannot set headers on a WebSocket)
    const url = `${base.replace(/^http/, 'ws')}${EVENTS_PATH}`;
    const ws = new WS(url);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
    };
    ws.onmessage = (ev) => {
      let event: ApiEvent;
      try {
        event = decodeWire(String(ev.data)) as ApiEvent;
      } catch (e) {
        console.error('bgad: unreadable event from the server', e);
        return;
      }
      for (const l of listeners) l(event);
    };
    ws.onerror = () => undefined; // onclose follows and reconnects
    ws.onclose = () => {
      socket = null;
      if (listeners.size === 0) return;
      const delay = delays[Math.min(attempt++, delays.length - 1)]!;
      timer = setTimeout(connect, delay);
    };
  }

  return {
    mode: 'browser',
    async call(method, args) {
      let res: Response;
      try {
        res = await doFetch(`${base}${httpRoute(method)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${opts.token}` },
          body: encodeWire(args ?? {}),
        });
      } catch (e) {
        return unreachable((e as Error).message);
      }
      const text = await res.text();
      try {
        return decodeWire(text) as ApiResponse<unknown>;
      } catch {
        return unreachable(`HTTP ${res.status}`);
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          clearTimeout(timer);
          const s = socket;
          socket = null;
          if (s) {
            s.onclose = null;
            s.close();
          }
        }
      };
    },
    // authenticated by the session cookie: the token never goes into an address
    fileUrl: (p) => `${base}${FILES_PATH}?path=${encodeURIComponent(p)}`,
  };
}

export const TOKEN_STORAGE_KEY = 'bgad.token';

/**
 * Takes the token from `?token=` (then removes it from the address bar, keeping it for this
 * tab in sessionStorage), or from sessionStorage after a reload.
 */
export function takeToken(loc: { href: string }, storage: Pick<Storage, 'getItem' | 'setItem'>, replaceUrl: (url: string) => void): string | null {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    url.searchParams.delete('token');
    replaceUrl(url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_STORAGE_KEY);
}

/** The client for this page: IPC in the desktop app, HTTP in a browser. */
export function connectApi(win: Window & { api?: PreloadApi } = window): ApiClient {
  if (win.api) return createApiClient(ipcTransport(win.api));
  const token = takeToken(win.location, win.sessionStorage, (u) => win.history.replaceState(null, '', u));
  if (!token) {
    throw new ApiError({
      code: 'UNAUTHORIZED',
      message: 'This page was opened without its access token.',
      hint: 'Open the address that "bgad serve" printed in the terminal (it ends with ?token=...).',
    });
  }
  return createApiClient(httpTransport({ token, baseUrl: win.location.origin }));
}
