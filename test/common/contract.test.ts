import { describe, expect, it } from 'vitest';
import { contract, methods, parseArgs } from '../../src-main/common/api';
import { decodeWire, encodeWire, fromBase64, toBase64 } from '../../src-main/common/wire';

describe('API contract', () => {
  it('names every method group.name with a validator and a summary', () => {
    expect(methods.length).toBeGreaterThan(30);
    for (const m of methods) {
      expect(m.id).toMatch(/^[a-z][A-Za-z]*\.[a-z][A-Za-z]*$/);
      expect(typeof m.def.args.parse).toBe('function');
      expect(m.def.summary.length).toBeGreaterThan(5);
    }
    expect(new Set(methods.map((m) => m.id)).size).toBe(methods.length);
    expect(Object.keys(contract)).toEqual(['app', 'jobs', 'datasets', 'images', 'defectTypes', 'masks', 'training', 'models', 'inspection', 'station', 'audit', 'review']);
  });

  it('accepts omitted optional fields and drops nothing required', () => {
    expect(parseArgs('images.list', { datasetId: 3 })).toEqual({ datasetId: 3 });
    expect(parseArgs('datasets.list', undefined)).toEqual({});
    expect(() => parseArgs('images.list', {})).toThrow(/args\.datasetId must be an integer >= 1/);
    expect(() => parseArgs('images.list', { datasetId: 1, limit: 5000 })).toThrow(/args\.limit/);
    expect(() => parseArgs('training.start', { datasetId: 1, preset: 'fast', backboneId: 'm', params: { epochs: 0 } })).toThrow(/args\.params\.epochs/);
    expect(() => parseArgs('datasets.create', { name: 'a\u0000b' })).toThrow(/control characters/);
    expect(() => parseArgs('masks.save', { imageId: 1, defectTypeId: 1, width: 1, height: 2, data: [1, 2] })).toThrow(/args\.data/);
    expect(() => parseArgs('datasets.create', Object.assign(Object.create({ polluted: 1 }), { name: 'x' }))).toThrow();
  });

  it('round-trips binary data through the JSON wire format', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 255, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect([...fromBase64(Buffer.from(bytes).toString('base64'))]).toEqual([...bytes]);
    }
    const v = decodeWire(encodeWire({ a: { png: new Uint8Array([1, 2, 3]) }, b: [1] })) as { a: { png: Uint8Array } };
    expect(v.a.png).toBeInstanceOf(Uint8Array);
    expect([...v.a.png]).toEqual([1, 2, 3]);
    expect(() => fromBase64('@@@@')).toThrow();
  });
});
