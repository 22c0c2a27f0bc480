/**
 * What `bgad inspect` and `bgad watch` share on the command line (as train-options.ts does for
 * `bgad train` and `bgad eval`): the exit statuses, the option specs of the flags both take and
 * their parsing, and the words for a run that stopped on an unexpected error.
 */
import { resolve } from 'node:path';
import type { OptionSpec } from './command';
import { optNum, str, UsageError } from './command';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../common/records';
import { forTerminal } from './terminal-text';
import type { ReviewBand } from '../common/records';
import { REVIEW_BAND_OPTIONS, reviewBandChoice } from './review-band-options';

/** Exit status of `bgad inspect` (and `bgad watch`), for a line controller. */
export const INSPECT_EXIT = {
  /** Every file passed. */
  passed: 0,
  /** A file failed, or could not be read or inspected (the run itself finished). */
  failed: 1,
  /** Bad usage, a model that cannot be loaded, an output folder that cannot be used or is in use. */
  usage: 2,
  /** The run itself stopped: disk full, output not writable, an unexpected error mid-run. */
  aborted: 3,
  /** Only with --review-band or --review-range: nothing failed and nothing had an error, but a file is in the review band. */
  review: 4,
  /** Cancelled with Ctrl-C (128 + SIGINT); the finished results are kept. */
  cancelled: 130,
} as const;

/** The flags `bgad inspect` and `bgad watch` both take. */
export const INSPECT_OPTIONS: OptionSpec = {
  model: { type: 'string' },
  input: { type: 'string' },
  out: { type: 'string' },
  threshold: { type: 'string' },
  ...REVIEW_BAND_OPTIONS,
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  threads: { type: 'string' },
  ep: { type: 'string' },
  'cache-dir': { type: 'string' },
  'max-file-mb': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

/** The shared flags' values, checked (a UsageError names the flag). */
export interface InspectOptions {
  model: string;
  input: string;
  out: string;
  threshold: number | undefined;
  /** --review-band / --review-range: none, the model's own band, or the range given. */
  reviewBand: ReviewBand | 'model' | undefined;
  threads: number | undefined;
  executionProvider: ExecutionProvider | undefined;
  cacheDir: string | undefined;
  maxFileBytes: number | undefined;
  include: string[];
  exclude: string[];
  json: boolean;
  quiet: boolean;
}

const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);

export function parseInspectOptions(values: Record<string, unknown>): InspectOptions {
  const model = resolve(str(values.model, 'model'));
  const input = resolve(str(values.input, 'input'));
  const out = resolve(str(values.out, 'out'));
  const threshold = optNum(values.threshold, 'threshold');
  const threads = optNum(values.threads, 'threads', { min: 1, max: 256, integer: true });
  const maxFileMb = optNum(values['max-file-mb'], 'max-file-mb', { min: 1e-6, max: 1024 * 1024 });
  const ep = values.ep as string | undefined;
  if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProvider)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
  return {
    model,
    input,
    out,
    threshold,
    reviewBand: reviewBandChoice(values),
    threads,
    executionProvider: ep as ExecutionProvider | undefined,
    cacheDir: values['cache-dir'] as string | undefined,
    maxFileBytes: maxFileMb === undefined ? undefined : Math.max(1, Math.floor(maxFileMb * 2 ** 20)),
    include: list(values.include),
    exclude: list(values.exclude),
    json: values.json === true,
    quiet: values.quiet === true,
  };
}

/** An unexpected error in words: an errno error's message names the file; a bug also gets its stack. */
export function unexpectedErrorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? forTerminal(err.message) : (err?.stack ?? String(e)).split('\n').map(forTerminal).join('\n');
}
