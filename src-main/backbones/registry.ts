/**
 * Backbone registry: frozen ImageNet feature extractors as ONNX graphs plus a tap spec.
 *
 * Every backbone we run is an ONNX file that we emitted ourselves into a cache folder:
 * input `image` float [batch, 3, height, width], RGB in [0,1] (the normalisation is folded
 * into the graph, so an exported model needs no glue); one float NCHW output per tap, named
 * after the tap. Built in:
 * - `mobilenetv2`, `inceptionv3`: converted from the Keras models in nsfwjs@4.4.0 (MIT), only
 *   the frozen ImageNet layers (through block_10 / mixed5).
 * - `zoo-mobilenetv2-int8`: the float twin of the ONNX Model Zoo MobileNetV2 int8 file
 *   (Apache-2.0) found in a models folder (`modelsDirCandidates`), when that file is present
 *   with the expected sha256. Then it is also the default (`defaultBackboneId`).
 * Users add their own ONNX file with a tap spec JSON (see `loadUserBackbone`).
 *
 * Tap strides are nominal: graphs with 'valid' padding (InceptionV3) give maps slightly
 * smaller than size/stride (e.g. 60, 29, 14 at 256). Consumers use the runtime shape
 * (`FeatureExtractor.tapShapes`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { AppError } from '../common/errors';
import { resolveDataDir } from '../db/paths';
import { decodeModel, encodeModel, type OnnxModel } from '../autodiff/onnx-proto';
import { writeFileAtomic } from '../fs/atomic-file';
import { createSession } from '../runtime/session';
import { convertKerasToOnnx, KERAS_CONVERTER_VERSION } from './keras-to-onnx';
import { loadNsfwjsModel, type NsfwjsModelName } from './nsfwjs-source';
import { prepareImageInput, pruneToOutputs, tensorProducers } from './onnx-graph';
import { buildFloatTwin, quantizedWithTaps } from './quantized-twin';
import { appendTapTransform, type TapTransform } from './tap-transform';

export type TapStride = 4 | 8 | 16;

export interface TapSpec {
  /** Output tensor name in the backbone ONNX. */
  name: string;
  stride: TapStride;
  channels: number;
}

export interface Normalization {
  mean: [number, number, number];
  std: [number, number, number];
}

export interface BackboneSpec {
  id: string;
  description: string;
  /** The ONNX file we run (our emitted graph, in the cache folder). */
  onnxPath: string;
  /** sha256 of that ONNX file's bytes. */
  sha256: string;
  inputSize: number;
  /** Name of the graph input; takes RGB in [0,1], NCHW. */
  inputName: string;
  taps: TapSpec[];
  /** (x - mean) / std on RGB in [0,1]; already inside the graph (informational). */
  normalization: Normalization;
  source: string;
  license: string;
}

export interface BackboneListing {
  id: string;
  description: string;
  available: boolean;
  /** Why it is unavailable, in words. */
  reason?: string;
  builtIn: boolean;
}

export interface BackboneOptions {
  /** Where converted graphs are written; default `<repo>/.cache/backbones`. */
  cacheDir?: string;
  /** Folder holding `mobilenetv2-12-int8/`; default: the first models folder that holds it (`modelsDirCandidates`). */
  modelsDir?: string;
}

/** The smallest built-in every installation has (npm): the last resort of the default. */
export const FALLBACK_BACKBONE_ID = 'mobilenetv2';
/**
 * Built-ins in order of preference for the default, from `bgad eval --seeds` and
 * `bgad bench backbones` on magnetic_tile (README "Backbones"): accuracy first, then speed,
 * within the product's budget. The zoo MobileNetV2 is the default where its verified file is
 * (it is not an npm package); everywhere else `inceptionv3-lite`, which every installation
 * has and which is as accurate. `inceptionv3` at full width is over the training budget.
 */
export const DEFAULT_BACKBONE_PREFERENCE: readonly string[] = ['zoo-mobilenetv2-int8', 'inceptionv3-lite', FALLBACK_BACKBONE_ID];
export const DEFAULT_INPUT_SIZE = 256;
export const INPUT_NAME = 'image';

const IMAGENET: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
/** Keras applications' 'tf' preprocessing: x / 127.5 - 1, i.e. (x - 0.5) / 0.5 on [0,1]. */
const KERAS_TF: Normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

export const ZOO_INT8_FILE = 'mobilenetv2-12-int8/mobilenetv2-12-int8.onnx';
export const ZOO_INT8_SHA256 = 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f';

interface BuiltIn {
  id: string;
  description: string;
  taps: TapSpec[];
  normalization: Normalization;
  source: string;
  license: string;
  /** Bump to invalidate cached conversions. */
  version: number;
  /** The side images are resized to (default DEFAULT_INPUT_SIZE). */
  inputSize?: number;
  build(opts: Required<BackboneOptions>): Promise<{ model: OnnxModel; sourceSha256: string }>;
  unavailableReason(opts: Required<BackboneOptions>): string | null;
  /** What to do when it is unavailable (default: choose another backbone). */
  unavailableHint?(opts: Required<BackboneOptions>): string;
}

function nsfwjsBuiltIn(id: string, name: NsfwjsModelName, description: string, taps: TapSpec[], transform?: TapTransform): BuiltIn {
  return {
    id,
    description,
    taps: transform ? taps.map((t, k) => ({ ...t, channels: transform.widths?.[k] ?? t.channels })) : taps,
    normalization: KERAS_TF,
    source: `nsfwjs@4.4.0 dist/models/${name} (Keras ${name}, frozen ImageNet layers only)`,
    license: 'MIT (nsfwjs); ImageNet weights from keras.applications (Apache-2.0)',
    version: KERAS_CONVERTER_VERSION,
    unavailableReason: () => null,
    async build() {
      const files = loadNsfwjsModel(name);
      const sourceSha256 = createHash('sha256').update(files.weightData).update(JSON.stringify(files.artifact.modelTopology)).digest('hex');
      const model = convertKerasToOnnx(files, { taps: taps.map((t) => t.name), inputName: INPUT_NAME, normalization: KERAS_TF, producer: `bgad-inspector keras-to-onnx (${id})` });
      if (transform) appendTapTransform(model, taps.map((t) => ({ name: t.name, inChannels: t.channels })), transform);
      return { model, sourceSha256 };
    },
  };
}

const INCEPTION_TAPS: TapSpec[] = [
  { name: 'activation_5', stride: 4, channels: 192 },
  { name: 'mixed2', stride: 8, channels: 288 },
  { name: 'mixed5', stride: 16, channels: 768 },
];
const MOBILENET_TAPS: TapSpec[] = [
  { name: 'block_2_add', stride: 4, channels: 24 },
  { name: 'block_5_add', stride: 8, channels: 32 },
  { name: 'block_10_project_BN', stride: 16, channels: 96 },
];
/**
 * Variants for measuring routes (README "Backbones"), from BGAD_EXPERIMENT_BACKBONES: a comma
 * list of `BASE[:W4/W8/W16|-][:avgK|-][:SIZE]`, BASE mobilenetv2 or inceptionv3, e.g.
 * `inceptionv3:64/96/128:avg3` or `mobilenetv2:-:-:320`. Each becomes a backbone
 * `BASE-x-<widths>-<avg>[-SIZE]`; a malformed entry is reported on stderr and left out.
 */
export function experimentBuiltIns(env = process.env.BGAD_EXPERIMENT_BACKBONES ?? ''): BuiltIn[] {
  const out: BuiltIn[] = [];
  for (const e of env.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [base, widths = '-', avg = '-', size] = e.split(':');
    const taps = base === 'inceptionv3' ? INCEPTION_TAPS : base === 'mobilenetv2' ? MOBILENET_TAPS : base === 'zoo' ? ZOO_TAPS : null;
    const w = widths === '-' ? undefined : widths.split('/').map(Number);
    const k = avg === '-' ? undefined : Number(avg.replace(/^avg/, ''));
    const px = size === undefined ? undefined : Number(size);
    const problem = !taps ? `unknown base ${base} (mobilenetv2, inceptionv3 or zoo)`
      : w && (w.length !== 3 || w.every((x) => x === 0) || w.some((x, i) => !Number.isInteger(x) || x < 0 || x > taps[i]!.channels)) ? `widths ${widths} must be three integers up to ${taps.map((t) => t.channels).join('/')} (0 leaves that level out)`
        : k !== undefined && !(Number.isInteger(k) && k >= 3 && k % 2 === 1) ? `${avg} must be avg3, avg5, ...`
          : px !== undefined && !(Number.isInteger(px) && px % 32 === 0 && px >= 128 && px <= 1024) ? `size ${size} must be a multiple of 32 from 128 to 1024`
            : null;
    if (problem) {
      process.stderr.write(`bgad: BGAD_EXPERIMENT_BACKBONES entry "${e}" left out: ${problem}\n`);
      continue;
    }
    const id = `${base}-x-${widths.replace(/\//g, '_')}-${avg === '-' ? '' : avg}${px ? `-${px}` : ''}`;
    // a width of 0 leaves that level out (e.g. 0/96/128: the stride-8 and stride-16 levels only)
    const kept = w ? taps!.filter((_, i) => w[i] !== 0) : taps!;
    const keptWidths = w?.filter((x) => x !== 0);
    const transform = w || k ? { widths: keptWidths, average: k, seed: 1 } : undefined;
    const b = base === 'zoo' ? zooBuiltIn(id, `experiment: ${e}`, transform, kept) : nsfwjsBuiltIn(id, base === 'inceptionv3' ? 'inception_v3' : 'mobilenet_v2', `experiment: ${e}`, kept, transform);
    out.push({ ...b, inputSize: px });
  }
  return out;
}

export const ZOO_TAPS: TapSpec[] = [
  { name: '339', stride: 4, channels: 24 },
  { name: '365', stride: 8, channels: 32 },
  { name: '426', stride: 16, channels: 96 },
];

/**
 * The default every installation has (npm): InceptionV3's ImageNet layers, which are as accurate
 * as the zoo MobileNetV2, made fast enough for a 2-core PC by a fixed transform on each level:
 * a 3x3 neighbourhood average (each position also sees its neighbours, so a defect that spans a
 * cell border reads the same) and a seeded orthogonal projection to 64 / 96 / 128 channels
 * (from 192 / 288 / 768, whose 768-channel level made training take 22 minutes). README:
 * "Backbones" has the measured routes.
 */
export const INCEPTION_LITE: TapTransform = { widths: [64, 96, 128], average: 3, seed: 1 };

const BUILT_INS: BuiltIn[] = [
  nsfwjsBuiltIn('mobilenetv2', 'mobilenet_v2', 'MobileNetV2 (Keras, ImageNet) through block_10; from nsfwjs', MOBILENET_TAPS),
  nsfwjsBuiltIn('inceptionv3', 'inception_v3', 'InceptionV3 (Keras, ImageNet) through mixed5; from nsfwjs', INCEPTION_TAPS),
  nsfwjsBuiltIn('inceptionv3-lite', 'inception_v3', 'InceptionV3 (Keras, ImageNet) through mixed5, 3x3-averaged and projected to 64/96/128 channels; from nsfwjs', INCEPTION_TAPS, INCEPTION_LITE),
  zooBuiltIn('zoo-mobilenetv2-int8', 'ONNX Model Zoo MobileNetV2 int8 (ImageNet), run as a float twin'),
  ...experimentBuiltIns(),
];

function zooBuiltIn(id: string, description: string, transform?: TapTransform, taps: TapSpec[] = ZOO_TAPS): BuiltIn {
  return {
    id,
    description,
    taps: taps.map((t, k) => ({ ...t, channels: transform?.widths?.[k] ?? t.channels })),
    normalization: IMAGENET,
    source: 'ONNX Model Zoo mobilenetv2-12-int8.onnx (a models folder: see `bgad backbones`)',
    license: 'Apache-2.0',
    version: 2,
    unavailableReason(opts) {
      const file = join(opts.modelsDir, ZOO_INT8_FILE);
      if (!existsSync(file)) return `the model file ${file} is not on this machine`;
      const sha = fileSha256(file);
      return sha === ZOO_INT8_SHA256 ? null : `${file} has sha256 ${sha}, not the expected ${ZOO_INT8_SHA256} (a different version or a damaged copy)`;
    },
    unavailableHint: (opts) => zooMissingHint(opts.modelsDir),
    async build(opts) {
      const { model, sha256 } = await readZooInt8(opts.modelsDir);
      const twin = buildFloatTwin(model, { taps, inputName: 'input', newInputName: INPUT_NAME, normalization: IMAGENET });
      if (transform) appendTapTransform(twin, taps.map((t) => ({ name: t.name, inChannels: t.channels })), transform);
      return { model: twin, sourceSha256: sha256 };
    },
  };
}

const shaMemo = new Map<string, string>();

/** sha256 of a file, remembered while its size and modification time stay the same. */
function fileSha256(file: string): string {
  const st = statSync(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let sha = shaMemo.get(key);
  if (!sha) {
    sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    shaMemo.set(key, sha);
  }
  return sha;
}

/** Where the zoo model file goes, for an error about its absence. */
function zooMissingHint(modelsDir: string): string {
  return `Copy the original mobilenetv2-12-int8.onnx (sha256 ${ZOO_INT8_SHA256.slice(0, 12)}…) into ${join(modelsDir, 'mobilenetv2-12-int8')}, or set BGAD_MODELS_DIR to a folder holding mobilenetv2-12-int8/; to train, you can also choose another backbone (a model trained with this one needs it to inspect).`;
}

/** Reads and hash-checks the zoo int8 model. */
export async function readZooInt8(modelsDir = defaultModelsDir()): Promise<{ model: OnnxModel; sha256: string; path: string }> {
  const file = join(modelsDir, ZOO_INT8_FILE);
  if (!existsSync(file)) throw new AppError('UNAVAILABLE', `Backbone zoo-mobilenetv2-int8 is unavailable: ${file} is not on this machine.`, { hint: zooMissingHint(modelsDir), subject: file });
  const bytes = await readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ZOO_INT8_SHA256) {
    throw new AppError('BAD_BACKBONE', `${file} has sha256 ${sha256}, expected ${ZOO_INT8_SHA256}.`, { hint: 'The file is a different version or damaged; copy the original again (see SOURCE.md beside it).', subject: file });
  }
  return { model: decodeModel(bytes), sha256, path: file };
}

/** The int8 reference graph with dequantized outputs at the taps (for fidelity checks). */
export async function zooInt8WithTaps(modelsDir = defaultModelsDir()): Promise<Uint8Array> {
  const { model } = await readZooInt8(modelsDir);
  const m = quantizedWithTaps(model, { taps: ZOO_TAPS, inputName: 'input', newInputName: INPUT_NAME, normalization: IMAGENET });
  return encodeModel(m);
}

function moduleFile(): string {
  if (typeof __filename === 'string') return __filename;
  return fileURLToPath(import.meta.url);
}

/** The repository (or installed app) root: the nearest folder with our package.json. */
export function appRoot(): string {
  for (const start of [dirname(moduleFile()), process.cwd()]) {
    let dir = start;
    for (let i = 0; i < 8; i++) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg)) {
        try {
          if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'bgad-inspector') return dir;
        } catch (e) {
          if (!(e instanceof SyntaxError)) throw e;
        }
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return process.cwd();
}

export function defaultCacheDir(): string {
  return join(appRoot(), '.cache', 'backbones');
}

/** Electron's resources folder (the one holding app.asar); undefined outside Electron. */
function electronResourcesPath(): string | undefined {
  const p = (process as { resourcesPath?: unknown }).resourcesPath;
  return typeof p === 'string' && p ? p : undefined;
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The app's own models folder, where files that ship with an installer are (a packager puts
 * them into `resources/models/`; never committed). In a packaged Electron app the app root is
 * `<resources>/app.asar` (or `<resources>/app`) and electron-builder's extraResources put the
 * folder at `<resources>/models` (`process.resourcesPath`); in a checkout, and when Electron
 * runs the checkout, it is `<repo>/resources/models`.
 */
export function appModelsDir(root = appRoot(), resourcesPath = electronResourcesPath()): string {
  if (resourcesPath && isInside(resolve(root), resolve(resourcesPath))) return join(resourcesPath, 'models');
  // without process.resourcesPath (a plain Node process), an app root inside an asar archive
  const asar = /^(.*?)[\\/][^\\/]+\.asar(?:[\\/]|$)/.exec(root);
  if (asar) return join(asar[1]!, 'models');
  return join(root, 'resources', 'models');
}

/**
 * Folders searched for model files such as `mobilenetv2-12-int8/mobilenetv2-12-int8.onnx`,
 * in order: `$BGAD_MODELS_DIR`, `models` in the data folder (BGAD_DATA_DIR or the per-user
 * default), the app's own models folder (`appModelsDir`: `<resources>/models` in an
 * installed app, `resources/models` in a checkout), and `../shared/models` beside the
 * repository.
 */
export function modelsDirCandidates(): string[] {
  const env = process.env.BGAD_MODELS_DIR;
  return [
    ...(env ? [resolve(env)] : []),
    join(resolveDataDir(), 'models'),
    appModelsDir(),
    resolve(appRoot(), '..', 'shared', 'models'),
  ];
}

/** The first candidate folder that holds the zoo model file; else the first candidate. */
export function defaultModelsDir(): string {
  const dirs = modelsDirCandidates();
  return dirs.find((d) => existsSync(join(d, ZOO_INT8_FILE))) ?? dirs[0]!;
}

/**
 * The default backbone here: the first of DEFAULT_BACKBONE_PREFERENCE that is available
 * (the zoo model only with its sha256 verified), else `mobilenetv2`.
 */
export function defaultBackboneId(opts: BackboneOptions = {}): string {
  const o = withDefaults(opts);
  for (const id of DEFAULT_BACKBONE_PREFERENCE) {
    const b = BUILT_INS.find((x) => x.id === id);
    if (b && b.unavailableReason(o) === null) return id;
  }
  return FALLBACK_BACKBONE_ID;
}

function withDefaults(opts: BackboneOptions = {}): Required<BackboneOptions> {
  return { cacheDir: opts.cacheDir ?? defaultCacheDir(), modelsDir: opts.modelsDir ?? defaultModelsDir() };
}

export function listBackbones(opts: BackboneOptions = {}): BackboneListing[] {
  const o = withDefaults(opts);
  return BUILT_INS.map((b) => {
    const reason = b.unavailableReason(o);
    return { id: b.id, description: b.description, available: reason === null, builtIn: true, ...(reason ? { reason } : {}) };
  });
}

interface CachedMeta {
  id: string;
  version: number;
  sourceSha256: string;
  sha256: string;
}

const memo = new Map<string, Promise<BackboneSpec>>();

/** Returns a built-in backbone, converting it into the cache folder on first use. */
export async function getBackbone(id: string, opts: BackboneOptions = {}): Promise<BackboneSpec> {
  const o = withDefaults(opts);
  const key = `${o.cacheDir}\0${o.modelsDir}\0${id}`;
  let p = memo.get(key);
  if (!p) {
    p = buildOrLoad(id, o);
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

async function buildOrLoad(id: string, o: Required<BackboneOptions>): Promise<BackboneSpec> {
  const b = BUILT_INS.find((x) => x.id === id);
  if (!b) {
    throw new AppError('BAD_BACKBONE', `Unknown backbone ${id}.`, { hint: `Choose one of: ${BUILT_INS.map((x) => x.id).join(', ')}, or add your own ONNX file with a tap spec.` });
  }
  const reason = b.unavailableReason(o);
  if (reason) throw new AppError('UNAVAILABLE', `Backbone ${id} is unavailable: ${reason}.`, { hint: b.unavailableHint?.(o) ?? 'Choose another backbone.' });
  const dir = join(o.cacheDir, id);
  const onnxPath = join(dir, 'backbone.onnx');
  const metaPath = join(dir, 'meta.json');
  const spec = (sha256: string): BackboneSpec => ({
    id: b.id, description: b.description, onnxPath, sha256, inputSize: b.inputSize ?? DEFAULT_INPUT_SIZE, inputName: INPUT_NAME,
    taps: b.taps.map((t) => ({ ...t })), normalization: b.normalization, source: b.source, license: b.license,
  });
  const cached = await readCached(onnxPath, metaPath, id, b.version);
  if (cached) return spec(cached.sha256);
  const { model, sourceSha256 } = await b.build(o);
  const bytes = encodeModel(model);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(onnxPath, bytes);
  const meta: CachedMeta = { id, version: b.version, sourceSha256, sha256 };
  await writeFileAtomic(metaPath, Buffer.from(JSON.stringify(meta, null, 2)));
  return spec(sha256);
}

async function readCached(onnxPath: string, metaPath: string, id: string, version: number): Promise<CachedMeta | null> {
  if (!existsSync(onnxPath) || !existsSync(metaPath)) return null;
  let meta: CachedMeta;
  try {
    meta = JSON.parse(await readFile(metaPath, 'utf8')) as CachedMeta;
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
  if (meta.id !== id || meta.version !== version) return null;
  const sha = createHash('sha256').update(await readFile(onnxPath)).digest('hex');
  return sha === meta.sha256 ? meta : null;
}

// ---------------------------------------------------------------------------------------
// User backbones: an ONNX file plus a tap spec JSON.

export interface UserBackboneJson {
  id: string;
  onnx: string;
  inputSize?: number;
  taps: { name: string; stride: number; channels: number }[];
  normalization?: { mean: number[]; std: number[] };
  description?: string;
}

function bad(subject: string, message: string, hint: string): AppError {
  return new AppError('BAD_BACKBONE', message, { hint, subject });
}

function parseUserJson(raw: unknown, where: string): UserBackboneJson {
  const fix = 'Fix the tap spec JSON: { "id", "onnx", "inputSize", "taps": [{ "name", "stride", "channels" }], "normalization": { "mean": [r,g,b], "std": [r,g,b] } }.';
  if (typeof raw !== 'object' || raw === null) throw bad(where, `Tap spec ${where} is not a JSON object.`, fix);
  const j = raw as Record<string, unknown>;
  if (typeof j.id !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(j.id)) throw bad(where, `Tap spec ${where}: "id" must be a short name of letters, digits, '.', '_' or '-'.`, fix);
  if (typeof j.onnx !== 'string' || !j.onnx) throw bad(where, `Tap spec ${where}: "onnx" must be the path of the ONNX file.`, fix);
  if (j.inputSize !== undefined && (!Number.isInteger(j.inputSize) || (j.inputSize as number) < 32 || (j.inputSize as number) > 2048)) {
    throw bad(where, `Tap spec ${where}: "inputSize" must be an integer between 32 and 2048.`, fix);
  }
  if (!Array.isArray(j.taps) || j.taps.length === 0) throw bad(where, `Tap spec ${where}: "taps" must list at least one tap.`, fix);
  for (const t of j.taps as unknown[]) {
    const tt = t as Record<string, unknown>;
    if (typeof tt?.name !== 'string' || ![4, 8, 16].includes(tt.stride as number) || !Number.isInteger(tt.channels) || (tt.channels as number) <= 0) {
      throw bad(where, `Tap spec ${where}: each tap needs "name" (tensor name), "stride" (4, 8 or 16) and "channels" (a positive integer); got ${JSON.stringify(t)}.`, fix);
    }
  }
  if (j.normalization !== undefined) {
    const n = j.normalization as Record<string, unknown>;
    const ok = (v: unknown, pos: boolean) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!pos || x > 0));
    if (!ok(n?.mean, false) || !ok(n?.std, true)) throw bad(where, `Tap spec ${where}: "normalization" needs "mean" and "std" arrays of 3 numbers (std > 0).`, fix);
  }
  return j as unknown as UserBackboneJson;
}

/**
 * Validates a user backbone (the tap spec JSON file, or its parsed content with `baseDir`),
 * emits the surgically modified graph into the cache and checks every tap by running a
 * dummy input: unknown tensors, wrong strides and wrong channel counts are BAD_BACKBONE.
 */
export async function loadUserBackbone(specFileOrJson: string | UserBackboneJson, opts: BackboneOptions & { baseDir?: string; threads?: number } = {}): Promise<BackboneSpec> {
  const o = withDefaults(opts);
  let raw: unknown;
  let where: string;
  let baseDir: string;
  if (typeof specFileOrJson === 'string') {
    where = specFileOrJson;
    baseDir = dirname(resolve(specFileOrJson));
    let text: string;
    try {
      text = await readFile(specFileOrJson, 'utf8');
    } catch (e) {
      throw new AppError('NOT_FOUND', `Tap spec ${specFileOrJson} cannot be read.`, { hint: 'Check the path.', subject: specFileOrJson, cause: e });
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw bad(where, `Tap spec ${where} is not valid JSON (${(e as Error).message}).`, 'Fix the JSON syntax.');
    }
  } else {
    raw = specFileOrJson;
    where = `for backbone ${String((specFileOrJson as { id?: unknown }).id)}`;
    baseDir = opts.baseDir ?? process.cwd();
  }
  const j = parseUserJson(raw, where);
  if (BUILT_INS.some((b) => b.id === j.id)) throw bad(where, `Backbone id ${j.id} is taken by a built-in backbone.`, 'Choose another "id".');
  const onnxFile = isAbsolute(j.onnx) ? j.onnx : resolve(baseDir, j.onnx);
  let srcBytes: Buffer;
  try {
    srcBytes = await readFile(onnxFile);
  } catch (e) {
    throw new AppError('NOT_FOUND', `ONNX file ${onnxFile} (backbone ${j.id}) cannot be read.`, { hint: 'Check the "onnx" path in the tap spec; relative paths are relative to the JSON file.', subject: onnxFile, cause: e });
  }
  let model: OnnxModel;
  try {
    model = decodeModel(srcBytes);
  } catch (e) {
    throw bad(onnxFile, `${onnxFile} is not an ONNX model (${(e as Error).message}).`, 'Export the network to ONNX again.');
  }
  const graph = model.graph;
  if (!graph?.node?.length) throw bad(onnxFile, `${onnxFile} has an empty graph.`, 'Export the network to ONNX again.');
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initNames.has(i.name));
  if (inputs.length !== 1) throw bad(onnxFile, `${onnxFile} has ${inputs.length} inputs; a backbone needs exactly one image input.`, 'Export the network with a single NCHW image input.');
  const input = inputs[0]!;
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  if (input.type?.tensorType?.elemType !== 1 || dims.length !== 4 || (dims[1]?.dimValue !== undefined && dims[1].dimValue !== 3)) {
    throw bad(onnxFile, `${onnxFile}: input ${input.name} must be float32 [N, 3, H, W].`, 'Export the network with an NCHW float32 RGB input.');
  }
  const known = tensorProducers(graph);
  for (const t of j.taps) {
    if (!known.has(t.name)) {
      throw bad(onnxFile, `Tap ${t.name} of backbone ${j.id} is not a tensor in ${onnxFile}.`, 'Use the name of a node output in the graph (for example as shown by Netron).');
    }
  }
  const normalization = (j.normalization ?? { mean: [0, 0, 0], std: [1, 1, 1] }) as Normalization;
  pruneToOutputs(graph, j.taps.map((t) => ({ name: t.name })));
  // The graph takes `image` (RGB in [0,1]); the user's input becomes an internal tensor.
  graph.input = (graph.input ?? []).filter((i) => i.name !== input.name);
  if (input.name !== INPUT_NAME) {
    for (const n of graph.node ?? []) n.input = (n.input ?? []).map((i) => (i === input.name ? INPUT_NAME : i));
  }
  prepareImageInput(graph, INPUT_NAME, normalization);
  const hasDefault = (model.opsetImport ?? []).some((op) => !op.domain);
  if (!hasDefault) model.opsetImport = [...(model.opsetImport ?? []), { domain: '', version: 13 }];
  const bytes = encodeModel(model);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const inputSize = j.inputSize ?? DEFAULT_INPUT_SIZE;
  const taps: TapSpec[] = j.taps.map((t) => ({ name: t.name, stride: t.stride as TapStride, channels: t.channels }));

  // Check taps with a dummy input.
  let session: ort.InferenceSession;
  try {
    ({ session } = await createSession(bytes, { threads: opts.threads ?? 1, optimization: 'basic' }));
  } catch (e) {
    throw bad(onnxFile, `ONNX Runtime cannot load backbone ${j.id} after pruning to its taps (${(e as Error).message.split('\n')[0]}).`, 'Check that the model runs in ONNX Runtime and that its batch, height and width dimensions are not fixed by Reshape nodes.');
  }
  try {
    const x = new ort.Tensor('float32', new Float32Array(3 * inputSize * inputSize).fill(0.5), [1, 3, inputSize, inputSize]);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ [INPUT_NAME]: x });
    } catch (e) {
      throw bad(onnxFile, `Backbone ${j.id} fails on a ${inputSize}x${inputSize} input (${(e as Error).message.split('\n')[0]}).`, 'Check "inputSize" and that the graph accepts other sizes than the one it was exported with.');
    }
    for (const t of taps) {
      const d = out[t.name]!.dims;
      if (d.length !== 4) throw bad(onnxFile, `Tap ${t.name} of backbone ${j.id} has shape [${d.join(', ')}]; a tap must be a 4-D NCHW map.`, 'Choose a convolutional feature map as the tap.');
      if (d[1] !== t.channels) throw bad(onnxFile, `Tap ${t.name} of backbone ${j.id} has ${d[1]} channels, the spec says ${t.channels}.`, `Set "channels": ${d[1]} for this tap.`);
      const actual = inputSize / Number(d[2]);
      if (!strideMatches(actual, t.stride)) {
        const suggestion = [4, 8, 16].find((s) => strideMatches(actual, s));
        throw bad(onnxFile, `Tap ${t.name} of backbone ${j.id} is ${d[2]}x${d[3]} at a ${inputSize}px input (stride about ${actual.toFixed(1)}), not stride ${t.stride}.`, suggestion ? `Set "stride": ${suggestion}, or choose another tensor.` : 'Choose a tensor at stride 4, 8 or 16.');
      }
    }
  } finally {
    await session.release();
  }
  const dir = join(o.cacheDir, `user-${j.id}-${sha256.slice(0, 12)}`);
  const onnxPath = join(dir, 'backbone.onnx');
  if (!existsSync(onnxPath)) await writeFileAtomic(onnxPath, bytes);
  return {
    id: j.id, description: j.description ?? `User backbone from ${onnxFile}`, onnxPath, sha256, inputSize, inputName: INPUT_NAME, taps,
    normalization: { mean: [normalization.mean[0], normalization.mean[1], normalization.mean[2]], std: [normalization.std[0], normalization.std[1], normalization.std[2]] },
    source: onnxFile, license: 'as supplied by the user',
  };
}

/** Nominal stride check: the measured stride is within a factor sqrt(2) of the nominal one. */
export function strideMatches(measured: number, nominal: number): boolean {
  const r = measured / nominal;
  return r > Math.SQRT1_2 && r < Math.SQRT2;
}
