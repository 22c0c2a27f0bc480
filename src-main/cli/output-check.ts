/**
 * What `bgad inspect` and `bgad watch` share before a model is loaded: the output-folder check
 * (a usage error at once, exit 2) and the errors that count as setup problems (exit 2).
 */
import { isAppError } from '../common/errors';
import { checkOutputFolder } from '../inspection/output-folder';
import { describeForTerminal, forTerminal } from './terminal-text';

/** Error codes that mean the command could not start (bad model, backbone, folder): exit 2. */
export const SETUP_ERRORS: ReadonlySet<string> = new Set(['BAD_ARGUMENT', 'BAD_MODEL', 'BAD_BACKBONE', 'NOT_FOUND', 'UNAVAILABLE', 'CONFLICT']);

/**
 * Checks the output folder against the input; on a problem reports it through `fail` and
 * returns its exit status (`exit.usage` for a usage error), else null.
 */
export async function precheckOutputFolder(input: string, out: string, exit: { usage: number; aborted: number }, fail: (code: number, text: string) => number): Promise<number | null> {
  try {
    await checkOutputFolder(input, out);
    return null;
  } catch (e) {
    if (isAppError(e)) return fail(exit.usage, describeForTerminal(e));
    return fail(exit.aborted, `cannot check the output folder: ${forTerminal((e as Error)?.message ?? String(e))}`);
  }
}
