import { resolve } from 'node:path';
import type { Command } from '../command';
import { optNum, str, UsageError } from '../command';
import { AbortError } from '../abort';
import { progressPrinter } from '../progress';
import { forTerminal, describeForTerminal, jsonForTerminal } from '../terminal-text';
import { isAppError } from '../../common/errors';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../../common/records';
import { DEFAULT_MAX_FILE_BYTES } from '../../images/load';
import { inspectFolder } from '../../inspection/inspect';
import { REPORT_FORMATS, type ReportFormat } from '../../model/records';
import { precheckOutputFolder, SETUP_ERRORS } from '../output-check';
import { REVIEW_BAND_OPTIONS, REVIEW_BAND_USAGE, reviewBandChoice } from '../review-band-options';
import { describeReviewBand } from '../../common/review-band';

/** Exit status of `bgad inspect`, for a line controller. */
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

/** Errors that mean "the command cannot start as asked" (exit 2), not "a file failed" (exit 1) or "the run stopped" (exit 3). */

const command: Command = {
  name: 'inspect',
  summary: 'Inspect a folder of images with a model: verdicts, heat maps, PDF/CSV/HTML reports',
  usage: `Usage: bgad inspect --model FILE --input DIR --out DIR [options]

  --model FILE           the model bundle (.bgad)
  --input DIR            folder of images, searched recursively
  --out DIR              where results.jsonl, the reports and heatmaps/, thumbs/ go
  --threshold X          fail above X instead of the model's threshold
${REVIEW_BAND_USAGE}
  --format LIST          reports to write: pdf,csv,html (default pdf,csv)
  --include GLOB         only files matching GLOB (repeatable; default: image extensions)
  --exclude GLOB         skip files matching GLOB (repeatable)
  --threads N            ONNX Runtime threads (default 1: the other cores decode images
                         and draw heat maps meanwhile)
  --spin                 let idle ONNX Runtime threads spin (only on an otherwise idle PC)
  --batch N              images per ONNX Runtime run (default 1)
  --ep cpu|cuda|dml|webgpu  execution provider (falls back to the CPU with a notice)
  --cache-dir DIR        backbone cache (default ./.cache or BGAD_CACHE_DIR)
  --max-file-mb N        largest image file read, in MiB (default ${DEFAULT_MAX_FILE_BYTES / 2 ** 20}); larger files are
                         refused unread (IMAGE_TOO_LARGE)
  --json                 print the summary as JSON on stdout
  -q, --quiet            no progress output

Globs match the path relative to --input ("*.png", "line2/**/*.jpg", "{a,b}/*.tif"); a glob
without "/" matches the file name in any folder; case is ignored.
Only regular files are read: a device, FIFO or socket (or a link to one) named like an image
gets the verdict error with the reason, as does a file over the size limit.
The output folder must not be the input folder nor hold it; inside the input it is skipped,
as are earlier output folders and files named like heat maps (*.map.png, *.overlay.png/jpg).
One run at a time per output folder (lock file .bgad-inspect.lock; a lock left by a process
that is gone is taken over).
Running the same command again continues where it stopped: files already in results.jsonl
(same content, by sha256) are not inspected again.
In results.csv a text cell that starts with = + - @, a tab or a carriage return gets a leading
' (so a spreadsheet shows it as text, never runs it); results.jsonl keeps the exact names. On
the console, control characters in file names are shown escaped (\x1b).
Exit status:
  0    every file passed
  1    a file failed or could not be read or inspected
  2    bad usage, a model that cannot be loaded, or an output folder that cannot be used
       (a file, the input folder) or is in use by another run
  3    the run itself stopped (disk full, output not writable, an unexpected error); the
       results written so far are kept, run the same command again to continue
  4    only with --review-band or --review-range: no file failed or had an error, but at
       least one is in the review band (a person decides); without them a review never occurs
  130  cancelled with Ctrl-C; the results written so far are kept`,
  options: {
    model: { type: 'string' },
    input: { type: 'string' },
    out: { type: 'string' },
    threshold: { type: 'string' },
    ...REVIEW_BAND_OPTIONS,
    format: { type: 'string' },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    threads: { type: 'string' },
    batch: { type: 'string' },
    spin: { type: 'boolean' },
    ep: { type: 'string' },
    'cache-dir': { type: 'string' },
    'max-file-mb': { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values }, io) {
    const model = resolve(str(values.model, 'model'));
    const input = resolve(str(values.input, 'input'));
    const out = resolve(str(values.out, 'out'));
    const threshold = optNum(values.threshold, 'threshold');
    const reviewBand = reviewBandChoice(values);
    const threads = optNum(values.threads, 'threads', { min: 1, max: 256, integer: true });
    const batchSize = optNum(values.batch, 'batch', { min: 1, max: 64, integer: true });
    const formats = (typeof values.format === 'string' ? values.format : 'pdf,csv').split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
    for (const f of formats) if (!REPORT_FORMATS.includes(f as ReportFormat)) throw new UsageError(`--format: unknown report format "${f}" (use ${REPORT_FORMATS.join(', ')})`);
    const ep = values.ep as string | undefined;
    if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProvider)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
    const maxFileMb = optNum(values['max-file-mb'], 'max-file-mb', { min: 1e-6, max: 1024 * 1024 });
    const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);
    const quiet = values.quiet === true;
    const fail = (code: number, text: string) => {
      io.err(`bgad inspect: ${text}`);
      return code;
    };
    // before the model is loaded: a usage error at once
    const bad = await precheckOutputFolder(input, out, INSPECT_EXIT, fail);
    if (bad !== null) return bad;
    const ac = AbortError.onSigint();
    const onProgress = progressPrinter(io, quiet);
    let s;
    try {
      s = await inspectFolder({
        model, input, out, threshold, reviewBand, formats: formats as ReportFormat[], include: list(values.include), exclude: list(values.exclude),
        threads, batchSize, spin: values.spin === true, executionProvider: ep as ExecutionProvider | undefined, cacheDir: values['cache-dir'] as string | undefined,
        maxFileBytes: maxFileMb === undefined ? undefined : Math.max(1, Math.floor(maxFileMb * 2 ** 20)),
        owner: 'bgad inspect', signal: ac.signal, onProgress,
      });
    } catch (e) {
      if (isAppError(e) && SETUP_ERRORS.has(e.code)) return fail(INSPECT_EXIT.usage, describeForTerminal(e));
      if (isAppError(e) && e.code === 'CANCELLED') {
        io.err(`\nbgad inspect: cancelled; the results so far are in ${forTerminal(out)}/results.jsonl. Run the same command again to continue.`);
        return INSPECT_EXIT.cancelled;
      }
      const kept = `The results written so far are in ${forTerminal(out)}/results.jsonl; run the same command again to continue.`;
      if (isAppError(e)) return fail(INSPECT_EXIT.aborted, `the run stopped: ${describeForTerminal(e)}\n  ${kept}`);
      // not an expected failure: an errno error's message names the file; a bug also gets its stack
      const err = e as NodeJS.ErrnoException;
      const detail = err?.code ? forTerminal(err.message) : (err?.stack ?? String(e)).split('\n').map(forTerminal).join('\n');
      return fail(INSPECT_EXIT.aborted, `the run stopped on an unexpected error: ${detail}\n  ${kept}`);
    }
    if (!quiet) io.err('');
    if (values.json) {
      const { results, ...rest } = s;
      io.out(jsonForTerminal(JSON.stringify({ ...rest, files: results.map((r) => ({ path: r.rel, sha256: r.sha256, score: r.score, verdict: r.verdict, error: r.error })) }, null, 2)));
    } else {
      for (const r of s.results.filter((x) => x.verdict === 'error')) io.out(`error  ${forTerminal(r.rel)}: ${forTerminal(r.error ?? '')}`);
      for (const r of s.results.filter((x) => x.verdict === 'fail')) io.out(`fail   ${forTerminal(r.rel)}  score ${r.score!.toFixed(4)}`);
      for (const r of s.results.filter((x) => x.verdict === 'review')) io.out(`review ${forTerminal(r.rel)}  score ${r.score!.toFixed(4)}`);
      const band = s.reviewBand ? `, ${s.review ?? 0} review` : '';
      io.out(`${s.total} files: ${s.pass} pass, ${s.fail} fail, ${s.error} error${band}; threshold ${s.threshold.toFixed(4)} (${s.thresholdSource === 'model' ? "the model's" : 'set for this run'})${s.reviewBand ? `; ${describeReviewBand(s.reviewBand)}` : ''}${s.resumed ? `; ${s.resumed} from an earlier run` : ''}`);
      io.out(`speed: ${s.inspected} files in ${(s.inspectMs / 1000).toFixed(1)} s = ${s.imagesPerSecond.toFixed(1)} images/s, ${s.msPerImage.toFixed(1)} ms/image; total ${(s.elapsedMs / 1000).toFixed(1)} s with model loading and reports; peak memory ${s.peakRssMb.toFixed(0)} MB`);
      io.out(`results: ${Object.values(s.reports).map((p) => forTerminal(p)).join(', ')}`);
    }
    return s.fail || s.error ? INSPECT_EXIT.failed : s.review ? INSPECT_EXIT.review : INSPECT_EXIT.passed;
  },
};
export default command;
