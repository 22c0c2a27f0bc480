/**
 * MQTT delivery against a real mosquitto broker on a free loopback port, with a real mqtt.js
 * subscriber (QoS 1): every event arrives; the broker stopped and started again loses none.
 * Needs the `mosquitto` program (Debian: apt-get install mosquitto; .ci/run installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { runStation, type Station } from '../../src-main/station/index';
import { eventId } from '../../src-main/station/station';
import type { ResultEvent } from '../../src-main/station/types';
import { Broker, distinctPngs, freePort, getFixture, mosquittoPath, removeDir, results, tempDir, waitFor, writeFiles, type Fixture } from './helpers';

const MOSQUITTO = mosquittoPath();
if (!MOSQUITTO) console.warn('test/station/mqtt.test.ts: SKIPPED: the mosquitto broker is not installed (apt-get install mosquitto); .ci/run installs it.');

describe.skipIf(!MOSQUITTO)('bgad watch: MQTT with a real mosquitto broker (skipped without mosquitto: apt-get install mosquitto)', () => {
  let fx: Fixture;
  let root: string;
  let broker: Broker;
  let sub: MqttClient | null = null;
  const stations: Station[] = [];
  beforeAll(async () => {
    fx = await getFixture();
    root = tempDir('bgad-station-mqtt-');
    broker = new Broker(MOSQUITTO!, join(root, 'broker'), await freePort());
    await broker.start();
  }, 300_000);
  afterAll(async () => {
    await Promise.allSettled(stations.map((s) => s.stop()));
    await sub?.endAsync(true).catch(() => undefined);
    await broker?.stop();
    removeDir(root);
  });

  it('publishes every event with QoS 1; a broker stopped and started again loses none', async () => {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const topic = 'line2/station1/verdicts';
    const got: ResultEvent[] = [];
    // a persistent session (clean: false) at QoS 1: the broker keeps what it queued for it over its restart
    sub = connect(url, { clientId: 'bgad-test-subscriber', clean: false, reconnectPeriod: 200 });
    sub.on('error', () => undefined);
    sub.on('message', (_t, payload) => got.push(JSON.parse(payload.toString('utf8')) as ResultEvent));
    await new Promise<void>((res, rej) => { sub!.once('connect', () => res()); sub!.once('error', rej); });
    await sub.subscribeAsync(topic, { qos: 1 });

    const input = join(root, 'in');
    const out = join(root, 'out');
    mkdirSync(input, { recursive: true });
    const files = await distinctPngs(join(fx.testDir, 'good', '007.png'), 10, 'mq');
    const station = await runStation({ model: fx.modelPath, input, out, settleMs: 200, mqtt: { url, topic }, retry: { initialMs: 100, maxMs: 500 }, summaryIntervalMs: 0 });
    stations.push(station);
    writeFiles(input, files.slice(0, 5));
    await waitFor(() => got.length >= 5, '5 messages at the subscriber', 90_000);

    await broker.stop();
    writeFiles(input, files.slice(5));
    await waitFor(() => results(out).length >= 10, '10 results while the broker is down', 90_000);
    expect(station.summary().backlog.mqtt).toBeGreaterThan(0);
    await broker.start();
    await waitFor(() => new Set(got.map((e) => e.id)).size >= 10, 'all 10 events after the broker came back', 60_000);
    await waitFor(() => station.summary().backlog.mqtt === 0, 'an empty backlog', 10_000);
    await station.stop();

    const ids = results(out).map((r) => eventId(r));
    expect(new Set(got.map((e) => e.id))).toEqual(new Set(ids));
    // at least once, with an id: a duplicate is only ever a repeat of an id
    const firstSeen = [...new Map(got.map((e) => [e.id, e])).keys()];
    expect(firstSeen).toEqual(ids);
    expect(got[0]).toMatchObject({ type: 'inspection.result', path: expect.stringMatching(/^mq-/), verdict: expect.stringMatching(/^(pass|fail)$/) });
  }, 300_000);
});
