/**
 * `bgad serve` as a user runs it: a busy --port gives one line that names the port and what
 * to do (exit 2, no stack trace), for the CLI and for dist/server/main.js; and --open never
 * puts the token on a command line (other users see argv in `ps`).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../../src-main/api-host/serve';
import { bundleForTest } from '../helpers/bundle-for-test';
import { fakeServices } from '../api-host/fake-services';
import { sessionCookie } from '../api-host/browser-session';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-serve-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: dir, env: { ...process.env, BGAD_DATA_DIR: join(dir, 'data') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
  });
}

describe('a port that is already in use', () => {
  let busy: Server;
  let port: number;

  beforeAll(async () => {
    busy = createServer(() => undefined);
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((ok) => busy.close(() => ok())));

  const expectOneLine = (r: { code: number | null; stdout: string; stderr: string }) => {
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(String(port));
    expect(lines[0]).toMatch(/in use/);
    expect(lines[0]).toMatch(/--port/);
    expect(r.stderr).not.toMatch(/\n\s+at |EADDRINUSE|internal error/);
  };

  it('bgad serve --port N says so in one line and exits with 2', async () => {
    const cli = await bundleForTest(root, 'src-main/cli/bgad.ts', 'serve-cli-test', 'bgad');
    expectOneLine(await run(cli, ['serve', '--port', String(port), '--data-dir', join(dir, 'data')]));
  }, 90_000);

  it('node dist/server/main.js --port N says so in one line and exits with 2', async () => {
    const main = await bundleForTest(root, 'src-main/server/main.ts', 'serve-cli-test', 'server-main');
    expectOneLine(await run(main, ['--port', String(port), '--data-dir', join(dir, 'data')]));
  }, 90_000);
});

describe('serve --open', () => {
  it('opens the browser without the token on any command line, through a private page that leads to the address', async () => {
    // a stand-in for xdg-open that records the command line it was given
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(dir, 'opened.txt');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${log}.tmp" && mv "${log}.tmp" "${log}"\n`);
    chmodSync(join(bin, 'xdg-open'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    let running: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      running = await startServe({ appRoot: join(dir, 'app'), services: fakeServices(join(dir, 'data')), out: () => {}, open: true });
      const token = running.server.token;
      for (let i = 0; i < 100 && !existsSync(log); i++) await new Promise((ok) => setTimeout(ok, 50));
      const argv = readFileSync(log, 'utf8').trim().split('\n');
      expect(argv.join(' ')).not.toContain(token);
      expect(argv.join(' ')).not.toContain(encodeURIComponent(token));
      expect(argv).toHaveLength(1);
      const page = argv[0]!.startsWith('file:') ? fileURLToPath(argv[0]!) : argv[0]!;
      // readable by this user only, in a folder of its own
      expect(statSync(page).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(page)).mode & 0o777).toBe(0o700);
      const html = readFileSync(page, 'utf8');
      expect(html).toContain(running.server.url);
      expect(html).toMatch(/http-equiv="refresh"/);
      // the address it leads to starts a session
      expect(await sessionCookie(`http://127.0.0.1:${running.server.port}`, token)).toBeTruthy();
      await running.stop();
      running = undefined;
      expect(existsSync(page)).toBe(false);
    } finally {
      process.env.PATH = savedPath;
      await running?.stop();
    }
  });
});
