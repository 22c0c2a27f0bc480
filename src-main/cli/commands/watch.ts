import type { Command } from '../command';
import { optNum, UsageError } from '../command';
import { forTerminal, describeForTerminal, jsonForTerminal } from '../terminal-text';
import { isAppError } from '../../common/errors';
import { DEFAULT_MAX_FILE_BYTES } from '../../images/load';
import { runStation, DEFAULT_SETTLE_MS, type Station, type StationEvent, type StationResult, type StationSummary } from '../../station/index';
import { precheckOutputFolder, SETUP_ERRORS } from '../output-check';
import { INSPECT_EXIT, INSPECT_OPTIONS, parseInspectOptions, unexpectedErrorText } from '../inspect-options';
import { REVIEW_BAND_USAGE } from '../review-band-options';
import { describeReviewBand } from '../../common/review-band';

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
    ...INSPECT_OPTIONS,
    'settle-ms': { type: 'string' },
    'move-to': { type: 'string' },
    webhook: { type: 'string' },
    mqtt: { type: 'string' },
    'mqtt-topic': { type: 'string' },
    poll: { type: 'boolean' },
  },
  async run({ values }, io) {
    const o = parseInspectOptions(values);
    const { input, out, quiet, json, reviewBand } = o;
    const settleMs = optNum(values['settle-ms'], 'settle-ms', { min: 0, max: 3_600_000, integer: true });
    const mqttUrl = values.mqtt as string | undefined;
    const topic = values['mqtt-topic'] as string | undefined;
    if ((mqttUrl === undefined) !== (topic === undefined)) throw new UsageError('--mqtt and --mqtt-topic go together');
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
        model: o.model, input, out, threshold: o.threshold, reviewBand: o.reviewBand, settleMs, threads: o.threads, include: o.include, exclude: o.exclude,
        moveTo: values['move-to'] as string | undefined, webhook: values.webhook as string | undefined,
        mqtt: mqttUrl !== undefined ? { url: mqttUrl, topic: topic! } : undefined,
        executionProvider: o.executionProvider, cacheDir: o.cacheDir, maxFileBytes: o.maxFileBytes,
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
      return fail(INSPECT_EXIT.aborted, `the station stopped on an unexpected error: ${unexpectedErrorText(e)}\n  ${kept}`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (!quiet) io.err(summaryLine(station.summary(), reviewBand !== undefined));
    return 0;
  },
};
export default command;
