/**
 * The one scorer (src-main/model/scorer.ts): the scoring head on backbone features (training,
 * evaluation, the score-split job) and the model opened on images (inspection, export) give
 * the same score and map, and a bundle is only opened with the backbone build it was trained
 * with (src-main/model/backbone.ts).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureExtractor } from '../../src-main/backbones/extractor';
import { loadImageTensor } from '../../src-main/images/load';
import { backboneForBundle } from '../../src-main/model/backbone';
import { openInspectionModel, Scorer } from '../../src-main/model/scorer';
import { CACHE_DIR, getFixture, type Fixture } from '../inspection/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await getFixture();
}, 300_000);

describe('the scorer', () => {
  it('scores backbone features exactly as the model opened on the image does', async () => {
    const image = join(fx.testDir, 'good', '000.png');
    const S = fx.bundle.meta.backbone.inputSize;
    const { chw } = await loadImageTensor(image, S);
    const spec = await backboneForBundle(fx.bundle, CACHE_DIR);
    const extractor = await FeatureExtractor.create(spec, { threads: 1 });
    const scorer = await Scorer.fromBundle(fx.bundle, { threads: 1 });
    const opened = await openInspectionModel(fx.bundle, { cacheDir: CACHE_DIR, threads: 1 });
    try {
      const taps = await extractor.extractBatch(chw, 1);
      const [a] = await scorer.score([taps]);
      const [b] = await opened.score(chw, 1);
      expect(a!.score).toBe(b!.score);
      expect(a!.map).toEqual(b!.map);
      expect(a!.map).toHaveLength(S * S);
    } finally {
      await Promise.all([extractor.dispose(), scorer.dispose(), opened.dispose()]);
    }
  });

  it('opens a bundle only with the backbone build it was trained with', async () => {
    const other = { ...fx.bundle, meta: { ...fx.bundle.meta, backbone: { ...fx.bundle.meta.backbone, sha256: '0'.repeat(64) } } };
    await expect(backboneForBundle(other, CACHE_DIR)).rejects.toMatchObject({ code: 'BAD_MODEL', message: expect.stringMatching(/different build of backbone/) });
    await expect(openInspectionModel(other, { cacheDir: CACHE_DIR })).rejects.toMatchObject({ code: 'BAD_MODEL' });
    const unknown = { ...fx.bundle, meta: { ...fx.bundle.meta, backbone: { ...fx.bundle.meta.backbone, id: 'no-such-backbone' } } };
    await expect(backboneForBundle(unknown, CACHE_DIR)).rejects.toMatchObject({ code: 'BAD_MODEL', message: expect.stringMatching(/needs backbone no-such-backbone/) });
  });
});
