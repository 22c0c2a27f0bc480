/**
 * Checks electron-builder.yml without Electron's binary or the network: packs the app for
 * linux x64 as a directory with a stub Electron dist and npmRebuild off, then reads the
 * app.asar header and the unpacked natives.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const ELECTRON_VERSION = '45.3.4';
/** Size budget of the packed app (app.asar + unpacked natives), linux x64. */
const BUDGET_BYTES = 200 * 1024 * 1024;
const ASAR_BUDGET_BYTES = 100 * 1024 * 1024;

interface AsarEntry {
  size?: number;
  unpacked?: boolean;
  files?: Record<string, AsarEntry>;
}

/** Reads the JSON header of an asar archive (pickle: u32 4, u32 size, u32 size, u32 length, json). */
function readAsarHeader(file: string): AsarEntry {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    const jsonLength = head.readUInt32LE(12);
    const json = Buffer.alloc(jsonLength);
    readSync(fd, json, 0, jsonLength, 16);
    return JSON.parse(json.toString('utf8')) as AsarEntry;
  } finally {
    closeSync(fd);
  }
}

function listAsar(node: AsarEntry, prefix = ''): Map<string, AsarEntry> {
  const out = new Map<string, AsarEntry>();
  for (const [name, entry] of Object.entries(node.files ?? {})) {
    const p = prefix ? `${prefix}/${name}` : name;
    if (entry.files) for (const [k, v] of listAsar(entry, p)) out.set(k, v);
    else out.set(p, entry);
  }
  return out;
}

function walk(dir: string, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of walk(join(dir, e.name), p)) out.set(k, v);
    else out.set(p, statSync(join(dir, e.name)).size);
  }
  return out;
}

let tmp: string;
let resources: string;
let asar: Map<string, AsarEntry>;
let unpacked: Map<string, number>;
let log = '';

beforeAll(() => {
  // The app's own outputs must exist to be packed; build them when missing.
  const needed = ['dist/app/main.cjs', 'dist/app/engine-process.cjs', 'dist/preload/preload.cjs', 'dist/renderer/index.html'];
  if (!needed.every((p) => existsSync(join(root, p)))) {
    const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build failed:\n${b.stdout}\n${b.stderr}`);
  }
  tmp = mkdtempSync(join(tmpdir(), 'bgad-pack-'));
  // A stub Electron dist: electron-builder copies it and renames `electron` to the app's executable.
  const stub = join(tmp, 'electron-dist');
  mkdirSync(join(stub, 'resources'), { recursive: true });
  writeFileSync(join(stub, 'electron'), '#!/bin/sh\necho "stub electron"\n');
  chmodSync(join(stub, 'electron'), 0o755);
  writeFileSync(join(stub, 'version'), ELECTRON_VERSION);
  const out = join(tmp, 'out');
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'electron-builder', 'cli.js'),
      '--linux',
      'dir',
      '--x64',
      `-c.electronDist=${stub}`,
      '-c.npmRebuild=false',
      `-c.electronVersion=${ELECTRON_VERSION}`,
      `-c.directories.output=${out}`,
    ],
    { cwd: root, encoding: 'utf8', timeout: 150_000, env: { ...process.env, CI: 'true' } },
  );
  log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`electron-builder failed (${r.status}):\n${log}`);
  resources = join(out, 'linux-unpacked', 'resources');
  asar = listAsar(readAsarHeader(join(resources, 'app.asar')));
  unpacked = walk(join(resources, 'app.asar.unpacked'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('packaging (electron-builder --dir with a stub Electron)', () => {
  it('renames the Electron executable and writes app.asar', () => {
    expect(existsSync(join(resources, '..', 'bgad-inspector'))).toBe(true);
    expect(existsSync(join(resources, 'app.asar'))).toBe(true);
  });

  it('packs the built app: main, preload, engine process and renderer', () => {
    for (const p of ['package.json', 'dist/app/main.cjs', 'dist/app/engine-process.cjs', 'dist/preload/preload.cjs', 'dist/renderer/index.html']) {
      expect(asar.has(p), p).toBe(true);
    }
    expect([...asar.keys()].some((p) => p.startsWith('dist/renderer/assets/') && p.endsWith('.js'))).toBe(true);
  });

  it('leaves out sources, tests, tooling, source maps and dev dependencies', () => {
    const paths = [...asar.keys(), ...unpacked.keys()];
    const bad = paths.filter(
      (p) =>
        /^(src-main|src-renderer|test|scripts|\.ci|\.cache|out|coverage)\//.test(p) ||
        /\.map$/.test(p) ||
        (/\.ts$/.test(p) && !/\.d\.ts$/.test(p)) ||
        /^node_modules\/(electron|electron-builder|vite|vitest|svelte|typescript|esbuild|playwright-core|konva|chart\.js|@sveltejs)\//.test(p) ||
        /^(tsconfig.*\.json|electron-builder\.yml|vite\.config\.ts)$/.test(p),
    );
    expect(bad.slice(0, 20)).toEqual([]);
  });

  it('unpacks the native modules from the asar', () => {
    const natives = [...asar.entries()].filter(([p]) => p.endsWith('.node'));
    expect(natives.length).toBeGreaterThanOrEqual(3);
    for (const [p, entry] of natives) {
      expect(entry.unpacked, p).toBe(true);
      expect(unpacked.has(p), p).toBe(true);
    }
    for (const p of [
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
    ]) {
      expect(unpacked.has(p), p).toBe(true);
    }
    expect([...unpacked.keys()].some((p) => /^node_modules\/@img\/sharp-linux-x64\/lib\/.*\.node$/.test(p))).toBe(true);
  });

  it('ships no other platform’s or architecture’s onnxruntime binaries', () => {
    const ort = [...asar.keys(), ...unpacked.keys()].filter((p) => p.startsWith('node_modules/onnxruntime-node/bin/'));
    expect(ort.length).toBeGreaterThan(0);
    expect(ort.filter((p) => !p.includes('/linux/x64/'))).toEqual([]);
  });

  it('stays within the size budget', () => {
    const asarBytes = statSync(join(resources, 'app.asar')).size;
    const unpackedBytes = [...unpacked.values()].reduce((a, b) => a + b, 0);
    expect(asarBytes).toBeLessThan(ASAR_BUDGET_BYTES);
    expect(asarBytes + unpackedBytes).toBeLessThan(BUDGET_BYTES);
  });
});
