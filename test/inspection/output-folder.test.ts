/** The output folder rules and lock (used by bgad inspect and the app's batch inspection alike), and what the scan never lists. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { checkOutputFolder, lockOutputFolder, LOCK_FILE } from '../../src-main/inspection/output-folder';
import { scanInputFolder } from '../../src-main/inspection/scan';
import { removeDir, tempDir } from './fixture';

const POSIX = process.platform !== 'win32';
let root: string;
beforeAll(() => {
  root = tempDir('bgad-outdir-');
});
afterAll(() => removeDir(root));

const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

describe('the output folder lock', () => {
  it('lets one inspection hold a folder, refuses a second naming the first, and frees it on release', async () => {
    const out = join(root, 'lock-a');
    mkdirSync(out);
    const a = await lockOutputFolder(out, { command: 'bgad inspect' });
    const held = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')) as { pid: number; host: string; startedAt: string };
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: 'bgad inspect' });
    expect(Date.parse(held.startedAt)).not.toBeNaN();
    await expect(lockOutputFolder(out)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`pid ${process.pid} on ${hostname()}, bgad inspect`) });
    await a.release();
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    const b = await lockOutputFolder(out);
    await b.release();
  });

  it('takes over a lock whose process is gone, and keeps a lock of another host', async () => {
    const out = join(root, 'lock-b');
    mkdirSync(out);
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: '2026-01-01T00:00:00Z' }));
    const lock = await lockOutputFolder(out);
    expect(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'line-pc-7', startedAt: '2026-01-01T00:00:00Z' }));
    await expect(lockOutputFolder(out)).rejects.toMatchObject({ code: 'CONFLICT', hint: expect.stringMatching(/on line-pc-7, delete .*\.bgad-inspect\.lock/) });
  });

  it('does not remove a lock that is no longer its own', async () => {
    const out = join(root, 'lock-c');
    mkdirSync(out);
    const lock = await lockOutputFolder(out);
    const other = JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 'x', token: 'someone-else' });
    writeFileSync(join(out, LOCK_FILE), other);
    await lock.release();
    expect(readFileSync(join(out, LOCK_FILE), 'utf8')).toBe(other);
  });
});

describe('checkOutputFolder', () => {
  it('refuses a file, a folder below a file, the input folder (by any path) and an input inside its picture folders', async () => {
    const input = join(root, 'in');
    mkdirSync(join(input, 'deep'), { recursive: true });
    writeFileSync(join(root, 'file'), 'x');
    await expect(checkOutputFolder(input, join(root, 'file'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/file, not a folder/) });
    await expect(checkOutputFolder(input, join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(join(root, 'file')) });
    await expect(checkOutputFolder(input, input)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/is the input folder/) });
    // an input inside the output folder is fine, unless it lies where the pictures are written
    await expect(checkOutputFolder(join(input, 'deep'), input)).resolves.toBeUndefined();
    mkdirSync(join(input, 'heatmaps', 'sub'), { recursive: true });
    await expect(checkOutputFolder(join(input, 'heatmaps', 'sub'), input)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/where this output folder's pictures are written/) });
    if (POSIX) {
      symlinkSync(input, join(root, 'in-link'));
      await expect(checkOutputFolder(join(root, 'in-link'), input)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    }
    await expect(checkOutputFolder(input, join(input, 'out'))).resolves.toBeUndefined(); // skipped by the scan
    await expect(checkOutputFolder(input, join(root, 'new', 'out'))).resolves.toBeUndefined();
  });
});

describe('the scan', () => {
  it('lists FIFOs for the loader to refuse, and never lists output folders or files named like heat maps', async (ctx) => {
    const input = join(root, 'scan');
    for (const p of ['a.png', 'a.png.map.png', 'a.png.overlay.png', 'b.overlay.JPG', 'old/results.jsonl', 'old/heatmaps/a.png.map.png', 'old/thumbs/a.png.jpg', 'other/results.jsonl', 'other/c.png', 'cur/x.png']) {
      mkdirSync(join(input, p, '..'), { recursive: true });
      writeFileSync(join(input, p), p.endsWith('.jsonl') ? '' : 'x');
    }
    writeFileSync(join(input, 'old', 'results.jsonl'), '{"type":"header","version":1,"createdAt":"x","modelSha256":"m"}\n');
    writeFileSync(join(input, 'other', 'results.jsonl'), 'a results file of something else\n');
    const s = await scanInputFolder(input, { skipDirs: [join(input, 'cur')] });
    expect(s.files.map((f) => f.rel)).toEqual(['a.png', 'other/c.png']);
    ctx.skip(!POSIX || spawnSync('mkfifo', [join(input, 'pipe.png')]).status !== 0, 'FIFOs need a POSIX system');
    symlinkSync(input, join(root, 'scan-link'));
    const t = await scanInputFolder(join(root, 'scan-link'), { skipDirs: [join(input, 'cur')] }); // the output folder under another spelling
    expect(t.files.map((f) => f.rel)).toEqual(['a.png', 'other/c.png', 'pipe.png']);
  });
});
