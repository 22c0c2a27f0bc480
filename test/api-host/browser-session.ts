/**
 * What a browser does in browser mode, for tests that talk to the server from Node: load the
 * printed address once (`/?token=`), keep the session cookie it sets, and send that cookie
 * with image requests and the event socket (a browser does so by itself).
 */
import WebSocket from 'ws';
import type { WebSocketLike } from '../../src-renderer/lib/api-client';

/** Loads the page with the token and answers the session cookie (`name=value`), or null. */
export async function sessionCookie(base: string, token: string): Promise<string | null> {
  const res = await fetch(`${base}/?token=${encodeURIComponent(token)}`);
  await res.arrayBuffer();
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!.trim());
  return cookies.find((c) => c.startsWith('bgad_session')) ?? null;
}

/** A WebSocket class that connects as the page would: same Origin, with the session cookie. */
export function sessionWebSocket(base: string, cookie: string | null): new (url: string) => WebSocketLike {
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { origin: base, headers: cookie ? { cookie } : {} });
    }
  } as unknown as new (url: string) => WebSocketLike;
}
