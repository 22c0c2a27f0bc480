/**
 * `bgad serve`: the whole app in a browser, on 127.0.0.1 only. Shared by the CLI command
 * and dist/server/main.js. Returns when the server stops (SIGINT/SIGTERM or `stop()`).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isAppError } from '../common/errors';
import { resolveDataDir } from '../db/paths';
import { EngineHost } from '../engine/engine-host';
import { JobHub, lazyEngine, openServices, SettingsStore, type HostedServices, type ServicesSource } from '../services';
import { startApiServer, type RunningServer } from './http-server';

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
  const dataDir = opts.services?.dataDir ?? resolveDataDir({ dataDir: opts.dataDir });
  const settings = new SettingsStore(join(dataDir, 'settings.json'), { dataDir, executionProvider: 'cpu', threads: 0 });
  const source = opts.services ?? openServices({ dataDir, engine: lazyEngine(() => EngineHost.workerThread()), runtime: () => settings.get() });
  const jobs = new JobHub();
  const services = source.host({ jobs, settings, mode: 'browser', version: appVersion(opts.appRoot), canChangeDataDir: false });
  let server: RunningServer;
  try {
    server = await startApiServer({
      handlers: services.handlers,
      subscribe: (l) => jobs.subscribe(l),
      fileRoots: async () => [dataDir, ...(await services.fileRoots())],
      isImportedImage: (path) => services.isImportedImage(path),
      rendererDir: join(opts.appRoot, 'dist', 'renderer'),
      thumbCacheDir: join(dataDir, 'thumbnails'),
      port: opts.port,
      token: opts.token,
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
