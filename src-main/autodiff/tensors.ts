/**
 * Named Float32Array tensors with a JSON manifest, serialised to one byte buffer:
 *   magic "BGTS" | u32 version | u32 manifestLength | manifest JSON | padding to 8 | data
 * Pure (no node imports).
 */
export interface NamedTensor { name: string; shape: number[]; data: Float32Array }
interface ManifestEntry { name: string; shape: number[]; offset: number; length: number }

const MAGIC = 0x53544742; // 'BGTS' little-endian
const VERSION = 1;

export function packTensors(tensors: NamedTensor[], meta: Record<string, unknown> = {}): Uint8Array {
  const entries: ManifestEntry[] = [];
  let off = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: ${t.data.length} values for shape [${t.shape.join(',')}]`);
    entries.push({ name: t.name, shape: t.shape, offset: off, length: n });
    off += n * 4;
  }
  const manifest = new TextEncoder().encode(JSON.stringify({ meta, tensors: entries }));
  const head = 12 + manifest.length;
  const dataStart = Math.ceil(head / 8) * 8;
  const out = new Uint8Array(dataStart + off);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, manifest.length, true);
  out.set(manifest, 12);
  tensors.forEach((t, i) => out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataStart + entries[i]!.offset));
  return out;
}

export function unpackTensors(bytes: Uint8Array): { tensors: NamedTensor[]; meta: Record<string, unknown> } {
  if (bytes.byteLength < 12) throw new Error('tensor pack is truncated (shorter than its header)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new Error('not a tensor pack (bad magic number)');
  const version = dv.getUint32(4, true);
  if (version !== VERSION) throw new Error(`tensor pack version ${version} is not supported`);
  const mlen = dv.getUint32(8, true);
  if (12 + mlen > bytes.byteLength) throw new Error('tensor pack is truncated (manifest)');
  let manifest: { meta: Record<string, unknown>; tensors: ManifestEntry[] };
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + mlen)));
  } catch {
    throw new Error('tensor pack manifest is corrupt');
  }
  const dataStart = Math.ceil((12 + mlen) / 8) * 8;
  const tensors = manifest.tensors.map((e) => {
    const end = dataStart + e.offset + e.length * 4;
    if (end > bytes.byteLength) throw new Error(`tensor pack is truncated (tensor ${e.name})`);
    const copy = bytes.slice(dataStart + e.offset, end);
    return { name: e.name, shape: e.shape, data: new Float32Array(copy.buffer, copy.byteOffset, e.length) };
  });
  return { tensors, meta: manifest.meta };
}
