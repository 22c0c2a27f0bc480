/**
 * API request bodies in browser mode, read and decoded without copies of the whole body: a
 * body announced with Content-Length goes into one buffer of that size (chunked bodies are
 * collected and joined once), and the base64 of `{"$bytes":"..."}` values (dropped images,
 * masks) is decoded straight from that buffer in slices, so the JSON parser only ever sees
 * the small rest. The result is what decodeWire gives for the same text; anything the fast
 * path does not recognise exactly (escapes in the base64, odd spacing) takes decodeWire's way.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { decodeWire, fromBase64 } from '../common/wire';

/** After an early answer (413), how long the rest of a body is read and dropped before the connection closes. */
const LINGER_MS = 3000;

/**
 * An early answer (413) may leave the client still sending its body; closing at once would
 * make the kernel reset the connection, and the client could lose the answer. So once the
 * answer is out, only our side is closed, and the rest of the body is read and dropped until
 * the client closes or LINGER_MS pass ("lingering close").
 */
export function lingerOnClose(socket: Socket): void {
  (socket as Socket & { destroySoon(): void }).destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
  };
}

/** The body passed the limit (announced or while arriving). */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    readonly declaredBytes?: number,
  ) {
    super('The request body is too large.');
    this.name = 'BodyTooLargeError';
  }
}

/** Content-Length as a number; undefined when absent (chunked), NaN when malformed. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined) return undefined;
  return /^\d{1,16}$/.test(h) ? Number(h) : NaN;
}

/**
 * Reads the whole body, refusing it (BodyTooLargeError) past `limitBytes`. On refusal the rest
 * of the body is discarded as it arrives, so the caller can still answer on this connection.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limitBytes) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limitBytes, declared));
  }
  return new Promise((ok, fail) => {
    // Node's parser never delivers more than Content-Length, so one buffer of that size holds it
    let whole: Buffer | null = declared !== undefined && Number.isFinite(declared) ? Buffer.allocUnsafe(declared) : null;
    let chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (c: Buffer) => {
      if (size + c.length > limitBytes || (whole && size + c.length > whole.length)) {
        stop();
        whole = null;
        chunks = [];
        req.resume(); // discard the rest while the answer goes out
        fail(new BodyTooLargeError(limitBytes, declared));
        return;
      }
      if (whole) c.copy(whole, size);
      else chunks.push(c);
      size += c.length;
    };
    const onEnd = () => {
      stop();
      const body = whole ? whole.subarray(0, size) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      whole = null;
      chunks = [];
      ok(body);
    };
    const onError = (e: Error) => {
      stop();
      fail(e);
    };
    const onAborted = () => onError(new Error('The client closed the connection before the request was complete.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

const MARK = Buffer.from('{"$bytes":"');
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;
const PAD = 0x3d;
/** Base64 characters handled at a time (a multiple of 4, so slices decode on their own; small, so the strings die young). */
const SLICE_CHARS = 64 * 1024;
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
/** Smaller binary values get their own memory instead of a view into the body. */
const VIEW_MIN_BYTES = 1024 * 1024;

/** A `{"$bytes":"..."}` value in the body: where it starts, its base64 (without padding), its end. */
interface BinaryValue {
  at: number;
  start: number;
  stop: number;
  next: number;
}

/** Whether body[start, stop) is plain base64 that decodeWire would accept (no escapes, a valid length). */
function isPlainBase64(body: Buffer, start: number, stop: number): boolean {
  if ((stop - start) % 4 === 1) return false;
  for (let i = start; i < stop; i += SLICE_CHARS) {
    if (!BASE64_ALPHABET.test(body.toString('latin1', i, Math.min(stop, i + SLICE_CHARS)))) return false;
  }
  return true;
}

/**
 * Decodes body[start, stop) in place: the bytes are written from just before `start` (aligned
 * to 8 for typed-array views), and each slice is read before anything is written over it (3
 * bytes out for every 4 characters in, so writing never overtakes reading).
 */
function decodeInPlace(body: Buffer, v: BinaryValue): Uint8Array {
  const length = Math.floor(((v.stop - v.start) * 3) / 4);
  const into = v.start - ((body.byteOffset + v.start) % 8);
  let written = 0;
  for (let i = v.start; i < v.stop; i += SLICE_CHARS) {
    written += body.write(body.toString('latin1', i, Math.min(v.stop, i + SLICE_CHARS)), into + written, 'base64');
  }
  if (written !== length) throw new Error('Invalid base64 length.');
  const bytes = new Uint8Array(body.buffer, body.byteOffset + into, length);
  return length < VIEW_MIN_BYTES ? bytes.slice() : bytes;
}

/**
 * The JSON body as decodeWire would give it (Uint8Array for `{"$bytes":...}`), undefined for
 * an empty body. Throws on malformed JSON or base64, as decodeWire does. Binary values of 1 MiB
 * and more are views into `body`, which is overwritten: it may not be used afterwards.
 */
export function decodeWireBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  if (body.indexOf(MARK) === -1) return decodeWire(body.toString('utf8'));
  // The raw bytes `{"$bytes":"` cannot occur inside a JSON string (a quote there is escaped),
  // so each one starts a binary value. Each is replaced by a placeholder object whose key no
  // client can guess, and the decoded bytes are put back by the reviver. Everything is checked
  // before the body is written over, so the plain way stays open until then.
  const values: BinaryValue[] = [];
  for (let at = body.indexOf(MARK); at !== -1; at = body.indexOf(MARK, values.at(-1)!.next)) {
    const start = at + MARK.length;
    const end = body.indexOf(QUOTE, start);
    if (end === -1 || body[end + 1] !== CLOSE_BRACE) return decodeWire(body.toString('utf8'));
    let stop = end;
    while (stop > start && body[stop - 1] === PAD) stop--;
    if (!isPlainBase64(body, start, stop)) return decodeWire(body.toString('utf8'));
    values.push({ at, start, stop, next: end + 2 });
  }
  const key = `$bgad-blob-${randomBytes(12).toString('hex')}`;
  const parts: string[] = [];
  let from = 0;
  values.forEach((v, i) => {
    parts.push(body.toString('utf8', from, v.at), `{"${key}":${i}}`);
    from = v.next;
  });
  parts.push(body.toString('utf8', from));
  const text = parts.join('');
  const blobs = values.map((v) => decodeInPlace(body, v));
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1) {
        const value = (v as Record<string, unknown>)[keys[0]!];
        if (keys[0] === key && typeof value === 'number') return blobs[value];
        if (keys[0] === '$bytes' && typeof value === 'string') return fromBase64(value);
      }
    }
    return v;
  });
}
