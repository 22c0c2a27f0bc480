/**
 * Checks electron-builder.yml without Electron's binary or the network: packs the app for
 * linux x64 as a directory with a stub Electron dist and npmRebuild off, then reads the
 * app.asar header, the unpacked natives and the extra resources (models/, icon.png). The icons
 * in resources/ (scripts/make-icons.mjs) are checked as electron-builder reads them.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const requireDep = createRequire(import.meta.url);
const ELECTRON_VERSION = '45.3.4';
/** Size budget of the packed app (app.asar + unpacked natives), linux x64. */
const BUDGET_BYTES = 200 * 1024 * 1024;
const ASAR_BUDGET_BYTES = 100 * 1024 * 1024;
/** Linux icon set (linux.icon: resources/icons/NxN.png) and the sizes resources/icon.ico must hold. */
const LINUX_ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
const ICO_SIZES = [16, 32, 48, 256];
const MAX_ICON_BYTES = 1024 * 1024;
/** A stand-in model file placed in resources/models (git-ignored) while the app is packed. */
const PROBE_NAME = `packaging-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const PROBE_DIR = join('resources', 'models', PROBE_NAME);
const PROBE_FILE = 'probe.onnx';
const PROBE_BYTES = randomBytes(4096);

/**
 * Electron's fuse wire (@electron/fuses): a sentinel, the wire version (1), its length, then one
 * byte per fuse ('0' off, '1' on) in FuseV1Options order. These are Electron's defaults.
 */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSE_ORDER = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
] as const;
const ELECTRON_DEFAULT_FUSES = '10110001';
const STUB_FUSE_WIRE = Buffer.concat([Buffer.from(FUSE_SENTINEL), Buffer.from([1, FUSE_ORDER.length]), Buffer.from(ELECTRON_DEFAULT_FUSES)]);
/** What the installed app must run with: no Node mode, no NODE_OPTIONS or --inspect, only app.asar, checked. */
const WANTED_FUSES: Record<(typeof FUSE_ORDER)[number], boolean> = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  grantFileProtocolExtraPrivileges: false,
};

/** The fuses of a packed executable, by name. */
function readFuses(file: string): Record<string, boolean> {
  const bin = readFileSync(file);
  const at = bin.indexOf(FUSE_SENTINEL);
  if (at < 0) throw new Error(`no fuse wire in ${file}`);
  const wire = at + FUSE_SENTINEL.length;
  expect(bin[wire]).toBe(1);
  return Object.fromEntries(FUSE_ORDER.slice(0, bin[wire + 1]).map((name, i) => [name, bin[wire + 2 + i] === 0x31]));
}

interface BuilderConfig {
  electronFuses?: Record<string, boolean>;
  directories?: { buildResources?: string };
  extraResources?: (string | { from: string; to: string; filter?: string[] })[];
  files?: string[];
  win?: { icon?: string };
  linux?: { icon?: string };
}

const builderConfig = (): BuilderConfig =>
  (requireDep('js-yaml') as { load(text: string): unknown }).load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;

/** electron-builder's own icon lookup and validation (offline: no conversion for .ico and NxN.png sets). */
const { convertIcon } = requireDep('app-builder-lib/out/util/iconConverter') as {
  convertIcon(o: { sources: string[]; fallbackSources: string[]; roots: string[]; format: 'ico' | 'set'; outDir: string }): Promise<{ icons: { file: string; size: number }[]; isFallback: boolean }>;
};

/** Width and height from a PNG's IHDR chunk; throws when it is not a PNG. */
function pngSize(buf: Buffer): { width: number; height: number } {
  if (buf.length < 24 || !buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) || buf.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

interface IcoImage {
  size: number;
  format: 'png' | 'bmp';
  data: Buffer;
}

/** The images of an ICO file (ICONDIR, ICONDIRENTRYs), checked for a consistent layout. */
function readIco(buf: Buffer): IcoImage[] {
  if (buf.readUInt16LE(0) !== 0 || buf.readUInt16LE(2) !== 1) throw new Error('not an icon file');
  const images: IcoImage[] = [];
  for (let i = 0; i < buf.readUInt16LE(4); i++) {
    const e = 6 + 16 * i;
    const width = buf[e] || 256;
    const height = buf[e + 1] || 256;
    const length = buf.readUInt32LE(e + 8);
    const offset = buf.readUInt32LE(e + 12);
    if (width !== height || offset + length > buf.length) throw new Error(`bad entry ${i}`);
    const data = buf.subarray(offset, offset + length);
    images.push({ size: width, format: data.readUInt32BE(0) === 0x89504e47 ? 'png' : 'bmp', data });
  }
  return images;
}

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
  // ...carrying a fuse wire as Electron's binary does, at Electron's defaults, for electron-builder to flip
  writeFileSync(join(stub, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\necho "stub electron"\nexit 0\n# '), STUB_FUSE_WIRE, Buffer.from('\n')]));
  chmodSync(join(stub, 'electron'), 0o755);
  writeFileSync(join(stub, 'version'), ELECTRON_VERSION);
  const out = join(tmp, 'out');
  // A file a packager would place in resources/models (git-ignored) must ship beside app.asar.
  mkdirSync(join(root, PROBE_DIR), { recursive: true });
  writeFileSync(join(root, PROBE_DIR, PROBE_FILE), PROBE_BYTES);
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(
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
  } finally {
    rmSync(join(root, PROBE_DIR), { recursive: true, force: true });
  }
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

  it('flips the Electron fuses of the installed executable: no Node mode, no NODE_OPTIONS or --inspect, only the checked app.asar', () => {
    expect(builderConfig().electronFuses).toEqual(WANTED_FUSES);
    expect(readFuses(join(resources, '..', 'bgad-inspector'))).toEqual(WANTED_FUSES);
    // the stub still runs after the flip (the wire sits in a comment)
    expect(spawnSync(join(resources, '..', 'bgad-inspector'), { encoding: 'utf8' }).stdout).toBe('stub electron\n');
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
        /^(src-main|src-renderer|test|scripts|resources|\.ci|\.cache|out|coverage)\//.test(p) ||
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

describe('resources/ (icons and models)', () => {
  it('electron-builder.yml takes the icons from resources/ and ships resources/models and the window icon', () => {
    const c = builderConfig();
    expect(c.directories?.buildResources).toBe('resources');
    expect(c.win?.icon).toBe('resources/icon.ico');
    expect(c.linux?.icon).toBe('resources/icons');
    expect(c.extraResources).toEqual(expect.arrayContaining([{ from: 'resources/models', to: 'models' }, { from: 'resources/icon.png', to: 'icon.png' }]));
    expect(c.files ?? []).not.toContain('resources/**/*');
  });

  it('has the icon source and the raster icons at the sizes electron-builder needs, each well under 1 MiB', () => {
    expect(readFileSync(join(root, 'resources', 'icon.svg'), 'utf8')).toMatch(/<svg[^>]+viewBox="0 0 512 512"/);
    const files = ['icon.png', 'icon.ico', ...LINUX_ICON_SIZES.map((n) => `icons/${n}x${n}.png`)];
    for (const f of files) expect(statSync(join(root, 'resources', f)).size, f).toBeLessThan(MAX_ICON_BYTES);
    expect(pngSize(readFileSync(join(root, 'resources', 'icon.png')))).toEqual({ width: 512, height: 512 });
    for (const n of LINUX_ICON_SIZES) expect(pngSize(readFileSync(join(root, 'resources', 'icons', `${n}x${n}.png`))), `${n}x${n}.png`).toEqual({ width: n, height: n });
  });

  it('icon.ico holds 16, 32, 48 and 256 px images: 32-bit BMPs of the Linux icons’ pixels, and a 256 px PNG', async () => {
    const images = readIco(readFileSync(join(root, 'resources', 'icon.ico')));
    expect(images.map((im) => im.size)).toEqual(expect.arrayContaining(ICO_SIZES));
    for (const im of images) {
      if (im.format === 'png') {
        expect(pngSize(im.data), `${im.size} px`).toEqual({ width: im.size, height: im.size });
        continue;
      }
      // BITMAPINFOHEADER: 40 bytes, height doubled (XOR image + AND mask), 32 bits per pixel, uncompressed
      const d = im.data;
      expect([d.readUInt32LE(0), d.readInt32LE(4), d.readInt32LE(8), d.readUInt16LE(14), d.readUInt32LE(16)], `${im.size} px`).toEqual([40, im.size, 2 * im.size, 32, 0]);
      expect(d.length).toBe(40 + im.size * im.size * 4 + Math.ceil(im.size / 32) * 4 * im.size);
      const { data: rgba } = await sharp(join(root, 'resources', 'icons', `${im.size}x${im.size}.png`)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      let differing = 0;
      for (let y = 0; y < im.size; y++) {
        for (let x = 0; x < im.size; x++) {
          const s = (y * im.size + x) * 4;
          const b = 40 + ((im.size - 1 - y) * im.size + x) * 4; // bottom-up BGRA
          if (d[b] !== rgba[s + 2] || d[b + 1] !== rgba[s + 1] || d[b + 2] !== rgba[s] || d[b + 3] !== rgba[s + 3]) differing++;
        }
      }
      expect(differing, `${im.size} px`).toBe(0);
    }
    expect(images.find((im) => im.size === 256)?.format).toBe('png');
  });

  it('electron-builder resolves and accepts the configured Windows and Linux icons (no fallback)', async () => {
    const c = builderConfig();
    const roots = [join(root, c.directories!.buildResources!), root];
    const outDir = mkdtempSync(join(tmpdir(), 'bgad-icons-'));
    try {
      const win = await convertIcon({ sources: [c.win!.icon!], fallbackSources: [], roots, format: 'ico', outDir });
      expect(win.isFallback).toBe(false);
      expect(win.icons).toEqual([{ file: join(root, 'resources', 'icon.ico'), size: 256 }]);
      const linux = await convertIcon({ sources: [c.linux!.icon!], fallbackSources: [], roots, format: 'set', outDir });
      expect(linux.isFallback).toBe(false);
      expect(linux.icons).toEqual(LINUX_ICON_SIZES.map((n) => ({ file: join(root, 'resources', 'icons', `${n}x${n}.png`), size: n })));
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('ships resources/models beside app.asar: its README and a model file placed there', () => {
    expect(readFileSync(join(resources, 'models', 'README.md'), 'utf8')).toBe(readFileSync(join(root, 'resources', 'models', 'README.md'), 'utf8'));
    expect(readFileSync(join(resources, 'models', PROBE_NAME, PROBE_FILE)).equals(PROBE_BYTES)).toBe(true);
    // the placed file is gone from the checkout again, and nothing of resources/ is inside the asar
    expect(existsSync(join(root, PROBE_DIR))).toBe(false);
    expect([...asar.keys(), ...unpacked.keys()].filter((p) => p.startsWith('resources/'))).toEqual([]);
  });

  it('ships the Linux window icon beside app.asar', () => {
    expect(readFileSync(join(resources, 'icon.png')).equals(readFileSync(join(root, 'resources', 'icon.png')))).toBe(true);
  });

  it('git ignores model files in resources/models but tracks its README', () => {
    const r = spawnSync('git', ['check-ignore', '--no-index', 'resources/models/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx', 'resources/models/mobilenetv2-12-int8/LICENSE', 'resources/models/README.md'], { cwd: root, encoding: 'utf8' });
    if (r.error || !existsSync(join(root, '.git'))) return; // not a git checkout (e.g. an unpacked source archive)
    const ignored = r.stdout.split('\n').filter(Boolean);
    expect(ignored).toEqual(['resources/models/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx', 'resources/models/mobilenetv2-12-int8/LICENSE']);
  });
});
