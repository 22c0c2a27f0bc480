/**
 * The station against a real folder: a camera that writes slowly, a burst of 200 files, the
 * output lock shared with `bgad inspect`, files already there at start, replaced files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync, fsyncSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStation, type Station, type StationResult } from '../../src-main/station/index';
import { eventId } from '../../src-main/station/station';
import { inspectFolder } from '../../src-main/inspection/inspect';
import { parseCsv } from '../../src-main/reports/csv';
import { distinctPngs, getFixture, queuedEvents, removeDir, results, sha256, sleep, tempDir, waitFor, writeFiles, type Fixture } from './helpers';

let fx: Fixture;
let root: string;
const stations: Station[] = [];
beforeAll(async () => {
  fx = await getFixture();
  root = tempDir('bgad-station-');
}, 300_000);
afterAll(async () => {
  await Promise.allSettled(stations.map((s) => s.stop()));
  removeDir(root);
});

async function start(name: string, extra: Partial<Parameters<typeof runStation>[0]> = {}) {
  const input = join(root, name, 'in');
  const out = join(root, name, 'out');
  mkdirSync(input, { recursive: true });
  const seen: StationResult[] = [];
  const station = await runStation({ model: fx.modelPath, input, out, settleMs: 500, threads: 1, summaryIntervalMs: 0, onResult: (r) => seen.push(r), ...extra });
  stations.push(station);
  return { input, out, seen, station };
}

describe('bgad watch: the folder', () => {
  it('inspects a file written slowly in chunks once, when it is complete, never half-way', async () => {
    const { input, out, seen, station } = await start('slow', { settleMs: 1000 });
    const full = readFileSync(join(fx.testDir, 'good', '000.png'));
    const path = join(input, 'camera.png');
    const fd = openSync(path, 'w');
    const chunk = Math.ceil(full.length / 5);
    for (let i = 0; i < 5; i++) {
      writeSync(fd, full, i * chunk, Math.min(chunk, full.length - i * chunk));
      fsyncSync(fd);
      if (i < 4) await sleep(200);
    }
    closeSync(fd);
    await waitFor(() => results(out).length >= 1, 'the result of the slow file', 60_000);
    await sleep(1500); // a second result would come within the settle time
    const rs = results(out);
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ path: 'camera.png', sha256: sha256(full) });
    expect(rs[0]!.verdict).not.toBe('error');
    expect(seen.map((s) => s.event.sha256)).toEqual([sha256(full)]);
    expect(seen[0]!.event.latencyMs).toBeGreaterThanOrEqual(0);
    // results.csv: the report's columns, one row
    const csv = parseCsv(readFileSync(join(out, 'results.csv'), 'utf8'));
    expect(csv[0]).toEqual(['path', 'sha256', 'score', 'verdict', 'error']);
    expect(csv.slice(1).map((r) => r[0])).toEqual(['camera.png']);
    // the heat map and thumbnail, as bgad inspect writes them
    expect(existsSync(join(out, rs[0]!.heatmap!))).toBe(true);
    expect(existsSync(join(out, rs[0]!.thumbnail!))).toBe(true);
    await station.stop();
  }, 120_000);

  it('inspects a burst of 200 files once each', async () => {
    const files = await distinctPngs(join(fx.testDir, 'good', '001.png'), 200, 'burst');
    const { input, out, seen, station } = await start('burst', { settleMs: 300 });
    writeFiles(input, files.map((f, i) => ({ ...f, name: `${i % 4}/${f.name}` })));
    await waitFor(() => results(out).length >= 200, '200 results', 400_000, 200);
    await sleep(1000);
    const rs = results(out);
    expect(rs).toHaveLength(200);
    expect(new Set(rs.map((r) => r.path)).size).toBe(200);
    expect(new Set(rs.map((r) => r.sha256)).size).toBe(200);
    expect(rs.filter((r) => r.verdict === 'error')).toEqual([]);
    expect(seen).toHaveLength(200);
    const events = queuedEvents(out);
    expect(events.map((e) => e.id)).toEqual(rs.map((r) => eventId(r)));
    const s = station.summary();
    expect([s.total, s.pass + s.fail, s.error]).toEqual([200, 200, 0]);
    await station.stop();
    const csv = parseCsv(readFileSync(join(out, 'results.csv'), 'utf8'));
    expect(csv.length - 1).toBe(200);
  }, 480_000);

  it('inspects the files already there at start, skips those done, and inspects a replaced file again', async () => {
    const files = await distinctPngs(join(fx.testDir, 'good', '002.png'), 4, 'early');
    const input = join(root, 'restart', 'in');
    const out = join(root, 'restart', 'out');
    mkdirSync(input, { recursive: true });
    writeFiles(input, files.slice(0, 2));
    const a = await start('restart', { settleMs: 200 });
    await waitFor(() => results(out).length >= 2, 'the 2 files there at start', 60_000);
    await a.station.stop();
    writeFiles(input, files.slice(2)); // arrive while stopped
    const b = await start('restart', { settleMs: 200 });
    await waitFor(() => results(out).length >= 4, 'the 2 files that arrived while stopped', 60_000);
    copyFileSync(join(fx.testDir, 'spot', '000.png'), join(input, files[0]!.name)); // replaced
    await waitFor(() => results(out).length >= 5, 'the replaced file', 60_000);
    await sleep(1000);
    await b.station.stop();
    const names = files.map((f) => f.name);
    expect(results(out).map((r) => r.path).sort()).toEqual([...names, names[0]!].sort());
    expect(b.seen.slice(0, 2).map((s) => s.result.rel).sort()).toEqual([names[2], names[3]]);
    expect(b.seen[2]!.result.rel).toBe(names[0]);
    expect(b.seen).toHaveLength(3);
    expect(queuedEvents(out)).toHaveLength(5);
  }, 180_000);

  it('queues and announces on start a result written just before a crash whose event was not queued', async () => {
    const files = await distinctPngs(join(fx.testDir, 'good', '009.png'), 3, 'crash');
    const a = await start('recover', { settleMs: 200 });
    writeFiles(a.input, files);
    await waitFor(() => results(a.out).length >= 3, '3 results', 60_000);
    await a.station.stop();
    // the crash: the last result line is on disk, its event never reached the queue
    const queue = join(a.out, 'station', 'events.jsonl');
    const lines = readFileSync(queue, 'utf8').trim().split('\n');
    writeFileSync(queue, lines.slice(0, 2).join('\n') + '\n' + lines[2]!.slice(0, 20)); // and a torn line
    const b = await start('recover', { settleMs: 200 });
    await waitFor(() => queuedEvents(b.out).length >= 3, 'the missing event queued again', 30_000);
    await b.station.stop();
    expect(b.seen).toHaveLength(1);
    expect(b.seen[0]).toMatchObject({ recovered: true, event: { id: eventId(results(b.out)[2]!), latencyMs: null } });
    expect(queuedEvents(b.out).map((e) => e.id)).toEqual(results(b.out).map((r) => eventId(r)));
    expect(results(b.out)).toHaveLength(3);
  }, 120_000);

  it('shares the output lock with bgad inspect: one refuses while the other runs', async () => {
    const { input, out, station } = await start('locked');
    await expect(inspectFolder({ model: fx.modelPath, input, out, formats: ['csv'] })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(runStation({ model: fx.modelPath, input, out })).rejects.toMatchObject({ code: 'CONFLICT' });
    await station.stop();
    expect(existsSync(join(out, '.bgad-inspect.lock'))).toBe(false);
  }, 60_000);
});
