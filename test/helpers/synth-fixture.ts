import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { generateSyntheticDataset } from '../../src-main/synth/generate';

export const REPO = join(import.meta.dirname ?? __dirname, '..', '..');
export const CACHE_DIR = join(REPO, '.cache');

/** A synthetic MVTec-layout data set generated once per test process (seed 1). */
export async function synthDataset(categories?: string[]): Promise<string> {
  const dir = join(CACHE_DIR, 'test-synth', `seed1-${(categories ?? ['all']).join('-')}`);
  if (!existsSync(join(dir, '.done'))) {
    mkdirSync(dir, { recursive: true });
    await generateSyntheticDataset({ outDir: dir, seed: 1, categories });
    mkdirSync(join(dir, '.done'), { recursive: true });
  }
  return dir;
}

/** Builds the Node bundles (dist/) when they are missing, for tests that start workers or the CLI. */
export function ensureBuilt(): void {
  if (!existsSync(join(REPO, 'dist', 'engine', 'worker.js')) || !existsSync(join(REPO, 'dist', 'cli', 'bgad.js'))) {
    execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs'), '--no-renderer'], { cwd: REPO, stdio: 'inherit' });
  }
}
