/**
 * `bgad watch` as a child process (the CLI bundled from source as for the other CLI tests):
 * SIGKILL mid-stream, files arriving while it is down, restart: one result per file, every
 * result's event at the webhook receiver at least once (set of ids = set of results); usage
 * errors, a locked output folder and Ctrl-C.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCommands } from '../../src-main/cli/commands/index';
import { eventId } from '../../src-main/station/station';
import type { ResultEvent } from '../../src-main/station/types';
import { bundledCli, distinctPngs, freePort, getFixture, Receiver, removeDir, REPO_ROOT, results, tempDir, waitFor, writeFiles, type Fixture } from './helpers';

let fx: Fixture;
let cli: string;
let root: string;
const children: ChildProcess[] = [];
const receivers: Receiver[] = [];
beforeAll(async () => {
  [fx, cli] = await Promise.all([getFixture(), bundledCli()]);
  root = tempDir('bgad-station-cli-');
}, 300_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.allSettled(receivers.map((r) => r.stop()));
  removeDir(root);
});

function bgad(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Running {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function watch(args: string[]): Running {
  const child = spawn(process.execPath, [cli, 'watch', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop()!;
    stdout.push(...lines);
  });
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, stdout, stderr, exit };
}

describe('bgad watch (command line)', () => {
  it('is registered, and explains its options and exit status', async () => {
    expect((await loadCommands()).map((c) => c.name)).toContain('watch');
    const help = bgad(['watch', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--settle-ms N/);
    expect(help.out).toMatch(/at least once, with an id/);
    expect(help.out).toMatch(/Exit status:[\s\S]*2 +bad usage/);
  });

  it('exits 2 on bad usage and for a model that cannot be loaded', () => {
    const input = join(root, 'usage-in');
    mkdirSync(input, { recursive: true });
    expect(bgad(['watch', '--input', input, '--out', join(root, 'x')])).toMatchObject({ code: 2, err: expect.stringMatching(/--model is required/) });
    expect(bgad(['watch', '--model', fx.modelPath, '--input', input, '--out', join(root, 'x'), '--mqtt', 'mqtt://127.0.0.1:1'])).toMatchObject({ code: 2, err: expect.stringMatching(/--mqtt-topic/) });
    expect(bgad(['watch', '--model', fx.modelPath, '--input', input, '--out', join(root, 'x'), '--webhook', 'ftp://example'])).toMatchObject({ code: 2 });
    expect(bgad(['watch', '--model', fx.modelPath, '--input', input, '--out', join(root, 'x'), '--settle-ms', '-5'])).toMatchObject({ code: 2 });
    expect(bgad(['watch', '--model', fx.modelPath, '--input', input, '--out', input])).toMatchObject({ code: 2, err: expect.stringMatching(/is the input folder/) });
    const junk = join(root, 'junk.bgad');
    writeFileSync(junk, 'not a model at all, just some text that is long enough to pass the length check');
    expect(bgad(['watch', '--model', junk, '--input', input, '--out', join(root, 'x')])).toMatchObject({ code: 2, err: expect.stringMatching(/not a BGAD Inspector model/) });
  }, 120_000);

  it('loses nothing and doubles nothing over a SIGKILL and a restart with files arriving meanwhile', async () => {
    const receiver = new Receiver(await freePort());
    receivers.push(receiver);
    await receiver.start();
    const input = join(root, 'kill-in');
    const out = join(root, 'kill-out');
    mkdirSync(input, { recursive: true });
    const files = await distinctPngs(join(fx.testDir, 'good', '008.png'), 40, 'k');
    writeFiles(input, files.slice(0, 20)); // there before the start
    const args = ['--model', fx.modelPath, '--input', input, '--out', out, '--webhook', receiver.url, '--settle-ms', '200', '--json', '-q'];

    const first = watch(args);
    await waitFor(() => results(out).length >= 4, 'the first results', 120_000, 20);
    writeFiles(input, files.slice(20, 30)); // arrive while it runs
    await waitFor(() => results(out).length >= 8, 'more results', 120_000, 20);
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');
    const before = results(out).length;
    expect(before).toBeLessThan(40);
    writeFiles(input, files.slice(30)); // arrive while it is down

    const second = watch(args);
    await waitFor(() => results(out).length >= 40, '40 results after the restart', 240_000, 100);
    const ids = results(out).map((r) => eventId(r));
    await waitFor(() => ids.every((id) => receiver.ids().includes(id)), 'every event at the receiver', 180_000, 100);

    // the output folder is in use: a second watch and an inspect are refused (exit 2)
    const again = bgad(['watch', ...args]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/in use by another inspection .*bgad watch/);
    expect(bgad(['inspect', '--model', fx.modelPath, '--input', input, '--out', out, '-q']).code).toBe(2);

    second.child.kill('SIGINT');
    expect((await second.exit).code).toBe(0);

    const rs = results(out);
    expect(rs).toHaveLength(40);
    expect(new Set(rs.map((r) => r.path))).toEqual(new Set(files.map((f) => f.name)));
    // at least once, with an id: the ids received are exactly the results' ids; a repeat is the same event
    expect(new Set(receiver.ids())).toEqual(new Set(ids));
    const byId = new Map<string, ResultEvent>();
    for (const r of receiver.received) {
      const prior = byId.get(r.id);
      if (prior) expect(r.event).toEqual(prior);
      byId.set(r.id, r.event);
    }
    // announced on stdout at most once per file over both runs
    const announced = [...first.stdout, ...second.stdout].filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as ResultEvent).path);
    expect(announced.length).toBe(new Set(announced).size);
    expect(announced.length).toBeGreaterThanOrEqual(39);
  }, 480_000);
});
