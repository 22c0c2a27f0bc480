/**
 * --move-to: inspected files go to pass/, fail/ or error/ (sub-path kept, never overwriting),
 * after their result is on disk; a corrupt image goes to error/ with an error line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStation, type Station, type StationResult } from '../../src-main/station/index';
import { moveInspected } from '../../src-main/station/move';
import { getFixture, removeDir, results, sha256, tempDir, waitFor, type Fixture } from './helpers';

let fx: Fixture;
let root: string;
const stations: Station[] = [];
beforeAll(async () => {
  fx = await getFixture();
  root = tempDir('bgad-station-move-');
}, 300_000);
afterAll(async () => {
  await Promise.allSettled(stations.map((s) => s.stop()));
  removeDir(root);
});

describe('bgad watch --move-to', () => {
  it('moves passes, fails and errors into their folders, keeping the sub-path, never overwriting', async () => {
    const input = join(root, 'in');
    const out = join(root, 'out');
    const moveTo = join(root, 'sorted');
    mkdirSync(join(input, 'cam1'), { recursive: true });
    mkdirSync(join(moveTo, 'pass', 'cam1'), { recursive: true });
    writeFileSync(join(moveTo, 'pass', 'cam1', 'good.png'), 'an older file of the same name');
    const seen: StationResult[] = [];
    const station = await runStation({ model: fx.modelPath, input, out, moveTo, settleMs: 200, summaryIntervalMs: 0, onResult: (r) => seen.push(r) });
    stations.push(station);
    const good = readFileSync(join(fx.testDir, 'good', '000.png'));
    const bad = readFileSync(join(fx.testDir, 'spot', '000.png'));
    writeFileSync(join(input, 'cam1', 'good.png'), good);
    writeFileSync(join(input, 'spot.png'), bad);
    writeFileSync(join(input, 'corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is no image at all, just bytes'));
    await waitFor(() => seen.length >= 3, '3 results', 90_000);
    await station.stop();

    const rs = new Map(results(out).map((r) => [r.path, r]));
    expect(rs.get('cam1/good.png')).toMatchObject({ verdict: 'pass' });
    expect(rs.get('spot.png')).toMatchObject({ verdict: 'fail' });
    expect(rs.get('corrupt.png')).toMatchObject({ verdict: 'error', score: null, errorCode: expect.any(String), error: expect.any(String) });
    // the older file is kept; ours gets a suffix
    expect(readFileSync(join(moveTo, 'pass', 'cam1', 'good.png'), 'utf8')).toBe('an older file of the same name');
    expect(sha256(readFileSync(join(moveTo, 'pass', 'cam1', 'good-1.png')))).toBe(sha256(good));
    expect(sha256(readFileSync(join(moveTo, 'fail', 'spot.png')))).toBe(sha256(bad));
    expect(existsSync(join(moveTo, 'error', 'corrupt.png'))).toBe(true);
    expect(readdirSync(input, { recursive: true }).filter((n) => String(n).endsWith('.png'))).toEqual([]);
    const moved = new Map(seen.map((s) => [s.result.rel, s.movedTo]));
    expect(moved.get('cam1/good.png')).toBe(join(moveTo, 'pass', 'cam1', 'good-1.png'));
    expect(moved.get('corrupt.png')).toBe(join(moveTo, 'error', 'corrupt.png'));
  }, 180_000);

  it('finishes a move cut short between the link and the unlink without a second copy', async () => {
    const dir = join(root, 'cut');
    mkdirSync(join(dir, 'in'), { recursive: true });
    writeFileSync(join(dir, 'in', 'a.png'), 'x');
    mkdirSync(join(dir, 'to', 'pass'), { recursive: true });
    const { linkSync } = await import('node:fs');
    linkSync(join(dir, 'in', 'a.png'), join(dir, 'to', 'pass', 'a.png')); // the crash left both names
    expect(await moveInspected(join(dir, 'in', 'a.png'), 'a.png', join(dir, 'to'), 'pass')).toBe(join(dir, 'to', 'pass', 'a.png'));
    expect(readdirSync(join(dir, 'to', 'pass'))).toEqual(['a.png']);
    expect(existsSync(join(dir, 'in', 'a.png'))).toBe(false);
  });
});
