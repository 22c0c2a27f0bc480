/**
 * `bgad inspect` hardening, with the real bundled CLI in child processes:
 * - devices, FIFOs and huge files named like images are refused without hanging or reading them;
 * - an output folder is locked against a second run, is never scanned (not the current one,
 *   not an earlier one, not files named like our pictures) and must be a folder;
 * - exit codes: 0 passed, 1 some failed or unreadable, 2 usage/model/lock, 3 the run aborted,
 *   130 cancelled;
 * - file names reach results.csv neutralised against formula injection and the console with
 *   control characters escaped.
 * FIFOs, devices and control characters in file names are POSIX: those tests skip on Windows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants as fsc, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseCsv } from '../../src-main/reports/csv';
import { bundledCli, getFixture, removeDir, REPO_ROOT, tempDir, type Fixture } from './fixture';

const POSIX = process.platform !== 'win32';
const NO_POSIX = 'FIFOs, /dev devices and control characters in file names need a POSIX system (not Windows)';
const LOCK = '.bgad-inspect.lock';

let fx: Fixture;
let cli: string;
let root: string;
const fifos: string[] = [];

beforeAll(async () => {
  [fx, cli] = await Promise.all([getFixture(), bundledCli()]);
  root = tempDir('bgad-insp-hard-');
}, 180_000);
afterAll(() => {
  for (const f of fifos) {
    try {
      closeSync(openSync(f, fsc.O_WRONLY | fsc.O_NONBLOCK));
    } catch {
      // no blocked reader
    }
  }
  removeDir(root);
});

function bgad(args: string[], timeout = 60_000) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

function bgadAsync(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += String(d); });
  child.stderr.on('data', (d) => { err += String(d); });
  const done = new Promise<{ code: number | null; out: string; err: string }>((res) => child.on('close', (code) => res({ code, out, err })));
  return { child, done };
}

const good = (i: number) => join(fx.testDir, 'good', `${String(i).padStart(3, '0')}.png`);
const defect = () => join(fx.testDir, 'spot', '000.png');
const resultLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').filter((l) => l.includes('"type":"result"')).map((l) => JSON.parse(l) as { path: string; verdict: string; errorCode: string | null });
const base = (input: string, out: string, ...more: string[]) => ['inspect', '--model', fx.modelPath, '--input', input, '--out', out, '--threads', '2', '--format', 'csv', '-q', ...more];

function mkfifo(path: string): boolean {
  if (!POSIX || spawnSync('mkfifo', [path]).status !== 0) return false;
  fifos.push(path);
  return true;
}

describe('files that are not regular files, or too large', () => {
  it('refuses links to /dev/zero and /dev/urandom, FIFOs and a 1.5 GB file with a named error, at once, and inspects the rest', (ctx) => {
    const dir = join(root, 'special');
    mkdirSync(dir);
    ctx.skip(!POSIX || !existsSync('/dev/zero') || !mkfifo(join(dir, 'pipe.png')), NO_POSIX);
    copyFileSync(good(0), join(dir, 'good.png'));
    symlinkSync('/dev/zero', join(dir, 'zero.png'));
    symlinkSync('/dev/urandom', join(dir, 'urandom.png'));
    symlinkSync(join(dir, 'pipe.png'), join(dir, 'pipe-link.png'));
    writeFileSync(join(dir, 'big.png'), '');
    truncateSync(join(dir, 'big.png'), 1.5 * 1024 ** 3); // sparse
    const t0 = Date.now();
    const r = bgad([...base(dir, join(root, 'special-out')), '--json'], 60_000);
    expect(r.signal, 'bgad inspect hung and was killed').toBeNull();
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.out) as { total: number; pass: number; error: number; peakRssMb: number; files: { path: string; verdict: string; error: string | null }[] };
    expect([s.total, s.pass, s.error]).toEqual([6, 1, 5]);
    const why = Object.fromEntries(s.files.map((f) => [f.path, f.error ?? '']));
    expect(why['zero.png']).toMatch(/zero\.png.*symbolic link to \/dev\/zero, a character device, not a regular file/);
    expect(why['urandom.png']).toMatch(/\/dev\/urandom, a character device/);
    expect(why['pipe.png']).toMatch(/named pipe \(FIFO\), not a regular file/);
    expect(why['pipe-link.png']).toMatch(/pipe\.png, a named pipe/);
    expect(why['big.png']).toMatch(/1\.50 GiB.*limit of 1\.00 GiB/);
    expect(s.peakRssMb).toBeLessThan(800); // the 1.5 GB file was not read (a normal run peaks near 300 MB)
    const log = resultLines(join(root, 'special-out', 'results.jsonl'));
    expect(log.find((l) => l.path === 'big.png')).toMatchObject({ verdict: 'error', errorCode: 'IMAGE_TOO_LARGE' });
  }, 90_000);

  it('takes the byte cap from --max-file-mb', () => {
    const dir = join(root, 'cap');
    mkdirSync(dir);
    copyFileSync(good(0), join(dir, 'good.png'));
    const r = bgad([...base(dir, join(root, 'cap-out')), '--max-file-mb', '0.001', '--json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as { files: { error: string }[] }).files[0]!.error).toMatch(/above the limit of 1\.0 KiB/);
    expect(bgad([...base(dir, join(root, 'cap-out2')), '--max-file-mb', 'lots']).code).toBe(2);
  });
});

describe('the output folder', () => {
  it('is locked: a run refuses a folder held by a live process, naming it, and exits 2', () => {
    const out = join(root, 'locked');
    mkdirSync(out);
    writeFileSync(join(out, LOCK), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'bgad inspect' }));
    const r = bgad(base(join(fx.testDir, 'good'), out));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`in use by another inspection .*pid ${process.pid} on ${hostname()}`));
    expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
  });

  it('takes over a lock whose process is gone, and removes its own lock at the end', () => {
    const out = join(root, 'stale');
    mkdirSync(out);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(out, LOCK), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    const r = bgad(base(fx.testDir, out, '--include', 'good/00[0-1].png'));
    expect([r.code, r.err]).toEqual([0, '']);
    expect(existsSync(join(out, LOCK))).toBe(false);
  });

  it('never doubles results when two runs write into one folder at the same time', async () => {
    const out = join(root, 'twice');
    const args = base(fx.testDir, out, '--include', 'good/**');
    const [a, b] = [bgadAsync(args), bgadAsync(args)];
    const runs = await Promise.all([a.done, b.done]);
    const log = resultLines(join(out, 'results.jsonl'));
    expect(new Set(log.map((l) => l.path)).size).toBe(log.length);
    expect(log.length).toBe(readdirSync(join(fx.testDir, 'good')).length);
    const codes = runs.map((r) => r.code).sort();
    expect([[0, 0], [0, 2]]).toContainEqual(codes); // 0, 0 only when one run ended before the other began
    const refused = runs.find((r) => r.code === 2);
    if (refused) expect(refused.err).toMatch(/in use by another inspection \(pid \d+/);
  }, 90_000);

  it('refuses --out equal to --input, or an --input inside the output\'s picture folders, as a usage error (exit 2)', () => {
    const dir = join(root, 'same');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    copyFileSync(good(0), join(dir, 'a.png'));
    copyFileSync(good(1), join(dir, 'sub', 'b.png'));
    const same = bgad(base(dir, dir));
    expect(same.code).toBe(2);
    expect(same.err).toContain(dir);
    expect(same.err).toMatch(/the output folder would be scanned/);
    expect(existsSync(join(dir, 'heatmaps'))).toBe(false);
    mkdirSync(join(dir, 'thumbs'));
    copyFileSync(good(1), join(dir, 'thumbs', 'c.png'));
    const inside = bgad(base(join(dir, 'thumbs'), dir));
    expect(inside.code).toBe(2);
    expect(inside.err).toMatch(/where this output folder's pictures are written/);
    expect(existsSync(join(dir, 'results.jsonl'))).toBe(false);
  });

  it('is never scanned: not inside the input, not an earlier output folder, not files named like heat maps, not through a link to the input', (ctx) => {
    const dir = join(root, 'nested');
    mkdirSync(dir);
    for (let i = 0; i < 3; i++) copyFileSync(good(i), join(dir, `img${i}.png`));
    copyFileSync(good(3), join(dir, 'img0.png.map.png')); // named like our own heat maps
    const first = bgad([...base(dir, join(dir, 'out1')), '--json']);
    expect(first.code).toBe(0);
    expect((JSON.parse(first.out) as { total: number }).total).toBe(3);
    const second = bgad([...base(dir, join(dir, 'out2')), '--json']); // out1 holds heat maps and thumbnails now
    expect((JSON.parse(second.out) as { files: { path: string }[] }).files.map((f) => f.path)).toEqual(['img0.png', 'img1.png', 'img2.png']);
    expect(second.code).toBe(0);
    ctx.skip(!POSIX, NO_POSIX);
    const link = join(root, 'nested-link');
    symlinkSync(dir, link);
    for (let k = 0; k < 2; k++) {
      const viaLink = bgad([...base(link, join(dir, 'out1')), '--json']);
      expect((JSON.parse(viaLink.out) as { total: number }).total).toBe(3);
    }
  }, 90_000);

  it('must be a folder: an existing file given as --out is a usage error naming it (exit 2)', () => {
    const file = join(root, 'not-a-folder.txt');
    writeFileSync(file, 'x');
    const r = bgad(base(join(fx.testDir, 'good'), file));
    expect(r.code).toBe(2);
    expect(r.err).toContain(file);
    expect(r.err).toMatch(/not a folder/);
    expect(r.err).not.toMatch(/internal error/);
    const under = bgad(base(join(fx.testDir, 'good'), join(file, 'sub')));
    expect(under.code).toBe(2);
    expect(under.err).toContain(file);
  });
});

describe('exit codes', () => {
  it('says what each exit code means in --help', () => {
    const r = bgad(['inspect', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0 +every file passed/);
    expect(r.out).toMatch(/1 +a file failed or could not be read/);
    expect(r.out).toMatch(/2 +bad usage/);
    expect(r.out).toMatch(/3 +the run itself stopped/);
    expect(r.out).toMatch(/130 +cancelled/);
    expect(r.out).toMatch(/--max-file-mb/);
  });

  it('exits 3 when the run itself aborts (a report cannot be written), keeping the results written so far', () => {
    const out = join(root, 'abort');
    mkdirSync(join(out, 'results.csv'), { recursive: true }); // a folder where the CSV report must go
    const r = bgad(base(fx.testDir, out, '--include', 'good/00[0-2].png'));
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/the run stopped/);
    expect(r.err).toContain('results.csv');
    expect(resultLines(join(out, 'results.jsonl')).length).toBe(3);
    expect(existsSync(join(out, LOCK))).toBe(false);
  });

  it('exits 3 when the output folder cannot be written', (ctx) => {
    ctx.skip(!POSIX || process.getuid?.() === 0, 'needs a POSIX system and a user that file permissions apply to (not root)');
    const out = join(root, 'read-only');
    mkdirSync(out);
    chmodSync(out, 0o555);
    try {
      const r = bgad(base(join(fx.testDir, 'good'), out));
      expect(r.code).toBe(3);
      expect(r.err).toContain(out);
    } finally {
      chmodSync(out, 0o755);
    }
  });

  it('exits 130 when cancelled with Ctrl-C, keeping the finished results', async (ctx) => {
    ctx.skip(!POSIX, 'SIGINT to a child process needs a POSIX system');
    const out = join(root, 'sigint');
    const run = bgadAsync(base(fx.testDir, out, '--threads', '1'));
    const t0 = Date.now();
    while (resultLines(join(out, 'results.jsonl')).length < 3) {
      if (Date.now() - t0 > 60_000) throw new Error('no results within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/cancelled/);
    expect(resultLines(join(out, 'results.jsonl')).length).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(out, LOCK))).toBe(false);
  }, 90_000);
});

describe('file names in results.csv and on the console', () => {
  it('neutralises formula cells in results.csv and escapes control characters on the console only', (ctx) => {
    ctx.skip(!POSIX, NO_POSIX);
    const dir = join(root, 'names');
    mkdirSync(dir);
    const names = {
      eq: '=1+2.png', plus: '+A1.png', minus: '-A1.png', at: '@SUM(A1).png', tab: '\tTab.png', cr: '\rCR.png',
      esc: '\x1b[31mred.png', osc: '\x1b]0;pwned\x07fail.png', c1: '\u009bC1-empty.png', del: 'del\x7f.png',
    };
    copyFileSync(good(0), join(dir, names.eq));
    copyFileSync(good(1), join(dir, names.plus));
    copyFileSync(good(2), join(dir, names.minus));
    copyFileSync(good(3), join(dir, names.at));
    copyFileSync(good(4), join(dir, names.tab));
    copyFileSync(good(5), join(dir, names.cr));
    copyFileSync(good(6), join(dir, names.esc));
    copyFileSync(defect(), join(dir, names.osc)); // fails: printed on a "fail" line
    writeFileSync(join(dir, names.c1), ''); // cannot be read: printed on an "error" line
    copyFileSync(good(7), join(dir, names.del));
    const out = join(root, 'names-out');
    const r = bgad(base(dir, out));
    expect(r.code).toBe(1);
    const consoleText = r.out + r.err;
    expect(consoleText).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/); // only line feeds
    expect(r.out).toContain('fail   \\x1b]0;pwned\\x07fail.png');
    expect(r.out).toMatch(/error {2}\\x9bC1-empty\.png: Cannot read image .*\\x9bC1-empty\.png: the file is empty/);

    const rows = parseCsv(readFileSync(join(out, 'results.csv'), 'utf8')).slice(1);
    const paths = rows.map((x) => x[0]);
    for (const n of [names.eq, names.plus, names.minus, names.at, names.tab, names.cr]) expect(paths).toContain(`'${n}`);
    expect(paths).toContain(names.esc); // the CSV keeps names exact apart from the formula quote
    for (const row of rows) if (row[2]) expect(row[2]).toMatch(/^-?\d+\.\d{6}$/);

    const log = resultLines(join(out, 'results.jsonl')).map((l) => l.path).sort();
    expect(log).toEqual(Object.values(names).sort()); // results.jsonl keeps exact names

    const json = bgad([...base(dir, out), '--json']);
    expect(json.out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect((JSON.parse(json.out) as { files: { path: string }[] }).files.map((f) => f.path).sort()).toEqual(Object.values(names).sort());
  }, 90_000);

  it('escapes control characters in the paths of run errors too', (ctx) => {
    ctx.skip(!POSIX, NO_POSIX);
    const file = join(root, 'evil\x1b[2J.out');
    writeFileSync(file, 'x');
    const r = bgad(base(join(fx.testDir, 'good'), file));
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/\x1b/);
    expect(r.err).toContain('evil\\x1b[2J.out');
  });
});
