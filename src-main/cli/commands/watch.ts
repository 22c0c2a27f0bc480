import { resolve } from 'node:path';
import type { Command } from '../command';
import { optNum, str, UsageError } from '../command';
import { forTerminal, describeForTerminal, jsonForTerminal } from '../terminal-text';
import { isAppError } from '../../common/errors';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../../common/records';
import { DEFAULT_MAX_FILE_BYTES } from '../../images/load';
import { runStation, DEFAULT_SETTLE_MS, type Station, type StationEvent, type StationResult, type StationSummary } from '../../station/index';
import { INSPECT_EXIT } from './inspect';
import { precheckOutputFolder, SETUP_ERRORS } from '../output-check';
import { describeReviewBand } from '../../common/review-band';
import { REVIEW_BAND_OPTIONS, REVIEW_BAND_USAGE, reviewBandChoice } from '../review-band-options';

/** Errors that mean "the station cannot start as asked" (exit 2), as for `bgad inspect`. */

function resultLine(r: StationResult): string {
  const { result, event, movedTo } = r;
  const name = forTerminal(result.rel);
  const tail = `${event.latencyMs === null ? '  (recovered after a restart)' : `  ${event.latencyMs} ms`}${movedTo ? ` -> ${forTerminal(movedTo)}` : ''}`;
  if (result.verdict === 'error') return `error  ${name}: ${forTerminal(result.error ?? '')}${tail}`;
  return `${result.verdict.padEnd(6)} ${name}  score ${result.score!.toFixed(4)}${tail}`;
}

function summaryLine(s: StationSummary, band: boolean): string {
  const time = s.at.slice(11, 19);
  const y = s.yield === null ? '-' : `${(s.yield * 100).toFixed(1)} %`;
  const queue = Object.entries(s.backlog).map(([k, v]) => `${k} ${v}`).join(', ');
  return `[${time}] ${s.total} results: ${s.pass} pass, ${s.fail} fail, ${s.error} error${band ? `, ${s.review} review` : ''}; yield ${y}; ${s.imagesPerSecond.toFixed(2)} images/s; ${s.pendingFiles} files waiting${queue ? `; events to deliver: ${queue}` : ''}`;
}

function noticeLine(e: StationEvent): string | null {
  switch (e.type) {
    case 'sink-down': return `bgad watch: ${e.sink} delivery failed: ${forTerminal(e.error)}; events wait in the queue on disk, retrying (first in ${(e.retryInMs / 1000).toFixed(1)} s, then backing off up to 30 s)`;
    case 'sink-up': return `bgad watch: ${e.sink} delivery works again (${forTerminal(e.target)}) after ${e.failures} failed attempts`;
    case 'dead-letter': return `bgad watch: ${e.sink} refused the event of ${forTerminal(e.path)} permanently (${forTerminal(e.target)}${e.status ? `, status ${e.status}` : ''}): ${forTerminal(e.error)}; kept in station/dead-letter.jsonl, not retried`;
    case 'warning': return `bgad watch: ${forTerminal(e.message)}`;
    default: return null;
  }
}

const command: Command = {
  name: 'watch',
  summary: 'Station mode: inspect images as they arrive in a folder; tell the line by webhook or MQTT',
  usage: `Usage: bgad watch --model FILE --input DIR --out DIR [options]

  --model FILE           the model bundle (.bgad)
  --input DIR            the folder the camera writes into, watched recursively
  --out DIR              results.jsonl, results.csv, heatmaps/, thumbs/ and station/ (the event queue)
  --settle-ms N          a file is read once its size and time stamp have not changed for N ms
                         (default ${DEFAULT_SETTLE_MS})
  --move-to DIR          move each inspected file into DIR/pass, DIR/fail or DIR/error (and
                         DIR/review with a review band), keeping its sub-folder; a taken name
                         gets -1, -2, ...
  --webhook URL          POST each result as JSON (header Idempotency-Key: the event id)
  --mqtt URL             publish each result with QoS 1 (mqtt://host:1883); needs --mqtt-topic
  --mqtt-topic T         the topic to publish on
  --threshold X          fail above X instead of the model's threshold
${REVIEW_BAND_USAGE}
                         (the events, results.csv and --move-to then carry review verdicts)
  --include GLOB         only files matching GLOB (repeatable; default: image extensions)
  --exclude GLOB         skip files matching GLOB (repeatable)
  --threads N            ONNX Runtime threads (default 1)
  --ep cpu|cuda|dml|webgpu  execution provider (falls back to the CPU with a notice)
  --cache-dir DIR        backbone cache (default ./.cache or BGAD_CACHE_DIR)
  --max-file-mb N        largest image file read, in MiB (default ${DEFAULT_MAX_FILE_BYTES / 2 ** 20})
  --poll                 watch by polling (network shares that send no change events)
  --json                 print each result event as one JSON line on stdout
  -q, --quiet            no start line and no summaries (results and problems are printed)

One line per result on stdout; a summary every minute on stderr (counts, yield, images/s,
events waiting per receiver). Ctrl-C (or SIGTERM) stops cleanly: the current image is
finished and recorded, files are flushed, the watcher and the MQTT connection closed.
Files that arrived while it was stopped are inspected on the next start; a file already in
results.jsonl (same path and content) is never inspected or announced twice.
Events are delivered at least once, with an id: after a crash between sending and recording
the receiver's answer an event is sent again with the same id (and Idempotency-Key), so a
receiver de-duplicates by it. An unreachable receiver never holds up inspection: events wait
in OUT/station/events.jsonl and are retried with back-off up to 30 s; a webhook's 4xx other
than 408/429 is permanent (logged, kept in OUT/station/dead-letter.jsonl).
The output folder is locked (.bgad-inspect.lock): a watch and an inspect cannot share it.
Exit status:
  0    stopped with Ctrl-C or SIGTERM
  2    bad usage, a model that cannot be loaded, or an output folder that cannot be used
       or is in use by another run
  3    the station stopped on an error (disk full, output not writable); the results written
       so far are kept, start it again to continue`,
  options: {
    model: { type: 'string' },
    input: { type: 'string' },
    out: { type: 'string' },
    'settle-ms': { type: 'string' },
    'move-to': { type: 'string' },
    webhook: { type: 'string' },
    mqtt: { type: 'string' },
    'mqtt-topic': { type: 'string' },
    threshold: { type: 'string' },
    ...REVIEW_BAND_OPTIONS,
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    threads: { type: 'string' },
    ep: { type: 'string' },
    'cache-dir': { type: 'string' },
    'max-file-mb': { type: 'string' },
    poll: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  },
  async run({ values }, io) {
    const model = resolve(str(values.model, 'model'));
    const input = resolve(str(values.input, 'input'));
    const out = resolve(str(values.out, 'out'));
    const threshold = optNum(values.threshold, 'threshold');
    const reviewBand = reviewBandChoice(values);
    const settleMs = optNum(values['settle-ms'], 'settle-ms', { min: 0, max: 3_600_000, integer: true });
    const threads = optNum(values.threads, 'threads', { min: 1, max: 256, integer: true });
    const maxFileMb = optNum(values['max-file-mb'], 'max-file-mb', { min: 1e-6, max: 1024 * 1024 });
    const ep = values.ep as string | undefined;
    if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProvider)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}`);
    const mqttUrl = values.mqtt as string | undefined;
    const topic = values['mqtt-topic'] as string | undefined;
    if ((mqttUrl === undefined) !== (topic === undefined)) throw new UsageError('--mqtt and --mqtt-topic go together');
    const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);
    const quiet = values.quiet === true;
    const json = values.json === true;
    const fail = (code: number, text: string) => {
      io.err(`bgad watch: ${text}`);
      return code;
    };
    // before the model is loaded: a usage error at once
    const bad = await precheckOutputFolder(input, out, INSPECT_EXIT, fail);
    if (bad !== null) return bad;
    let station: Station;
    try {
      station = await runStation({
        model, input, out, threshold, reviewBand, settleMs, threads, include: list(values.include), exclude: list(values.exclude),
        moveTo: values['move-to'] as string | undefined, webhook: values.webhook as string | undefined,
        mqtt: mqttUrl !== undefined ? { url: mqttUrl, topic: topic! } : undefined,
        executionProvider: ep as ExecutionProvider | undefined, cacheDir: values['cache-dir'] as string | undefined,
        maxFileBytes: maxFileMb === undefined ? undefined : Math.max(1, Math.floor(maxFileMb * 2 ** 20)),
        usePolling: values.poll === true,
        owner: 'bgad watch',
        onResult: (r) => io.out(json ? jsonForTerminal(JSON.stringify(r.event)) : resultLine(r)),
        onEvent: (e) => {
          if (e.type === 'started' && !quiet) {
            const waiting = Object.entries(e.backlog).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k} events`);
            io.err(`bgad watch: watching ${forTerminal(e.input)} (threshold ${e.threshold.toFixed(4)}${e.reviewBand ? `; ${describeReviewBand(e.reviewBand)}` : ''}); results in ${forTerminal(e.out)}/results.jsonl${waiting.length ? `; still to deliver: ${waiting.join(', ')}` : ''}. Ctrl-C stops.`);
          }
          const line = noticeLine(e);
          if (line) io.err(line);
        },
        onSummary: (s) => { if (!quiet) io.err(summaryLine(s, reviewBand !== undefined)); },
      });
    } catch (e) {
      if (isAppError(e) && SETUP_ERRORS.has(e.code)) return fail(INSPECT_EXIT.usage, describeForTerminal(e));
      if (isAppError(e)) return fail(INSPECT_EXIT.aborted, describeForTerminal(e));
      throw e;
    }
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals > 1) process.exit(INSPECT_EXIT.cancelled);
      if (!quiet) io.err('\nbgad watch: stopping (finishing the current image; press Ctrl+C again to quit at once)...');
      void station.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await station.done;
    } catch (e) {
      const kept = `The results written so far are in ${forTerminal(out)}/results.jsonl; start it again to continue.`;
      if (isAppError(e)) return fail(INSPECT_EXIT.aborted, `the station stopped: ${describeForTerminal(e)}\n  ${kept}`);
      const err = e as NodeJS.ErrnoException;
      const detail = err?.code ? forTerminal(err.message) : (err?.stack ?? String(e)).split('\n').map(forTerminal).join('\n');
      return fail(INSPECT_EXIT.aborted, `the station stopped on an unexpected error: ${detail}\n  ${kept}`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (!quiet) io.err(summaryLine(station.summary(), reviewBand !== undefined));
    return 0;
  },
};
export default command;
