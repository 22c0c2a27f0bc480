/** The body decoder of browser mode gives exactly what decodeWire gives, without its copies. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeWireBody } from '../../src-main/api-host/request-body';
import { decodeWire, encodeWire } from '../../src-main/common/wire';

const both = (text: string) => {
  let plain: unknown;
  let plainError: string | undefined;
  try {
    plain = decodeWire(text);
  } catch (e) {
    plainError = (e as Error).message;
  }
  // an odd offset inside a larger allocation, as a pooled or sliced buffer would have
  const padded = Buffer.concat([Buffer.from('xyz'), Buffer.from(text, 'utf8')]).subarray(3);
  if (plainError !== undefined) {
    expect(() => decodeWireBody(padded), text.slice(0, 80)).toThrow();
    return undefined;
  }
  const fast = decodeWireBody(padded);
  expect(fast).toEqual(plain);
  return fast;
};

describe('decodeWireBody', () => {
  it('decodes plain JSON and empty bodies', () => {
    expect(decodeWireBody(Buffer.alloc(0))).toBeUndefined();
    both('{"a":1,"b":[true,null,"ü € 𝄞"]}');
  });

  it('restores binary values anywhere, of every length, as Uint8Array (not Buffer)', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100, 1024 * 1024 + 2]) {
      const data = randomBytes(n);
      const value = { image: { fileName: 'ä.png', bytes: new Uint8Array(data) }, list: [new Uint8Array(data.subarray(0, 7)), { x: 'y' }], tail: 'z' };
      const out = both(encodeWire(value)) as typeof value;
      expect(Object.getPrototypeOf(out.image.bytes)).toBe(Uint8Array.prototype);
      expect(Buffer.from(out.image.bytes).equals(data)).toBe(true);
      // big values are views aligned for typed arrays; small ones own their memory
      if (n >= 1024 * 1024) expect(out.image.bytes.byteOffset % 8).toBe(0);
      else expect(out.image.bytes.buffer.byteLength).toBe(n);
    }
  });

  it('decides like decodeWire on unpadded, over-padded, escaped, spaced and broken base64', () => {
    both('{"d":{"$bytes":"AQI"}}');
    both('{"d":{"$bytes":"AQI="}}');
    both('{"d":{"$bytes":"AQI==="}}');
    both('{"d":{"$bytes":"AQ\\/+"}}'); // a JSON escape inside: the plain way
    both('{"d":{ "$bytes" : "AQID" }}');
    both('{"d":{"$bytes":"AQID","more":1}}');
    both('{"d":{"$bytes":"A"}}'); // bad length: throws in both
    both('{"d":{"$bytes":"AQ#D"}}'); // bad character: throws in both
    both('{"d":{"$bytes":"AQID"}'); // malformed JSON: throws in both
    both('{"s":"{\\"$bytes\\":\\"AQID\\"}"}'); // the marker inside a string is text
    both(`{"s":"x","d":{"$bytes":"${Buffer.alloc(1024 * 1024, 5).toString('base64')}"},"t":{"$bytes":"AQ#D"}}`); // checked before anything is decoded
  });

  it('ignores a placeholder-looking key sent by a client', () => {
    const out = both('{"a":{"$bgad-blob-0":0},"d":{"$bytes":"AQID"}}') as { a: unknown };
    expect(out.a).toEqual({ '$bgad-blob-0': 0 });
  });
});
