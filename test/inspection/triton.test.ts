/**
 * `bgad export --format triton`: the model repository layout, a config.pbtxt whose tensors are
 * the ONNX graph's (read here independently, with onnxruntime-node's session metadata), a
 * model.onnx that batches and scores like `bgad export`'s single file, and the overwrite rules.
 * Uses the synthetic fixture model (test/inspection/fixture.ts): nothing outside the repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { exportModel } from '../../src-main/inspection/export';
import { exportTritonRepository, tritonModelName, tritonSignature, type TritonExport } from '../../src-main/inspection/triton';
import { decodeModel, type OnnxModel } from '../../src-main/autodiff/onnx-proto';
import { loadImageTensor } from '../../src-main/images/load';
import { getFixture, removeDir, tempDir, type Fixture } from './fixture';

// ---- a small protobuf text-format reader, enough for config.pbtxt ----------------------------
type PbValue = string | number | PbMessage | PbValue[];
interface PbMessage { [field: string]: PbValue[] }

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*")|([{}[\]:,])|([A-Za-z_][A-Za-z0-9_.]*|-?[0-9][0-9.eE+-]*)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length) {
    const at = re.lastIndex;
    m = re.exec(text);
    if (!m || re.lastIndex === at) throw new Error(`config.pbtxt: cannot read at ${JSON.stringify(text.slice(at, at + 20))}`);
    const tok = m[1] ?? m[2] ?? m[3];
    if (tok !== undefined) tokens.push(tok);
  }
  return tokens;
}

function unquote(s: string): string {
  const bytes: number[] = [];
  const body = s.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') { bytes.push(...Buffer.from(c, 'utf8')); continue; }
    const n = body[++i]!;
    if (/[0-7]/.test(n)) { bytes.push(parseInt(body.slice(i, i + 3), 8)); i += 2; }
    else bytes.push(({ n: 10, t: 9, r: 13 } as Record<string, number>)[n] ?? n.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}

function parsePbtxt(text: string): PbMessage {
  const t = tokenize(text);
  let i = 0;
  const scalar = (): PbValue => {
    const tok = t[i++]!;
    if (tok.startsWith('"')) return unquote(tok);
    return /^-?[0-9]/.test(tok) ? Number(tok) : tok; // enums stay words
  };
  const value = (): PbValue => {
    if (t[i] === '{') { i++; return message('}'); }
    if (t[i] === '[') {
      i++;
      const list: PbValue[] = [];
      while (t[i] !== ']') { list.push(value()); if (t[i] === ',') i++; }
      i++;
      return list;
    }
    return scalar();
  };
  const message = (end: string | undefined): PbMessage => {
    const msg: PbMessage = {};
    while (i < t.length && t[i] !== end) {
      const field = t[i++]!;
      if (t[i] === ':') i++;
      const v = value();
      const isMessage = (x: PbValue | undefined) => typeof x === 'object' && !Array.isArray(x);
      if (Array.isArray(v) && !isMessage(v[0])) msg[field] = v; // a list of scalars: dims: [ 3, 256, 256 ]
      else (msg[field] ??= []).push(...(Array.isArray(v) ? v : [v]));
    }
    if (end) i++;
    return msg;
  };
  return message(undefined);
}

const one = (m: PbMessage, f: string) => m[f]?.[0];
const msgs = (m: PbMessage, f: string) => (m[f] ?? []) as PbMessage[];
const ONNX_TO_TRITON: Record<string, string> = { float32: 'TYPE_FP32', float16: 'TYPE_FP16', int64: 'TYPE_INT64', int32: 'TYPE_INT32', uint8: 'TYPE_UINT8', bool: 'TYPE_BOOL' };

// ---------------------------------------------------------------------------------------------
let fx: Fixture;
let root: string;
let repo: string;
let exported: TritonExport;
beforeAll(async () => {
  fx = await getFixture();
  root = tempDir('bgad-triton-');
  repo = join(root, 'models');
  exported = await exportTritonRepository({ model: fx.modelPath, out: repo });
}, 180_000);
afterAll(() => removeDir(root));

describe('bgad export --format triton', () => {
  it('writes DIR/<name>/config.pbtxt and DIR/<name>/1/model.onnx, named after the model file', () => {
    expect(exported.name).toBe('model'); // the fixture is model.bgad
    expect(readdirSync(repo)).toEqual(['model']); // no staging folder left behind
    expect(readdirSync(join(repo, 'model')).sort()).toEqual(['1', 'config.pbtxt']);
    expect(readdirSync(join(repo, 'model', '1'))).toEqual(['model.onnx']);
    expect(tritonModelName('/x/My Model (v2).bgad')).toBe('My_Model_v2');
    expect(tritonModelName('/x/...bgad')).toBe('bgad_model');
    // the sample config, for the record
    console.log(`config.pbtxt:\n${readFileSync(join(repo, 'model', 'config.pbtxt'), 'utf8')}`);
  });

  it('states the ONNX graph\'s tensors exactly: names, types, dims without the batch dimension', async () => {
    const cfg = parsePbtxt(readFileSync(join(repo, 'model', 'config.pbtxt'), 'utf8'));
    expect(one(cfg, 'name')).toBe('model');
    expect(one(cfg, 'platform')).toBe('onnxruntime_onnx');
    expect(one(cfg, 'max_batch_size')).toBe(8);
    expect(cfg.dynamic_batching).toEqual([{}]);
    expect(cfg.instance_group).toBeUndefined(); // Triton's default placement

    // the graph as onnxruntime-node reads it (no project code involved)
    const session = await ort.InferenceSession.create(join(repo, 'model', '1', 'model.onnx'));
    try {
      const check = (blocks: PbMessage[], meta: readonly ort.InferenceSession.ValueMetadata[]) => {
        expect(blocks.map((b) => one(b, 'name'))).toEqual(meta.map((m) => m.name));
        for (const [k, m] of meta.entries()) {
          if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
          const b = blocks[k]!;
          expect(one(b, 'data_type')).toBe(ONNX_TO_TRITON[m.type]);
          expect(typeof m.shape[0]).toBe('string'); // a symbolic batch dimension
          const rest = m.shape.slice(1).map((d) => (typeof d === 'number' ? d : -1));
          if (rest.length === 0) {
            // [batch] only: Triton needs non-empty dims, so [1] reshaped to the model's []
            expect(b.dims).toEqual([1]);
            expect(msgs(b, 'reshape').map((r) => r.shape ?? [])).toEqual([[]]);
          } else {
            expect(b.dims).toEqual(rest);
            expect(b.reshape).toBeUndefined();
          }
        }
      };
      check(msgs(cfg, 'input'), session.inputMetadata);
      check(msgs(cfg, 'output'), session.outputMetadata);
      expect(session.inputNames).toEqual(['image']);
      expect(session.outputNames).toEqual(['anomaly_map', 'pred_score']);
      expect(msgs(cfg, 'input')[0]!.dims).toEqual([3, 256, 256]);
      expect(msgs(cfg, 'output').map((o) => o.dims)).toEqual([[1, 256, 256], [1]]);
    } finally {
      await session.release();
    }

    // threshold, hashes and input geometry come from the ONNX metadata_props
    const onnx = decodeModel(readFileSync(join(repo, 'model', '1', 'model.onnx')));
    const props = Object.fromEntries((onnx.metadataProps ?? []).map((p) => [p.key, p.value]));
    const params = Object.fromEntries(msgs(cfg, 'parameters').map((p) => [one(p, 'key'), one(msgs(p, 'value')[0]!, 'string_value')]));
    expect(params.bgad_threshold).toBe(props.threshold);
    expect(Number(params.bgad_threshold)).toBe(fx.bundle.meta.threshold);
    expect(params.bgad_model_sha256).toBe(props.model_sha256);
    expect(params.bgad_input_size).toBe('256');
    expect(params.bgad_input).toBe(props.input);
    expect(params.bgad_normalization).toBe(props.normalization); // JSON with quotes survives the escaping
    expect(params.bgad_verdict).toBe('fail when pred_score > threshold');
    expect(params.bgad_onnx_sha256).toBe(exported.onnxSha256);
  });

  it('runs a batch of 2 in onnxruntime-node with the pred_score of bgad export\'s single ONNX file', async () => {
    const single = await exportModel({ model: fx.modelPath, out: join(root, 'single.onnx') });
    const S = 256;
    const files = ['good/000.png', 'spot/000.png'].map((f) => join(fx.testDir, f));
    const imgs = await Promise.all(files.map((f) => loadImageTensor(f, S)));
    const batch = new Float32Array(2 * 3 * S * S);
    imgs.forEach((im, j) => batch.set(im.chw, j * 3 * S * S));
    /** pred_score of `n` images from image `from`, in a plain onnxruntime-node session. */
    const scores = async (path: string, from: number, n: number) => {
      const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
      try {
        const out = await session.run({ image: new ort.Tensor('float32', batch.slice(from * 3 * S * S, (from + n) * 3 * S * S), [n, 3, S, S]) });
        expect(out.anomaly_map!.dims).toEqual([n, 1, S, S]);
        expect(out.pred_score!.dims).toEqual([n]);
        return Array.from(out.pred_score!.data as Float32Array);
      } finally {
        await session.release();
      }
    };
    const triton = await scores(exported.onnxPath, 0, 2);
    const one1 = [...(await scores(single.path, 0, 1)), ...(await scores(single.path, 1, 1))];
    expect(triton).toHaveLength(2);
    for (let j = 0; j < 2; j++) expect(Math.abs(triton[j]! - one1[j]!)).toBeLessThanOrEqual(1e-5);
    // the defect scores above the good part
    expect(triton[1]!).toBeGreaterThan(triton[0]!);
  }, 120_000);

  it('refuses an existing DIR/<name> without force, and replaces it whole with force', async () => {
    const dir = join(repo, 'model');
    const before = readFileSync(join(dir, 'config.pbtxt'), 'utf8');
    writeFileSync(join(dir, 'stray.txt'), 'left by hand');
    await expect(exportTritonRepository({ model: fx.modelPath, out: repo })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(dir) });
    expect(readFileSync(join(dir, 'config.pbtxt'), 'utf8')).toBe(before);
    const again = await exportTritonRepository({ model: fx.modelPath, out: repo, force: true, maxBatchSize: 4 });
    expect(again.dir).toBe(dir);
    expect(existsSync(join(dir, 'stray.txt'))).toBe(false);
    expect(one(parsePbtxt(readFileSync(join(dir, 'config.pbtxt'), 'utf8')), 'max_batch_size')).toBe(4);
    expect(readdirSync(repo)).toEqual(['model']);
  }, 120_000);

  it('takes another name beside an existing model, and refuses a name Triton cannot use', async () => {
    const r = await exportTritonRepository({ model: fx.modelPath, out: repo, name: 'stripes-v2' });
    expect(readdirSync(repo).sort()).toEqual(['model', 'stripes-v2']);
    expect(one(parsePbtxt(r.config), 'name')).toBe('stripes-v2');
    await expect(exportTritonRepository({ model: fx.modelPath, out: repo, name: '../evil' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  }, 120_000);

  it('refuses a graph without a dynamic leading batch dimension', () => {
    const fixed: OnnxModel = {
      graph: {
        input: [{ name: 'image', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 8 }, { dimValue: 8 }] } } } }],
        output: [{ name: 'pred_score', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }] } } } }],
      },
    };
    expect(() => tritonSignature(fixed)).toThrow(/image has shape \[1, 3, 8, 8\]: its first dimension must be a dynamic batch dimension/);
    const scalar: OnnxModel = { graph: { input: fixed.graph!.input!.map((i) => ({ ...i, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] } } } })), output: [{ name: 'score', type: { tensorType: { elemType: 1, shape: { dim: [] } } } }] } };
    expect(() => tritonSignature(scalar)).toThrow(/score has shape \[\]/);
    const mixed: OnnxModel = { graph: { input: scalar.graph!.input, output: [{ name: 'score', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }] } } } }] } };
    expect(() => tritonSignature(mixed)).toThrow(/different dimensions/);
  });

  it('does not leave staging folders behind when the model cannot be loaded', async () => {
    const junk = join(root, 'junk.bgad');
    writeFileSync(junk, 'not a model at all, just some text that is long enough to pass the length check');
    const out = join(root, 'junk-repo');
    mkdirSync(out);
    await expect(exportTritonRepository({ model: junk, out })).rejects.toMatchObject({ code: 'BAD_MODEL' });
    expect(readdirSync(out)).toEqual([]);
  });
});
