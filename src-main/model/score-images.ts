/**
 * Image scores of a model on a list of image files, through the feature cache: what the
 * training job returns for its frozen test split when it does not evaluate, and what the
 * engine's `score-split` job computes for model versions stored before training returned its
 * test scores.
 */
import { join } from 'node:path';
import type { ModelBundle } from '../bgad/bundle';
import { inputGeometry } from '../bgad/geometry';
import { FeatureExtractor } from '../backbones/extractor';
import { FeatureCache, featuresForImages } from '../backbones/feature-cache';
import { backboneForBundle } from './backbone';
import { Scorer } from './scorer';

export interface ScoreImagesOptions {
  /** Backbone and feature cache root (`<root>/backbones`, `<root>/features`); without it, no feature cache. */
  cacheDir?: string;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** The image score of every file, in order (an unreadable image throws). */
export async function scoreImageFiles(bundle: ModelBundle, paths: string[], opts: ScoreImagesOptions = {}): Promise<number[]> {
  const spec = await backboneForBundle(bundle, opts.cacheDir);
  const extractor = await FeatureExtractor.create(spec, { threads: opts.threads });
  const scores: number[] = [];
  try {
    const scorer = await Scorer.fromBundle(bundle, { threads: opts.threads });
    try {
      const cache = opts.cacheDir ? new FeatureCache(join(opts.cacheDir, 'features')) : undefined;
      for await (const f of featuresForImages(paths, { extractor, cache, sizePx: inputGeometry(bundle.meta), signal: opts.signal })) {
        const [r] = await scorer.score([f.taps]);
        scores.push(r!.score);
        opts.onProgress?.(scores.length, paths.length);
      }
    } finally {
      await scorer.dispose();
    }
  } finally {
    await extractor.dispose();
  }
  return scores;
}
