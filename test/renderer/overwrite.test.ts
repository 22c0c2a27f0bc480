/**
 * Saving over an existing file from the UI: the services refuse it (CONFLICT, the file as the
 * subject) unless told `overwrite: true`; the UI asks first, and a path the native save dialog
 * already confirmed (exactly the file that will be written) is not asked about again.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src-renderer/lib/api-client';
import { confirmedBySaveDialog, withExtension, writeAskingToOverwrite } from '../../src-renderer/lib/overwrite';

const exists = (path: string) => new ApiError({ code: 'CONFLICT', message: `The file ${path} already exists.`, hint: 'Choose another name, or confirm to overwrite it.', subject: path });

describe('writing a file that may exist', () => {
  it('writes without asking when the file is new', async () => {
    const calls: boolean[] = [];
    const asked: string[] = [];
    const r = await writeAskingToOverwrite(async (overwrite) => (calls.push(overwrite), { path: '/r.pdf' }), (m) => (asked.push(m), true));
    expect(r).toEqual({ path: '/r.pdf' });
    expect(calls).toEqual([false]);
    expect(asked).toEqual([]);
  });

  it('asks naming the file, and writes over it only when the user agrees', async () => {
    const calls: boolean[] = [];
    const write = async (overwrite: boolean) => {
      calls.push(overwrite);
      if (!overwrite) throw exists('/out/r.pdf');
      return { path: '/out/r.pdf' };
    };
    const asked: string[] = [];
    expect(await writeAskingToOverwrite(write, (m) => (asked.push(m), false))).toBeNull();
    expect(calls).toEqual([false]);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('/out/r.pdf');
    expect(asked[0]).toMatch(/already exists/);
    expect(await writeAskingToOverwrite(write, () => true)).toEqual({ path: '/out/r.pdf' });
    expect(calls).toEqual([false, false, true]);
  });

  it('looks first: asks before writing over a file that is there, and never sends a refused call then', async () => {
    const calls: boolean[] = [];
    const write = async (overwrite: boolean) => (calls.push(overwrite), { path: '/out/r.pdf' });
    const looked: string[] = [];
    const exists = async (f: string) => (looked.push(f), true);
    const asked: string[] = [];
    expect(await writeAskingToOverwrite(write, (q) => (asked.push(q), false), { file: '/out/r.pdf', exists })).toBeNull();
    expect(calls).toEqual([]);
    expect(asked[0]).toContain('/out/r.pdf');
    expect(await writeAskingToOverwrite(write, () => true, { file: '/out/r.pdf', exists })).toEqual({ path: '/out/r.pdf' });
    expect(calls).toEqual([true]);
    expect(looked).toEqual(['/out/r.pdf', '/out/r.pdf']);
  });

  it('still asks when the file appears after the look (the service refuses it)', async () => {
    const calls: boolean[] = [];
    const write = async (overwrite: boolean) => {
      calls.push(overwrite);
      if (!overwrite) throw exists('/out/late.csv');
      return { path: '/out/late.csv' };
    };
    const asked: string[] = [];
    const r = await writeAskingToOverwrite(write, (q) => (asked.push(q), true), { file: '/out/late.csv', exists: async () => false });
    expect(r).toEqual({ path: '/out/late.csv' });
    expect(calls).toEqual([false, true]);
    expect(asked).toHaveLength(1);
    // a look that fails counts as "not there": the service decides
    calls.length = 0;
    await writeAskingToOverwrite(write, () => false, { file: '/out/late.csv', exists: () => Promise.reject(new Error('offline')) });
    expect(calls).toEqual([false]);
  });

  it('does not ask again for a path the save dialog confirmed', async () => {
    const calls: boolean[] = [];
    const r = await writeAskingToOverwrite(async (o) => (calls.push(o), { path: '/a.csv' }), () => {
      throw new Error('asked');
    }, { confirmed: true });
    expect(r).toEqual({ path: '/a.csv' });
    expect(calls).toEqual([true]);
  });

  it('passes other errors on', async () => {
    const notFound = new ApiError({ code: 'NOT_FOUND', message: 'The folder /x does not exist.' });
    await expect(writeAskingToOverwrite(async () => Promise.reject(notFound), () => true)).rejects.toBe(notFound);
  });
});

describe('the file a service writes', () => {
  it('has the extension of its format, added when missing', () => {
    expect(withExtension('/a/r.pdf', 'pdf')).toBe('/a/r.pdf');
    expect(withExtension('/a/R.PDF', 'pdf')).toBe('/a/R.PDF');
    expect(withExtension('/a/r', 'pdf')).toBe('/a/r.pdf');
    expect(withExtension('/a/model.bin', 'onnx')).toBe('/a/model.bin.onnx');
  });
});

describe('a path confirmed by the save dialog', () => {
  it('is the exact file written, with the extension of its format', () => {
    expect(confirmedBySaveDialog('/home/me/r.pdf', '/home/me/r.pdf', 'pdf')).toBe(true);
    expect(confirmedBySaveDialog('/home/me/R.PDF', '/home/me/R.PDF', 'pdf')).toBe(true);
    // the service would add ".pdf": another file than the one the dialog asked about
    expect(confirmedBySaveDialog('/home/me/r', '/home/me/r', 'pdf')).toBe(false);
    // the CSV button after choosing r.pdf writes r.csv: not confirmed
    expect(confirmedBySaveDialog('/home/me/r.pdf', '/home/me/r.csv', 'csv')).toBe(false);
    expect(confirmedBySaveDialog(null, '/home/me/r.pdf', 'pdf')).toBe(false);
    // a path typed after choosing
    expect(confirmedBySaveDialog('/home/me/r.pdf', '/home/me/s.pdf', 'pdf')).toBe(false);
  });
});
