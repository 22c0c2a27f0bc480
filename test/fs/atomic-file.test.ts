/**
 * The one atomic file writer (src-main/fs/atomic-file.ts): the new bytes or the old, never a
 * torn file, no temp file left behind, and failures named in the caller's words.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitTempFile, defaultWriteError, tempPathFor, writeFileAtomic, writeFileAtomicSync } from '../../src-main/fs/atomic-file';
import { dataFileErrors } from '../../src-main/db/files';
import { AppError } from '../../src-main/common/errors';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-atomic-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('the atomic file writer', () => {
  it('writes a new file and replaces an old one, creating the folder, leaving no temp file (async and sync alike)', async () => {
    const a = join(dir, 'new', 'deeper', 'a.bin');
    await writeFileAtomic(a, bytes('one'));
    await writeFileAtomic(a, bytes('two'));
    expect(readFileSync(a, 'utf8')).toBe('two');
    const b = join(dir, 'sync', 'b.bin');
    writeFileAtomicSync(b, bytes('three'));
    writeFileAtomicSync(b, bytes('four'));
    expect(readFileSync(b, 'utf8')).toBe('four');
    expect(readdirSync(join(dir, 'new', 'deeper'))).toEqual(['a.bin']);
    expect(readdirSync(join(dir, 'sync'))).toEqual(['b.bin']);
  });

  it('names its temp files so that the data folder sweep recognises them (.<name>.<pid>.<hex>.tmp, same folder)', () => {
    const t = tempPathFor(join(dir, 'x', 'model.bgad'));
    expect(t.startsWith(join(dir, 'x'))).toBe(true);
    expect(basename(t)).toMatch(new RegExp(`^\\.model\\.bgad\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`));
  });

  it('moves a temp file written another way into place', async () => {
    const target = join(dir, 'report.pdf');
    const tmp = tempPathFor(target);
    writeFileSync(tmp, 'pdf bytes');
    await commitTempFile(tmp, target);
    expect(readFileSync(target, 'utf8')).toBe('pdf bytes');
    expect(existsSync(tmp)).toBe(false);
  });

  it('keeps the old file on a failure, removes its temp file and passes the error on, or maps it as the caller says', async () => {
    // a folder where the file should be: the rename fails after the temp file was written
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'inner'), { recursive: true });
    await expect(writeFileAtomic(blocked, bytes('x'))).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(() => writeFileAtomicSync(blocked, bytes('x'))).toThrow(expect.objectContaining({ code: expect.stringMatching(/^E/) }));
    const seen: string[] = [];
    await expect(writeFileAtomic(blocked, bytes('x'), { mapError: (e, path) => { seen.push(path); return new AppError('IO_ERROR', `mapped ${(e as NodeJS.ErrnoException).code}`); } }))
      .rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/^mapped E/) });
    expect(seen).toEqual([blocked]);
    // the data folder's wording (db/files.ts): a plain failure names what could not be written
    expect(() => writeFileAtomicSync(blocked, bytes('x'), dataFileErrors('the model bundle'))).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/^Could not write the model bundle /) }));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(blocked)).toEqual(['inner']);
  });

  it('names a full disk DISK_FULL by default, and passes other errors on unchanged', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    expect(defaultWriteError(full, '/data/x.png')).toMatchObject({ code: 'DISK_FULL', message: 'The disk is full while writing /data/x.png.' });
    const other = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    expect(defaultWriteError(other, '/data/x.png')).toBe(other);
  });
});
