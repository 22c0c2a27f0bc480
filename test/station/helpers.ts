/**
 * Helpers of the station tests: the inspection tests' fixture model, distinct small PNGs,
 * polling, a real HTTP receiver, free loopback ports, a real mosquitto broker.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { LogResult } from '../../src-main/inspection/results-log';
import type { ResultEvent } from '../../src-main/station/types';

export { getFixture, tempDir, removeDir, bundledCli, REPO_ROOT, type Fixture } from '../inspection/fixture';
import { REPO_ROOT } from '../inspection/fixture';

/** Builds dist/ (the Node bundles) when the app's station worker (dist/engine/station-worker.js) is not there yet. */
export function ensureStationWorker(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'engine', 'station-worker.js'))) {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--no-renderer'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it is true; fails naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000, everyMs = 50): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The result lines of an output folder's results.jsonl. */
export function results(out: string): LogResult[] {
  const f = join(out, 'results.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter((l) => l.includes('"type":"result"')).flatMap((l) => {
    try {
      return [JSON.parse(l) as LogResult];
    } catch {
      return []; // a line being written
    }
  });
}

/** The events queued in `<out>/station/events.jsonl`, in order. */
export function queuedEvents(out: string): ResultEvent[] {
  const f = join(out, 'station', 'events.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [(JSON.parse(l) as { event: ResultEvent }).event];
    } catch {
      return [];
    }
  });
}

/**
 * `n` PNGs with distinct bytes, made from one source image (pixel (i mod w, i / w) nudged),
 * returned as buffers with their names.
 */
export async function distinctPngs(source: string, n: number, prefix = 'img'): Promise<{ name: string; bytes: Buffer }[]> {
  const { data, info } = await sharp(source).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const out: { name: string; bytes: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const px = Buffer.from(data);
    const at = (i % (info.width * info.height)) * info.channels;
    px[at] = (px[at]! + 1 + Math.floor(i / (info.width * info.height))) % 256;
    const bytes = await sharp(px, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toBuffer();
    out.push({ name: `${prefix}-${String(i).padStart(4, '0')}.png`, bytes });
  }
  return out;
}

export function writeFiles(dir: string, files: { name: string; bytes: Buffer }[]): void {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.name)), { recursive: true });
    writeFileSync(join(dir, f.name), f.bytes);
  }
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Received {
  id: string;
  idempotencyKey: string | undefined;
  contentType: string | undefined;
  event: ResultEvent;
}

/** A real webhook receiver (node:http) on 127.0.0.1:port; `status` decides each answer. */
export class Receiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  status: (e: ResultEvent) => number = () => 200;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let event: ResultEvent;
        try {
          event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ResultEvent;
        } catch {
          res.writeHead(400).end();
          return;
        }
        const status = this.status(event);
        if (status >= 200 && status < 300) {
          this.received.push({ id: event.id, idempotencyKey: req.headers['idempotency-key'] as string | undefined, contentType: req.headers['content-type'], event });
        }
        res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  ids(): string[] {
    return this.received.map((r) => r.id);
  }
}

/** Where mosquitto is, or null (Debian: apt-get install mosquitto; it lives in /usr/sbin). */
export function mosquittoPath(): string | null {
  for (const p of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/**
 * A real mosquitto broker on 127.0.0.1:port, persistent (its sessions and queued QoS 1
 * messages survive a stop and start, as on a real line).
 */
export class Broker {
  private child: ChildProcess | null = null;
  readonly log: string[] = [];

  constructor(readonly bin: string, readonly dir: string, readonly port: number) {
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'mosquitto.conf'), [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${join(dir, 'data')}/`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'));
  }

  async start(): Promise<void> {
    const child = spawn(this.bin, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => this.log.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.log.push(d.toString()));
    this.child = child;
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${this.log.join('')}`);
      return portOpen(this.port);
    }, 'mosquitto to listen', 20_000, 50);
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => c.kill('SIGKILL'))]);
    await exited;
  }
}

async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
