/**
 * The webhook sink: one POST per event, JSON body, `Content-Type: application/json` and
 * `Idempotency-Key: <event id>` (the receiver de-duplicates by it). 2xx is delivered; 408,
 * 429, 5xx and network errors are retried (the queue's back-off, Retry-After honoured); any
 * other status (another 4xx, a redirect: not followed, the body would be lost) is permanent.
 */
import { AppError } from '../common/errors';
import { DeliveryError, type Sink } from './delivery';
import type { ResultEvent } from './types';

/** The URL as shown in messages: without user and password. */
export function safeUrl(u: URL): string {
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  return c.href;
}

export function parseWebhookUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('BAD_ARGUMENT', `The webhook URL "${url}" is not a URL.`, { hint: 'Give a full URL, e.g. http://10.0.0.5:8080/verdicts.' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AppError('BAD_ARGUMENT', `The webhook URL must be http:// or https://, got ${u.protocol}//.`);
  return u;
}

function retryAfterMs(v: string | null): number | null {
  if (!v) return null;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : null;
}

export class WebhookSink implements Sink {
  readonly name = 'webhook' as const;
  readonly target: string;
  private readonly url: URL;

  constructor(url: string, private readonly timeoutMs = 10_000) {
    this.url = parseWebhookUrl(url);
    this.target = safeUrl(this.url);
  }

  async send(event: ResultEvent, signal: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': event.id, 'user-agent': 'bgad-inspector' },
        body: JSON.stringify(event),
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new DeliveryError(`${this.target}: ${why}`, false);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return;
    const s = res.status;
    const transient = s === 408 || s === 429 || s >= 500;
    const what = s >= 300 && s < 400 ? `redirect to ${res.headers.get('location') ?? '?'} (not followed: give the final URL)` : `HTTP ${s}${res.statusText ? ` ${res.statusText}` : ''}`;
    throw new DeliveryError(`${this.target}: ${what}`, !transient, s, transient ? retryAfterMs(res.headers.get('retry-after')) : null);
  }

  async close(): Promise<void> {
    // fetch keeps no state of ours
  }
}
