/**
 * Append-only JSON-lines files of the station (the event queue and its delivery logs): each
 * line is written and flushed to disk (fdatasync) before its append resolves; a torn last line
 * (the process died while writing it) is cut off when the file is read back.
 */
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { AppError } from '../common/errors';

export async function readJsonLines<T>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: T[] = [];
  let good = 0;
  let offset = 0;
  const total = Buffer.byteLength(text);
  for (const raw of text.split('\n')) {
    const end = offset + Buffer.byteLength(raw) + 1;
    if (end > total) break; // no newline: torn
    offset = end;
    if (!raw.trim()) { good = offset; continue; }
    try {
      out.push(JSON.parse(raw) as T);
      good = offset;
    } catch {
      break;
    }
  }
  if (good < total) await truncate(path, good);
  return out;
}

function writeFailure(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new AppError('DISK_FULL', `The disk is full while writing ${path}; what was written so far is kept.`, { hint: 'Free some disk space and start the station again: it continues where it stopped.', subject: path, cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new AppError('READ_ONLY', `Cannot write ${path} (${code}).`, { hint: 'Choose an output folder you can write to.', subject: path, cause: e });
  return e;
}

export class JsonLinesWriter {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(readonly path: string, private readonly fh: FileHandle) {}

  static async open(path: string): Promise<JsonLinesWriter> {
    try {
      return new JsonLinesWriter(path, await open(path, 'a'));
    } catch (e) {
      throw writeFailure(path, e);
    }
  }

  /** Appends one line and flushes it; calls are serialised in call order. */
  append(value: unknown): Promise<void> {
    return this.appendText(JSON.stringify(value) + '\n');
  }

  appendText(text: string): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.closed) throw new Error(`${this.path} is closed`);
      try {
        await this.fh.write(text);
        await this.fh.datasync();
      } catch (e) {
        throw writeFailure(this.path, e);
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}
