import { describe, expect, it } from 'vitest';
import { IPC_EVENT_CHANNEL, contract, ipcChannel, methods, type ApiEvent } from '../../src-main/common/api';
import { installPreload, type IpcRendererLike } from '../../src-main/preload/bridge';

function fakes() {
  const exposed = new Map<string, unknown>();
  const invoked: { channel: string; args: unknown[] }[] = [];
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const ipc: IpcRendererLike = {
    invoke: async (channel, ...args) => {
      invoked.push({ channel, args });
      return { ok: true, value: channel };
    },
    on: (channel, l) => listeners.set(channel, (listeners.get(channel) ?? new Set()).add(l)),
    removeListener: (channel, l) => listeners.get(channel)?.delete(l),
  };
  installPreload({ exposeInMainWorld: (key, api) => exposed.set(key, api) }, ipc);
  return { exposed, invoked, listeners };
}

describe('preload bridge', () => {
  it('exposes exactly the contract methods plus onEvent, under window.api only', () => {
    const { exposed } = fakes();
    expect([...exposed.keys()]).toEqual(['api']);
    const api = exposed.get('api') as Record<string, Record<string, unknown>>;
    expect(Object.keys(api).sort()).toEqual([...Object.keys(contract), 'onEvent'].sort());
    const names = Object.entries(api)
      .filter(([k]) => k !== 'onEvent')
      .flatMap(([g, fns]) => Object.keys(fns).map((n) => `${g}.${n}`));
    expect(names.sort()).toEqual(methods.map((m) => m.id).sort());
    for (const [g, fns] of Object.entries(api)) {
      if (g === 'onEvent') expect(typeof fns).toBe('function');
      else for (const fn of Object.values(fns)) expect(typeof fn).toBe('function');
    }
  });

  it('calls each method on its own channel with one argument object', async () => {
    const { exposed, invoked } = fakes();
    const api = exposed.get('api') as Record<string, Record<string, (a?: unknown) => Promise<unknown>>>;
    for (const m of methods) await api[m.group]![m.name]!({ x: 1 });
    expect(invoked.map((i) => i.channel)).toEqual(methods.map((m) => ipcChannel(m.id)));
    expect(invoked.every((i) => i.args.length === 1)).toBe(true);
    await api.datasets!.list!();
    expect(invoked.at(-1)).toEqual({ channel: ipcChannel('datasets.list'), args: [{}] });
  });

  it('delivers events without the IPC event object and unsubscribes', () => {
    const { exposed, listeners } = fakes();
    const api = exposed.get('api') as { onEvent(l: (e: ApiEvent) => void): () => void };
    const got: unknown[][] = [];
    const off = api.onEvent((...args) => got.push(args));
    const event: ApiEvent = { type: 'progress', jobId: 'j', kind: 'import', progress: { fraction: 0.5 } };
    for (const l of listeners.get(IPC_EVENT_CHANNEL)!) l({ sender: 'ipc internals' }, event);
    expect(got).toEqual([[event]]);
    off();
    expect(listeners.get(IPC_EVENT_CHANNEL)!.size).toBe(0);
  });
});
