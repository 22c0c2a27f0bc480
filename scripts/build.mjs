// One build for everything: Node entry points with esbuild, the renderer with Vite.
//   node scripts/build.mjs              build all
//   node scripts/build.mjs --if-missing build only when dist/ is absent or older than the sources
//   node scripts/build.mjs --no-renderer skip the Vite build
import { build } from 'esbuild';
import { existsSync, statSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));

/** [entry, outfile, format]; entries that do not exist yet are skipped. */
const nodeEntries = [
  ['src-main/cli/bgad.ts', 'dist/cli/bgad.js', 'esm'],
  ['src-main/engine/engine-worker.ts', 'dist/engine/worker.js', 'esm'],
  ['src-main/training/level-worker.ts', 'dist/engine/level-worker.js', 'esm'],
  ['src-main/station/worker.ts', 'dist/engine/station-worker.js', 'esm'],
  ['src-main/runtime/session-worker.ts', 'dist/engine/session-worker.js', 'esm'],
  ['src-main/server/main.ts', 'dist/server/main.js', 'esm'],
  ['src-main/app/main.ts', 'dist/app/main.cjs', 'cjs'],
  ['src-main/app/engine-process.ts', 'dist/app/engine-process.cjs', 'cjs'],
  ['src-main/preload/preload.ts', 'dist/preload/preload.cjs', 'cjs'],
];

function newestMtime(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (args.has('--if-missing')) {
  const out = join(root, 'dist/cli/bgad.js');
  if (existsSync(out) && statSync(out).mtimeMs >= Math.max(newestMtime(join(root, 'src-main')), newestMtime(join(root, 'src-renderer')))) {
    process.exit(0);
  }
}

const t0 = Date.now();
for (const [entry, outfile, format] of nodeEntries) {
  if (!existsSync(join(root, entry))) continue;
  const isElectron = outfile.startsWith('dist/app') || outfile.startsWith('dist/preload');
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    sourcemap: 'linked',
    packages: 'external',
    external: isElectron ? ['electron'] : [],
    banner: format === 'esm' ? { js: "import { createRequire as __bgadCreateRequire } from 'node:module'; const require = __bgadCreateRequire(import.meta.url);" } : undefined,
    logLevel: 'warning',
    // the CJS (Electron) bundles read __filename; their import.meta fallbacks are never used
    logOverride: format === 'cjs' ? { 'empty-import-meta': 'silent' } : undefined,
  });
}
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist/package.json'), JSON.stringify({ type: 'module' }) + '\n');

if (!args.has('--no-renderer') && existsSync(join(root, 'src-renderer/index.html'))) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log(`build: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
