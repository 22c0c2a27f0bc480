import { resolve } from 'node:path';
import type { Command } from '../command';
import { optNum, str, UsageError } from '../command';
import { AbortError } from '../abort';
import { progressPrinter } from '../progress';
import { isAppError } from '../../common/errors';
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from '../../runtime/session';
import { inspectFolder } from '../../inspection/inspect';
import { REPORT_FORMATS, type ReportFormat } from '../../inspection/types';

/** Errors that mean "the command cannot start as asked" (exit 2), not "a file failed" (exit 1). */
const SETUP_ERRORS = new Set(['BAD_ARGUMENT', 'BAD_MODEL', 'BAD_BACKBONE', 'NOT_FOUND', 'UNAVAILABLE']);

const command: Command = {
  name: 'inspect',
  summary: 'Inspect a folder of images with a model: verdicts, heat maps, PDF/CSV/HTML reports',
  usage: `Usage: bgad inspect --model FILE --input DIR --out DIR [options]

  --model FILE           the model bundle (.bgad)
  --input DIR            folder of images, searched recursively
  --out DIR              where results.jsonl, the reports and heatmaps/, thumbs/ go
  --threshold X          fail above X instead of the model's threshold
  --format LIST          reports to write: pdf,csv,html (default pdf,csv)
  --include GLOB         only files matching GLOB (repeatable; default: image extensions)
  --exclude GLOB         skip files matching GLOB (repeatable)
  --threads N            ONNX Runtime threads (default 1: the other cores decode images
                         and draw heat maps meanwhile)
  --spin                 let idle ONNX Runtime threads spin (only on an otherwise idle PC)
  --batch N              images per ONNX Runtime run (default 1)
  --ep cpu|cuda|dml|webgpu  execution provider (falls back to the CPU with a notice)
  --cache-dir DIR        backbone cache (default ./.cache or BGAD_CACHE_DIR)
  --json                 print the summary as JSON on stdout
  -q, --quiet            no progress output

Globs match the path relative to --input ("*.png", "line2/**/*.jpg", "{a,b}/*.tif"); a glob
without "/" matches the file name in any folder; case is ignored.
Running the same command again continues where it stopped: files already in results.jsonl
(same content, by sha256) are not inspected again.
Exit status: 0 every file passed, 1 a file failed or could not be inspected (or the run was
cancelled), 2 bad usage or a model that cannot be loaded.`,
  options: {
    model: { type: 'string' },
    input: { type: 'string' },
    out: { type: 'string' },
    threshold: { type: 'string' },
    format: { type: 'string' },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    threads: { type: 'string' },
    batch: { type: 'string' },
    spin: { type: 'boolean' },
    ep: { type: 'string' },
    'cache-dir': { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values }, io) {
    const model = resolve(str(values.model, 'model'));
    const input = resolve(str(values.input, 'input'));
    const out = resolve(str(values.out, 'out'));
    const threshold = optNum(values.threshold, 'threshold');
    const threads = optNum(values.threads, 'threads', { min: 1, max: 256, integer: true });
    const batchSize = optNum(values.batch, 'batch', { min: 1, max: 64, integer: true });
    const formats = (typeof values.format === 'string' ? values.format : 'pdf,csv').split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
    for (const f of formats) if (!REPORT_FORMATS.includes(f as ReportFormat)) throw new UsageError(`--format: unknown report format "${f}" (use ${REPORT_FORMATS.join(', ')})`);
    const ep = values.ep as string | undefined;
    if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProviderName)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
    const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);
    const quiet = values.quiet === true;
    const ac = AbortError.onSigint();
    const onProgress = progressPrinter(io, quiet);
    let s;
    try {
      s = await inspectFolder({
        model, input, out, threshold, formats: formats as ReportFormat[], include: list(values.include), exclude: list(values.exclude),
        threads, batchSize, spin: values.spin === true, executionProvider: ep as ExecutionProviderName | undefined, cacheDir: values['cache-dir'] as string | undefined,
        signal: ac.signal, onProgress,
      });
    } catch (e) {
      if (isAppError(e) && SETUP_ERRORS.has(e.code)) {
        io.err(`bgad inspect: ${e.describe()}`);
        return 2;
      }
      if (isAppError(e) && e.code === 'CANCELLED') {
        io.err(`\nbgad inspect: cancelled; the results so far are in ${out}/results.jsonl. Run the same command again to continue.`);
        return 1;
      }
      throw e;
    }
    if (!quiet) io.err('');
    if (values.json) {
      const { results, ...rest } = s;
      io.out(JSON.stringify({ ...rest, files: results.map((r) => ({ path: r.rel, sha256: r.sha256, score: r.score, verdict: r.verdict, error: r.error })) }, null, 2));
    } else {
      for (const r of s.results.filter((x) => x.verdict === 'error')) io.out(`error  ${r.rel}: ${r.error}`);
      for (const r of s.results.filter((x) => x.verdict === 'fail')) io.out(`fail   ${r.rel}  score ${r.score!.toFixed(4)}`);
      io.out(`${s.total} files: ${s.pass} pass, ${s.fail} fail, ${s.error} error; threshold ${s.threshold.toFixed(4)} (${s.thresholdSource === 'model' ? "the model's" : 'set for this run'})${s.resumed ? `; ${s.resumed} from an earlier run` : ''}`);
      io.out(`speed: ${s.inspected} files in ${(s.inspectMs / 1000).toFixed(1)} s = ${s.imagesPerSecond.toFixed(1)} images/s, ${s.msPerImage.toFixed(1)} ms/image; total ${(s.elapsedMs / 1000).toFixed(1)} s with model loading and reports; peak memory ${s.peakRssMb.toFixed(0)} MB`);
      io.out(`results: ${Object.values(s.reports).join(', ')}`);
    }
    return s.fail || s.error ? 1 : 0;
  },
};
export default command;
