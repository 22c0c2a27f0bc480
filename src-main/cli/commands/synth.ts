import { resolve } from 'node:path';
import { optNum, str, UsageError, type Command } from '../command';
import { DEFAULT_SIZE_PX, SYNTH_CATEGORIES, generateSyntheticDataset } from '../../synth/generate';

/** `bgad synth`: writes the synthetic MVTec-layout data set (for demos, tests and benchmarks). */
const synth: Command = {
  name: 'synth',
  summary: 'Write a synthetic MVTec-layout data set with exact defect masks',
  usage: [
    'Usage: bgad synth --out DIR [--seed N] [--size PX] [--category NAME ...]',
    '',
    '  --out DIR        folder to write <category>/{train,test,ground_truth}/... into',
    '  --seed N         integer seed (default 0); the same seed gives byte-identical files',
    `  --size PX        square image side, 32-1024 (default ${DEFAULT_SIZE_PX}); shaft: 2*PX x PX/2 (4:1)`,
    `  --category NAME  only this category, repeatable (${SYNTH_CATEGORIES.join(', ')})`,
  ].join('\n'),
  options: {
    out: { type: 'string' },
    seed: { type: 'string' },
    size: { type: 'string' },
    category: { type: 'string', multiple: true },
  },
  async run({ values }, io) {
    const outDir = resolve(str(values.out, 'out'));
    const seed = optNum(values.seed, 'seed', { min: 0, max: 0xffffffff, integer: true }) ?? 0;
    const sizePx = optNum(values.size, 'size', { min: 32, max: 1024, integer: true }) ?? DEFAULT_SIZE_PX;
    const categories = values.category as string[] | undefined;
    for (const c of categories ?? []) {
      if (!SYNTH_CATEGORIES.includes(c)) throw new UsageError(`unknown category "${c}"; choose from ${SYNTH_CATEGORIES.join(', ')}`);
    }
    const t0 = Date.now();
    const { categories: infos } = await generateSyntheticDataset({ outDir, seed, sizePx, categories });
    for (const c of infos) {
      const nTrainDefect = Object.values(c.counts.trainDefect).reduce((a, b) => a + b, 0);
      const nTestDefect = Object.values(c.counts.testDefect).reduce((a, b) => a + b, 0);
      io.out(
        `${c.name} (${c.isRgb ? 'RGB' : 'grey'}, ${c.width}x${c.height}, ${c.defectTypes.join('/')}): train ${c.counts.trainGood} good + ${nTrainDefect} defective, ` +
          `test ${c.counts.testGood} good + ${nTestDefect} defective -> ${c.dir}`,
      );
    }
    io.out(`Wrote ${infos.length} categories (${sizePx} px, seed ${seed}) in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
    return 0;
  },
};

export default synth;
