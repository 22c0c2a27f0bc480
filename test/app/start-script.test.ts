import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', '..', 'scripts', 'start.mjs');

function start(env: Record<string, string>) {
  return spawnSync(process.execPath, [script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('npm start', () => {
  it('explains a missing Electron runtime in one paragraph and points to browser mode', () => {
    const r = start({ ELECTRON_OVERRIDE_DIST_PATH: join(tmpdir(), 'no-electron-here') });
    expect(r.status).toBe(1);
    const text = r.stdout + r.stderr;
    expect(text).toContain('Electron runtime');
    expect(text).toContain('not installed');
    expect(text).toContain('npx install-electron');
    expect(text).toContain('npm run serve');
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('launches Electron with the app folder when the runtime is there', () => {
    const fake = mkdtempSync(join(tmpdir(), 'bgad-fake-electron-'));
    try {
      const exe = join(fake, 'electron');
      writeFileSync(exe, `#!/bin/sh\necho "launched $1"\nexit 3\n`);
      chmodSync(exe, 0o755);
      const r = start({ ELECTRON_OVERRIDE_DIST_PATH: fake, BGAD_SKIP_BUILD: '1' });
      expect(r.stdout).toContain(`launched ${join(import.meta.dirname, '..', '..')}`);
      expect(r.status).toBe(3);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
