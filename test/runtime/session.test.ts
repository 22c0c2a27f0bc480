import { describe, expect, it } from 'vitest';
import { Graph } from '../../src-main/autodiff/graph';
import { emitOnnx } from '../../src-main/autodiff/emit';
import { availableProviders, createSession } from '../../src-main/runtime/session';

function tinyModel(): Uint8Array {
  const g = new Graph('float32');
  const x = g.input('x', ['N', 2]);
  g.output('y', g.mul(x, 2));
  return emitOnnx(g);
}

describe('session creation with an execution-provider preference', () => {
  it('uses the CPU by default', async () => {
    const s = await createSession(tinyModel());
    expect(s.executionProvider).toBe('cpu');
    expect(s.notice).toBeUndefined();
    await s.session.release();
  });
  it('falls back to the CPU with a visible notice when the requested provider is missing', async () => {
    const missing = (['cuda', 'dml'] as const).find((ep) => !availableProviders().includes(ep));
    if (!missing) return; // every provider present (a GPU build): nothing to fall back from
    const notices: string[] = [];
    const s = await createSession(tinyModel(), { executionProvider: missing, onNotice: (m) => notices.push(m) });
    expect(s.executionProvider).toBe('cpu');
    expect(s.notice).toMatch(new RegExp(`${missing} execution provider is not available`));
    expect(notices.length).toBeLessThanOrEqual(1);
    await s.session.release();
  });
});
