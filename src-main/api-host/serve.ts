/**
 * `bgad serve`: the whole app in a browser, on 127.0.0.1 only. Shared by the CLI command
 * and dist/server/main.js. Returns when the server stops (SIGINT/SIGTERM or `stop()`).
 * With `api` (`--api`) or the `apiEnabled` setting it also answers the inference API for line
 * controllers (v1-api.ts), with the data folder's key (db/api-key.ts, created here when
 * missing); `host` makes /v1 (only) reachable on a network interface too.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppError, isAppError } from '../common/errors';
import { apiKeyPath, ensureApiKey } from '../db/api-key';
import { resolveDataDir } from '../db/paths';
import { EngineHost } from '../engine/engine-host';
import { JobHub, lazyEngine, openServices, SettingsStore, type HostedServices, type ServicesSource } from '../services';
import { startApiServer, type RunningServer } from './http-server';
import { API_MAX_MB_LIMIT, createV1Api, DEFAULT_API_MAX_MB } from './v1-api';

export interface ServeOptions {
  port?: number;
  dataDir?: string;
  /** Open the address in the default browser. */
  open?: boolean;
  /** The project root (has package.json and dist/renderer). */
  appRoot: string;
  /** Services to use instead of the real ones over the data folder (tests). */
  services?: ServicesSource;
  token?: string;
  out?(line: string): void;
  /** Answer the inference API (/v1) from the start (`--api`); else only while the `apiEnabled` setting is on. */
  api?: boolean;
  /** Largest image accepted by /v1/inspect, in MiB (default 64). */
  apiMaxMb?: number;
  /** Images inspected at once by /v1/inspect (default 2), and how many more may wait (default 8). */
  apiConcurrency?: number;
  apiQueue?: number;
  /** A network interface where /v1 is reachable as well (`--host`); needs `api`. */
  host?: string;
}

/** Walks up from `start` to the folder holding this app's package.json. */
export function findAppRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'bgad-inspector') return dir;
      } catch {
        // an unreadable package.json is not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

export function appVersion(appRoot: string): string {
  try {
    return (JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** How long the page that leads the browser to the address stays on disk (it holds the token). */
const LAUNCH_PAGE_TTL_MS = 2 * 60_000;

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A page that sends the browser on to `url` at once (no script: a meta refresh, and a link). */
export function launchPage(url: string): string {
  const href = escapeHtml(url);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${href}"><title>BGAD Inspector</title></head>
<body><p>Opening <a href="${href}">BGAD Inspector</a>…</p></body></html>
`;
}

/**
 * Opens `url` (it holds the token) in the default browser without putting it on a command
 * line, where other users could read it (`ps`): the browser is given a page in a private
 * temporary folder (0700; the page 0600) that leads on to the address. Returns a function that
 * removes the page (it also goes by itself after two minutes).
 */
export function openInBrowser(url: string, log: (line: string) => void = (l) => console.error(l)): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'bgad-open-'));
  chmodSync(folder, 0o700);
  const page = join(folder, 'open-bgad-inspector.html');
  writeFileSync(page, launchPage(url), { mode: 0o600, flag: 'wx' });
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    clearTimeout(timer);
    rmSync(folder, { recursive: true, force: true });
  };
  const timer = setTimeout(remove, LAUNCH_PAGE_TTL_MS);
  timer.unref();
  const target = pathToFileURL(page).href;
  const [cmd, args] =
    process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', target]] : process.platform === 'darwin' ? ['open', [target]] : ['xdg-open', [target]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => log('bgad: could not open a browser; open the address above yourself.'));
  child.unref();
  return remove;
}

/**
 * A start-up failure the user can fix, as one line for the terminal (a port in use or not
 * allowed), or null for anything else.
 */
export function startErrorLine(e: unknown): string | null {
  if (isAppError(e) && e.subject === 'port') return `bgad serve: ${e.message}; ${e.hint ?? 'choose another port with --port N'}.`;
  return null;
}

export async function startServe(opts: ServeOptions): Promise<{ server: RunningServer; jobs: JobHub; services: HostedServices; stop(): Promise<void> }> {
  if (opts.host !== undefined && !opts.api) {
    throw new AppError('BAD_ARGUMENT', '--host makes the inference API reachable from the network, so it needs --api', { subject: 'port', hint: 'add --api (the app itself is served on 127.0.0.1 only)' });
  }
  const maxMb = opts.apiMaxMb ?? DEFAULT_API_MAX_MB;
  if (!(maxMb > 0 && maxMb <= API_MAX_MB_LIMIT)) throw new AppError('BAD_ARGUMENT', `--api-max-mb must be above 0 and at most ${API_MAX_MB_LIMIT}`, { subject: 'port', hint: `leave it out for ${DEFAULT_API_MAX_MB} MiB` });
  const dataDir = opts.services?.dataDir ?? resolveDataDir({ dataDir: opts.dataDir });
  const settings = new SettingsStore(join(dataDir, 'settings.json'), { dataDir, executionProvider: 'cpu', threads: 0 });
  const source = opts.services ?? openServices({ dataDir, engine: lazyEngine(() => EngineHost.workerThread()), runtime: () => settings.get() });
  const jobs = new JobHub();
  const version = appVersion(opts.appRoot);
  const services = source.host({ jobs, settings, mode: 'browser', version, canChangeDataDir: false });
  const apiEnabled = async () => opts.api === true || (await settings.get()).apiEnabled === true;
  let server: RunningServer;
  try {
    const apiOn = await apiEnabled();
    // the key exists before the first request (made once, kept across restarts)
    if (apiOn) ensureApiKey(dataDir);
    server = await startApiServer({
      handlers: services.handlers,
      subscribe: (l) => jobs.subscribe(l),
      fileRoots: async (fresh?: boolean) => [dataDir, ...(await services.fileRoots(fresh))],
      isImportedImage: (path) => services.isImportedImage(path),
      rendererDir: join(opts.appRoot, 'dist', 'renderer'),
      thumbCacheDir: join(dataDir, 'thumbnails'),
      port: opts.port,
      token: opts.token,
      host: opts.host,
      v1: createV1Api({
        handlers: services.handlers,
        dataDir,
        version,
        enabled: apiEnabled,
        maxBodyBytes: Math.round(maxMb * 1024 * 1024),
        concurrency: opts.apiConcurrency,
        queue: opts.apiQueue,
      }),
    });
  } catch (e) {
    if (!opts.services) await services.close();
    throw e;
  }
  const missing = services.unavailable;
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  out(`BGAD Inspector is running at ${server.url}`);
  out(`  data folder: ${dataDir}`);
  if (missing.length) out(`  not available in this build: ${missing.join(', ')}`);
  out('  Only this computer can connect (127.0.0.1); the token in the address is the key. Press Ctrl+C to stop.');
  if (await apiEnabled().catch(() => false)) {
    const base = `http://127.0.0.1:${server.port}`;
    out(`  Inference API: POST ${base}/v1/inspect, GET ${base}/v1/health (key in ${apiKeyPath(dataDir)}; print it with: bgad api-key${opts.dataDir ? ` --data-dir ${dataDir}` : ''})`);
  }
  if (server.networkUrl) {
    out(`  WARNING: the inference API is reachable from the network at ${server.networkUrl}/v1/ (plain HTTP); the API key is its only protection. The app itself stays on 127.0.0.1.`);
  }
  let closeLaunchPage: (() => void) | undefined;
  if (opts.open) {
    try {
      closeLaunchPage = openInBrowser(server.url);
    } catch (e) {
      console.error(`bgad: could not open a browser (${(e as Error).message}); open the address above yourself.`);
    }
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    closeLaunchPage?.();
    jobs.cancelAll();
    await server.close();
    await services.close();
  };
  return { server, jobs, services, stop };
}

/** Runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function runServe(opts: ServeOptions): Promise<number> {
  const { stop } = await startServe(opts);
  await new Promise<void>((ok) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      ok();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stop();
  return 0;
}
