/** Everything bgad prints is free of terminal control characters, whatever the file names hold. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleLine } from '../../src-main/cli/terminal-text';
import { bundledCli, removeDir, tempDir } from '../inspection/fixture';

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe('console output', () => {
  it('escapes control characters but keeps lines, tabs and JSON values', () => {
    expect(consoleLine('a\u001b[2Jb\u009bc\td\ne')).toBe('a\\u001b[2Jb\\u009bc\td\ne');
    const json = JSON.stringify({ name: 'x\u001b]0;pwned\u0007.png' });
    expect(JSON.parse(consoleLine(json))).toEqual({ name: 'x\u001b]0;pwned\u0007.png' });
  });

  it.skipIf(process.platform === 'win32')('bgad import lists a rejected file whose name holds escape sequences without sending them to the terminal', async () => {
    const cli = await bundledCli();
    const dir = tempDir('bgad-console-');
    dirs.push(dir);
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'evil\u001b[2J\u001b]0;owned\u0007.png'), 'not an image');
    const r = spawnSync(process.execPath, [cli, 'import', src, '--data-dir', join(dir, 'data')], { encoding: 'utf8' });
    const text = r.stdout + r.stderr;
    expect(text).toContain('evil\\u001b[2J\\u001b]0;owned\\u0007.png');
    expect(CONTROL.test(text.replace(/\r/g, ''))).toBe(false);
  }, 120_000);
});
