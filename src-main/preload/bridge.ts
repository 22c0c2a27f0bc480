/**
 * Builds `window.api` from the contract: exactly one function per contract method (answering
 * an ApiResponse) plus `onEvent`. No Electron import here, so tests drive it with fakes;
 * preload.ts hands it the real contextBridge and ipcRenderer. Nothing else of Electron or
 * Node reaches the page: no ipcRenderer, no raw channels, no event objects.
 */
import { IPC_EVENT_CHANNEL, ipcChannel, methods, type ApiEvent, type ApiResponse, type PreloadApi } from '../common/api';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export interface ContextBridgeLike {
  exposeInMainWorld(key: string, api: unknown): void;
}

export const API_GLOBAL = 'api';

export function buildPreloadApi(ipc: IpcRendererLike): PreloadApi {
  const api: Record<string, Record<string, unknown>> = {};
  for (const m of methods) {
    const channel = ipcChannel(m.id);
    (api[m.group] ??= {})[m.name] = (args?: unknown): Promise<ApiResponse<unknown>> =>
      ipc.invoke(channel, args === undefined ? {} : args) as Promise<ApiResponse<unknown>>;
  }
  const onEvent = (listener: (event: ApiEvent) => void): (() => void) => {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
    const wrapped = (_event: unknown, payload: unknown) => listener(payload as ApiEvent);
    ipc.on(IPC_EVENT_CHANNEL, wrapped);
    return () => {
      ipc.removeListener(IPC_EVENT_CHANNEL, wrapped);
    };
  };
  return Object.assign(api, { onEvent }) as unknown as PreloadApi;
}

export function installPreload(bridge: ContextBridgeLike, ipc: IpcRendererLike): void {
  bridge.exposeInMainWorld(API_GLOBAL, buildPreloadApi(ipc));
}
