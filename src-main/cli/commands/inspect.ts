import type { Command } from '../command';
import { optNum, UsageError } from '../command';
import { AbortError } from '../abort';
import { progressPrinter } from '../progress';
import { forTerminal, describeForTerminal, jsonForTerminal } from '../terminal-text';
import { isAppError } from '../../common/errors';
import { DEFAULT_MAX_FILE_BYTES } from '../../images/load';
import { inspectFolder } from '../../inspection/inspect';
import { REPORT_FORMATS, type ReportFormat } from '../../model/records';
import { precheckOutputFolder, SETUP_ERRORS } from '../output-check';
import { INSPECT_EXIT, INSPECT_OPTIONS, parseInspectOptions, unexpectedErrorText } from '../inspect-options';
import { REVIEW_BAND_USAGE } from '../review-band-options';
import { describeReviewBand } from '../../common/review-band';

export { INSPECT_EXIT } from '../inspect-options';

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
  --threads N            ONNX Runtime threads per session (default 1); the backbone and the
                         scoring head each run in their own thread, two images in flight, while
                         this thread decodes images and draws heat maps
  --no-workers           run the backbone and the head in this thread, one image at a time
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
    ...INSPECT_OPTIONS,
    format: { type: 'string' },
    batch: { type: 'string' },
    spin: { type: 'boolean' },
    'no-workers': { type: 'boolean' },
  },
  async run({ values }, io) {
    const o = parseInspectOptions(values);
    const { input, out, quiet } = o;
    const batchSize = optNum(values.batch, 'batch', { min: 1, max: 64, integer: true });
    const formats = (typeof values.format === 'string' ? values.format : 'pdf,csv').split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
    for (const f of formats) if (!REPORT_FORMATS.includes(f as ReportFormat)) throw new UsageError(`--format: unknown report format "${f}" (use ${REPORT_FORMATS.join(', ')})`);
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
        model: o.model, input, out, threshold: o.threshold, reviewBand: o.reviewBand, formats: formats as ReportFormat[], include: o.include, exclude: o.exclude,
        threads: o.threads, batchSize, spin: values.spin === true, workers: values['no-workers'] !== true, executionProvider: o.executionProvider, cacheDir: o.cacheDir, maxFileBytes: o.maxFileBytes,
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
      return fail(INSPECT_EXIT.aborted, `the run stopped on an unexpected error: ${unexpectedErrorText(e)}\n  ${kept}`);
    }
    if (!quiet) io.err('');
    if (o.json) {
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
