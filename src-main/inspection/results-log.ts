/**
 * The results of a CLI inspection, one JSON line per file in `<out>/results.jsonl`, each
 * appended and flushed to disk (fdatasync) before the next file is reported, so a killed run
 * or a full disk loses no finished result. A re-run reads it back and skips what is done.
 *
 *   {"type":"header","version":1,"modelSha256":"...","scoringSha256":"...","modelFile":"...","createdAt":"..."}
 *   {"type":"run","startedAt":"...","input":"...","threshold":1.23,"pid":123}   (+ "reviewBand":{"low":..,"high":..} when one is used)
 *   {"type":"result","path":"sub/a.png","sha256":"...","score":0.8,"verdict":"pass",...}
 *
 * The first line binds the folder to one model: results of another model are refused rather
 * than mixed (the same model with a changed threshold is the same: its scores still hold). A torn last line (the process died while writing it) is cut off on open.
 */
import { open, readFile, stat, truncate, type FileHandle } from 'node:fs/promises';
import { AppError } from '../common/errors';
import type { FileOutcome } from '../model/records';

export const RESULTS_FILE = 'results.jsonl';
export const RESULTS_VERSION = 1;

export interface LogHeader {
  type: 'header';
  version: number;
  modelSha256: string;
  /** The model without its threshold (absent in logs of earlier versions): a threshold change keeps the folder's results. */
  scoringSha256?: string;
  modelFile: string | null;
  createdAt: string;
}

/** One finished file; the pictures are relative to the output folder. */
export interface LogResult extends FileOutcome {
  type: 'result';
  /** Relative to the input folder, `/`-separated. The verdict is the one at the threshold of
   * the run that wrote it (reports re-derive it from the score). */
  path: string;
  at: string;
}

type Line = LogHeader | LogResult | { type: 'run' };

function diskFull(path: string, e: unknown): AppError {
  return new AppError('DISK_FULL', `The disk is full while writing ${path}; the results written so far are kept.`, { hint: 'Free some disk space and run the same command again: it continues where it stopped.', subject: path, cause: e });
}

export class ResultsLog {
  /** Latest result per relative path, from earlier runs and this one. */
  readonly byPath = new Map<string, LogResult>();
  /** A finished (pass/fail) result per content hash. */
  readonly bySha = new Map<string, LogResult>();
  private chain: Promise<void> = Promise.resolve();

  private constructor(readonly path: string, private readonly fh: FileHandle) {}

  /**
   * Opens (creating) the log. Earlier results are loaded when they belong to the same model;
   * results of another model are refused (BAD_ARGUMENT) so one folder never mixes models.
   */
  static async open(path: string, header: Omit<LogHeader, 'type' | 'version' | 'createdAt'>): Promise<ResultsLog> {
    let text = '';
    const st = await stat(path).catch((e: NodeJS.ErrnoException) => { if (e.code === 'ENOENT') return null; throw e; });
    if (st && !st.isFile()) {
      // never read a device or FIFO put in its place (it would block or never end)
      throw new AppError('BAD_ARGUMENT', `The results file ${path} is not a regular file.`, { hint: 'Remove it, or choose another output folder.', subject: path });
    }
    try {
      if (st) text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const lines: Line[] = [];
    let goodBytes = 0;
    let offset = 0;
    for (const raw of text.split('\n')) {
      const end = offset + Buffer.byteLength(raw) + 1;
      if (end > Buffer.byteLength(text)) break; // no newline: a torn last line
      offset = end;
      if (!raw.trim()) { goodBytes = offset; continue; }
      try {
        lines.push(JSON.parse(raw) as Line);
        goodBytes = offset;
      } catch {
        break; // a damaged line: keep what precedes it, drop the rest
      }
    }
    if (goodBytes < Buffer.byteLength(text)) await truncate(path, goodBytes);
    const first = lines[0];
    const sameModel = (h: LogHeader) => h.modelSha256 === header.modelSha256 || (h.scoringSha256 !== undefined && h.scoringSha256 === header.scoringSha256);
    if (first && (first.type !== 'header' || !sameModel(first as LogHeader))) {
      throw new AppError('BAD_ARGUMENT', `The output folder already holds results of another model (${path}).`, {
        hint: 'Choose an empty output folder for this model, or delete the old results.',
        subject: path,
      });
    }
    let fh: FileHandle;
    try {
      fh = await open(path, 'a');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') throw diskFull(path, e);
      // the run cannot start writing: READ_ONLY (bgad inspect: exit 3, the run aborted), not a usage error
      throw new AppError(code === 'EISDIR' ? 'BAD_ARGUMENT' : 'READ_ONLY', `Cannot write the results file ${path} (${code ?? (e as Error).message}).`, { hint: 'Choose an output folder you can write to.', subject: path, cause: e });
    }
    const log = new ResultsLog(path, fh);
    for (const l of lines) if (l.type === 'result') log.remember(l);
    if (!first) await log.append({ type: 'header', version: RESULTS_VERSION, createdAt: new Date().toISOString(), ...header });
    return log;
  }

  private remember(r: LogResult): void {
    this.byPath.set(r.path, r);
    if (r.sha256 && r.verdict !== 'error') this.bySha.set(r.sha256, r);
  }

  /** Appends one line and flushes it to disk; calls are serialised in call order. */
  append(line: LogHeader | LogResult | Record<string, unknown>): Promise<void> {
    const text = JSON.stringify(line) + '\n';
    const next = this.chain.then(async () => {
      try {
        await this.fh.write(text);
        await this.fh.datasync();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(this.path, e);
        throw e;
      }
      if ((line as { type?: string }).type === 'result') this.remember(line as LogResult);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh.close();
  }
}
