/**
 * Delivers the queued events to one sink, in queue order, one at a time: a failure is retried
 * with exponential back-off (initialMs doubling up to maxMs, ±20 % jitter; a receiver's
 * Retry-After is honoured up to maxMs); a permanent refusal (a webhook's 4xx other than 408 and
 * 429) is logged, kept in the dead-letter file and skipped. Inspection never waits for it.
 */
import type { EventQueue, SinkCursor } from './event-queue';
import type { ResultEvent, SinkName, StationEvent } from './types';

export interface Sink {
  readonly name: SinkName;
  /** Where it sends, for messages (the URL without credentials, the topic). */
  readonly target: string;
  /** Resolves once the receiver confirmed the event; throws DeliveryError (or any error: retried). */
  send(event: ResultEvent, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(message: string, readonly permanent: boolean, readonly status: number | null = null, readonly retryAfterMs: number | null = null) {
    super(message);
  }
}

export const DEFAULT_RETRY = { initialMs: 500, maxMs: 30_000 };

export class Delivery {
  private readonly cursor: SinkCursor;
  private readonly ac = new AbortController();
  private wake: (() => void) | null = null;
  private stopping = false;
  private failures = 0;
  private loop: Promise<void> | null = null;
  private readonly unsubscribe: () => void;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly queue: EventQueue,
    readonly sink: Sink,
    private readonly onEvent: (e: StationEvent) => void,
    retry: { initialMs?: number; maxMs?: number } = {},
  ) {
    this.cursor = queue.cursor(sink.name);
    this.initialMs = Math.max(1, retry.initialMs ?? DEFAULT_RETRY.initialMs);
    this.maxMs = Math.max(this.initialMs, retry.maxMs ?? DEFAULT_RETRY.maxMs);
    this.unsubscribe = queue.onPush(() => this.poke());
  }

  get backlog(): number {
    return this.queue.backlog(this.sink.name);
  }

  start(): void {
    this.loop ??= this.run();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Waits for a push, a stop, or `ms`. */
  private pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === undefined ? null : setTimeout(() => this.poke(), ms);
      this.wake = () => {
        if (t) clearTimeout(t);
        resolve();
      };
    });
  }

  private delayFor(attempt: number, retryAfterMs: number | null): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(30, attempt - 1));
    const jittered = base * (0.8 + 0.4 * Math.random());
    return Math.round(Math.min(this.maxMs, Math.max(jittered, retryAfterMs ?? 0)));
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const item = this.queue.get(this.cursor.next);
      if (!item) {
        if (this.cursor.next < this.queue.length) {
          this.cursor.next++; // not kept in memory (cannot happen): skip rather than spin
          continue;
        }
        await this.pause();
        continue;
      }
      try {
        await this.sink.send(item.event, this.ac.signal);
        await this.cursor.done(item.seq);
        this.queue.trim();
        if (this.failures) this.onEvent({ type: 'sink-up', sink: this.sink.name, target: this.sink.target, failures: this.failures });
        this.failures = 0;
      } catch (e) {
        if (this.stopping) break;
        const err = e instanceof DeliveryError ? e : new DeliveryError((e as Error)?.message ?? String(e), false);
        if (err.permanent) {
          try {
            await this.queue.deadLetter({ sink: this.sink.name, target: this.sink.target, status: err.status, error: err.message, at: new Date().toISOString(), event: item.event });
            await this.cursor.done(item.seq, true);
            this.queue.trim();
            this.onEvent({ type: 'dead-letter', sink: this.sink.name, target: this.sink.target, status: err.status, error: err.message, eventId: item.event.id, path: item.event.path });
            continue;
          } catch (e2) {
            err.message = `cannot record the refused event: ${(e2 as Error).message}`;
          }
        }
        this.failures++;
        const delay = this.delayFor(this.failures, err.retryAfterMs);
        if (this.failures === 1) this.onEvent({ type: 'sink-down', sink: this.sink.name, target: this.sink.target, error: err.message, retryInMs: delay });
        await this.pause(delay);
      }
    }
  }

  /**
   * Stops: lets deliveries go on for up to `graceMs` while there is a backlog and the receiver
   * takes them, then abandons the one in flight (it is sent again on the next start).
   */
  async stop(graceMs: number): Promise<void> {
    const until = Date.now() + graceMs;
    while (this.loop && this.backlog > 0 && this.failures === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.stopping = true;
    this.unsubscribe();
    this.ac.abort();
    this.poke();
    await this.loop?.catch(() => undefined);
  }
}
