/**
 * Runs a TypeScript child script (test/db/children/*.ts) in a real Node process:
 * bundled on the fly with esbuild (packages stay external, resolved from node_modules).
 */
import { bundleForTest } from '../helpers/bundle-for-test';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers';

const built = new Map<string, string>();

export async function bundleChild(name: string): Promise<string> {
  const hit = built.get(name);
  if (hit) return hit;
  const outfile = await bundleForTest(REPO_ROOT, join(REPO_ROOT, 'test', 'db', 'children', `${name}.ts`), 'bgad-db-tests', name);
  built.set(name, outfile);
  return outfile;
}

export interface RunningChild {
  proc: ChildProcess;
  /** Resolves with the first stdout line matching `re` (rejects if the child exits first). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the child has exited, with its exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  lines(): string[];
}

export async function startChild(name: string, args: string[]): Promise<RunningChild> {
  const file = await bundleChild(name);
  const proc = spawn(process.execPath, [file, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    exited,
    stderr: () => err,
    lines: () => lines,
    waitForLine(re, timeoutMs = 20_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`child ${name}: no line matching ${re} within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
        void exited.then((x) => { clearTimeout(t); reject(new Error(`child ${name} exited (${x.code ?? x.signal}) before printing ${re}; stderr: ${err}`)); });
      });
    },
  };
}

/** SIGKILL and wait for the process to be gone (its pid is then dead). */
export async function kill9(child: RunningChild): Promise<void> {
  child.proc.kill('SIGKILL');
  const r = await child.exited;
  if (r.signal !== 'SIGKILL') throw new Error(`child was not killed by SIGKILL (code ${r.code}, signal ${r.signal}); stderr: ${child.stderr()}`);
}
