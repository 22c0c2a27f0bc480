import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from '../command';
import { optNum, str, UsageError } from '../command';
import { benchEngine } from '../../training/bench-engine';
import { benchBackbones } from '../../backbones/bench';
import { benchDb } from '../../services/bench-db';
import { trainModel } from '../../training/pipeline';
import { defaultCacheRoot } from '../../db/paths';
import { evaluateModel } from '../../training/evaluate';

const command: Command = {
  name: 'bench',
  summary: 'Benchmarks: engine (training step GFLOP/s), backbones (ms/image, AUROC), db (import, listing)',
  usage: `Usage:
  bgad bench engine [--positions N] [--threads N] [--seconds S] [--json FILE]
      one BGAD training step (8 coupling blocks, 128-dim condition) at C = 24, 96, 200 and a
      plain MatMul in the same run; prints one JSON object
  bgad bench backbones --data DIR [--images N] [--no-eval] [--steps N] [--json FILE]
      ms/image at 256x256 for each available backbone, and the fast-preset image and pixel
      AUROC of BGAD on DIR (one category)
  bgad bench db [--import DIR] [--json FILE]
      import time of DIR and listing a page of 100 from 10,000 images with filters`,
  options: {
    positions: { type: 'string' }, threads: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'string' },
    data: { type: 'string' }, images: { type: 'string' }, 'no-eval': { type: 'boolean' }, steps: { type: 'string' }, import: { type: 'string' },
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
            return { imageAuroc: e.imageAuroc, pixelAuroc: e.pixelAuroc ?? NaN, trainMinutes, peakGb: peak / 2 ** 30 };
          } finally {
            clearInterval(sampler);
          }
        },
      });
    } else if (what === 'db') {
      result = await benchDb({ importSrc: typeof values.import === 'string' ? resolve(values.import) : undefined });
    } else {
      throw new UsageError(`bench needs one of: engine, backbones, db${what ? ` (got "${what}")` : ''}`);
    }
    const text = JSON.stringify(result, null, 2);
    io.out(text);
    if (typeof values.json === 'string') await writeFile(resolve(values.json), text + '\n');
    return 0;
  },
};
export default command;
