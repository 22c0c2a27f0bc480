/**
 * The models the engine keeps open for `inspect-image` (src-main/engine/model-cache.ts): the
 * second job on a model does not open it again and gives the very same score as a fresh open;
 * a bundle file rewritten with a new threshold is opened again and judged at that threshold at
 * once; the least recently used model is disposed past the capacity, one in use only when its
 * job is done, and all at shutdown.
 */
import { copyFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_JOB_HANDLERS, inspectionModels } from '../../src-main/engine/app-jobs';
import type { JobContext } from '../../src-main/engine/engine-worker-core';
import { ModelCache } from '../../src-main/engine/model-cache';
import { inspectImage } from '../../src-main/inspection/inspect';
import { loadBundle, rewriteBundleThreshold } from '../../src-main/model/bundle-file';
import type { InspectionModel } from '../../src-main/model/scorer';
import { CACHE_DIR, getFixture, removeDir, tempDir, type Fixture } from '../inspection/fixture';

const ctx: JobContext = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

function fakeModel(name: string, log: string[]): InspectionModel {
  return {
    source: { file: name } as InspectionModel['source'],
    spec: {} as InspectionModel['spec'],
    input: { height: 1, width: 1 },
    score: async () => [],
    dispose: async () => { log.push(`dispose ${name}`); },
  };
}

describe('ModelCache (least recently used, disposed when no job uses it)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('bgad-model-cache-');
    for (const f of ['a', 'b', 'c']) writeFileSync(join(dir, f), f);
  });
  afterAll(() => removeDir(dir));

  it('opens each model once, evicts the least recently used, keeps one in use open until its job ends', async () => {
    const log: string[] = [];
    const cache = new ModelCache(2, async (file) => {
      log.push(`open ${file.slice(-1)}`);
      return fakeModel(file.slice(-1), log);
    });
    const use = (f: string) => cache.use(join(dir, f), { threads: 1 }, async (m) => m.source.file);
    expect(await use('a')).toBe('a');
    expect(await use('a')).toBe('a');
    await use('b');
    await use('a'); // a is the most recent now: b goes first
    await use('c');
    await new Promise((r) => setTimeout(r, 10));
    expect([...log].sort()).toEqual(['dispose b', 'open a', 'open b', 'open c']);
    expect(cache.stats()).toMatchObject({ opens: 3, hits: 2, open: 2 });

    // other runtime options are another model
    await cache.use(join(dir, 'a'), { threads: 2 }, async () => null);
    expect(cache.stats().opens).toBe(4);

    // a model in use when it is evicted is disposed after its job
    let release!: () => void;
    const busy = cache.use(join(dir, 'b'), {}, () => new Promise<void>((ok) => { release = ok; }));
    await new Promise((r) => setTimeout(r, 10));
    await use('a');
    await use('c');
    expect(log.at(-1)).not.toBe('dispose b');
    release();
    await busy;
    await new Promise((r) => setTimeout(r, 10));
    expect(log.at(-1)).toBe('dispose b');

    await cache.dispose();
    expect(cache.stats().open).toBe(0);
    expect(log.filter((l) => l.startsWith('open')).length).toBe(log.filter((l) => l.startsWith('dispose')).length);
  });

  it('opens a changed file again and drops the stale entry at once', async () => {
    const log: string[] = [];
    const cache = new ModelCache(2, async (file) => {
      log.push('open');
      return fakeModel(file, log);
    });
    const a = join(dir, 'a');
    await cache.use(a, {}, async () => null);
    await cache.use(a, {}, async () => null);
    writeFileSync(a, 'A'); // same size, new bytes
    utimesSync(a, new Date(), new Date(Date.now() + 5000));
    await cache.use(a, {}, async () => null);
    await new Promise((r) => setTimeout(r, 10));
    expect([...log].sort()).toEqual([`dispose ${a}`, 'open', 'open']);
    expect(cache.stats()).toMatchObject({ opens: 2, hits: 1, open: 1 });
    await cache.dispose();
  });

  it('forgets a model that failed to open', async () => {
    let n = 0;
    const cache = new ModelCache(2, async () => {
      n++;
      throw new Error('broken');
    });
    await expect(cache.use(join(dir, 'a'), {}, async () => null)).rejects.toThrow('broken');
    await expect(cache.use(join(dir, 'a'), {}, async () => null)).rejects.toThrow('broken');
    expect(n).toBe(2);
    expect(cache.stats().open).toBe(0);
  });
});

describe('the inspect-image job keeps its model open', () => {
  let fixture: Fixture;
  let dir: string;
  let bundle: string;
  let image: string;
  beforeAll(async () => {
    fixture = await getFixture();
    dir = tempDir('bgad-inspect-image-cache-');
    bundle = join(dir, 'model.bgad');
    copyFileSync(fixture.modelPath, bundle);
    const good = join(fixture.testDir, 'good');
    image = join(good, readdirSync(good).sort()[0]!);
  }, 600_000);
  afterAll(async () => {
    await inspectionModels.dispose();
    removeDir(dir);
  });

  const job = (threshold?: number) => APP_JOB_HANDLERS['inspect-image']({ bundle, image, out: join(dir, 'out'), threshold, cacheDir: CACHE_DIR, threads: 1 }, ctx);

  it('opens the model once for two images, with the scores of a fresh open, and again when the bundle file changes', async () => {
    const before = inspectionModels.stats();
    const first = await job();
    const second = await job();
    const after = inspectionModels.stats();
    expect(after.opens - before.opens).toBe(1);
    expect(after.hits - before.hits).toBe(1);
    expect(second.score).toBe(first.score);
    // the score of a model opened for this image alone (what the job did before it cached)
    const fresh = await inspectImage({ model: bundle, image, cacheDir: CACHE_DIR, threads: 1 });
    expect(first.score).toBe(fresh.score);
    expect(first.threshold).toBe(fixture.bundle.meta.threshold);

    // the app's threshold change rewrites the bundle: the next job opens it again and uses the new threshold
    const t = Math.fround(first.score! / 2);
    rewriteBundleThreshold(bundle, t, 1);
    expect((await loadBundle(bundle)).meta.threshold).toBe(t);
    const third = await job();
    expect(inspectionModels.stats().opens - after.opens).toBe(1);
    expect(third.threshold).toBe(t);
    expect(third.verdict).toBe('fail');
    expect(third.score).toBe(first.score);
  }, 120_000);
});
