/**
 * JSON with binary (pure): Uint8Array values travel as `{ "$bytes": "<base64>" }` so that
 * mask PNGs and dropped images cross the browser-mode HTTP API in one JSON body. Electron's
 * IPC uses structured clone and needs none of this.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  const chunk: string[] = [];
  for (let i = 0; i < n; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < n ? bytes[i + 1]! : 0;
    const c = i + 2 < n ? bytes[i + 2]! : 0;
    chunk.push(
      ALPHABET[a >> 2]! +
        ALPHABET[((a & 3) << 4) | (b >> 4)]! +
        (i + 1 < n ? ALPHABET[((b & 15) << 2) | (c >> 6)]! : '=') +
        (i + 2 < n ? ALPHABET[c & 63]! : '='),
    );
    if (chunk.length === 4096) {
      out += chunk.join('');
      chunk.length = 0;
    }
  }
  return out + chunk.join('');
}

export function fromBase64(text: string): Uint8Array {
  const s = text.replace(/=+$/, '');
  if (s.length % 4 === 1) throw new Error('Invalid base64 length.');
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const q = [0, 1, 2, 3].map((k) => (i + k < s.length ? LOOKUP[s.charCodeAt(i + k) & 127]! : 0));
    for (let k = 0; k < 4 && i + k < s.length; k++) {
      if (s.charCodeAt(i + k) > 127 || q[k]! < 0) throw new Error('Invalid base64 character.');
    }
    const v = (q[0]! << 18) | (q[1]! << 12) | (q[2]! << 6) | q[3]!;
    if (o < out.length) out[o++] = (v >> 16) & 255;
    if (o < out.length) out[o++] = (v >> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  return out;
}

/** JSON.stringify with Uint8Array support. */
export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { $bytes: toBase64(v) } : v));
}

/** JSON.parse restoring Uint8Arrays; throws on malformed JSON or base64. */
export function decodeWire(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === '$bytes' && typeof (v as { $bytes: unknown }).$bytes === 'string') {
        return fromBase64((v as { $bytes: string }).$bytes);
      }
    }
    return v;
  });
}
