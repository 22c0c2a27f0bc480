/** Boundary checks for service inputs: callers (IPC, HTTP, CLI) pass unknown values. */
import { AppError } from '../common/errors';

export function bad(message: string, hint?: string): AppError {
  return new AppError('BAD_ARGUMENT', message, hint ? { hint } : {});
}

export function asId(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw bad(`${name} must be a positive integer id, got ${JSON.stringify(v)}.`);
  return v;
}

export function asOptionalId(v: unknown, name: string): number | undefined {
  return v === undefined ? undefined : asId(v, name);
}

export function asText(v: unknown, name: string, { maxLength = 500, allowEmpty = false } = {}): string {
  if (typeof v !== 'string') throw bad(`${name} must be text, got ${v === null ? 'null' : typeof v}.`);
  const t = v.trim();
  if (!allowEmpty && t.length === 0) throw bad(`${name} must not be empty.`);
  if (t.length > maxLength) throw bad(`${name} is too long (${t.length} characters; at most ${maxLength}).`);
  return t;
}

export function asOneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw bad(`${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}.`);
  }
  return v as T;
}

export function asInt(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}.`);
  return v;
}

export function asFinite(v: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(`${name} must be a finite number${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got ${JSON.stringify(v)}.`);
  return v;
}

/** JSON-serialisable plain data (objects, arrays, numbers, strings, booleans, null). */
export function asJson(v: unknown, name: string): string {
  if (v === undefined) return '{}';
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    throw bad(`${name} must be plain JSON data: ${(e as Error).message}`);
  }
  if (s === undefined) throw bad(`${name} must be plain JSON data.`);
  return s;
}

export function parseJson<T = unknown>(s: string | null): T {
  return (s === null ? null : JSON.parse(s)) as T;
}

export function notFound(what: string, id: number | string): AppError {
  return new AppError('NOT_FOUND', `${what} ${typeof id === 'number' ? '#' + id : `"${id}"`} does not exist.`, { hint: 'It may have been deleted; refresh the list.' });
}
