import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError } from '../common/errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** One `bgad` subcommand. Commands live in src-main/cli/commands/, one file each. */
export interface Command {
  name: string;
  summary: string;
  /** Usage lines shown by `bgad <name> --help`. */
  usage: string;
  options: OptionSpec;
  /** Allows positional arguments (e.g. `bgad import SRC`). */
  positionals?: boolean;
  /** Returns the process exit code. */
  run(args: { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] }, io: CliIO): Promise<number>;
}

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** A progress line that overwrites itself on a terminal. */
  progress(line: string): void;
  /** True when progress goes to a terminal (the line overwrites itself); false for a file or CI log. */
  interactive?: boolean;
}

export class UsageError extends AppError {
  constructor(message: string) {
    super('BAD_ARGUMENT', message);
  }
}

export function parseCommandArgs(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, ...cmd.options }, allowPositionals: cmd.positionals ?? false, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '.')}`);
  }
}

export function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

export function optNum(v: unknown, name: string, { min = -Infinity, max = Infinity, integer = false } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got "${String(v)}"`);
  }
  return n;
}
