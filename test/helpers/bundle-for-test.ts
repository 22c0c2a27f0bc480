/**
 * Bundles a TypeScript entry with esbuild for a child-process test (as scripts/build.mjs
 * does): packages stay external and the output lies inside node_modules so they resolve.
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export async function bundleForTest(repoRoot: string, entry: string, outDirName: string, outName: string): Promise<string> {
  const outDir = join(repoRoot, 'node_modules', '.cache', outDirName);
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${outName}-${process.pid}.mjs`);
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    banner: { js: "import { createRequire as __bgadCreateRequire } from 'node:module'; const require = __bgadCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}
