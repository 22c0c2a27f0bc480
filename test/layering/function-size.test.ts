import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface FunctionSize { file: string; name: string; line: number; lines: number }
interface FunctionSizeModule {
  MAX_FUNCTION_LINES: number;
  checkFunctionSize(root: string): { files: number; functions: FunctionSize[]; over: FunctionSize[]; limit: number };
  measureFunctions(text: string, opts?: { fileName?: string; lineOffset?: number }): { name: string; line: number; lines: number }[];
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = join(repoRoot, 'scripts', 'check-function-size.mjs');
let check: FunctionSizeModule;
let fake: string;

/** A function of exactly `lines` lines (header and closing brace included). */
function functionOf(header: string, lines: number): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `  total += ${i};`);
  return [header, ...body, '}'].join('\n');
}

const FAKE_TREE: Record<string, string> = {
  // line 1 is a comment: the planted function starts on line 2
  'src-main/planted/big.ts': `// planted\n${functionOf('export function tooLong(total: number): void {', 121)}\n`,
  'src-main/planted/limit.ts': `${functionOf('export const atTheLimit = (total: number): void => {', 120)};\n`,
  'src-renderer/views/Big.svelte': `<script lang="ts">\n  let total = 0;\n${functionOf('  function onClick(): void {', 130)}\n</script>\n<button onclick={onClick}>x</button>\n`,
};

beforeAll(async () => {
  check = (await import(pathToFileURL(script).href)) as FunctionSizeModule;
  fake = mkdtempSync(join(tmpdir(), 'bgad-function-size-'));
  for (const [rel, text] of Object.entries(FAKE_TREE)) {
    mkdirSync(dirname(join(fake, rel)), { recursive: true });
    writeFileSync(join(fake, rel), text);
  }
});

afterAll(() => {
  if (fake) rmSync(fake, { recursive: true, force: true });
});

describe('the function size check', () => {
  it('finds no function over 120 lines in the real tree', () => {
    expect(check.MAX_FUNCTION_LINES).toBe(120);
    const { files, functions, over } = check.checkFunctionSize(repoRoot);
    expect(files).toBeGreaterThan(50);
    expect(functions.length).toBeGreaterThan(500);
    expect(over.map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`)).toEqual([]);
  });

  it('measures declarations, arrows, methods and function expressions, naming each', () => {
    const text = [
      'function a() {', '  return 1;', '}',
      'const b = (x: number) => {', '  return x;', '};',
      'class C {', '  m(): void {', '    const inner = function () { return 2; };', '  }', '}',
      'const o = { p() {', '  return 3;', '} };',
      'declare function noBody(): void;',
    ].join('\n');
    expect(check.measureFunctions(text).map((f) => `${f.name}@${f.line}:${f.lines}`)).toEqual([
      'a@1:3', 'b@4:3', 'C.m@8:3', 'inner@9:1', 'o.p@12:3',
    ]);
  });

  it('exits 0 on the real tree when run as a script and prints the five longest', () => {
    const ok = spawnSync(process.execPath, [script], { cwd: repoRoot, encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/none over 120 lines/);
    expect(ok.stdout.trim().split('\n').slice(1)).toHaveLength(5);
  });

  it('exits 1 naming file:line, name and length of a planted 121-line function, and only the ones over', () => {
    const bad = spawnSync(process.execPath, [script, fake], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('src-main/planted/big.ts:2: tooLong (121 lines)');
    expect(bad.stderr).toContain('src-renderer/views/Big.svelte:3: onClick (130 lines)');
    expect(bad.stderr).not.toContain('atTheLimit');
    expect(bad.stderr).toMatch(/2 function\(s\) over 120 lines/);
  });
});
