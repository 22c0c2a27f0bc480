import { describe, expect, it } from 'vitest';
import { ipcChannel, methods, type ApiHandlers } from '../../src-main/common/api';
import { createIpcHandler, makeSenderCheck, setupIpc, type SenderLike } from '../../src-main/app/ipc';

const mainFrame = { url: 'bgad://app/index.html' };
const ours: SenderLike = { sender: { id: 7, mainFrame }, senderFrame: mainFrame };
const check = makeSenderCheck(() => [7]);

function handlers() {
  const calls: unknown[] = [];
  const h = {
    'datasets.create': async (a: unknown) => {
      calls.push(a);
      return { id: 1, name: (a as { name: string }).name };
    },
  } as unknown as ApiHandlers;
  return { h, calls };
}

describe('IPC handlers', () => {
  it('answer our window with the service result', async () => {
    const { h, calls } = handlers();
    const handle = createIpcHandler('datasets.create', h, check, () => {});
    expect(await handle(ours, { name: 'Tiles' })).toEqual({ ok: true, value: { id: 1, name: 'Tiles' } });
    expect(calls).toEqual([{ name: 'Tiles' }]);
  });

  it('reject a foreign sender before validating or calling the service', async () => {
    const { h, calls } = handlers();
    const logs: string[] = [];
    const handle = createIpcHandler('datasets.create', h, check, (m) => logs.push(m));
    const remoteFrame = { url: 'https://evil.example/' };
    const cases: SenderLike[] = [
      { sender: { id: 7, mainFrame: remoteFrame }, senderFrame: remoteFrame },
      { sender: { id: 8, mainFrame }, senderFrame: mainFrame },
      { sender: { id: 7, mainFrame }, senderFrame: { url: 'bgad://app/index.html' } },
      { sender: { id: 7, mainFrame: { url: 'file:///x' } }, senderFrame: { url: 'file:///x' } },
      { sender: { id: 7, mainFrame }, senderFrame: null },
      { sender: { id: 7, mainFrame: { url: 'bgad://evil/' } }, senderFrame: { url: 'bgad://evil/' } },
    ];
    for (const event of cases) {
      expect(await handle(event, { name: 'Tiles' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    expect(calls).toHaveLength(0);
    expect(logs).toHaveLength(cases.length);
  });

  it('reject malformed arguments with a BAD_ARGUMENT naming the field', async () => {
    const { h, calls } = handlers();
    const handle = createIpcHandler('datasets.create', h, check, () => {});
    expect(await handle(ours, { name: 42 })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', message: expect.stringContaining('args.name') } });
    expect(await handle(ours, { name: 'x', extra: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await handle(ours, 'Tiles')).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await handle(ours, { name: 'a' }, { name: 'b' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(calls).toHaveLength(0);
  });

  it('registers one handler per contract method and removes them all', () => {
    const registered = new Map<string, unknown>();
    const dispose = setupIpc({ handle: (c: string, f: unknown) => void registered.set(c, f), removeHandler: (c: string) => void registered.delete(c) } as never, handlers().h, check, () => {});
    expect([...registered.keys()].sort()).toEqual(methods.map((m) => ipcChannel(m.id)).sort());
    dispose();
    expect(registered.size).toBe(0);
  });
});
