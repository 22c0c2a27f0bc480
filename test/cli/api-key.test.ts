/**
 * `bgad api-key [--data-dir DIR] [--rotate]`: the inference API's key is made once, kept in
 * the data folder with owner-only permissions (0600), the same after a restart of the server,
 * and `--rotate` makes a new one that a running `bgad serve --api` takes at its next request
 * (the old key is refused from then on).
 */
import { statSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src-main/cli/command';
import { loadCommands } from '../../src-main/cli/commands/index';
import apiKeyCmd from '../../src-main/cli/commands/api-key';
import { startServe } from '../../src-main/api-host/serve';
import { API_KEY_FILE, apiKeyMatches } from '../../src-main/db/api-key';
import { fakeServices } from '../api-host/fake-services';
import { removeDir, tempDir } from '../db/helpers';

function captureIO() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), progress: () => {} };
  return { io, out, err };
}

async function apiKey(values: Record<string, string | boolean>): Promise<{ code: number; out: string[]; err: string[] }> {
  const c = captureIO();
  const code = await apiKeyCmd.run({ values, positionals: [] }, c.io);
  return { code, out: c.out, err: c.err };
}

let root: string;
let dataDir: string;
beforeAll(() => {
  root = tempDir('bgad-api-key-');
  dataDir = join(root, 'data');
});
afterAll(() => removeDir(root));

const posix = process.platform !== 'win32';

async function serveApi() {
  const s = await startServe({ appRoot: root, services: fakeServices(dataDir), out: () => {}, api: true });
  const health = (k: string) => fetch(`http://127.0.0.1:${s.server.port}/v1/health`, { headers: { authorization: `Bearer ${k}` } }).then((r) => r.status);
  return { s, health };
}

describe('bgad api-key', () => {
  it('is registered with the other commands', async () => {
    expect((await loadCommands()).map((c) => c.name)).toContain('api-key');
  });

  it('makes a key once, owner-only (0600), and prints the same one afterwards', async () => {
    const a = await apiKey({ 'data-dir': dataDir });
    expect(a.code).toBe(0);
    expect(a.out).toHaveLength(1);
    const key = a.out[0]!;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.err.join('\n')).toMatch(/new API key was made/);
    if (posix) expect(statSync(join(dataDir, API_KEY_FILE)).mode & 0o777).toBe(0o600);
    // no temp file is left beside it
    expect(readdirSync(dataDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const b = await apiKey({ 'data-dir': dataDir });
    expect(b.out).toEqual([key]);
    expect(b.err).toEqual([]);
    const j = await apiKey({ 'data-dir': dataDir, json: true });
    expect(JSON.parse(j.out.join('\n'))).toMatchObject({ key, file: join(dataDir, API_KEY_FILE), created: false, rotated: false });
  });

  it('survives a restart of the server: the same key works before and after', async () => {
    const key = (await apiKey({ 'data-dir': dataDir })).out[0]!;
    const first = await serveApi();
    try {
      expect(await first.health(key)).toBe(200);
    } finally {
      await first.s.stop();
    }
    const second = await serveApi();
    try {
      expect(await second.health(key)).toBe(200);
      expect((await apiKey({ 'data-dir': dataDir })).out).toEqual([key]);
      if (posix) expect(statSync(join(dataDir, API_KEY_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      await second.s.stop();
    }
  });

  it('--rotate makes a new key; a running server refuses the old one at once', async () => {
    const old = (await apiKey({ 'data-dir': dataDir })).out[0]!;
    const { s, health } = await serveApi();
    try {
      expect(await health(old)).toBe(200);
      const r = await apiKey({ 'data-dir': dataDir, rotate: true });
      expect(r.code).toBe(0);
      const fresh = r.out[0]!;
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(fresh).not.toBe(old);
      expect(r.err.join('\n')).toMatch(/old key stops working/);
      if (posix) expect(statSync(join(dataDir, API_KEY_FILE)).mode & 0o777).toBe(0o600);
      expect(await health(old)).toBe(401);
      expect(await health(fresh)).toBe(200);
      expect((await apiKey({ 'data-dir': dataDir })).out).toEqual([fresh]);
    } finally {
      await s.stop();
    }
  });

  it.skipIf(!posix)('makes a key file that others could read owner-only again, and says so', async () => {
    const dir = join(root, 'open');
    const made = (await apiKey({ 'data-dir': dir })).out[0]!;
    chmodSync(join(dir, API_KEY_FILE), 0o644);
    const again = await apiKey({ 'data-dir': dir });
    expect(again.out).toEqual([made]);
    expect(statSync(join(dir, API_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('refuses a damaged key file with the way out, and --rotate replaces it', async () => {
    const dir = join(root, 'damaged');
    await apiKey({ 'data-dir': dir });
    writeFileSync(join(dir, API_KEY_FILE), 'not a key\n');
    await expect(apiKey({ 'data-dir': dir })).rejects.toThrow(/does not hold a key/);
    const r = await apiKey({ 'data-dir': dir, rotate: true });
    expect(r.out[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('compares keys in constant time, over hashes (no length shortcut)', () => {
    expect(apiKeyMatches('a'.repeat(43), 'a'.repeat(43))).toBe(true);
    expect(apiKeyMatches('a'.repeat(42), 'a'.repeat(43))).toBe(false);
    expect(apiKeyMatches('', 'a'.repeat(43))).toBe(false);
    expect(apiKeyMatches(undefined, 'a'.repeat(43))).toBe(false);
  });
});
