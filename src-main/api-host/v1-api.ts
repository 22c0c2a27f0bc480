/**
 * The inference API for line controllers (`bgad serve --api`, or the `apiEnabled` setting):
 *   POST /v1/inspect[?model=<id>|?dataset=<id or name>]   body: the image bytes
 *        -> { score, verdict, threshold, model: { id, version, datasetId, dataset, sha256 }, ms }
 *   GET  /v1/health -> { ok: true, version, models: [{ id, version, dataset, sha256, threshold }], limits }
 * For programs, not pages: the key (`Authorization: Bearer <key>`, the data folder's
 * `api-key`, db/api-key.ts) is the only credential: no cookies, no browser token, no CORS.
 * http-server.ts refuses requests that a web page of another site sent (Origin,
 * Sec-Fetch-Site) before they get here.
 *
 * An image goes through the app's one single-image path (`inspection.inspectImage`: the
 * engine's `inspect-image` job in the worker, never on this event loop); nothing is stored in
 * the database, and the working copy and heat maps it leaves in the data folder are removed
 * once the answer is known. Errors are `{ error: { code, message, hint } }` with the status:
 * 400 bad query / several active models, 401 key, 404 unknown model or route, 405 method,
 * 413 body or image too large, 415 content type, 422 an image that cannot be read, 503 queue
 * full (Retry-After) or engine unavailable.
 * Limits: the body size (`--api-max-mb`, answered 413 before the body is read where
 * Content-Length says so, and as soon as a chunked body passes it), and at most
 * `concurrency` images inspected at once with up to `queue` more waiting; beyond that 503.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, relative, isAbsolute } from 'node:path';
import type { ApiHandlers, DatasetSummary, ModelVersion, SingleInspection } from '../common/api';
import type { SerializedError } from '../common/errors';
import { apiKeyMatches, apiKeyPath, readApiKey } from '../db/api-key';
import { fromDataRef } from '../db/files';
import { dispatch, type Logger } from './dispatch';
import { BodyTooLargeError, declaredLength, lingerOnClose, readBody } from './request-body';

export const V1_PREFIX = '/v1/';
export const DEFAULT_API_MAX_MB = 64;
/** The most `inspection.inspectImage` accepts (its validator). */
export const API_MAX_MB_LIMIT = 256;
export const DEFAULT_API_CONCURRENCY = 2;
export const DEFAULT_API_QUEUE = 8;
/** Seconds a client is told to wait when the queue is full. */
const RETRY_AFTER_S = 1;
/** How long the list of active models is reused when a request names none (activating another takes effect within this). */
const CATALOG_TTL_MS = 2000;

const MB = 1024 * 1024;

export interface V1ApiOptions {
  handlers: ApiHandlers;
  /** The data folder: its `api-key`, its model bundles (sha256) and the single-inspection working folders. */
  dataDir: string;
  /** The app's version (health). */
  version: string;
  /** Asked per request: `--api`, or the `apiEnabled` setting (404 while off). */
  enabled(): boolean | Promise<boolean>;
  maxBodyBytes?: number;
  concurrency?: number;
  queue?: number;
  log?: Logger;
}

export interface V1Api {
  readonly maxBodyBytes: number;
  readonly concurrency: number;
  readonly queue: number;
  enabled(): Promise<boolean>;
  /** Answers a request below /v1/ (the Host and other-site checks are done). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

type V1Error = Pick<SerializedError, 'code' | 'message' | 'hint'>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: V1Error,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** `{ error: { code, message, hint } }` (hint only where there is one). */
function sendError(res: ServerResponse, status: number, error: V1Error, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } }, headers);
}

/**
 * An answer before the body was read (413, 503, 4xx): the rest of the body is read and dropped
 * while the answer goes out, then the connection closes (request-body.ts `lingerOnClose`).
 */
function answerEarly(req: IncomingMessage, res: ServerResponse, status: number, error: V1Error, headers: Record<string, string> = {}): void {
  if (!req.complete) {
    req.resume();
    lingerOnClose(req.socket);
    res.setHeader('Connection', 'close');
  }
  sendError(res, status, error, headers);
}

/** The status of an error from the services, as this API answers it. */
function statusOf(code: string): number {
  switch (code) {
    case 'BAD_ARGUMENT':
      return 400;
    case 'BAD_IMAGE':
      return 422;
    case 'IMAGE_TOO_LARGE':
      return 413;
    case 'NOT_FOUND':
      return 404;
    case 'UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

/** The bearer value of `Authorization` (scheme case-insensitive), '' when the header is there without one, undefined without the header. */
function bearer(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
  return m ? m[1]! : '';
}

/** A waiting line: at most `active` at once, at most `waiting` queued, the rest refused. */
class Limiter {
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(
    readonly max: number,
    readonly maxWaiting: number,
  ) {}

  /** A release function once there is room; null when the queue is full. `gone` is a promise that settles when the client went away (its place is given up). */
  enter(gone: Promise<void>): Promise<(() => void) | null> | null {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#active--;
      const next = this.#queue.shift();
      if (next) next();
    };
    if (this.#active < this.max) {
      this.#active++;
      return Promise.resolve(release);
    }
    if (this.#queue.length >= this.maxWaiting) return null;
    return new Promise((ok) => {
      const turn = () => {
        this.#active++;
        ok(release);
      };
      this.#queue.push(turn);
      void gone.then(() => {
        const i = this.#queue.indexOf(turn);
        if (i >= 0) {
          this.#queue.splice(i, 1);
          ok(null);
        }
      });
    });
  }
}

/** sha256 of a file (streamed, off the event loop's back), reused while its size, time and inode stay. */
class FileHashes {
  readonly #cache = new Map<string, { key: string; sha256: Promise<string> }>();

  async of(path: string): Promise<string> {
    const st = await stat(path);
    const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    const hit = this.#cache.get(path);
    if (hit && hit.key === key) return hit.sha256;
    const sha256 = new Promise<string>((ok, fail) => {
      const h = createHash('sha256');
      createReadStream(path)
        .on('data', (c) => h.update(c))
        .on('end', () => ok(h.digest('hex')))
        .on('error', fail);
    });
    this.#cache.set(path, { key, sha256 });
    sha256.catch(() => this.#cache.delete(path));
    if (this.#cache.size > 256) this.#cache.delete(this.#cache.keys().next().value!);
    return sha256;
  }
}

/** The data folder's key, read again when the file changes (`bgad api-key --rotate` in another process). */
class KeyFile {
  #cached: { stamp: string; key: string } | null = null;

  constructor(readonly dataDir: string) {}

  async current(): Promise<string | null> {
    const file = apiKeyPath(this.dataDir);
    let stamp: string;
    try {
      const st = await stat(file);
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      this.#cached = null;
      return null;
    }
    if (this.#cached?.stamp === stamp) return this.#cached.key;
    let key: string | null;
    try {
      key = readApiKey(this.dataDir)?.key ?? null;
    } catch {
      key = null; // a damaged file: no key matches until it is rotated
    }
    this.#cached = key === null ? null : { stamp, key };
    return key;
  }
}

interface ActiveModel {
  model: ModelVersion;
  dataset: DatasetSummary;
}

interface Catalog {
  datasets: DatasetSummary[];
  active: ActiveModel[];
  atMs: number;
}

const describeModel = (a: ActiveModel) => `model ${a.model.id} (version ${a.model.number} of dataset ${a.dataset.id} "${a.dataset.name}")`;

function positiveId(text: string | null, name: string): number | undefined {
  if (text === null) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new HttpError(400, { code: 'BAD_ARGUMENT', message: `?${name}= must be a positive integer id, got "${text.slice(0, 40)}".` });
  return Number(text);
}

/** What a working folder of `inspection.inspectImage` left in the data folder is removed with. */
async function removeQuietly(path: string, log: Logger): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    log(`bgad: /v1/inspect could not remove its working folder ${path}: ${(e as Error).message}`);
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const within = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/** The model versions the services know: which models a request may name, and the active ones. */
class ModelCatalog {
  #catalog: Catalog | null = null;
  readonly #hashes = new FileHashes();

  constructor(
    readonly handlers: ApiHandlers,
    readonly dataDir: string,
    readonly log: Logger,
  ) {}

  async call<T>(method: string, args: unknown): Promise<T> {
    const r = await dispatch(this.handlers, method, args, this.log);
    if (!r.ok) throw new HttpError(statusOf(r.error.code), r.error);
    return r.value as T;
  }

  /** Every dataset and the active model of each (the services' answers; no SQL here), reused for `maxAgeMs`. */
  async load(maxAgeMs: number): Promise<Catalog> {
    if (this.#catalog && Date.now() - this.#catalog.atMs <= maxAgeMs) return this.#catalog;
    const datasets = await this.call<DatasetSummary[]>('datasets.list', {});
    const active: ActiveModel[] = [];
    for (const dataset of datasets) {
      if (dataset.activeModelVersionId === null) continue;
      const models = await this.call<ModelVersion[]>('models.list', { datasetId: dataset.id });
      const model = models.find((m) => m.id === dataset.activeModelVersionId);
      if (model) active.push({ model, dataset });
    }
    this.#catalog = { datasets, active, atMs: Date.now() };
    return this.#catalog;
  }

  /** The model a request asks for: ?model=, else ?dataset='s active one, else the one active model. */
  async choose(url: URL): Promise<ActiveModel> {
    const modelId = positiveId(url.searchParams.get('model'), 'model');
    const datasetRef = url.searchParams.get('dataset');
    if (modelId !== undefined && datasetRef !== null) throw new HttpError(400, { code: 'BAD_ARGUMENT', message: 'Give ?model=<id> or ?dataset=<id>, not both.' });
    const cat = await this.load(CATALOG_TTL_MS);
    const choices = () => (cat.active.length ? `Active: ${cat.active.map(describeModel).join('; ')}.` : 'No model is active.');
    if (modelId !== undefined) {
      const hit = cat.active.find((a) => a.model.id === modelId);
      if (hit) return hit;
      // any version may be named, active or not
      for (const dataset of cat.datasets) {
        const model = (await this.call<ModelVersion[]>('models.list', { datasetId: dataset.id })).find((m) => m.id === modelId);
        if (model) return { model, dataset };
      }
      throw new HttpError(404, { code: 'NOT_FOUND', message: `There is no model version ${modelId}.`, hint: choices() });
    }
    if (datasetRef !== null) {
      const dataset = /^\d+$/.test(datasetRef) ? cat.datasets.find((d) => d.id === Number(datasetRef)) : cat.datasets.find((d) => d.name === datasetRef);
      if (!dataset) throw new HttpError(404, { code: 'NOT_FOUND', message: `There is no dataset "${datasetRef.slice(0, 100)}".`, hint: choices() });
      const hit = cat.active.find((a) => a.dataset.id === dataset.id);
      if (!hit) throw new HttpError(404, { code: 'NOT_FOUND', message: `Dataset ${dataset.id} "${dataset.name}" has no active model.`, hint: 'Activate a model version in the Models view, or train one.' });
      return hit;
    }
    if (cat.active.length === 1) return cat.active[0]!;
    if (cat.active.length === 0) {
      throw new HttpError(503, { code: 'UNAVAILABLE', message: 'No model is active, so there is nothing to inspect with.', hint: 'Activate a model version in the Models view (or train one), or name one with ?model=<id>.' });
    }
    throw new HttpError(400, {
      code: 'BAD_ARGUMENT',
      message: `${cat.active.length} models are active; say which with ?model=<id> or ?dataset=<id>. ${choices()}`,
    });
  }

  /** sha256 of a version's model file, as `bgad inspect` records it; null when it has none. */
  async sha256Of(model: ModelVersion): Promise<string | null> {
    if (!model.bundleFile) return null;
    try {
      return await this.#hashes.of(fromDataRef(this.dataDir, model.bundleFile));
    } catch {
      return null;
    }
  }
}

/**
 * Removes the working folder an `inspection.inspectImage` of `fileName` made below
 * `singleRoot` (`<ms>-<hex>/`): the one its answer names, or, when it failed and names none,
 * the one holding the copy, found by its time stamp and the name.
 */
async function removeWork(singleRoot: string, result: SingleInspection | null, fileName: string, t0: number, t1: number, log: Logger): Promise<void> {
  if (result?.imagePath) {
    const work = dirname(result.imagePath);
    if (within(singleRoot, work) && dirname(work) === singleRoot) await removeQuietly(work, log);
    return;
  }
  let names: string[];
  try {
    names = await readdir(singleRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const ms = Number(name.split('-')[0]);
    if (!Number.isFinite(ms) || ms < t0 - 1000 || ms > t1 + 1000) continue;
    if (existsSync(join(singleRoot, name, fileName))) await removeQuietly(join(singleRoot, name), log);
  }
}

/** The key check: 401 without the header (naming it) or with another key than the data folder's. */
async function authorize(req: IncomingMessage, keyFile: KeyFile): Promise<void> {
  const given = bearer(req);
  if (given === undefined || given === '') {
    throw new HttpError(
      401,
      {
        code: 'UNAUTHORIZED',
        message: 'Missing API key: send it in the Authorization header, as "Authorization: Bearer <key>".',
        hint: 'Print the key on the computer running bgad serve with: bgad api-key (add --data-dir DIR when the server uses one).',
      },
      { 'WWW-Authenticate': 'Bearer realm="bgad"' },
    );
  }
  const key = await keyFile.current();
  if (key === null || !apiKeyMatches(given, key)) {
    throw new HttpError(401, { code: 'UNAUTHORIZED', message: 'Wrong API key.', hint: 'Use the current key (bgad api-key prints it; a rotated key stops working at once).' }, { 'WWW-Authenticate': 'Bearer realm="bgad", error="invalid_token"' });
  }
}

/** The body's content type as /v1/inspect takes it (image/* or application/octet-stream), else a 415. */
function checkImageType(req: IncomingMessage): HttpError | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (/^image\/[a-z0-9.+-]+$/.test(type) || type === 'application/octet-stream') return null;
  return new HttpError(415, {
    code: 'BAD_ARGUMENT',
    message: `The body must be the image file itself, sent as image/* or application/octet-stream${type ? `, not ${type}` : ''}.`,
    hint: 'With curl: --data-binary @part.png -H "Content-Type: application/octet-stream" (not -F or -d).',
  });
}

/** An error of `inspection.inspectImage` as this API answers it: the working copy's path out of the words, the pixel limit as 413. */
function inspectionError(error: SerializedError, singleRoot: string, fileName: string): HttpError {
  // the engine names its working copy (a path in the data folder): the client knows it as the body
  const copy = new RegExp(`${escapeRegExp(singleRoot)}[\\\\/][0-9]+-[0-9a-f]+[\\\\/]${escapeRegExp(fileName)}|${escapeRegExp(fileName)}`, 'g');
  const message = error.message.replace(copy, 'in the request body');
  // the pixel limit comes back from the engine as a BAD_IMAGE whose words say so
  const code = error.code === 'BAD_IMAGE' && /megapixels/.test(message) ? 'IMAGE_TOO_LARGE' : error.code;
  return new HttpError(statusOf(code), { code, message, hint: error.hint });
}

class V1Handler implements V1Api {
  readonly maxBodyBytes: number;
  readonly concurrency: number;
  readonly queue: number;
  readonly #opts: V1ApiOptions;
  readonly #log: Logger;
  readonly #limiter: Limiter;
  readonly #keyFile: KeyFile;
  readonly #models: ModelCatalog;
  readonly #singleRoot: string;

  constructor(opts: V1ApiOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? ((m: string) => console.error(m));
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_API_MAX_MB * MB;
    this.#limiter = new Limiter(opts.concurrency ?? DEFAULT_API_CONCURRENCY, opts.queue ?? DEFAULT_API_QUEUE);
    this.concurrency = this.#limiter.max;
    this.queue = this.#limiter.maxWaiting;
    this.#keyFile = new KeyFile(opts.dataDir);
    this.#models = new ModelCatalog(opts.handlers, opts.dataDir, this.#log);
    this.#singleRoot = join(opts.dataDir, 'inspections', 'single');
  }

  async enabled(): Promise<boolean> {
    return !!(await this.#opts.enabled());
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      if (!(await this.enabled())) {
        return answerEarly(req, res, 404, { code: 'NOT_FOUND', message: 'The inference API (/v1) is off.', hint: 'Start the server with: bgad serve --api (or switch it on in Settings).' });
      }
      await authorize(req, this.#keyFile);
      const route = url.pathname;
      if (route === '/v1/inspect') {
        if (req.method !== 'POST') return answerEarly(req, res, 405, { code: 'BAD_ARGUMENT', message: 'POST the image to /v1/inspect.' }, { Allow: 'POST' });
        return await this.#inspect(req, res, url);
      }
      if (route === '/v1/health') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return answerEarly(req, res, 405, { code: 'BAD_ARGUMENT', message: 'Read /v1/health with GET.' }, { Allow: 'GET' });
        return await this.#health(res);
      }
      return answerEarly(req, res, 404, { code: 'NOT_FOUND', message: `There is no ${route}: the API has POST /v1/inspect and GET /v1/health.` });
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) return answerEarly(req, res, e.status, e.error, e.headers);
      this.#log(`bgad: ${req.method} ${url.pathname} failed: ${(e as Error)?.stack ?? String(e)}`);
      answerEarly(req, res, 500, { code: 'ENGINE_FAILED', message: `The request failed: ${(e as Error)?.message ?? String(e)}` });
    }
  }

  async #health(res: ServerResponse): Promise<void> {
    const cat = await this.#models.load(0);
    const models = await Promise.all(
      cat.active.map(async (a) => ({
        id: a.model.id,
        version: a.model.number,
        dataset: { id: a.dataset.id, name: a.dataset.name },
        sha256: await this.#models.sha256Of(a.model),
        threshold: a.model.threshold,
      })),
    );
    sendJson(res, 200, { ok: true, version: this.#opts.version, models, limits: { maxBodyBytes: this.maxBodyBytes, concurrency: this.concurrency, queue: this.queue } });
  }

  #tooLarge(size?: number): V1Error {
    return {
      code: 'IMAGE_TOO_LARGE',
      message: `The request body is too large${size !== undefined && Number.isFinite(size) ? ` (${Math.ceil(size / MB)} MiB)` : ''}: this server accepts at most ${Math.round(this.maxBodyBytes / MB)} MiB per image.`,
      hint: 'Send a smaller image, or start the server with a higher --api-max-mb.',
    };
  }

  async #inspect(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const badType = checkImageType(req);
    if (badType) throw badType;
    const declared = declaredLength(req);
    if (declared !== undefined && declared > this.maxBodyBytes) return answerEarly(req, res, 413, this.#tooLarge(declared));
    const chosen = await this.#models.choose(url);

    // a place in the line before the body is read, so waiting requests hold no image in memory
    const gone = new Promise<void>((ok) => res.once('close', () => ok()));
    const entered = this.#limiter.enter(gone);
    if (!entered) {
      return answerEarly(req, res, 503, { code: 'UNAVAILABLE', message: `The server is busy: ${this.concurrency} images are being inspected and ${this.queue} are waiting.`, hint: `Try again in ${RETRY_AFTER_S} s.` }, { 'Retry-After': String(RETRY_AFTER_S) });
    }
    const release = await entered;
    if (!release) return; // the client left while waiting
    try {
      let body: Buffer;
      try {
        body = await readBody(req, this.maxBodyBytes);
      } catch (e) {
        if (e instanceof BodyTooLargeError) return answerEarly(req, res, 413, this.#tooLarge(e.declaredBytes));
        throw new HttpError(400, { code: 'BAD_ARGUMENT', message: (e as Error).message });
      }
      if (body.length === 0) throw new HttpError(400, { code: 'BAD_IMAGE', message: 'The request body is empty: send the image file as the body.' });
      const fileName = `v1-${randomBytes(8).toString('hex')}.img`;
      const t0 = Date.now();
      const answer = await dispatch(this.#opts.handlers, 'inspection.inspectImage', { modelId: chosen.model.id, image: { fileName, bytes: body } }, this.#log);
      const ms = Date.now() - t0;
      await removeWork(this.#singleRoot, answer.ok ? (answer.value as SingleInspection) : null, fileName, t0, Date.now(), this.#log);
      if (!answer.ok) throw inspectionError(answer.error, this.#singleRoot, fileName);
      const r = answer.value as SingleInspection;
      const { model, dataset } = chosen;
      sendJson(res, 200, {
        score: r.score,
        verdict: r.verdict,
        threshold: r.threshold,
        model: { id: model.id, version: model.number, datasetId: dataset.id, dataset: dataset.name, sha256: await this.#models.sha256Of(model) },
        ms,
      });
    } finally {
      release();
    }
  }
}

export function createV1Api(opts: V1ApiOptions): V1Api {
  return new V1Handler(opts);
}
