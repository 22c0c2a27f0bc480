/**
 * The checkpoint every transport (the desktop app's IPC, the browser mode's HTTP routes) goes
 * through: unknown method -> NOT_FOUND, arguments -> the contract's validator, then the
 * handler (src-main/services); errors leave as { code, message, hint }.
 */
import type { ApiHandlers, ApiResponse } from '../common/api';
import { isMethodId, parseArgs } from '../common/api';
import { isAppError, serializeError } from '../common/errors';

export type Logger = (message: string) => void;

/**
 * Never throws: the answer is an ApiResponse. Unexpected errors (bugs) are logged once here
 * with their stack.
 */
export async function dispatch(handlers: ApiHandlers, method: string, rawArgs: unknown, log: Logger = (m) => console.error(m)): Promise<ApiResponse<unknown>> {
  if (!isMethodId(method)) {
    return { ok: false, error: { code: 'NOT_FOUND', message: `There is no API method "${method}".` } };
  }
  try {
    const args = parseArgs(method, rawArgs);
    const handler = handlers[method] as (a: unknown) => Promise<unknown>;
    const value = await handler(args);
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    if (!isAppError(e)) log(`bgad: ${method} failed: ${(e as Error)?.stack ?? String(e)}`);
    return { ok: false, error: serializeError(e) };
  }
}
