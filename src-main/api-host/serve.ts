/**
 * `bgad serve`: the whole app in a browser, on 127.0.0.1 only. Shared by the CLI command
 * and dist/server/main.js. Returns when the server stops (SIGINT/SIGTERM or `stop()`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resolveDataDir } from '../db/paths';
import { createApiHandlers, unavailableMethods } from './api-handlers';
import { startApiServer, type RunningServer } from './http-server';
import { JobHub } from './jobs';
import type { ServicesPort } from './services-port';
import { EngineHost } from '../runtime/engine-host';
import { lazyEngine, openServices } from './services-wiring';
import { SettingsStore } from './settings-store';

export interface ServeOptions {
  port?: number;
  dataDir?: string;
  /** Open the address in the default browser. */
  open?: boolean;
  /** The project root (has package.json and dist/renderer). */
  appRoot: string;
  /** Services to use instead of the real ones (tests). */
  services?: ServicesPort;
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

export function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : process.platform === 'darwin' ? ['open', [url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => console.error(`bgad: could not open a browser; open ${url} yourself.`));
  child.unref();
}

export async function startServe(opts: ServeOptions): Promise<{ server: RunningServer; jobs: JobHub; services: ServicesPort; stop(): Promise<void> }> {
  const dataDir = opts.services?.dataDir ?? resolveDataDir({ dataDir: opts.dataDir });
  const settings = new SettingsStore(join(dataDir, 'settings.json'), { dataDir, executionProvider: 'cpu', threads: 0 });
  const services = opts.services ?? (await openServices({ dataDir, engine: lazyEngine(() => new EngineHost()), runtime: () => settings.get() }));
  const jobs = new JobHub();
  const handlers = createApiHandlers({ services, jobs, settings, mode: 'browser', version: appVersion(opts.appRoot), canChangeDataDir: false });
  const server = await startApiServer({
    handlers,
    subscribe: (l) => jobs.subscribe(l),
    fileRoots: async () => [dataDir, ...((await services.fileRoots?.()) ?? [])],
    rendererDir: join(opts.appRoot, 'dist', 'renderer'),
    thumbCacheDir: join(dataDir, 'thumbnails'),
    port: opts.port,
    token: opts.token,
  });
  const missing = unavailableMethods(services);
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  out(`BGAD Inspector is running at ${server.url}`);
  out(`  data folder: ${dataDir}`);
  if (missing.length) out(`  not available in this build: ${missing.join(', ')}`);
  out('  Only this computer can connect (127.0.0.1); the token in the address is the key. Press Ctrl+C to stop.');
  if (opts.open) openInBrowser(server.url);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    jobs.cancelAll();
    await server.close();
    await services.close?.();
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
