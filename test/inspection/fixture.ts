/**
 * Shared fixture for the inspection tests: a synthetic MVTec-layout data set and one small
 * model trained on its `stripes` category with the `mobilenetv2` backbone (pinned: the tests
 * assert its normalisation), built once and reused by every test file (a lock folder keeps two
 * vitest workers from training it twice). The temp-folder cache is keyed by everything the
 * model depends on: the recipe, the backbone build and the source code that trains it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForTest } from '../helpers/bundle-for-test';
import { sourceKey } from '../helpers/source-key';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { trainModel } from '../../src-main/training/pipeline';
import { loadBundle, saveBundle } from '../../src-main/model/bundle-file';
import type { ModelBundle } from '../../src-main/bgad/bundle';
import { getBackbone } from '../../src-main/backbones/registry';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = join(REPO_ROOT, '.cache');
/** The category the model is trained on (RGB stripes: the easiest for 60 steps). */
export const CATEGORY = 'stripes';
export const SECOND_CATEGORY = 'disc';
const FIXTURE_VERSION = 2;
/** The backbone the fixture model is trained with: pinned, whatever this machine's default is (the tests assert its normalisation). */
export const FIXTURE_BACKBONE = 'mobilenetv2';
/** Everything the trained model depends on besides the backbone build and the source code. */
const RECIPE = { version: FIXTURE_VERSION, backbone: FIXTURE_BACKBONE, seed: 7, categories: [CATEGORY, SECOND_CATEGORY], train: CATEGORY, anomalies: 6, steps: 60 };
/** The source folders that decide what the fixture's data and model are. */
const SOURCE_DIRS = ['autodiff', 'bgad', 'backbones', 'images', 'model', 'runtime', 'synth', 'training'];

export interface Fixture {
  /** Root of the synthetic data set (categories below it). */
  dataDir: string;
  /** `<dataDir>/stripes`. */
  categoryDir: string;
  testDir: string;
  modelPath: string;
  bundle: ModelBundle;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function getFixture(): Promise<Fixture> {
  // keyed by the backbone build too: a model of another build would be refused (BAD_MODEL)
  const spec = await getBackbone(FIXTURE_BACKBONE, { cacheDir: join(CACHE_DIR, 'backbones') });
  const root = join(tmpdir(), `bgad-inspection-fixture-${sourceKey(SOURCE_DIRS, { RECIPE, backbone: spec.sha256 })}`);
  const dataDir = join(root, 'data');
  const modelPath = join(root, 'model.bgad');
  const lock = join(root, 'lock');
  mkdirSync(root, { recursive: true });
  for (;;) {
    if (existsSync(modelPath)) break;
    try {
      mkdirSync(lock);
    } catch {
      // another worker is building it; a lock older than 5 minutes is stale
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    try {
      if (!existsSync(modelPath)) {
        await generateSyntheticDataset({ outDir: dataDir, seed: RECIPE.seed, categories: RECIPE.categories });
        const m = await trainModel({ dataDir: join(dataDir, RECIPE.train), backboneId: RECIPE.backbone, anomalies: RECIPE.anomalies, overrides: { steps: RECIPE.steps }, cacheDir: CACHE_DIR, threads: 2 });
        await saveBundle(modelPath, m.bundle);
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  const categoryDir = join(dataDir, CATEGORY);
  return { dataDir, categoryDir, testDir: join(categoryDir, 'test'), modelPath, bundle: await loadBundle(modelPath) };
}

export function tempDir(prefix = 'bgad-insp-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

let cliFile: Promise<string> | null = null;

/** The `bgad` CLI bundled from source (as scripts/build.mjs does), for child-process tests. */
export function bundledCli(): Promise<string> {
  cliFile ??= (async () => {
    const outfile = await bundleForTest(REPO_ROOT, join(REPO_ROOT, 'src-main', 'cli', 'bgad.ts'), 'bgad-inspection-tests', 'bgad');
    return outfile;
  })();
  return cliFile;
}
