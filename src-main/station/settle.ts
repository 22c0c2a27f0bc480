/**
 * Tells when a file is complete: a camera (or a copy over the network) writes an image over
 * seconds, so a file is handed on only once its size, modification time and inode have not
 * changed for `settleMs` (looked at every pollMs). Any change, or a new touch() from the
 * watcher, starts the wait again; a file that disappears is forgotten.
 */
import { stat } from 'node:fs/promises';

interface Tracked {
  sig: string | null;
  since: number;
  checking: boolean;
}

export class Settler {
  private readonly files = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private readonly pollMs: number;
  private closed = false;

  constructor(
    private readonly settleMs: number,
    private readonly onSettled: (path: string, settledAt: number) => void,
    pollMs?: number,
  ) {
    this.pollMs = pollMs ?? Math.min(250, Math.max(25, Math.round(settleMs / 4)));
  }

  /** Starts (or restarts) watching a file until it is complete. */
  touch(path: string): void {
    if (this.closed) return;
    const t = this.files.get(path);
    if (t) {
      t.since = Date.now();
      t.sig = null;
    } else {
      this.files.set(path, { sig: null, since: Date.now(), checking: false });
    }
    this.timer ??= setInterval(() => this.tick(), this.pollMs);
  }

  forget(path: string): void {
    this.files.delete(path);
  }

  /** Files being watched until complete. */
  get size(): number {
    return this.files.size;
  }

  private tick(): void {
    if (this.files.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    for (const [path, t] of this.files) {
      if (t.checking) continue;
      t.checking = true;
      stat(path, { bigint: true }).then(
        (st) => {
          t.checking = false;
          if (this.files.get(path) !== t) return;
          if (!st.isFile()) {
            this.files.delete(path); // a folder, FIFO, device: not ours to wait for (the scan reports them)
            this.onSettled(path, Date.now());
            return;
          }
          const sig = `${st.size}:${st.mtimeNs}:${st.ino}`;
          const now = Date.now();
          if (sig !== t.sig) {
            t.sig = sig;
            t.since = now;
          } else if (now - t.since >= this.settleMs) {
            this.files.delete(path);
            this.onSettled(path, now);
          }
        },
        () => {
          t.checking = false;
          if (this.files.get(path) === t) this.files.delete(path); // gone (moved away, deleted)
        },
      );
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.files.clear();
  }
}
