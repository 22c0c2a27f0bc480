import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, type CliIO } from '../../src-main/cli/command';
import { loadCommands } from '../../src-main/cli/commands/index';
import synth from '../../src-main/cli/commands/synth';

function captureIO() {
  const lines: string[] = [];
  const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: () => {} };
  return { io, lines };
}

describe('bgad synth', () => {
  it('is registered with the other commands', async () => {
    expect((await loadCommands()).map((c) => c.name)).toContain('synth');
  });

  it('writes the chosen category and reports the counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bgad-synth-cli-'));
    try {
      const { io, lines } = captureIO();
      const code = await synth.run({ values: { out: dir, seed: '5', size: '48', category: ['grain'] }, positionals: [] }, io);
      expect(code).toBe(0);
      expect(await readdir(dir)).toEqual(['grain']);
      expect((await readdir(join(dir, 'grain', 'train', 'good'))).length).toBe(40);
      expect(lines.join('\n')).toMatch(/grain \(grey, 48x48, scratch\/spot\/crack\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a missing --out, a bad size and an unknown category as usage errors', async () => {
    const { io } = captureIO();
    await expect(synth.run({ values: {}, positionals: [] }, io)).rejects.toBeInstanceOf(UsageError);
    await expect(synth.run({ values: { out: '/tmp/x', size: '12' }, positionals: [] }, io)).rejects.toBeInstanceOf(UsageError);
    await expect(synth.run({ values: { out: '/tmp/x', category: ['nope'] }, positionals: [] }, io)).rejects.toBeInstanceOf(UsageError);
  });
});
