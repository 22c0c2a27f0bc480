/**
 * Small runtime validators for the API contract (pure; no dependency). A validator parses an
 * unknown value into a typed one or throws AppError('BAD_ARGUMENT') naming the field, so a
 * renderer bug or a hostile caller is refused at the boundary with a readable message.
 */
import { AppError } from './errors';

export interface Validator<T> {
  /** A short description of the accepted values ("integer >= 1"), used in messages. */
  readonly expected: string;
  /** `path` names the value in messages ("args.datasetId"). */
  parse(value: unknown, path?: string): T;
}

export type Infer<V> = V extends Validator<infer T> ? T : never;

function fail(path: string, expected: string, value: unknown): never {
  throw new AppError('BAD_ARGUMENT', `${path} must be ${expected}, got ${describe(value)}.`, { subject: path });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

function make<T>(expected: string, parse: (value: unknown, path: string) => T): Validator<T> {
  return { expected, parse: (value, path = 'value') => parse(value, path) };
}

export function string(opts: { min?: number; max?: number; pattern?: RegExp; patternText?: string } = {}): Validator<string> {
  const { min = 0, max = 4096, pattern, patternText } = opts;
  const expected = patternText ?? (min > 0 ? `a text of ${min} to ${max} characters` : `a text of at most ${max} characters`);
  return make(expected, (v, path) => {
    if (typeof v !== 'string' || v.length < min || v.length > max || (pattern && !pattern.test(v))) fail(path, expected, v);
    return v;
  });
}

/** A non-empty string without control characters, for names shown in the UI. */
export function name(max = 120): Validator<string> {
  return make(`a name of 1 to ${max} characters without control characters`, (v, path) => {
    // eslint-disable-next-line no-control-regex
    if (typeof v !== 'string' || v.trim().length === 0 || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
      fail(path, `a name of 1 to ${max} characters without control characters`, v);
    }
    return v.trim();
  });
}

/** A file-system path as typed by the user or returned by a dialog; checked again by the services. */
export function path(): Validator<string> {
  const expected = 'a file or folder path';
  return make(expected, (v, p) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || v.includes('\u0000')) fail(p, expected, v);
    return v;
  });
}

export function number(opts: { min?: number; max?: number; integer?: boolean } = {}): Validator<number> {
  const { min = -Infinity, max = Infinity, integer = false } = opts;
  const range = `${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? `${min > -Infinity ? ' and' : ''} <= ${max}` : ''}`;
  const expected = `${integer ? 'an integer' : 'a finite number'}${range}`;
  return make(expected, (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) fail(path, expected, v);
    return v;
  });
}

export function int(opts: { min?: number; max?: number } = {}): Validator<number> {
  return number({ min: opts.min ?? Number.MIN_SAFE_INTEGER, max: opts.max ?? Number.MAX_SAFE_INTEGER, integer: true });
}

/** A database id: a positive integer. */
export function id(): Validator<number> {
  return int({ min: 1 });
}

export function boolean(): Validator<boolean> {
  return make('true or false', (v, path) => {
    if (typeof v !== 'boolean') fail(path, 'true or false', v);
    return v;
  });
}

export function oneOf<const T extends readonly (string | number)[]>(values: T): Validator<T[number]> {
  const expected = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
  return make(expected, (v, path) => {
    if (!values.includes(v as T[number])) fail(path, expected, v);
    return v as T[number];
  });
}

export function bytes(opts: { max?: number } = {}): Validator<Uint8Array> {
  const max = opts.max ?? 512 * 1024 * 1024;
  const expected = `binary data of at most ${max} bytes`;
  return make(expected, (v, path) => {
    if (!(v instanceof Uint8Array) || v.byteLength > max) fail(path, expected, v);
    return v;
  });
}

export function array<T>(item: Validator<T>, opts: { min?: number; max?: number } = {}): Validator<T[]> {
  const { min = 0, max = 100_000 } = opts;
  const expected = `a list of ${min} to ${max} items, each ${item.expected}`;
  return make(expected, (v, path) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) fail(path, expected, v);
    return v.map((x, i) => item.parse(x, `${path}[${i}]`));
  });
}

export function optional<T>(inner: Validator<T>): Validator<T | undefined> & { readonly isOptional: true } {
  return {
    expected: `${inner.expected} (optional)`,
    isOptional: true,
    parse: (v, path = 'value') => (v === undefined ? undefined : inner.parse(v, path)),
  };
}

export function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return make(`${inner.expected} or null`, (v, path) => (v === null ? null : inner.parse(v, path)));
}

type Shape = Record<string, Validator<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { isOptional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A plain object with exactly these keys (unknown keys are refused, so typos surface). */
export function object<S extends Shape>(shape: S): Validator<ObjectOf<S>> & { readonly shape: S } {
  const keys = Object.keys(shape);
  const expected = keys.length ? `an object with ${keys.join(', ')}` : 'an empty object';
  return {
    expected,
    shape,
    parse(v, path = 'value') {
      if (v === undefined && keys.every((k) => (shape[k] as { isOptional?: boolean }).isOptional)) v = {};
      if (!isPlainObject(v)) fail(path, expected, v);
      for (const k of Object.keys(v)) {
        if (!Object.prototype.hasOwnProperty.call(shape, k)) {
          throw new AppError('BAD_ARGUMENT', `${path} has an unknown field "${k}"; expected ${expected}.`, { subject: `${path}.${k}` });
        }
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const parsed = shape[k]!.parse(v[k], `${path}.${k}`);
        if (parsed !== undefined) out[k] = parsed;
      }
      return out as ObjectOf<S>;
    },
  };
}

/** The first alternative that accepts the value wins; the message lists them all. */
export function union<const V extends readonly Validator<unknown>[]>(...alternatives: V): Validator<Infer<V[number]>> {
  const expected = alternatives.map((a) => a.expected).join(' or ');
  return make(expected, (v, path) => {
    for (const a of alternatives) {
      try {
        return a.parse(v, path) as Infer<V[number]>;
      } catch {
        // try the next alternative; the combined message below names them all
      }
    }
    fail(path, expected, v);
  });
}

/** A colour as #rrggbb. */
export function colour(): Validator<string> {
  return string({ pattern: /^#[0-9a-fA-F]{6}$/, patternText: 'a colour like "#e04040"', max: 7 });
}
