/**
 * The MQTT sink (mqtt.js): each event published with QoS 1 on one topic; delivered once the
 * broker's PUBACK arrives. While the broker cannot be reached the client reconnects every
 * second, and the queue's back-off holds the events (on disk, not in the client's memory).
 * A publish in flight when the connection drops is sent again by mqtt.js after reconnecting.
 * An MQTT 5 broker's refusal (reason code 0x80 or above, e.g. not authorised) is permanent.
 */
import { randomBytes } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { AppError } from '../common/errors';
import { DeliveryError, type Sink } from './delivery';
import type { MqttOptions, ResultEvent } from './types';
import { safeUrl } from './webhook';

const PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'];

export function parseMqttOptions(o: MqttOptions): URL {
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new AppError('BAD_ARGUMENT', `The MQTT URL "${o.url}" is not a URL.`, { hint: 'Give e.g. mqtt://10.0.0.5:1883.' });
  }
  if (!PROTOCOLS.includes(u.protocol)) throw new AppError('BAD_ARGUMENT', `The MQTT URL must be mqtt://, mqtts://, ws:// or wss://, got ${u.protocol}//.`);
  if (!o.topic || /[#+\u0000]/.test(o.topic)) throw new AppError('BAD_ARGUMENT', `The MQTT topic must be a topic name without wildcards (# +), got "${o.topic}".`);
  return u;
}

export class MqttSink implements Sink {
  readonly name = 'mqtt' as const;
  readonly target: string;
  private readonly client: MqttClient;
  private lastError = 'connecting';

  constructor(private readonly o: MqttOptions) {
    const u = parseMqttOptions(o);
    this.target = `${safeUrl(u)} topic ${o.topic}`;
    this.client = connect(o.url, {
      clientId: o.clientId ?? `bgad-watch-${randomBytes(6).toString('hex')}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      queueQoSZero: false,
      resubscribe: false,
    });
    // without a listener an 'error' event would throw; the back-off reports it
    this.client.on('error', (e) => { this.lastError = (e as NodeJS.ErrnoException).code ?? e.message; });
    this.client.on('connect', () => { this.lastError = 'connecting'; });
  }

  async send(event: ResultEvent, signal: AbortSignal): Promise<void> {
    if (!this.client.connected) throw new DeliveryError(`${this.target}: not connected (${this.lastError})`, false);
    const publish = this.client.publishAsync(this.o.topic, JSON.stringify(event), { qos: 1 });
    const aborted = new Promise<never>((_, reject) => {
      const stop = () => reject(new DeliveryError(`${this.target}: stopped`, false));
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
    try {
      await Promise.race([publish, aborted]);
    } catch (e) {
      if (e instanceof DeliveryError) throw e;
      const code = (e as { code?: number }).code;
      const permanent = typeof code === 'number' && code >= 0x80;
      throw new DeliveryError(`${this.target}: ${(e as Error).message}`, permanent, typeof code === 'number' ? code : null);
    } finally {
      publish.catch(() => undefined);
      aborted.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}
