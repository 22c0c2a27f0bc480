/**
 * The station's outbox, kept on disk in `<out>/station/`:
 *
 *   events.jsonl             every result event, in order: {"seq":0,"event":{...}} (append-only)
 *   delivered-<sink>.jsonl   what a sink has done with them: {"start":N} first (a sink added
 *                            later starts with the events queued from then on), then one
 *                            {"seq":k} per delivered event, {"seq":k,"dead":true} per event
 *                            given up (a permanent refusal)
 *   dead-letter.jsonl        the events given up, with the sink, its target, the status and why
 *
 * Every line is flushed (fdatasync) before the call that wrote it resolves. An event is on disk
 * before it is sent; a sink's mark is written after the receiver confirmed it, so a crash
 * between the two sends that event again on restart (at least once, with an id: receivers
 * de-duplicate by `id`). Each sink gets the events in queue order, one at a time.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonLinesWriter, readJsonLines } from './jsonl-file';
import type { ResultEvent } from './types';

export const QUEUE_DIR = 'station';
export const EVENTS_FILE = 'events.jsonl';
export const DEAD_LETTER_FILE = 'dead-letter.jsonl';
export const deliveredFile = (sink: string) => `delivered-${sink}.jsonl`;

export interface QueuedEvent {
  seq: number;
  event: ResultEvent;
}

export interface DeadLetter {
  sink: string;
  target: string;
  status: number | null;
  error: string;
  at: string;
  event: ResultEvent;
}

/** One sink's position in the queue, kept in its delivered-<sink>.jsonl. */
export class SinkCursor {
  constructor(readonly sink: string, private readonly file: JsonLinesWriter, public next: number) {}

  /** Marks event `seq` done (delivered, or given up when `dead`); events are done in order. */
  async done(seq: number, dead = false): Promise<void> {
    await this.file.append(dead ? { seq, dead: true } : { seq });
    this.next = Math.max(this.next, seq + 1);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

export class EventQueue {
  private readonly ids = new Set<string>();
  /** Events not yet done by every cursor, by seq. */
  private readonly kept = new Map<number, QueuedEvent>();
  private readonly cursors = new Map<string, SinkCursor>();
  private deadLetters: JsonLinesWriter | null = null;
  private listeners = new Set<() => void>();

  private constructor(readonly dir: string, private readonly file: JsonLinesWriter, public length: number) {}

  /** Opens (creating) the queue in `<out>/station/`, with one cursor per sink. */
  static async open(out: string, sinks: readonly string[]): Promise<EventQueue> {
    const dir = join(out, QUEUE_DIR);
    await mkdir(dir, { recursive: true });
    const path = join(dir, EVENTS_FILE);
    const lines = await readJsonLines<QueuedEvent>(path);
    const q = new EventQueue(dir, await JsonLinesWriter.open(path), 0);
    for (const l of lines) {
      q.ids.add(l.event.id);
      q.length = Math.max(q.length, l.seq + 1);
    }
    for (const sink of sinks) {
      const marks = await readJsonLines<{ start?: number; seq?: number }>(join(dir, deliveredFile(sink)));
      const writer = await JsonLinesWriter.open(join(dir, deliveredFile(sink)));
      let next: number;
      if (marks.length === 0) {
        next = q.length; // a new sink: the events from now on
        await writer.append({ start: next });
      } else {
        next = 0;
        for (const m of marks) next = Math.max(next, m.start ?? 0, m.seq === undefined ? 0 : m.seq + 1);
      }
      q.cursors.set(sink, new SinkCursor(sink, writer, next));
    }
    const from = Math.min(q.length, ...[...q.cursors.values()].map((c) => c.next));
    for (const l of lines) if (l.seq >= from) q.kept.set(l.seq, l);
    return q;
  }

  cursor(sink: string): SinkCursor {
    const c = this.cursors.get(sink);
    if (!c) throw new Error(`no cursor for sink ${sink}`);
    return c;
  }

  /** Whether an event with this id was ever queued. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Appends an event (flushed to disk before this resolves) and wakes the sinks. */
  async push(event: ResultEvent): Promise<QueuedEvent> {
    const q: QueuedEvent = { seq: this.length, event };
    this.length++;
    this.ids.add(event.id);
    try {
      await this.file.append(q);
    } catch (e) {
      this.length--;
      this.ids.delete(event.id);
      throw e;
    }
    if (this.cursors.size) this.kept.set(q.seq, q);
    for (const l of this.listeners) l();
    return q;
  }

  get(seq: number): QueuedEvent | undefined {
    return this.kept.get(seq);
  }

  /** Events a sink has not yet done. */
  backlog(sink: string): number {
    return this.length - this.cursor(sink).next;
  }

  /** Forgets (in memory; the file keeps them) the events every sink is done with. */
  trim(): void {
    const from = Math.min(this.length, ...[...this.cursors.values()].map((c) => c.next));
    for (const seq of this.kept.keys()) if (seq < from) this.kept.delete(seq);
  }

  /** Calls `fn` after each push; returns the unsubscribe function. */
  onPush(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async deadLetter(d: DeadLetter): Promise<void> {
    this.deadLetters ??= await JsonLinesWriter.open(join(this.dir, DEAD_LETTER_FILE));
    await this.deadLetters.append(d);
  }

  async close(): Promise<void> {
    await Promise.all([this.file.close(), this.deadLetters?.close(), ...[...this.cursors.values()].map((c) => c.close())]);
  }
}
