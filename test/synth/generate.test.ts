import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTH_CATEGORIES, generateSyntheticDataset, type SynthCategoryInfo } from '../../src-main/synth/generate';
import { renderClean, type SampleKey } from '../../src-main/synth/sample';

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out.sort();
}

async function hashes(root: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const f of await listFiles(root)) m.set(relative(root, f), createHash('sha256').update(await readFile(f)).digest('hex'));
  return m;
}

async function decode(file: string) {
  const meta = await sharp(file).metadata();
  const pipeline = meta.channels === 1 ? sharp(file).toColourspace('b-w') : sharp(file);
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

const SEED = 7;
let tmp: string;
let infos: SynthCategoryInfo[];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'bgad-synth-'));
  infos = (await generateSyntheticDataset({ outDir: join(tmp, 'a'), seed: SEED })).categories;
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('generateSyntheticDataset', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', async () => {
    await generateSyntheticDataset({ outDir: join(tmp, 'b'), seed: SEED });
    await generateSyntheticDataset({ outDir: join(tmp, 'c'), seed: SEED + 1, categories: ['grain', 'disc'] });
    const a = await hashes(join(tmp, 'a'));
    const b = await hashes(join(tmp, 'b'));
    const c = await hashes(join(tmp, 'c'));
    expect(a.size).toBeGreaterThan(300);
    expect([...b.entries()]).toEqual([...a.entries()]);
    let same = 0;
    for (const [k, h] of c) {
      expect(a.has(k)).toBe(true);
      if (a.get(k) === h) same++;
    }
    expect(c.size).toBeGreaterThan(100);
    expect(same).toBe(0);
  });

  it('lays out every category in MVTec folders with the announced counts', async () => {
    expect(infos.map((c) => c.name)).toEqual([...SYNTH_CATEGORIES]);
    expect(infos.some((c) => c.isRgb)).toBe(true);
    expect(infos.some((c) => !c.isRgb)).toBe(true);
    for (const info of infos) {
      expect(info.defectTypes.length).toBeGreaterThanOrEqual(3);
      const count = async (...p: string[]) => (await readdir(join(info.dir, ...p))).filter((f) => f.endsWith('.png')).length;
      expect(await count('train', 'good')).toBe(info.counts.trainGood);
      expect(await count('test', 'good')).toBe(info.counts.testGood);
      expect(info.counts.trainGood).toBeGreaterThanOrEqual(30);
      const top = (await readdir(join(info.dir, 'test'))).sort();
      expect(top).toEqual(['good', ...info.defectTypes].sort());
      for (const t of info.defectTypes) {
        expect(await count('train', t)).toBe(info.counts.trainDefect[t]);
        expect(await count('test', t)).toBe(info.counts.testDefect[t]);
        expect(await count('ground_truth', t)).toBe(info.counts.trainDefect[t] + info.counts.testDefect[t]);
      }
    }
  });

  it('gives every defect image a 0/255 grey mask of its size, and grey or RGB images as announced', async () => {
    for (const info of infos) {
      const good = await sharp(join(info.dir, 'train', 'good', '000.png')).metadata();
      expect(good.channels).toBe(info.isRgb ? 3 : 1);
      expect([good.width, good.height]).toEqual([info.width, info.height]);
      expect([info.width, info.height]).toEqual(info.name === 'shaft' ? [192, 48] : [96, 96]);
      for (const t of info.defectTypes) {
        for (const split of ['train', 'test']) {
          for (const f of await readdir(join(info.dir, split, t))) {
            const img = await sharp(join(info.dir, split, t, f)).metadata();
            expect(img.channels).toBe(info.isRgb ? 3 : 1);
            const maskFile = join(info.dir, 'ground_truth', t, f.replace(/\.png$/, '_mask.png'));
            const mask = await decode(maskFile);
            expect(mask.channels).toBe(1);
            expect([mask.width, mask.height]).toEqual([img.width, img.height]);
            let ones = 0;
            let others = 0;
            for (const v of mask.data) {
              if (v === 255) ones++;
              else if (v !== 0) others++;
            }
            expect(others).toBe(0);
            expect(ones).toBeGreaterThan(5);
          }
        }
      }
    }
  });

  it('marks in each mask exactly the pixels the defect changed', async () => {
    let checked = 0;
    for (const info of infos) {
      for (const t of info.defectTypes) {
        for (const split of ['train', 'test'] as const) {
          for (const f of (await readdir(join(info.dir, split, t))).sort()) {
            const index = Number(f.replace(/^train_/, '').replace(/\.png$/, ''));
            const key: SampleKey = { category: info.name, split, kind: t, index };
            const clean = renderClean(SEED, key, 96).image;
            const img = await decode(join(info.dir, split, t, f));
            const mask = await decode(join(info.dir, 'ground_truth', t, f.replace(/\.png$/, '_mask.png')));
            expect(img.channels).toBe(clean.channels);
            let mismatches = 0;
            for (let p = 0; p < mask.data.length; p++) {
              let isChanged = false;
              for (let c = 0; c < img.channels; c++) if (img.data[p * img.channels + c] !== clean.data[p * img.channels + c]) isChanged = true;
              if (isChanged !== (mask.data[p] === 255)) mismatches++;
            }
            expect(mismatches, `${info.name}/${split}/${t}/${f}`).toBe(0);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(80);
  });

  it('re-renders good images exactly from their seed', async () => {
    const info = infos.find((c) => c.isRgb)!;
    const img = await decode(join(info.dir, 'test', 'good', '003.png'));
    const clean = renderClean(SEED, { category: info.name, split: 'test', kind: 'good', index: 3 }, 96).image;
    expect(Buffer.from(img.data).equals(Buffer.from(clean.data))).toBe(true);
  });

  it('rejects an unknown category and a size out of range with a BAD_ARGUMENT error', async () => {
    await expect(generateSyntheticDataset({ outDir: join(tmp, 'x'), seed: 1, categories: ['nope'] })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(generateSyntheticDataset({ outDir: join(tmp, 'x'), seed: 1, sizePx: 8 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
