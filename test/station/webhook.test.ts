/**
 * Webhook delivery against a real node:http receiver: down, then up on the same port (every
 * event arrives, in order, none lost, across a station restart too); a permanent refusal is
 * dead-lettered and the rest go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStation, type Station, type StationEvent } from '../../src-main/station/index';
import { eventId } from '../../src-main/station/station';
import { distinctPngs, freePort, getFixture, queuedEvents, Receiver, removeDir, results, sleep, tempDir, waitFor, writeFiles, type Fixture } from './helpers';

let fx: Fixture;
let root: string;
const stations: Station[] = [];
const receivers: Receiver[] = [];
beforeAll(async () => {
  fx = await getFixture();
  root = tempDir('bgad-station-hook-');
}, 300_000);
afterAll(async () => {
  await Promise.allSettled(stations.map((s) => s.stop()));
  await Promise.allSettled(receivers.map((r) => r.stop()));
  removeDir(root);
});

describe('bgad watch: webhook', () => {
  it('delivers every event in order once the receiver comes up, across a restart, none lost', async () => {
    const port = await freePort();
    const receiver = new Receiver(port);
    receivers.push(receiver);
    const input = join(root, 'down-up', 'in');
    const out = join(root, 'down-up', 'out');
    mkdirSync(input, { recursive: true });
    const files = await distinctPngs(join(fx.testDir, 'good', '003.png'), 12, 'hook');
    const notices: StationEvent[] = [];
    const open = async () => {
      const s = await runStation({ model: fx.modelPath, input, out, settleMs: 200, webhook: receiver.url, retry: { initialMs: 50, maxMs: 500 }, summaryIntervalMs: 0, drainMs: 200, onEvent: (e) => notices.push(e) });
      stations.push(s);
      return s;
    };
    // the receiver is down: inspection goes on, the events wait on disk
    const a = await open();
    writeFiles(input, files.slice(0, 6));
    await waitFor(() => results(out).length >= 6, '6 results while the receiver is down', 90_000);
    await waitFor(() => a.summary().backlog.webhook === 6, 'a backlog of 6', 10_000);
    expect(notices.some((n) => n.type === 'sink-down')).toBe(true);
    await a.stop();
    // restarted, still down; more files
    const b = await open();
    writeFiles(input, files.slice(6));
    await waitFor(() => results(out).length >= 12, '12 results', 90_000);
    await sleep(300);
    expect(receiver.received).toHaveLength(0);
    // up on the same port
    await receiver.start();
    await waitFor(() => receiver.received.length >= 12, 'the 12 events at the receiver', 30_000);
    await waitFor(() => b.summary().backlog.webhook === 0, 'an empty backlog', 10_000);
    await b.stop();
    const queued = queuedEvents(out).map((e) => e.id);
    expect(queued).toEqual(results(out).map((r) => eventId(r)));
    expect(receiver.ids()).toEqual(queued); // in order, each once
    const first = receiver.received[0]!;
    expect(first.contentType).toMatch(/^application\/json/);
    expect(first.idempotencyKey).toBe(first.id);
    expect(first.event).toMatchObject({ type: 'inspection.result', threshold: expect.any(Number), model: { file: 'model.bgad', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), version: null } });
    expect(Object.keys(first.event).sort()).toEqual(['error', 'errorCode', 'id', 'input', 'latencyMs', 'model', 'path', 'score', 'sha256', 'threshold', 'time', 'type', 'verdict']);
    expect(notices.some((n) => n.type === 'sink-up')).toBe(true);
  }, 240_000);

  it('keeps a permanently refused event (4xx) in the dead-letter file and goes on; retries 503 and 429', async () => {
    const receiver = new Receiver(await freePort());
    receivers.push(receiver);
    const tries = new Map<string, number>();
    receiver.status = (e) => {
      const n = (tries.get(e.id) ?? 0) + 1;
      tries.set(e.id, n);
      if (e.path.startsWith('reject')) return 404;
      if (e.path.startsWith('busy') && n < 3) return n === 1 ? 503 : 429;
      return 200;
    };
    await receiver.start();
    const input = join(root, 'refused', 'in');
    const out = join(root, 'refused', 'out');
    mkdirSync(input, { recursive: true });
    const notices: StationEvent[] = [];
    const s = await runStation({ model: fx.modelPath, input, out, settleMs: 200, webhook: receiver.url, retry: { initialMs: 50, maxMs: 200 }, summaryIntervalMs: 0, onEvent: (e) => notices.push(e) });
    stations.push(s);
    const [r, b, ok] = await Promise.all([
      distinctPngs(join(fx.testDir, 'good', '004.png'), 1, 'reject'),
      distinctPngs(join(fx.testDir, 'good', '005.png'), 1, 'busy'),
      distinctPngs(join(fx.testDir, 'good', '006.png'), 1, 'ok'),
    ]);
    writeFiles(input, r!);
    await waitFor(() => results(out).length >= 1, 'the first result', 60_000);
    writeFiles(input, b!);
    await waitFor(() => results(out).length >= 2, 'the second result', 60_000);
    writeFiles(input, ok!);
    await waitFor(() => receiver.received.length >= 2, 'the 2 accepted events', 60_000);
    await s.stop();
    expect(receiver.received.map((x) => x.event.path)).toEqual(['busy-0000.png', 'ok-0000.png']);
    const dead = readFileSync(join(out, 'station', 'dead-letter.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ sink: 'webhook', status: 404, target: receiver.url, event: { path: 'reject-0000.png' } });
    expect(notices).toContainEqual(expect.objectContaining({ type: 'dead-letter', status: 404, path: 'reject-0000.png' }));
    expect(tries.get(dead[0].event.id)).toBe(1); // not retried
    expect(existsSync(join(out, 'station', 'delivered-webhook.jsonl'))).toBe(true);
  }, 180_000);
});
