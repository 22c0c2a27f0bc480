import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { CliIO, Command } from '../command';
import { optNum, str, UsageError } from '../command';
import { benchEngine } from '../../training/bench-engine';
import { benchBackbones } from '../../backbones/bench';
import { benchDb } from '../../services/bench-db';
import { trainModel } from '../../training/pipeline';
import { defaultCacheRoot } from '../../db/paths';
import { evaluateModel } from '../../training/evaluate';
import { benchWatch, SLOW_WRITE_CHUNKS, SLOW_WRITE_GAP_MS, type BenchWatchReport } from '../../station/bench';

const command: Command = {
  name: 'bench',
  summary: 'Benchmarks: engine (training step GFLOP/s), backbones (ms/image, AUROC), db (import, listing), watch (station images/s, latency)',
  usage: `Usage:
  bgad bench engine [--positions N] [--threads N] [--seconds S] [--json FILE]
      one BGAD training step (8 coupling blocks, 128-dim condition) at C = 24, 96, 200 and a
      plain MatMul in the same run; prints one JSON object
  bgad bench backbones --data DIR [--backbones ID,...] [--images N] [--no-eval] [--steps N] [--json FILE]
      ms/image at 256x256 for each available backbone (or those named), and the fast-preset
      image and pixel AUROC of BGAD on DIR (one category)
  bgad bench db [--import DIR] [--json FILE]
      import time of DIR and listing a page of 100 from 10,000 images with filters
  bgad bench watch --model FILE.bgad --images DIR [--rate N] [--seconds S] [--settle-ms N]
                   [--warmup S] [--slow-write] [--threads N] [--json FILE]
      the station (bgad watch) on a temp folder into which images from DIR (cycled, each with
      distinct bytes) are dropped at N/s (default 10) for S s (default 60), each renamed into
      place (--slow-write: written in ${SLOW_WRITE_CHUNKS} chunks ${SLOW_WRITE_GAP_MS} ms apart); prints sustained images/s and
      the latency from file complete to announced verdict (p50/p95/p99, settle included,
      default settle 1000 ms), against the target of 10 images/s with p95 under 1 s. Make a
      model with: bgad train --data CATEGORY_DIR --out FILE.bgad`,
  options: {
    positions: { type: 'string' }, threads: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'string' },
    data: { type: 'string' }, images: { type: 'string' }, 'no-eval': { type: 'boolean' }, steps: { type: 'string' }, import: { type: 'string' },
    backbones: { type: 'string' }, model: { type: 'string' }, rate: { type: 'string' }, 'settle-ms': { type: 'string' }, warmup: { type: 'string' }, 'slow-write': { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals }, io) {
    const what = positionals[0];
    let result: unknown;
    if (what === 'engine') {
      result = await benchEngine({
        positions: optNum(values.positions, 'positions', { min: 64, integer: true }),
        threads: optNum(values.threads, 'threads', { min: 1, integer: true }),
        seconds: optNum(values.seconds, 'seconds', { min: 0.1 }),
      }, (l) => io.err(l));
    } else if (what === 'backbones') {
      const dataDir = resolve(str(values.data, 'data'));
      const steps = optNum(values.steps, 'steps', { min: 1, integer: true });
      result = await benchBackbones({
        dataDir,
        images: optNum(values.images, 'images', { min: 1, integer: true }),
        threads: optNum(values.threads, 'threads', { min: 1, integer: true }),
        only: typeof values.backbones === 'string' ? values.backbones.split(',').map((x) => x.trim()).filter(Boolean) : undefined,
        cacheDir: resolve(defaultCacheRoot(), 'backbones'),
        log: (l) => io.err(l),
        evaluate: values['no-eval'] ? undefined : async (id) => {
          io.err(`${id}: training and evaluating BGAD (fast preset)...`);
          // time and memory of this backbone's run: RSS is sampled, since maxRSS spans the process
          const t0 = performance.now();
          let peak = process.memoryUsage().rss;
          const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 250);
          try {
            const m = await trainModel({ dataDir, backboneId: id, anomalies: 10, overrides: steps ? { steps } : {} });
            const e = await evaluateModel(m.bundle, m.testGood, m.testDefects, {});
            peak = Math.max(peak, process.memoryUsage().rss);
            // a shortened run (--steps) says nothing about the fast preset's time
            const trainMinutes = steps ? null : (performance.now() - t0) / 60_000;
            return { imageAuroc: e.imageAuroc, pixelAuroc: e.pixelAuroc ?? NaN, aupro: e.aupro, trainMinutes, peakGb: peak / 2 ** 30 };
          } finally {
            clearInterval(sampler);
          }
        },
      });
    } else if (what === 'db') {
      result = await benchDb({ importSrc: typeof values.import === 'string' ? resolve(values.import) : undefined });
    } else if (what === 'watch') {
      result = await runBenchWatch(values, io);
    } else {
      throw new UsageError(`bench needs one of: engine, backbones, db, watch${what ? ` (got "${what}")` : ''}`);
    }
    const text = JSON.stringify(result, null, 2);
    io.out(text);
    if (typeof values.json === 'string') await writeFile(resolve(values.json), text + '\n');
    // a file without exactly one result is a station bug, not a slow machine
    const w = result as Partial<BenchWatchReport>;
    return what === 'watch' && (w.missing || w.duplicates) ? 1 : 0;
  },
};

/** `bgad bench watch`: progress and the verdict line on stderr, the figures as JSON on stdout. */
async function runBenchWatch(values: Record<string, unknown>, io: CliIO): Promise<BenchWatchReport> {
  const opts = {
    model: str(values.model, 'model'),
    images: str(values.images, 'images'),
    rate: optNum(values.rate, 'rate', { min: 0.1, max: 1000 }),
    seconds: optNum(values.seconds, 'seconds', { min: 1 }),
    settleMs: optNum(values['settle-ms'], 'settle-ms', { min: 0, integer: true }),
    warmupSeconds: optNum(values.warmup, 'warmup', { min: 0 }),
    threads: optNum(values.threads, 'threads', { min: 1, integer: true }),
    slowWrite: values['slow-write'] === true,
  };
  const ac = new AbortController();
  const onSigint = () => { io.err('bench watch: stopping...'); ac.abort(); };
  process.once('SIGINT', onSigint);
  try {
    const r = await benchWatch({ ...opts, signal: ac.signal, log: (l) => io.err(l) });
    const l = r.latencyMs;
    const m = r.latencyMinusSettleMs;
    io.err(`bench watch: ${r.dropped} dropped, ${r.results} results (${r.verdicts.pass} pass, ${r.verdicts.fail} fail, ${r.verdicts.error} error), ${r.missing} missing, ${r.duplicates} duplicated; backlog at the end ${r.backlogAtEnd}, drained in ${r.drainSeconds} s; peak RSS ${r.peakRssMb} MB, ${r.cpuMsPerImage} ms of CPU per image`);
    io.err(`  latency file complete -> verdict (ms, ${r.steadyFiles} files after a ${r.warmupSeconds} s warm-up): p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max}; minus the ${r.settleMs} ms settle: p50 ${m.p50}  p95 ${m.p95}  p99 ${m.p99}`);
    io.err(`  load average ${r.loadAverage.start.join(' ')} at the start, ${r.loadAverage.end.join(' ')} at the end (${r.cores} cores)`);
    io.err(r.target.line);
    return r;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export default command;
