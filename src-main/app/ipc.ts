/**
 * IPC checkpoint of the desktop app: one `ipcMain.handle` per contract method. Each call is
 * checked in this order: the sender is our window's top frame showing our app origin, the
 * arguments pass the contract validator, then the service runs. Answers are ApiResponses,
 * so errors reach the renderer as { code, message, hint } (Electron would drop them).
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { APP_ORIGIN, ipcChannel, methods, type ApiHandlers, type ApiResponse, type MethodId } from '../common/api';
import { dispatch, type Logger } from '../api-host/dispatch';

/** The parts of an IPC event the sender check reads (tests pass plain objects). */
export interface SenderLike {
  sender: { id: number; mainFrame?: unknown };
  senderFrame: { url: string } | null;
}

export type SenderCheck = (event: SenderLike) => boolean;

/** True for URLs of the app itself (bgad://app/...), false for anything else. */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/** Trusts only the top frame of one of our windows, showing our own origin. */
export function makeSenderCheck(trustedWebContentsIds: () => Iterable<number>): SenderCheck {
  return (event) => {
    const frame = event.senderFrame;
    if (!frame || !isAppUrl(frame.url)) return false;
    if (event.sender.mainFrame !== undefined && event.sender.mainFrame !== frame) return false;
    for (const id of trustedWebContentsIds()) if (id === event.sender.id) return true;
    return false;
  };
}

export function createIpcHandler(method: MethodId, handlers: ApiHandlers, isTrusted: SenderCheck, log: Logger) {
  return async (event: SenderLike, ...args: unknown[]): Promise<ApiResponse<unknown>> => {
    if (!isTrusted(event)) {
      log(`bgad: refused ${method} from an untrusted sender (${event.senderFrame?.url ?? 'no frame'})`);
      return { ok: false, error: { code: 'FORBIDDEN', message: 'This request did not come from the BGAD Inspector window.' } };
    }
    if (args.length > 1) return { ok: false, error: { code: 'BAD_ARGUMENT', message: `${method} takes one argument object.` } };
    return dispatch(handlers, method, args[0], log);
  };
}

/** Registers every contract method; returns a function that removes them again. */
export function setupIpc(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, handlers: ApiHandlers, isTrusted: SenderCheck, log: Logger = (m) => console.error(m)): () => void {
  for (const m of methods) {
    const handler = createIpcHandler(m.id, handlers, isTrusted, log);
    ipcMain.handle(ipcChannel(m.id), (event: IpcMainInvokeEvent, ...args: unknown[]) => handler(event as unknown as SenderLike, ...args));
  }
  return () => {
    for (const m of methods) ipcMain.removeHandler(ipcChannel(m.id));
  };
}
