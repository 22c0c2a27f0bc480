/**
 * The browser-mode server the transport tests talk to: a temp folder with a data folder (and
 * whatever `prepare` puts there), `bgad serve` on the fake services (fake-services.ts), and a
 * POST helper that sends one API call and reads the answer.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWire, encodeWire } from '../../src-main/common/wire';
import { startServe } from '../../src-main/api-host/serve';
import { fakeServices } from './fake-services';

export interface TestServer {
  /** The temp folder: `data/` is the data folder, `app/` the app root. */
  dir: string;
  running: Awaited<ReturnType<typeof startServe>>;
  /** http://127.0.0.1:<port> */
  base: string;
  token: string;
  stop(): Promise<void>;
}

export type ApiAnswer = { ok: boolean; value?: unknown; error?: { code: string; message: string; hint?: string } };

/** Starts the server on a new temp folder; `prepare` runs first (files in `data/`, an `app/package.json`). */
export async function startTestServer(prefix: string, prepare?: (dir: string) => unknown): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'data', 'heatmaps'), { recursive: true });
  await prepare?.(dir);
  const running = await startServe({ appRoot: join(dir, 'app'), services: fakeServices(join(dir, 'data')), out: () => {} });
  return {
    dir,
    running,
    base: `http://127.0.0.1:${running.server.port}`,
    token: running.server.token,
    async stop() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POSTs one API call with `headers` (none added); the status, the decoded JSON answer (when JSON) and the response. */
export async function postApi(base: string, method: string, headers: Record<string, string>, args: unknown = {}): Promise<{ status: number; json?: ApiAnswer; res: Response }> {
  const res = await fetch(`${base}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: encodeWire(args) });
  const text = await res.text();
  return { status: res.status, json: res.headers.get('content-type')?.startsWith('application/json') ? (decodeWire(text) as ApiAnswer) : undefined, res };
}
