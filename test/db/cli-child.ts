/**
 * Runs the real `bgad` command line (src-main/cli/bgad.ts, bundled on the fly like the
 * child scripts, so it is always the current source) in a child process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bundleForTest } from '../helpers/bundle-for-test';
import { REPO_ROOT } from './helpers';

let bundled: Promise<string> | undefined;

export function bundleCli(): Promise<string> {
  bundled ??= bundleForTest(REPO_ROOT, join(REPO_ROOT, 'src-main', 'cli', 'bgad.ts'), 'bgad-db-tests', 'bgad-cli');
  return bundled;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const file = await bundleCli();
  const env = { ...process.env, ...opts.env };
  delete env.BGAD_DATA_DIR;
  const proc = spawn(process.execPath, [file, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
